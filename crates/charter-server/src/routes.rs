//! Request handlers: parse the request, call one use case, render the answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use charter_app::{App, RecordView};
use charter_model::{Record, RecordKind, Role, WorkspaceName};
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::auth::Authenticated;

/// Records per page when the request does not say.
const DEFAULT_PAGE: u32 = 100;

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

/// A workspace name from a path. An invalid name cannot name an existing
/// workspace, so it is answered like a missing one.
pub(crate) fn workspace(name: &str) -> Result<WorkspaceName, ApiError> {
    WorkspaceName::new(name).map_err(|_| ApiError::not_found(format!("workspace \"{name}\" not found")))
}

fn kind(plural: &str) -> Result<RecordKind, ApiError> {
    RecordKind::ALL.iter().copied().find(|kind| kind.plural() == plural).ok_or_else(|| {
        ApiError::not_found(format!(
            "no record kind \"{plural}\"; expected one of {}",
            RecordKind::ALL.iter().map(|kind| kind.plural()).collect::<Vec<_>>().join(", ")
        ))
    })
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

fn parse_record(kind: RecordKind, body: &[u8]) -> Result<Record, ApiError> {
    let text = std::str::from_utf8(body).map_err(|error| {
        ApiError::bad_request(format!("the request body is not UTF-8 (byte offset {})", error.valid_up_to()))
    })?;
    let bad = |error: charter_model::ParseError| ApiError::bad_request(format!("request body: {error}"));
    let mut value = charter_model::parse::strict_value(text.as_bytes()).map_err(bad)?;
    whole_numbers(&mut value);
    if let Some(number) = too_large(&value) {
        return Err(ApiError::bad_request(format!(
            "request body: the number {number} is larger than {}, the largest accepted",
            i64::MAX
        )));
    }
    kind.from_value(value).map_err(bad)
}

/// A whole number above `i64::MAX` in `value` (the document's integers are
/// 64-bit signed).
fn too_large(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(number) if number.is_u64() && !number.is_i64() => number.as_u64(),
        serde_json::Value::Array(items) => items.iter().find_map(too_large),
        serde_json::Value::Object(fields) => fields.values().find_map(too_large),
        _ => None,
    }
}

/// Writes numbers like `4.0` as the whole numbers they are: JSON (and the
/// OpenAPI document's `integer`) does not tell them apart, but serde does.
fn whole_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float.abs() < 9_007_199_254_740_992.0
            {
                // INVARIANT: |float| < 2^53, so the conversion is exact.
                *value = serde_json::Value::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
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

#[derive(Debug, Serialize)]
struct WorkspaceLine {
    name: String,
    created_at: charter_model::Timestamp,
}

pub(crate) async fn list_workspaces(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = app.list_workspaces(&caller).await?;
    let items: Vec<WorkspaceLine> = rows
        .into_iter()
        .map(|row| WorkspaceLine { name: row.name.to_string(), created_at: row.created_at })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

pub(crate) async fn workspace_status(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Json<charter_app::WorkspaceStatus>, ApiError> {
    Ok(Json(app.status(&caller, &workspace(&name)?, 20).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    after: Option<String>,
    limit: Option<u32>,
}

pub(crate) async fn list_records(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, plural)): Path<(String, String)>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<charter_app::Page>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let (workspace, kind) = (workspace(&name)?, kind(&plural)?);
    if let Some(limit) = query.limit
        && !(1..=charter_app::MAX_PAGE).contains(&limit)
    {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is not between 1 and {}",
            charter_app::MAX_PAGE
        )));
    }
    let page = app
        .list_records(&caller, &workspace, kind, query.after.as_deref(), query.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    Ok(Json(page))
}

/// Read-only routes of the kinds only their use cases write, so a write to
/// one answers 405 with `Allow: GET, HEAD` from the router itself (the
/// use cases that write them have routes of their own).
macro_rules! read_only_list {
    ($list:ident, $kind:expr) => {
        pub(crate) async fn $list(
            state: State<App>,
            caller: Authenticated,
            Path(name): Path<String>,
            query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
        ) -> Result<Json<charter_app::Page>, ApiError> {
            list_records(state, caller, Path((name, $kind.plural().to_owned())), query).await
        }
    };
}

macro_rules! read_only_one {
    ($one:ident, $kind:expr) => {
        pub(crate) async fn $one(
            state: State<App>,
            caller: Authenticated,
            Path((name, id)): Path<(String, String)>,
        ) -> Result<Response, ApiError> {
            get_record(state, caller, Path((name, $kind.plural().to_owned(), id))).await
        }
    };
}

read_only_list!(list_grants, RecordKind::Grant);
read_only_list!(list_operations, RecordKind::Operation);
read_only_list!(list_changes, RecordKind::Change);
read_only_list!(list_notifications, RecordKind::Notification);
read_only_list!(list_quality_runs, RecordKind::QualityRun);
read_only_one!(get_grant, RecordKind::Grant);
read_only_one!(get_operation, RecordKind::Operation);
read_only_one!(get_change, RecordKind::Change);
read_only_one!(get_notification, RecordKind::Notification);
read_only_one!(get_quality_run, RecordKind::QualityRun);

pub(crate) async fn get_record(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, plural, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (workspace, kind) = (workspace(&name)?, kind(&plural)?);
    let view = app.get_record(&caller, &workspace, kind, &id).await?;
    Ok(record_response(StatusCode::OK, view))
}

pub(crate) async fn create_record(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, plural)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (workspace, kind) = (workspace(&name)?, kind(&plural)?);
    let record = parse_record(kind, &body_text(body)?)?;
    let view = app.create_record(&caller, &workspace, record).await?;
    let location = format!("/v1/workspaces/{workspace}/{}/{}", kind.plural(), view.id);
    let mut response = record_response(StatusCode::CREATED, view);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The version an `If-Match` header names: `"3"`, `W/"3"` or `3`.
/// The version `If-Match` names, or `None` for `*` (any current version).
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let value = headers.get(header::IF_MATCH).ok_or_else(|| {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "version_required",
            "send If-Match with the version (ETag) of the record you changed",
        )
    })?;
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse()
        .map(Some)
        .map_err(|_| ApiError::bad_request(format!("If-Match \"{text}\" is not a record version (ETag)")))
}

pub(crate) async fn update_record(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, plural, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (workspace, kind) = (workspace(&name)?, kind(&plural)?);
    let expected = match if_match(&headers)? {
        Some(version) => version,
        // `If-Match: *`: whatever version the record is at now.
        None => app.get_record(&caller, &workspace, kind, &id).await?.version,
    };
    let record = parse_record(kind, &body_text(body)?)?;
    let view = app.update_record(&caller, &workspace, &id, expected, record).await?;
    Ok(record_response(StatusCode::OK, view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    role: Role,
    name: String,
    /// How long it lives, e.g. `30d` (default 90d, at most 366d).
    #[serde(default)]
    ttl: Option<String>,
}

/// Optional body of a rotation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateRequest {
    #[serde(default)]
    ttl: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    id: String,
    token: String,
    workspace: String,
    role: Role,
    name: String,
    expires_at: charter_model::Timestamp,
}

impl From<charter_app::NewToken> for TokenResponse {
    fn from(token: charter_app::NewToken) -> Self {
        Self {
            id: token.id,
            token: token.secret,
            workspace: token.workspace.to_string(),
            role: token.role,
            name: token.name,
            expires_at: token.expires_at,
        }
    }
}

fn token_ttl(ttl: Option<&str>) -> Result<Option<charter_model::Span>, ApiError> {
    ttl.map(|text| {
        text.parse().map_err(|error| {
            ApiError::from(charter_app::AppError::Invalid {
                what: "token".into(),
                problems: vec![format!("ttl: {error}")],
            })
        })
    })
    .transpose()
}

pub(crate) async fn list_tokens(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let tokens = app.list_tokens(&caller, &workspace(&name)?).await?;
    Ok(Json(serde_json::json!({ "items": tokens })).into_response())
}

pub(crate) async fn revoke_token(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let token = app.revoke_token(&caller, &workspace(&name)?, &id).await?;
    Ok(Json(token).into_response())
}

pub(crate) async fn rotate_token(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let body = body_text(body)?;
    let request: RotateRequest =
        if body.iter().all(u8::is_ascii_whitespace) { RotateRequest::default() } else { parse(&body)? };
    let token = app.rotate_token(&caller, &workspace, &id, token_ttl(request.ttl.as_deref())?).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse::from(token))).into_response())
}

pub(crate) async fn create_token(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<TokenRequest>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let ttl = token_ttl(request.ttl.as_deref())?;
    let token = app.create_token_for(&caller, &workspace, request.role, &request.name, ttl).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse::from(token))).into_response())
}

pub(crate) async fn ledger_checkpoint(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let note = app
        .latest_checkpoint(&caller, &workspace(&name)?)
        .await?
        .ok_or_else(|| ApiError::not_found("the log has no checkpoint yet"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

fn query<T>(query: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(query)| query).map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// A whole number a JSON client reads exactly: at most 2^53 - 1, as the
/// document states; larger ones are refused with 400.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Count(u64);

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

#[derive(Debug, Deserialize)]
pub(crate) struct EntriesQuery {
    start: Count,
    end: Count,
}

pub(crate) async fn ledger_entries(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<EntriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query(params)?;
    let entries = app.ledger_entries(&caller, &workspace(&name)?, params.start.0, params.end.0).await?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct InclusionQuery {
    index: Count,
    size: Option<Count>,
}

pub(crate) async fn inclusion_proof(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<charter_app::ledger::InclusionProof>, ApiError> {
    let params = query(params)?;
    Ok(Json(
        app.inclusion_proof(&caller, &workspace(&name)?, params.index.0, params.size.map(|size| size.0))
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: Count,
    to: Count,
}

pub(crate) async fn consistency_proof(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<charter_app::ledger::ConsistencyProof>, ApiError> {
    let params = query(params)?;
    Ok(Json(app.consistency_proof(&caller, &workspace(&name)?, params.from.0, params.to.0).await?))
}
