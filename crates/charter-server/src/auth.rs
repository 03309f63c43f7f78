//! Bearer-token authentication.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use charter_app::{App, Caller};

use crate::ApiError;

/// The caller a request's bearer token stands for. Requests without a live
/// token are answered 401 before anything else is looked at.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub(crate) Caller);

impl FromRequestParts<App> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let (scheme, secret) = value.trim().split_once(' ').ok_or_else(ApiError::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthorized());
        }
        match app.authenticate(secret.trim()).await? {
            Some(caller) => Ok(Authenticated(caller)),
            None => Err(ApiError::unauthorized()),
        }
    }
}
