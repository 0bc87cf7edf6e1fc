//! The webhook sink against a scripted local HTTP server.

use std::error::Error;
use std::time::Duration;

use trailwatch_sinks::webhook::WebhookSink;
use trailwatch_sinks::{
    AwsClients, Priority, Sink, SinkConfig, SinkError, SinkOptions, SinkSpec, build,
};

use crate::support::{Reply, ScriptedServer, alert, quick_retry};

fn sink(server: &ScriptedServer, concurrency: usize) -> WebhookSink {
    let url = server.url.parse().unwrap();
    let headers = [("X-Api-Key".to_string(), "k1".to_string())];
    WebhookSink::new(
        url,
        &headers,
        Duration::from_millis(300),
        concurrency,
        quick_retry(),
    )
    .unwrap()
}

fn ids(bodies: &[serde_json::Value]) -> Vec<String> {
    let mut ids: Vec<String> = bodies
        .iter()
        .map(|b| b["output_fields"]["ct.id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn every_alert_arrives_exactly_once_after_503_timeout_and_429() {
    let server = ScriptedServer::start(vec![
        Reply::Status(503),
        Reply::Hang,
        Reply::TooManyRequests,
    ])
    .await;
    let alerts: Vec<_> = (0..5)
        .map(|i| alert("Create IAM User", &format!("e{i}"), Priority::Warning))
        .collect();

    sink(&server, 2).deliver(&alerts).await.unwrap();

    let accepted = server.accepted_bodies();
    assert_eq!(ids(&accepted), ["e0", "e1", "e2", "e3", "e4"]);
    // Five alerts, plus one request each for the 503, the hang and the 429.
    assert_eq!(server.requests().len(), 8);
    let first = &accepted[0];
    assert_eq!(first["rule"], "Create IAM User");
    assert_eq!(first["priority"], "Warning");
    assert_eq!(first["source"], "aws_cloudtrail");
    for request in server.requests() {
        let head = request.head.to_ascii_lowercase();
        assert!(head.starts_with("post / http/1.1\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/json\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nx-api-key: k1\r\n"), "{head}");
    }
}

#[tokio::test]
async fn a_400_is_a_permanent_error_naming_status_and_rule() {
    let server = ScriptedServer::start(vec![Reply::Status(400)]).await;
    let err = sink(&server, 1)
        .deliver(&[alert("Bad Alert", "e1", Priority::Error)])
        .await
        .unwrap_err();

    assert_eq!(err.to_string(), "sink webhook: 1 of 1 alerts not delivered");
    let source = err.source().unwrap();
    assert_eq!(
        source.to_string(),
        "sink webhook: http status 400 for rule \"Bad Alert\""
    );
    assert!(!err.is_retryable());
    // Not retried.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_alert_does_not_stop_the_others() {
    let server = ScriptedServer::start(vec![Reply::Status(403)]).await;
    let alerts: Vec<_> = (0..3)
        .map(|i| alert("R", &format!("e{i}"), Priority::Error))
        .collect();
    let err = sink(&server, 1).deliver(&alerts).await.unwrap_err();

    assert!(
        matches!(
            err,
            SinkError::Partial {
                failed: 1,
                total: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.accepted_bodies().len(), 2);
}

#[tokio::test]
async fn a_retried_batch_resends_only_what_was_refused() {
    let server = ScriptedServer::start(vec![Reply::Status(403)]).await;
    let alerts: Vec<_> = (0..3)
        .map(|i| alert("R", &format!("e{i}"), Priority::Error))
        .collect();
    let webhook = sink(&server, 1);
    assert!(webhook.deliver(&alerts).await.is_err());
    let first_accepted = ids(&server.accepted_bodies());
    assert_eq!(first_accepted.len(), 2);

    // The same batch again, as after a redelivered message: only the
    // refused alert is sent, and the receiver now holds each exactly once.
    webhook.deliver(&alerts).await.unwrap();
    assert_eq!(server.requests().len(), 4);
    assert_eq!(ids(&server.accepted_bodies()), ["e0", "e1", "e2"]);
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = ScriptedServer::start(vec![Reply::Status(502); 10]).await;
    let err = sink(&server, 1)
        .deliver(&[alert("R", "e1", Priority::Error)])
        .await
        .unwrap_err();

    assert!(err.is_retryable());
    assert!(
        err.source()
            .unwrap()
            .to_string()
            .contains("http status 502")
    );
    // The first attempt and max_retries (5) more.
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn built_sink_filters_and_resolves_header_variables() {
    let server = ScriptedServer::start(vec![]).await;
    let path = std::env::var("PATH").expect("PATH is set for any test process");
    let config = SinkConfig {
        spec: SinkSpec::Webhook(server.url.parse().unwrap()),
        options: SinkOptions {
            min_priority: Some(Priority::Warning),
            headers: vec![("X-From-Env".into(), "path=${PATH}".into())],
            retry: quick_retry(),
            ..SinkOptions::default()
        },
    };
    let sinks = build(&[config], &AwsClients::default(), "host")
        .await
        .unwrap();
    let alerts = [
        alert("Loud", "e1", Priority::Critical),
        alert("Quiet", "e2", Priority::Notice),
    ];
    sinks[0].deliver(&alerts).await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].body.contains("\"rule\":\"Loud\""));
    assert!(requests[0].head.contains(&format!("path={path}")));
}
