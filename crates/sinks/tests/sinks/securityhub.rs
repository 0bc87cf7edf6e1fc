//! The Security Hub sink against moto_server, and against a scripted
//! server for the responses moto never gives (failed findings, throttling).

use std::time::Duration;

use sha2::{Digest, Sha256};
use trailwatch_sinks::securityhub::SecurityHubSink;
use trailwatch_sinks::{Alert, Priority, Sink};
use trailwatch_testkit::{Moto, trailwatch_findings};

use crate::support::{ACCOUNT, Reply, ScriptedServer, alert, quick_retry, securityhub_client};

fn sink(client: &aws_sdk_securityhub::Client) -> SecurityHubSink {
    SecurityHubSink::new(client, Duration::from_secs(5), None, quick_retry()).unwrap()
}

fn expected_id(alert: &Alert) -> String {
    let digest = Sha256::new()
        .chain_update(alert.rule.as_bytes())
        .chain_update([0u8])
        .chain_update(alert.record.event_id.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn one_finding_per_alert_with_asff_fields() {
    let moto = Moto::start();
    let client = securityhub_client(&moto);
    let alerts = vec![
        alert("Create IAM User", "e1", Priority::Warning),
        alert("Create IAM User", "e2", Priority::Warning),
        alert("Deactivate MFA", "e1", Priority::Critical),
    ];

    sink(&client).deliver(&alerts).await.unwrap();

    let findings = trailwatch_findings(&client).await;
    assert_eq!(findings.len(), 3);
    let first = findings
        .iter()
        .find(|f| f.id() == Some(expected_id(&alerts[0]).as_str()))
        .unwrap();
    assert_eq!(first.schema_version(), Some("2018-10-08"));
    assert_eq!(
        first.product_arn(),
        Some(format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(first.generator_id(), Some("trailwatch/Create IAM User"));
    assert_eq!(first.aws_account_id(), Some(ACCOUNT));
    assert_eq!(first.types(), ["TTPs/Persistence"]);
    assert_eq!(first.created_at(), Some("2024-03-01T12:00:00.000Z"));
    assert_eq!(first.updated_at(), first.created_at());
    assert_eq!(first.first_observed_at(), first.created_at());
    assert_eq!(
        first.severity().and_then(|s| s.label()).map(|l| l.as_str()),
        Some("MEDIUM")
    );
    assert_eq!(first.title(), Some("Create IAM User"));
    assert_eq!(
        first.description(),
        Some("Create IAM User by alice (id=e1)")
    );
    let resource = &first.resources()[0];
    assert_eq!(resource.r#type(), Some("AwsIamUser"));
    assert_eq!(
        resource.id(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/e1").as_str())
    );
    let fields = first.product_fields().unwrap();
    assert_eq!(fields.get("ct.user").map(String::as_str), Some("alice"));
    assert_eq!(
        fields.get("trailwatch/EventName").map(String::as_str),
        Some("CreateUser")
    );
    assert_eq!(
        fields.get("trailwatch/SourceIp").map(String::as_str),
        Some("203.0.113.9")
    );

    let critical = findings
        .iter()
        .find(|f| f.title() == Some("Deactivate MFA"))
        .unwrap();
    assert_eq!(
        critical
            .severity()
            .and_then(|s| s.label())
            .map(|l| l.as_str()),
        Some("CRITICAL")
    );
}

#[tokio::test]
async fn importing_the_same_alerts_twice_updates_in_place() {
    let moto = Moto::start();
    let client = securityhub_client(&moto);
    let alerts: Vec<_> = (0..150)
        .map(|i| alert("Create IAM User", &format!("e{i}"), Priority::Error))
        .collect();
    let sink = sink(&client);

    sink.deliver(&alerts).await.unwrap();
    assert_eq!(trailwatch_findings(&client).await.len(), 150);
    sink.deliver(&alerts).await.unwrap();
    assert_eq!(trailwatch_findings(&client).await.len(), 150);
}

fn scripted_client(server: &ScriptedServer) -> aws_sdk_securityhub::Client {
    use aws_sdk_securityhub::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_securityhub::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(server.url.trim_end_matches('/'))
        .build();
    aws_sdk_securityhub::Client::from_conf(config)
}

fn sent_ids(body: &str) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    body["Findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn only_failed_findings_are_sent_again() {
    let alerts = [
        alert("R", "e1", Priority::Error),
        alert("R", "e2", Priority::Error),
    ];
    let failed = expected_id(&alerts[1]);
    let partial = format!(
        r#"{{"FailedCount":1,"SuccessCount":1,"FailedFindings":[{{"Id":"{failed}","ErrorCode":"Throttled","ErrorMessage":"slow down"}}]}}"#
    );
    let ok = r#"{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}"#.to_string();
    let server = ScriptedServer::start(vec![Reply::Json(200, partial), Reply::Json(200, ok)]).await;

    sink(&scripted_client(&server))
        .deliver(&alerts)
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        sent_ids(&requests[0].body),
        [expected_id(&alerts[0]), failed.clone()]
    );
    assert_eq!(sent_ids(&requests[1].body), [failed]);
}

#[tokio::test]
async fn throttling_is_retried_and_bad_input_is_not() {
    let throttled = r#"{"__type":"LimitExceededException","message":"rate exceeded"}"#.to_string();
    let ok = r#"{"FailedCount":0,"SuccessCount":1,"FailedFindings":[]}"#.to_string();
    let server =
        ScriptedServer::start(vec![Reply::Json(429, throttled), Reply::Json(200, ok)]).await;
    sink(&scripted_client(&server))
        .deliver(&[alert("R", "e1", Priority::Error)])
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);

    let invalid = r#"{"__type":"InvalidInputException","message":"bad finding"}"#.to_string();
    let server = ScriptedServer::start(vec![Reply::Json(400, invalid)]).await;
    let err = sink(&scripted_client(&server))
        .deliver(&[alert("R", "e1", Priority::Error)])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "sink securityhub: BatchImportFindings failed (permanent)"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_alert_without_account_is_refused() {
    let server = ScriptedServer::start(vec![]).await;
    let mut orphan = alert("R", "e1", Priority::Error);
    orphan.record.account_id = None;
    let err = sink(&scripted_client(&server))
        .deliver(&[orphan])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no account id"), "{err}");
    assert!(server.requests().is_empty());
}
