//! Reading requests: path segments, JSON bodies and queries, each refused
//! with a 400 (or 413) that says what was wrong.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use charter_app::RecordView;
use charter_model::WorkspaceName;
use serde::Deserialize;

use crate::ApiError;

/// Records per page when the request does not say.
pub(crate) const DEFAULT_PAGE: u32 = 100;

/// A workspace name from a path. An invalid name cannot name an existing
/// workspace, so it is answered like a missing one.
pub(crate) fn workspace(name: &str) -> Result<WorkspaceName, ApiError> {
    WorkspaceName::new(name).map_err(|_| ApiError::not_found(format!("workspace \"{name}\" not found")))
}

pub(crate) fn body_text(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "too_large", "the request body is larger than this server accepts")
        } else {
            ApiError::new(status, "bad_request", rejection.body_text())
        }
    })
}

/// A JSON request body of type `T`, as an extractor: too large is a 413,
/// not JSON of that shape a 400 naming the line and column. It comes last
/// among a handler's arguments, so the caller is authenticated first.
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_text(Bytes::from_request(request, state).await)?;
        parse(&bytes).map(Body)
    }
}

/// `?as_of=YYYY-MM-DD`: the day a reading is for; without it, today by the
/// app's clock ([`AsOf::or_today`]). A bad date is a 400 naming it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AsOf(Option<charter_model::Date>);

impl AsOf {
    /// The day asked for, or today by `app`'s clock.
    pub(crate) fn or_today(self, app: &charter_app::App) -> charter_model::Date {
        self.0.unwrap_or_else(|| app.now().date())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AsOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        #[derive(Deserialize)]
        struct Params {
            as_of: Option<charter_model::Date>,
        }
        let params = query(Query::<Params>::from_request_parts(parts, state).await)?;
        Ok(AsOf(params.as_of))
    }
}

/// A JSON request body of type `T`; a 400 naming the line and column when
/// it is not one.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        let at = if error.line() > 0 {
            format!("line {}, column {}: ", error.line(), error.column())
        } else {
            String::new()
        };
        ApiError::bad_request(format!("request body: {at}{error}"))
    })
}

pub(crate) fn query<T>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query.map(|Query(query)| query).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// A whole number a JSON client reads exactly: at most 2^53 - 1, as the
/// document states; larger ones are refused with 400.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Count(pub(crate) u64);

/// The largest [`Count`].
pub(crate) const MAX_COUNT: u64 = (1 << 53) - 1;

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(deserializer)?;
        if value > MAX_COUNT {
            return Err(serde::de::Error::custom(format!(
                "{value} is above {MAX_COUNT}, the largest accepted"
            )));
        }
        Ok(Count(value))
    }
}

fn etag(version: u64) -> HeaderValue {
    // INVARIANT: a quoted decimal number is a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

pub(crate) fn record_response(status: StatusCode, view: RecordView) -> Response {
    let tag = etag(view.version);
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}
