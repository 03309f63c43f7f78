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

pub(crate) async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint; the API is described at /openapi.json")
}
