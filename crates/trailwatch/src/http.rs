//! The operations endpoint: `/metrics` (Prometheus text), `/healthz` (the
//! process is alive) and `/readyz` (able to do its job).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

/// One readiness check: a name and whether it currently passes.
pub type Check = (String, bool);

/// Produces the current readiness checks.
pub type ReadinessProbe = Arc<dyn Fn() -> Vec<Check> + Send + Sync>;

#[derive(Clone)]
struct AppState {
    metrics: PrometheusHandle,
    readiness: ReadinessProbe,
}

/// Binds `addr` and serves until `shutdown` is cancelled.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    metrics: PrometheusHandle,
    readiness: ReadinessProbe,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind the metrics address {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "Serving /metrics, /healthz and /readyz.");
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, readiness });
    Ok(tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        if let Err(e) = server.await {
            tracing::error!(error = %e, "The metrics endpoint failed.");
        }
    }))
}

async fn render_metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let checks = (state.readiness)();
    let body: String = checks
        .iter()
        .map(|(name, ok)| format!("{name}: {}\n", if *ok { "ok" } else { "failing" }))
        .collect();
    let status = if checks.iter().all(|(_, ok)| *ok) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}
