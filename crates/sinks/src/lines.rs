//! JSON-lines sinks: standard output and an appended file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use async_trait::async_trait;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::Sink;
use crate::alert::Alert;
use crate::error::{FailureKind, SinkError};
use crate::metrics::observe_send;

/// Writes one Falco JSON line per alert to standard output.
///
/// A batch is written with one call and flushed, so lines of concurrent
/// batches never interleave inside a line.
#[derive(Debug, Default)]
pub struct StdoutSink {
    // Serializes writers: two batches written at once could interleave.
    lock: tokio::sync::Mutex<()>,
}

impl StdoutSink {
    /// A sink on this process's standard output.
    pub fn new() -> Self {
        StdoutSink::default()
    }
}

#[async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let _guard = self.lock.lock().await;
        let started = Instant::now();
        let result = write_lines(&mut tokio::io::stdout(), alerts).await;
        finish(self.name(), "stdout", started, result)
    }
}

/// Appends one Falco JSON line per alert to a file, creating it if missing.
///
/// The file is opened for each batch, so a log rotator that moves the file
/// away makes the next batch start a new one.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileSink {
    /// A sink appending to `path`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Io`] when the file cannot be created or opened for
    /// appending, so a bad path fails at startup rather than at the first
    /// alert.
    pub async fn open(path: &Path) -> Result<Self, SinkError> {
        open_append(path)
            .await
            .map_err(|source| io_error(path, source))?;
        Ok(FileSink {
            path: path.to_path_buf(),
            lock: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait]
impl Sink for FileSink {
    fn name(&self) -> &str {
        "file"
    }

    async fn deliver(&self, alerts: &[Alert]) -> Result<(), SinkError> {
        let _guard = self.lock.lock().await;
        let started = Instant::now();
        let result = async {
            let mut file = open_append(&self.path).await?;
            write_lines(&mut file, alerts).await?;
            // Flushing a tokio File only hands the data to the OS; sync_data
            // puts it on disk before the source message is deleted.
            file.sync_data().await
        }
        .await;
        finish(
            self.name(),
            &self.path.display().to_string(),
            started,
            result,
        )
    }
}

async fn open_append(path: &Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
}

fn io_error(path: &Path, source: std::io::Error) -> SinkError {
    SinkError::Io {
        sink: "file".into(),
        target: path.display().to_string(),
        source,
    }
}

/// Renders every alert as a line and writes them with one call.
async fn write_lines<W: AsyncWrite + Unpin>(out: &mut W, alerts: &[Alert]) -> std::io::Result<()> {
    let mut buf = String::new();
    for alert in alerts {
        buf.push_str(&alert.to_json_line());
        buf.push('\n');
    }
    out.write_all(buf.as_bytes()).await?;
    out.flush().await
}

/// Records the send and names the sink and target in an error.
fn finish(
    sink: &str,
    target: &str,
    started: Instant,
    result: std::io::Result<()>,
) -> Result<(), SinkError> {
    // Disk full or a closed pipe may clear up; the batch stays queued.
    observe_send(
        sink,
        started,
        result
            .as_ref()
            .map(|_| ())
            .map_err(|_| FailureKind::Transient),
    );
    result.map_err(|source| SinkError::Io {
        sink: sink.into(),
        target: target.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Priority;
    use crate::testing::alert;

    #[tokio::test]
    async fn write_lines_emits_one_json_object_per_line() {
        let mut out = Vec::new();
        let alerts = [alert("A", Priority::Error), alert("B", Priority::Notice)];
        write_lines(&mut out, &alerts).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["rule"], "A");
        assert_eq!(first["priority"], "Error");
        assert!(text.ends_with('\n'));
    }

    #[tokio::test]
    async fn file_sink_creates_then_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.json");

        let sink = FileSink::open(&path).await.unwrap();
        sink.deliver(&[alert("A", Priority::Error)]).await.unwrap();
        sink.deliver(&[alert("B", Priority::Error), alert("C", Priority::Error)])
            .await
            .unwrap();

        let text = tokio::fs::read_to_string(&path).await.unwrap();
        let rules: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(rules, ["A", "B", "C"]);
    }

    #[tokio::test]
    async fn file_sink_fails_early_on_unusable_path() {
        let err = FileSink::open(Path::new("/nonexistent-dir/trailwatch/alerts.json"))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sink file: writing alerts to /nonexistent-dir")
        );
    }
}
