//! The routes outside the API: liveness, readiness, the OpenAPI document and
//! the answer to a path nothing serves.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use charter_app::App;

use crate::ApiError;

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz(State(app): State<App>) -> Response {
    match app.ready().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))).into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "reason": "the database does not answer" }),
                ),
            )
                .into_response()
        }
    }
}

pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document_json()).into_response()
}

/// `GET /metrics`: Charter's metrics in the Prometheus text format, with
/// the gauges of the token's workspace.
pub(crate) async fn metrics(
    State(app): State<App>,
    crate::auth::Authenticated(caller): crate::auth::Authenticated,
) -> Result<Response, ApiError> {
    let charter_app::Caller::Token { workspace, .. } = &caller else {
        return Err(ApiError::unauthorized());
    };
    let text = app.metrics_text(&caller, workspace).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

pub(crate) async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint; the API is described at /openapi.json")
}
