//! Test support shared by the workspace's integration tests.
//!
//! [`Moto`] starts a `moto_server` (PyPI `moto[server]`) on 127.0.0.1 on a
//! free port and stops it on drop. It stands in for S3, SNS, SQS, Security
//! Hub and CloudWatch Logs; nothing here talks to any other address.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh moto_server may take to answer before a test fails.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running moto_server bound to loopback, killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto_server on a free loopback port and waits until it answers.
    ///
    /// The executable is `$MOTO_SERVER` if set, else `.venv/bin/moto_server`
    /// at the workspace root (what `.ci/run` installs), else `moto_server` on
    /// `PATH`.
    ///
    /// # Panics
    ///
    /// When no moto_server can be started or it does not answer in time: an
    /// integration test must fail loudly, never skip, and the message says
    /// how to install it.
    pub fn start() -> Moto {
        let exe = moto_executable();
        let port = free_port();
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; install it with `python3 -m venv .venv && \
                     .venv/bin/pip install \"moto[server]==5.2.1\"` at the workspace root, \
                     or run `bash .ci/run`",
                    exe.display()
                )
            });
        let mut moto = Moto { child, port };
        moto.wait_ready();
        moto
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Environment variables that point an AWS SDK client or a trailwatch
    /// process at this server with dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            // Keeps the credential chain away from the instance metadata address.
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited during startup with {status}");
            }
            if http_get_ok(self.port, "/moto-api/") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto_server on port {} did not answer within {STARTUP_TIMEOUT:?}",
            self.port
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// The workspace root, two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared data folder beside the checkout (`../shared` from the root).
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("binding an ephemeral loopback port");
    listener
        .local_addr()
        .expect("bound socket has an address")
        .port()
}

fn http_get_ok(port: u16, path: &str) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..10] == b"2"
}

/// The real CloudTrail data beside the checkout.
pub fn shared_data(rel: &str) -> PathBuf {
    shared_dir().join("data/cloudtrail").join(rel)
}

/// Parses each stdout line as a JSON alert.
pub fn alerts(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// (rule, eventID) of every alert, counted.
pub fn rule_event_counts(alerts: &[serde_json::Value]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for alert in alerts {
        let rule = alert["rule"].as_str().unwrap_or_default().to_string();
        let id = alert["output_fields"]["ct.id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry((rule, id)).or_insert(0) += 1;
    }
    counts
}

mod findings;
mod process;
mod webhook;

pub use findings::trailwatch_findings;
pub use process::{Daemon, http_get, metric_value, wait_until};
pub use webhook::WebhookServer;
