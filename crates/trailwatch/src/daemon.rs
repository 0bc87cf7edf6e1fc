//! `trailwatch run`: the SQS consumer, the rules and the sinks wired
//! together, plus the operations endpoint, hot reload and signal handling.
//!
//! Data path per object: the consumer fetches it from S3; a blocking task
//! decompresses, splits and evaluates it (CPU work off the async threads);
//! its alerts go to every sink through the fan-out's bounded channels; only
//! when every sink accepted them does the handler report success, and only
//! then may the consumer delete the message.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use trailwatch_ingest::{
    Consumer, ConsumerConfig, HandlerError, Limits, MessageContext, ObjectBody, ObjectHandler,
    ObjectRef, ObjectReport, RecordError, open_records,
};
use trailwatch_sinks::{Alert, Fanout};

use crate::cli::{LogFormat, RunArgs};
use crate::config::{ENV_PREFIX, Settings};
use crate::engine::{Evaluator, load_rules};
use crate::metric_names as m;
use crate::reload::{Reloader, SharedEvaluator, current};
use crate::{http, report_diagnostics, sinks, telemetry};

/// Batches of alerts that may wait for each sink.
const SINK_CHANNEL_CAPACITY: usize = 16;
/// How long sinks may go on delivering after the consumer stopped: every
/// message whose alerts are still in a sink was already released, so this
/// only spares a receiver half-sent work.
const SINK_DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How often rules files are checked for changes.
const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// The standard AWS configuration chain (environment, profiles, web
/// identity, container and instance credentials).
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

fn trailwatch_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect()
}

/// `trailwatch config check`: prints the effective settings, secrets masked.
pub fn check_config(args: &RunArgs) -> Result<ExitCode> {
    let settings = Settings::resolve(args, &trailwatch_env())?;
    sinks::from_settings(&settings.sinks)?;
    let Some(_) = report_diagnostics(load_rules(&settings.rules, settings.default_rules)) else {
        return Ok(ExitCode::FAILURE);
    };
    println!("{}", settings.to_masked_json()?);
    Ok(ExitCode::SUCCESS)
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(args: RunArgs, log_format: Option<LogFormat>) -> Result<ExitCode> {
    let settings = Settings::resolve(&args, &trailwatch_env())?;
    telemetry::init_logging(log_format.unwrap_or(settings.log_format), "info");
    let queue_url = settings.queue_url.clone().context(
        "no queue: give --queue-url, TRAILWATCH_QUEUE_URL or queue_url in the config file",
    )?;
    let metrics = telemetry::init_metrics()?;

    let hostname = crate::hostname();
    let Some(ruleset) = report_diagnostics(load_rules(&settings.rules, settings.default_rules))
    else {
        anyhow::bail!("rules did not load");
    };
    metrics::gauge!(m::RULES_LOADED).set(ruleset.enabled_count() as f64);
    tracing::info!(
        rules = ruleset.rules().len(),
        enabled = ruleset.enabled_count(),
        "Rules loaded."
    );
    let sink_configs = sinks::from_settings(&settings.sinks)?;
    let built = sinks::build(&sink_configs).await?;
    let sink_names: Vec<&str> = sink_configs.iter().map(|c| c.spec.name()).collect();
    let enabled = ruleset.rules().iter().filter(|r| r.enabled);
    m::register_series(
        enabled.map(|r| (r.name.as_str(), r.priority.as_str())),
        &sink_names,
    );
    let evaluator = Evaluator::new(Arc::new(ruleset), settings.rule_matching, &hostname);
    let shared: SharedEvaluator = Arc::new(RwLock::new(Arc::new(evaluator)));

    let fanout = Arc::new(Fanout::new(built, SINK_CHANNEL_CAPACITY));

    let conf = load_aws_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let queue_seen = queue_answers(&sqs, &queue_url).await;
    let consumer = Consumer::new(sqs, s3_client(&conf), consumer_config(&settings, queue_url));
    let status = consumer.status();

    let shutdown = CancellationToken::new();
    let server_stop = CancellationToken::new();
    let readiness: http::ReadinessProbe = {
        let fanout = Arc::clone(&fanout);
        Arc::new(move || {
            // Until the first long poll returns, the check made at start
            // stands for the queue.
            let queue_ok = match status.last_receive() {
                Some(_) => status.queue_reachable(),
                None => queue_seen,
            };
            let mut checks = vec![("rules".to_string(), true), ("queue".to_string(), queue_ok)];
            checks.extend(
                fanout
                    .health()
                    .into_iter()
                    .map(|(name, ok)| (format!("sink {name}"), ok)),
            );
            checks
        })
    };
    let server = http::serve(
        settings.metrics_addr,
        metrics,
        readiness,
        server_stop.clone(),
    )
    .await?;
    tokio::spawn(wait_for_signal(shutdown.clone()));
    let reloader = Reloader {
        paths: settings.rules.clone(),
        default_rules: settings.default_rules,
        matching: settings.rule_matching,
        hostname,
        shared: Arc::clone(&shared),
    };
    tokio::spawn(reloader.watch(RELOAD_INTERVAL, shutdown.clone()));

    let handler = Arc::new(Handler {
        evaluator: shared,
        fanout: Arc::clone(&fanout),
    });
    tracing::info!(queue = %settings.queue_url.as_deref().unwrap_or_default(), "Polling.");
    let outcome = consumer.run(handler, shutdown.clone()).await;
    shutdown.cancel();
    // The endpoint's readiness probe holds the last other reference to the
    // fan-out, so it stops first; then the sinks drain and stop.
    server_stop.cancel();
    let _ = server.await;
    match Arc::try_unwrap(fanout) {
        Ok(fanout) => fanout.shutdown(SINK_DRAIN_GRACE).await,
        Err(_) => tracing::warn!("Sinks still referenced at exit; not drained."),
    }
    outcome.context("the consumer stopped")?;
    tracing::info!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Asks the queue for its attributes once, so that readiness is known from
/// the start and a wrong URL or missing permission is logged at once.
async fn queue_answers(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> bool {
    let asked = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await;
    match asked {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(
                queue = queue_url,
                error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                "The queue does not answer; polling will keep trying."
            );
            false
        }
    }
}

fn consumer_config(settings: &Settings, queue_url: String) -> ConsumerConfig {
    ConsumerConfig {
        max_in_flight: settings.max_in_flight.max(1),
        visibility_timeout: Duration::from_secs(settings.visibility_timeout_secs),
        shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
        limits: Limits {
            max_object_bytes: settings.max_object_bytes,
            max_record_bytes: settings.max_record_bytes,
        },
        dead_letter_queue_url: settings.dead_letter_queue_url.clone(),
        ..ConsumerConfig::new(queue_url)
    }
}

/// Path-style addressing whenever an endpoint is overridden: virtual-host
/// names such as `bucket.localhost` do not resolve.
fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let overridden = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let builder = aws_sdk_s3::config::Builder::from(conf).force_path_style(overridden);
    aws_sdk_s3::Client::from_conf(builder.build())
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("Cannot listen for SIGTERM/SIGINT; stop with SIGKILL.");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down."),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down."),
    }
    shutdown.cancel();
}

/// Evaluates each object the consumer fetches and delivers its alerts.
struct Handler {
    evaluator: SharedEvaluator,
    fanout: Arc<Fanout>,
}

/// What evaluating one object produced.
struct Evaluated {
    alerts: Vec<Alert>,
    report: ObjectReport,
    /// The first error that stopped reading or skipped a record.
    failure: Option<RecordError>,
}

#[async_trait::async_trait]
impl ObjectHandler for Handler {
    async fn handle(
        &self,
        ctx: &MessageContext,
        object: &ObjectRef,
        body: ObjectBody,
    ) -> Result<ObjectReport, HandlerError> {
        if let Some(lag) = body
            .last_modified()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
        {
            metrics::histogram!(m::OBJECT_LAG).record(lag.as_secs_f64());
        }
        let evaluator = current(&self.evaluator);
        let limits = ctx.limits;
        let reader = body.into_blocking_reader();
        let evaluated =
            tokio::task::spawn_blocking(move || evaluate_object(reader, &evaluator, limits))
                .await
                .map_err(|e| HandlerError::Other(Box::new(e)))?;

        // Alerts found before a failure are delivered all the same: the
        // message will be retried, and the sinks' idempotent ids keep the
        // repeat from duplicating findings.
        if !evaluated.alerts.is_empty() {
            let key = batch_key(object, &evaluated.alerts);
            self.fanout
                .deliver(&key, Arc::new(evaluated.alerts))
                .await
                .map_err(|e| HandlerError::Delivery(Box::new(e)))?;
        }
        match evaluated.failure {
            Some(error) => Err(HandlerError::Records(error)),
            None => Ok(evaluated.report),
        }
    }
}

fn evaluate_object(reader: impl Read, evaluator: &Evaluator, limits: Limits) -> Evaluated {
    let mut records = open_records(reader, limits);
    let mut alerts = Vec::new();
    let mut failure = None;
    let mut count = 0u64;
    let now_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    for item in records.by_ref() {
        match item {
            Ok(record) => {
                count += 1;
                let before = alerts.len();
                if let Err(e) = evaluator.evaluate(&record.text, count, &mut alerts) {
                    metrics::counter!(m::RECORD_ERRORS, "reason" => "json").increment(1);
                    tracing::warn!(index = record.index, error = %e, "Record skipped.");
                }
                if let Some(alert) = alerts.get(before) {
                    let lag = (now_ns - alert.record.event_time_ns) as f64 / 1e9;
                    metrics::histogram!(m::EVENT_LAG).record(lag.max(0.0));
                }
            }
            Err(e) => {
                metrics::counter!(m::RECORD_ERRORS, "reason" => e.reason()).increment(1);
                tracing::warn!(error = %e, "Record error.");
                failure.get_or_insert(e);
            }
        }
    }
    let report = ObjectReport {
        records: count,
        alerts: alerts.len() as u64,
        decompressed_bytes: records.bytes_read(),
        digest: records.is_digest(),
    };
    Evaluated {
        alerts,
        report,
        failure,
    }
}

/// Names a batch by its object and the identity of its alerts, so that a
/// retry of the same content is recognised and a changed object is not.
fn batch_key(object: &ObjectRef, alerts: &[Alert]) -> String {
    let mut hash = Sha256::new();
    for alert in alerts {
        hash.update(alert.rule.as_bytes());
        hash.update([0]);
        hash.update(alert.record.event_id.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("s3://{}/{}#{hex}", object.bucket, object.key)
}
