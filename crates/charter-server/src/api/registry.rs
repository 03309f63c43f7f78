//! The registry over HTTP: workspaces, records of every kind, and API
//! tokens.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use charter_app::App;
use charter_model::{Record, RecordKind, Role};
use serde::{Deserialize, Serialize};
use utoipa::PartialSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Ref, Schema, Type};
use utoipa::openapi::{PathsBuilder, Required, ResponseBuilder};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Body, DEFAULT_PAGE, body_text, parse, record_response, workspace};
use crate::openapi::{
    PathItemExt, SPAN_PATTERN, error_response, if_match_parameter, json, path_parameter, query_parameter,
};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workspaces", get(list_workspaces))
        .route("/workspaces/{workspace}", get(workspace_status))
        .route("/workspaces/{workspace}/tokens", get(list_tokens).post(create_token))
        .route("/workspaces/{workspace}/tokens/{id}/revoke", post(revoke_token))
        .route("/workspaces/{workspace}/tokens/{id}/rotate", post(rotate_token))
        .route("/workspaces/{workspace}/{kind}", get(list_records).post(create_record))
        .route("/workspaces/{workspace}/{kind}/{id}", get(get_record).put(update_record))
}

fn kind(plural: &str) -> Result<RecordKind, ApiError> {
    RecordKind::ALL.iter().copied().find(|kind| kind.plural() == plural).ok_or_else(|| {
        ApiError::not_found(format!(
            "no record kind \"{plural}\"; expected one of {}",
            RecordKind::ALL.iter().map(|kind| kind.plural()).collect::<Vec<_>>().join(", ")
        ))
    })
}

fn parse_record(kind: RecordKind, body: &[u8]) -> Result<Record, ApiError> {
    kind.from_value(json_value(body)?).map_err(bad_body)
}

fn bad_body(error: charter_model::ParseError) -> ApiError {
    ApiError::bad_request(format!("request body: {error}"))
}

/// A request body as a JSON value read as the document states its numbers:
/// no key named twice, `4.0` read as the whole number it is, integers above
/// `i64::MAX` refused.
pub(crate) fn json_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let text = std::str::from_utf8(body).map_err(|error| {
        ApiError::bad_request(format!("the request body is not UTF-8 (byte offset {})", error.valid_up_to()))
    })?;
    let mut value = charter_model::parse::strict_value(text.as_bytes()).map_err(bad_body)?;
    whole_numbers(&mut value);
    if let Some(number) = too_large(&value) {
        return Err(ApiError::bad_request(format!(
            "request body: the number {number} is larger than {}, the largest accepted",
            i64::MAX
        )));
    }
    Ok(value)
}

/// A request body of type `T`, its numbers read as [`json_value`] reads
/// them; a 400 naming the JSON path when it is not one.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    charter_model::parse::from_value(json_value(body)?).map_err(bad_body)
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
    query: ListQueryResult,
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

/// `GET` of a list of `kind`, for the kinds only their own use cases write:
/// a write to the path answers 405 with `Allow: GET, HEAD` from the router
/// itself, and the capability adds the methods that write.
pub(crate) fn list_of(kind: RecordKind) -> MethodRouter<App> {
    get(move |state: State<App>, caller: Authenticated, Path(name): Path<String>, query: ListQueryResult| {
        list_records(state, caller, Path((name, kind.plural().to_owned())), query)
    })
}

/// `GET` of one record of `kind` (see [`list_of`]).
pub(crate) fn one_of(kind: RecordKind) -> MethodRouter<App> {
    get(move |state: State<App>, caller: Authenticated, Path((name, id)): Path<(String, String)>| {
        get_record(state, caller, Path((name, kind.plural().to_owned(), id)))
    })
}

type ListQueryResult = Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>;

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

/// `{kind, id, version, created_at, updated_at, record}` with the kind's schema.
pub(crate) fn view_schema(record: &str) -> Schema {
    ObjectBuilder::new()
        .property("kind", ObjectBuilder::new().schema_type(Type::String))
        .property("id", ObjectBuilder::new().schema_type(Type::String))
        .property("version", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
        .property("created_at", charter_model::Timestamp::schema())
        .property("updated_at", charter_model::Timestamp::schema())
        .property("record", Ref::from_schema_name(record))
        .required("kind")
        .required("id")
        .required("version")
        .required("created_at")
        .required("updated_at")
        .required("record")
        .into()
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(mut paths: PathsBuilder) -> PathsBuilder {
    paths = paths
        .path(
            "/v1/workspaces",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("list_workspaces"))
                    .summary(Some("The workspaces the token reaches (its own)"))
                    .response("200", ResponseBuilder::new().description("Workspaces").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("workspace_status"))
                    .summary(Some(
                        "Workspace overview: record counts, datasets, active agents, recent changes",
                    ))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("Overview").build())
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("create_token"))
                    .summary(Some("Create an API token for the workspace (admin); its secret is shown once"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content(
                                "application/json",
                                json(
                                    ObjectBuilder::new()
                                        .property("role", Role::schema())
                                        .property("name", ObjectBuilder::new().schema_type(Type::String))
                                        .property(
                                            "ttl",
                                            ObjectBuilder::new()
                                                .schema_type(Type::String)
                                                .pattern(Some(SPAN_PATTERN))
                                                .description(Some("How long it lives, e.g. 30d (default 90d, at most 366d)")),
                                        )
                                        .required("role")
                                        .required("name")
                                        .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                                ),
                            )
                            .build(),
                    ))
                    .response("201", ResponseBuilder::new().description("The token, with its secret").build())
                    .response("403", error_response("Only admin tokens may create tokens"))
                    .response("422", error_response("The name or the lifetime breaks a rule")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("list_tokens"))
                    .summary(Some("The workspace's tokens with their state, expiry and last use (admin); never secrets"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("Tokens").build())
                    .response("403", error_response("Only admin tokens may list tokens")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens/{id}/revoke",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("revoke_token"))
                    .summary(Some("Revoke a token (admin): refused at once here, within a second in other processes"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Token id (tok_…)"))
                    .response("200", ResponseBuilder::new().description("The revoked token").build())
                    .response("403", error_response("Only admin tokens may revoke tokens"))
                    .response("422", error_response("No such token, or already revoked")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/tokens/{id}/rotate",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("workspaces")
                    .operation_id(Some("rotate_token"))
                    .summary(Some(
                        "Rotate a token (admin): a new secret of the same name and role, the old token revoked",
                    ))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Token id (tok_…)"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .content(
                                "application/json",
                                json(
                                    ObjectBuilder::new()
                                        .property(
                                            "ttl",
                                            ObjectBuilder::new().schema_type(Type::String).pattern(Some(SPAN_PATTERN)),
                                        )
                                        .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                                ),
                            )
                            .build(),
                    ))
                    .response("201", ResponseBuilder::new().description("The new token, with its secret").build())
                    .response("403", error_response("Only admin tokens may rotate tokens"))
                    .response("422", error_response("No such token, or already revoked")),
            ),
        );
    for kind in RecordKind::ALL {
        paths = record_paths(paths, *kind);
    }
    paths
}

fn record_paths(paths: PathsBuilder, kind: RecordKind) -> PathsBuilder {
    let (schema_name, _) = kind.schema();
    let view = format!("{schema_name}View");
    let plural = kind.plural();
    let name = kind.name();
    let workspace = || path_parameter("workspace", "Workspace name");
    let id = || path_parameter("id", &format!("Id of the {name} ({} field)", kind.id_field()));
    let body = || {
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", json(Ref::from_schema_name(schema_name.clone())))
            .build()
    };
    let one = || {
        ResponseBuilder::new()
            .description(format!("The {name}; its version is also in the ETag header"))
            .content("application/json", json(Ref::from_schema_name(view.clone())))
            .build()
    };
    let list = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("list_{plural}")))
        .summary(Some(format!("List {plural} in id order")))
        .parameter(workspace())
        .parameter(query_parameter("after", "Return records after this id (from next_after)", Type::String))
        .parameter(
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("Records per page, 1 to 1000 (default 100)"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(charter_app::MAX_PAGE)),
                ))
                .build(),
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("One page")
                .content(
                    "application/json",
                    json(
                        ObjectBuilder::new()
                            .property("items", ArrayBuilder::new().items(Ref::from_schema_name(view.clone())))
                            .property("next_after", ObjectBuilder::new().schema_type(Type::String))
                            .required("items"),
                    ),
                )
                .build(),
        )
        .response("400", error_response("A query parameter is malformed or out of range"))
        .response("401", error_response("No valid token"))
        .response("404", error_response("No such workspace (or not the token's)"));
    let create = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("create_{name}")))
        .summary(Some(format!("Create a {name} (needs the {} or admin role)", kind.writer())))
        .parameter(workspace())
        .request_body(Some(body()))
        .response("201", one())
        .response(
            "400",
            error_response(
                "Malformed JSON or a field of the wrong shape; the message gives the position or path",
            ),
        )
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not write this kind"))
        .response("409", error_response("A record with this id exists"))
        .response("413", error_response("Body too large"))
        .response("422", error_response("The record breaks a rule; every problem is listed"));
    let get = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("get_{name}")))
        .summary(Some(format!("Get one {name}")))
        .parameter(workspace())
        .parameter(id())
        .response("200", one())
        .response("401", error_response("No valid token"))
        .response("404", error_response("No such record or workspace"));
    let update = OperationBuilder::new()
        .tag(plural)
        .operation_id(Some(format!("update_{name}")))
        .summary(Some(format!("Replace a {name}, if it is still at the version If-Match names")))
        .parameter(workspace())
        .parameter(id())
        .parameter(if_match_parameter())
        .request_body(Some(body()))
        .response("200", one())
        .response("400", error_response("Malformed JSON or If-Match"))
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not write this kind"))
        .response("404", error_response("No such record or workspace"))
        .response("412", error_response("The record changed since that version"))
        .response("428", error_response("If-Match is missing"))
        .response("422", error_response("The record breaks a rule"));
    // Kinds only their use cases write are read here and written through
    // their own endpoints; a generic write of one answers 405.
    let (list_item, one_item) = if kind.written_by_use_case().is_some() {
        (PathItem::new(HttpMethod::Get, list), PathItem::new(HttpMethod::Get, get))
    } else {
        (
            PathItem::new(HttpMethod::Get, list).tap_add(HttpMethod::Post, create),
            PathItem::new(HttpMethod::Get, get).tap_add(HttpMethod::Put, update),
        )
    };
    paths
        .path(format!("/v1/workspaces/{{workspace}}/{plural}"), list_item)
        .path(format!("/v1/workspaces/{{workspace}}/{plural}/{{id}}"), one_item)
}
