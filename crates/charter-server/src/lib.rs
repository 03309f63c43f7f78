//! Charter's HTTP server: the JSON API under `/v1`, health and readiness
//! probes, and the OpenAPI document. The only crate that knows HTTP.
//!
//! [`router`] builds the whole service from an [`App`], so tests can drive
//! it without a socket; [`serve`] runs it on a listener until a shutdown
//! future completes, letting requests in flight finish.

#![deny(missing_docs)]

mod auth;
mod error;
pub mod openapi;
mod routes;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use charter_app::App;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted, in bytes (larger ones get 413).
    pub body_bytes: usize,
    /// Longest a request may take (longer ones get 503).
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { body_bytes: 1024 * 1024, timeout: Duration::from_secs(30) }
    }
}

/// The whole HTTP service.
pub fn router(app: App, limits: Limits) -> Router {
    let api = Router::new()
        .route("/workspaces", get(routes::list_workspaces))
        .route("/workspaces/{workspace}", get(routes::workspace_status))
        .route("/workspaces/{workspace}/tokens", axum::routing::post(routes::create_token))
        .route("/workspaces/{workspace}/{kind}", get(routes::list_records).post(routes::create_record))
        .route("/workspaces/{workspace}/{kind}/{id}", get(routes::get_record).put(routes::update_record));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/openapi.json", get(routes::openapi))
        .nest("/v1", api)
        .fallback(routes::fallback)
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, limits.timeout))
        .layer(TraceLayer::new_for_http())
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
    axum::serve(listener, router(app, limits)).with_graceful_shutdown(shutdown).await
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
