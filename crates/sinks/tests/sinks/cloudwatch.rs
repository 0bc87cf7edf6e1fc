//! The CloudWatch Logs sink against moto_server.

use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use trailwatch_sinks::{AwsClients, Priority, SinkConfig, SinkOptions, SinkSpec, build};
use trailwatch_testkit::Moto;

use crate::support::{alert, cloudwatch_client, quick_retry};

async fn events(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
) -> Vec<OutputLogEvent> {
    let page = client
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    page.events().to_vec()
}

fn config(group: &str, stream: Option<&str>) -> SinkConfig {
    SinkConfig {
        spec: SinkSpec::CloudWatch {
            group: group.into(),
            stream: stream.map(String::from),
        },
        options: SinkOptions {
            retry: quick_retry(),
            ..SinkOptions::default()
        },
    }
}

#[tokio::test]
async fn alerts_arrive_as_falco_json_in_a_created_stream() {
    let moto = Moto::start();
    let client = cloudwatch_client(&moto);
    let aws = AwsClients {
        cloudwatch: Some(client.clone()),
        ..AwsClients::default()
    };
    // No stream configured: it is named after the host.
    let sinks = build(&[config("/trailwatch/alerts", None)], &aws, "host-a")
        .await
        .unwrap();
    let alerts = [
        alert("Create IAM User", "e1", Priority::Warning),
        alert("Deactivate MFA", "e2", Priority::Critical),
        alert("Create IAM User", "e3", Priority::Warning),
    ];

    sinks[0].deliver(&alerts).await.unwrap();

    let got = events(&client, "/trailwatch/alerts", "host-a").await;
    assert_eq!(got.len(), 3);
    for (event, alert) in got.iter().zip(&alerts) {
        assert_eq!(event.message(), Some(alert.to_json_line().as_str()));
        // The delivery time, not the 2024 event time.
        let event_ms = alert.record.event_time_ns / 1_000_000;
        assert!(event.timestamp().unwrap() > event_ms + 86_400_000);
    }
    let parsed: serde_json::Value = serde_json::from_str(got[1].message().unwrap()).unwrap();
    assert_eq!(parsed["rule"], "Deactivate MFA");
    assert_eq!(parsed["priority"], "Critical");
}

#[tokio::test]
async fn existing_group_and_stream_are_reused() {
    let moto = Moto::start();
    let client = cloudwatch_client(&moto);
    client
        .create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    client
        .create_log_stream()
        .log_group_name("g")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let aws = AwsClients {
        cloudwatch: Some(client.clone()),
        ..AwsClients::default()
    };

    for round in 0..2 {
        // A new sink each round, as after a restart: creation finds both.
        let sinks = build(&[config("g", Some("s"))], &aws, "unused")
            .await
            .unwrap();
        sinks[0]
            .deliver(&[alert("R", &format!("e{round}"), Priority::Notice)])
            .await
            .unwrap();
    }

    let got = events(&client, "g", "s").await;
    assert_eq!(got.len(), 2);
    assert!(got[0].message().unwrap().contains("(id=e0)"));
    assert!(got[1].message().unwrap().contains("(id=e1)"));
}

#[tokio::test]
async fn a_deleted_stream_is_created_again() {
    let moto = Moto::start();
    let client = cloudwatch_client(&moto);
    let aws = AwsClients {
        cloudwatch: Some(client.clone()),
        ..AwsClients::default()
    };
    let sinks = build(&[config("g", Some("s"))], &aws, "unused")
        .await
        .unwrap();

    sinks[0]
        .deliver(&[alert("R", "e1", Priority::Notice)])
        .await
        .unwrap();
    client
        .delete_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    sinks[0]
        .deliver(&[alert("R", "e2", Priority::Notice)])
        .await
        .unwrap();

    let got = events(&client, "g", "s").await;
    assert_eq!(got.len(), 1);
    assert!(got[0].message().unwrap().contains("(id=e2)"));
}
