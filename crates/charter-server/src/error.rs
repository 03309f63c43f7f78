//! The one error type of the HTTP layer. It maps use-case errors to status
//! codes and never shows a client what went wrong inside: database errors
//! are logged and answered with a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use charter_app::AppError;
use serde::Serialize;

/// An error answer: a status, a stable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 401: no valid bearer token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as `Authorization: Bearer <token>`",
        )
    }

    /// 404 for a path that names nothing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 for a request Charter cannot read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 500 for a handler that panicked: the last line of defence, which
    /// keeps the process serving. The panic is logged under an error id the
    /// answer gives, so an operator can find it; its text is not shown.
    pub(crate) fn from_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let id = format!("E{started:x}-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let text = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        tracing::error!(error_id = %id, panic = %text, "a request handler panicked");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error {id}; the server logged it under that id"),
        )
        .into_response()
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        match error {
            AppError::WorkspaceNotFound(_) | AppError::NotFound { .. } => Self::not_found(message),
            AppError::AlreadyExists { .. } => Self::new(StatusCode::CONFLICT, "already_exists", message),
            AppError::Conflict { .. } => {
                Self::new(StatusCode::PRECONDITION_FAILED, "version_conflict", message)
            }
            AppError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            AppError::Invalid { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            AppError::Import(_) => Self::bad_request(message),
            AppError::Stale { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message),
            AppError::Store(error) if error.is_unavailable() => {
                tracing::error!(%message, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again",
                )
            }
            AppError::Store(_) | AppError::Corrupt(_) | AppError::Internal(_) => {
                tracing::error!(%message, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the server log has details",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Detail { code: self.code, message: &self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
