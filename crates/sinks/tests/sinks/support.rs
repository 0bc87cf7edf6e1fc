//! Shared pieces of the integration tests: alerts, AWS clients for a
//! local moto_server, and a scripted HTTP/1.1 server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use trailwatch_sinks::{Alert, Priority, RecordContext, ResourceRef, RetryPolicy};
use trailwatch_testkit::Moto;

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// An alert of `rule` on the event `event_id`.
pub fn alert(rule: &str, event_id: &str, priority: Priority) -> Alert {
    let mut output_fields = serde_json::Map::new();
    output_fields.insert("ct.user".into(), "alice".into());
    output_fields.insert("ct.id".into(), event_id.into());
    Alert {
        hostname: "test-host".into(),
        output: format!("{rule} by alice (id={event_id})"),
        output_fields,
        priority,
        rule: rule.into(),
        source: "aws_cloudtrail".into(),
        tags: vec!["aws".into(), "mitre_persistence".into()],
        time: "2024-03-01T12:00:00.000000000Z".into(),
        record: RecordContext {
            event_id: event_id.into(),
            event_name: Some("CreateUser".into()),
            event_source: Some("iam.amazonaws.com".into()),
            account_id: Some(ACCOUNT.into()),
            region: Some("us-east-1".into()),
            source_ip: Some("203.0.113.9".into()),
            principal_arn: Some(format!("arn:aws:iam::{ACCOUNT}:user/alice")),
            resources: vec![ResourceRef {
                arn: format!("arn:aws:iam::{ACCOUNT}:user/{event_id}"),
                resource_type: Some("AWS::IAM::User".into()),
            }],
            event_time_ns: 1_709_294_400_000_000_000,
        },
    }
}

/// Fast retries so tests that exercise them stay short.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_elapsed: Duration::from_secs(5),
    }
}

/// Security Hub client for `moto`.
pub fn securityhub_client(moto: &Moto) -> aws_sdk_securityhub::Client {
    use aws_sdk_securityhub::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(moto.endpoint())
        .build();
    aws_sdk_securityhub::Client::from_conf(config)
}

/// CloudWatch Logs client for `moto`.
pub fn cloudwatch_client(moto: &Moto) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(moto.endpoint())
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// What the scripted server does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this status (2xx accepts the body).
    Status(u16),
    /// Answer 429 with `Retry-After: 0`.
    TooManyRequests,
    /// Read the request and never answer, until the client hangs up.
    Hang,
    /// Answer with this status and JSON body.
    Json(u16, String),
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub head: String,
    pub body: String,
    pub reply: Reply,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers requests in arrival order
/// from a script, then with 200.
pub struct ScriptedServer {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    pub async fn start(script: Vec<Reply>) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = (
            Arc::new(Mutex::new(script.into_iter())),
            Arc::clone(&requests),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (script, requests) = (Arc::clone(&state.0), Arc::clone(&state.1));
                tokio::spawn(serve(stream, script, requests));
            }
        });
        ScriptedServer {
            url,
            requests,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Bodies of the requests that were accepted with a 2xx.
    pub fn accepted_bodies(&self) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| matches!(r.reply, Reply::Status(s) if (200..300).contains(&s)))
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Script = Arc<Mutex<std::vec::IntoIter<Reply>>>;

async fn serve(mut stream: TcpStream, script: Script, requests: Arc<Mutex<Vec<Request>>>) {
    let mut buf = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let reply = script.lock().unwrap().next().unwrap_or(Reply::Status(200));
        requests.lock().unwrap().push(Request {
            head,
            body,
            reply: reply.clone(),
        });
        let response = match reply {
            Reply::Status(code) => format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n"),
            Reply::TooManyRequests => {
                "HTTP/1.1 429 X\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n".into()
            }
            Reply::Json(code, ref body) => format!(
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
            Reply::Hang => {
                // Returns once the client gives up and closes the socket.
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
        };
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head and Content-Length body) from `stream`.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String)> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    buf.drain(..head_end + length);
    Some((head, body))
}
