//! Charter's HTTP server: the JSON API under `/v1`, health and readiness
//! probes, and the OpenAPI document. The only crate that knows HTTP.
//!
//! [`router`] builds the whole service from an [`App`], so tests can drive
//! it without a socket; [`serve`] runs it on a listener until a shutdown
//! future completes, letting requests in flight finish.

#![deny(missing_docs)]

mod api;
mod auth;
mod console;
mod error;
mod extract;
mod health;
mod listen;
pub mod openapi;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use charter_app::App;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use api::decisions::NOT_LOGGED;
pub use error::ApiError;

/// Shortest time between two checkpoints of a workspace while serving; the
/// background task signs what commits left unsigned this often too.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Limits applied to every connection and request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub body_bytes: usize,
    /// Longest a request may take (longer ones get 503).
    pub timeout: Duration,
    /// Longest a client may take to send a request's headers, from the
    /// moment it connects or finished its previous request; then the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// Connections the server holds at once; more are closed at once.
    pub max_connections: usize,
    /// Connections one client address holds at once; more are closed at once.
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_connections_per_client: 512,
        }
    }
}

/// The whole HTTP service.
pub fn router(app: App, limits: Limits) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(health::openapi))
        .route("/metrics", get(health::metrics))
        .route("/workspaces/{workspace}/report", get(api::report_page))
        .route("/workspaces/{workspace}/certification", get(api::certification_page))
        .nest("/v1", api::routes())
        .merge(console::routes())
        .fallback(health::fallback)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, limits.timeout))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(ApiError::from_panic))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting connections and waits for requests in flight to finish.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let checkpoints = tokio::spawn(sign_checkpoints(app.clone()));
    let evaluator = tokio::spawn(evaluate_alerts(app.clone()));
    let pager = tokio::spawn(deliver_pages(app.clone()));
    let scorer = tokio::spawn(refresh_scores(app.clone()));
    let served = listen::accept_loop(listener, router(app.clone(), limits), limits, shutdown).await;
    checkpoints.abort();
    evaluator.abort();
    pager.abort();
    scorer.abort();
    // Cover whatever the last requests appended.
    if let Err(error) = app.checkpoint_pending().await {
        tracing::warn!(%error, "could not sign the final checkpoints");
    }
    served
}

/// Signs checkpoints for logs that grew past their latest one, a few times
/// a second.
async fn sign_checkpoints(app: App) {
    let mut interval = tokio::time::interval(CHECKPOINT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = app.checkpoint_pending().await {
            tracing::warn!(%error, "could not sign checkpoints");
        }
    }
}

/// Shortest time between two alert evaluations of the runs that closed.
pub const EVALUATION_INTERVAL: Duration = Duration::from_millis(100);

/// Judges the health of agents whose runs closed, as they close (at most
/// every [`EVALUATION_INTERVAL`], or twice as long as the last evaluation
/// took), raising and resolving alerts; and
/// escalates incidents left unacknowledged, every few seconds.
async fn evaluate_alerts(app: App) {
    loop {
        tokio::select! {
            () = app.runs_closed_signal() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let started = std::time::Instant::now();
        if let Err(error) = app.evaluate_pending().await {
            tracing::warn!(%error, "could not evaluate alerts");
        }
        // Under a stream of runs, evaluations take at most a third of the time.
        let pause = EVALUATION_INTERVAL.max(started.elapsed() * 2);
        match app.escalate_incidents().await {
            Ok(done) => {
                for (workspace, incident, to) in done.escalations {
                    tracing::warn!(%workspace, %incident, %to, "incident escalated: not acknowledged in time");
                }
            }
            Err(error) => tracing::warn!(%error, "could not escalate incidents"),
        }
        tokio::time::sleep(pause).await;
    }
}

/// Sends pages as they are written, and those due for a retry.
async fn deliver_pages(app: App) {
    loop {
        match app.deliver_pages().await {
            Ok(done) if done.failed > 0 => {
                tracing::warn!(failed = done.failed, "page deliveries failed; retrying later")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not deliver pages"),
        }
        tokio::select! {
            () = app.pages_written_signal() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// How often kept portfolio assessments are checked against their records.
pub const SCORE_REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// Makes kept portfolio assessments again soon after their records change,
/// so the console's next page does not wait for one.
async fn refresh_scores(app: App) {
    let mut interval = tokio::time::interval(SCORE_REFRESH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = app.refresh_scored_portfolios(app.now().date()).await {
            tracing::warn!(%error, "could not refresh the portfolio scores");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupted; finishing requests in flight"),
        () = terminate => tracing::info!("terminated; finishing requests in flight"),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn panics() -> &'static str {
        panic!("boom")
    }

    /// A handler that panics is answered with a 500 naming an error id, and
    /// the service goes on answering.
    #[tokio::test]
    async fn a_panic_becomes_a_500_with_an_error_id() {
        let router: Router = Router::new()
            .route("/panic", get(panics))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(ApiError::from_panic));
        let response =
            router.clone().oneshot(Request::get("/panic").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("internal error E") && !message.contains("boom"), "{message}");
        let fine = router.oneshot(Request::get("/fine").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
