//! Runtime oversight over HTTP: OpenTelemetry traces in (OTLP/HTTP, as an
//! agent framework's exporter sends them, protobuf or JSON), Charter's own
//! span JSON, the runs, their reports, and health.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use charter_app::{App, Caller, HealthQuery};
use charter_model::RecordKind;
use charter_observe::otlp::Encoding;
use serde::Deserialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, PathsBuilder, Ref, Required, ResponseBuilder};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{body_text, query, workspace};
use crate::openapi::{error_response, json, object_response, path_parameter};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/traces", post(traces_of_token))
        .route("/workspaces/{workspace}/otlp/v1/traces", post(traces))
        .route("/workspaces/{workspace}/runs/ingest", post(ingest))
        .route("/workspaces/{workspace}/runs", super::registry::list_of(RecordKind::Run))
        .route("/workspaces/{workspace}/runs/{id}", super::registry::one_of(RecordKind::Run))
        .route("/workspaces/{workspace}/runs/{id}/report", get(report))
        .route("/workspaces/{workspace}/health", get(health))
}

const PROTOBUF: &str = "application/x-protobuf";

/// The encoding a request's `Content-Type` names: protobuf by default, as
/// OTLP/HTTP says.
fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Encoding::Protobuf);
    };
    let value = value.to_str().unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type \"{value}\": OTLP/HTTP traces are application/x-protobuf or application/json"
            ),
        )),
    }
}

async fn export(
    app: &App,
    caller: &Caller,
    workspace: &charter_model::WorkspaceName,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let encoding = encoding(headers)?;
    let body = body_text(body)?;
    let request = charter_observe::otlp::decode(&body, encoding).map_err(ApiError::bad_request)?;
    let ingested = app.ingest_otlp(caller, workspace, &request).await?;
    let answer = charter_observe::otlp::response(
        ingested.rejected.len() as u64,
        &ingested.rejection_summary(5),
        encoding,
    );
    let content_type = match encoding {
        Encoding::Protobuf => PROTOBUF,
        Encoding::Json => "application/json",
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], answer).into_response())
}

/// `POST /v1/traces`: an OTLP/HTTP trace export into the token's workspace,
/// at the path exporters use by default.
pub(crate) async fn traces_of_token(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Caller::Token { workspace, .. } = &caller else {
        return Err(ApiError::unauthorized());
    };
    let workspace = workspace.clone();
    export(&app, &caller, &workspace, &headers, body).await
}

/// `POST /workspaces/{ws}/otlp/v1/traces`: the same, naming the workspace.
pub(crate) async fn traces(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    export(&app, &caller, &workspace(&name)?, &headers, body).await
}

/// `POST /runs/ingest`: spans in Charter's own JSON.
pub(crate) async fn ingest(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let spans: Vec<charter_observe::Span> = super::registry::parse_json(&body_text(body)?)?;
    let ingested = app.ingest_spans(&caller, &workspace(&name)?, spans).await?;
    Ok(Json(ingested).into_response())
}

/// `GET /runs/{id}/report`.
pub(crate) async fn report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(app.agent_run_report(&caller, &workspace(&name)?, &id).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthParams {
    agent: Option<String>,
    window: Option<u32>,
    windows: Option<u32>,
}

/// `GET /health`: every agent's signals, baselines and anomalies.
pub(crate) async fn health(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<HealthParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let request = HealthQuery {
        agent: params.agent,
        window_minutes: params.window,
        windows: params.windows,
        as_of: None,
    };
    Ok(Json(app.health(&caller, &workspace(&name)?, request).await?).into_response())
}

fn bounded(name: &str, description: &str, low: i64, high: i64) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(low)).maximum(Some(high))))
        .build()
}

fn text(name: &str, description: &str, schema_type: Type) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(schema_type)))
        .build()
}

fn export_operation(id: &str, summary: &str, with_workspace: bool) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .tag("runs")
        .operation_id(Some(id))
        .summary(Some(summary))
        .request_body(Some(
            RequestBodyBuilder::new()
                .description(Some("An OTLP ExportTraceServiceRequest: application/x-protobuf (the default without a Content-Type) or application/json in the OTLP/JSON mapping"))
                .content("application/json", json(ObjectBuilder::new().schema_type(Type::Object)))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("An ExportTraceServiceResponse in the request's encoding: {} when every span was accepted, else partialSuccess with rejectedSpans and the reasons")
                .content("application/json", json(ObjectBuilder::new().schema_type(Type::Object)))
                .content(PROTOBUF, ContentBuilder::new().build())
                .build(),
        )
        .response("400", error_response("Not an OTLP request in the encoding named"))
        .response("401", error_response("No valid token"))
        .response("403", error_response("The token's role may not write runs, or the decision point denied it"))
        .response("413", error_response("The body is larger than this server accepts"))
        .response("415", error_response("A Content-Type other than application/x-protobuf or application/json"))
        .response("422", error_response("More spans than one request may carry, or times out of range"));
    if with_workspace {
        operation = operation
            .parameter(path_parameter("workspace", "Workspace name"))
            .response("404", error_response("No such workspace (or not the token's)"));
    }
    operation
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let get_operation = |id: &str, summary: &str| {
        OperationBuilder::new()
            .tag("runs")
            .operation_id(Some(id))
            .summary(Some(summary))
            .parameter(path_parameter("workspace", "Workspace name"))
            .response("400", error_response("A query parameter of the wrong shape"))
            .response("401", error_response("No valid token"))
            .response("404", error_response("No such workspace (or not the token's) or run"))
    };
    paths
        .path(
            "/v1/traces",
            PathItem::new(
                HttpMethod::Post,
                export_operation(
                    "export_traces",
                    "OTLP/HTTP trace export into the token's workspace: GenAI spans mapped to registered agents and tools; a run closes when its root span arrives (one ledger event); spans of unknown agents are rejected and counted",
                    false,
                ),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/otlp/v1/traces",
            PathItem::new(
                HttpMethod::Post,
                export_operation("export_workspace_traces", "OTLP/HTTP trace export into a named workspace", true),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/runs/ingest",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("ingest_spans"))
                    .summary(Some("Spans in Charter's own JSON, for systems without OpenTelemetry: each names its registered agent"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", json(ArrayBuilder::new().items(Ref::from_schema_name("Span"))))
                            .build(),
                    ))
                    .response("200", object_response("Spans accepted, stored and waiting, those rejected and flagged with their reasons, the runs closed"))
                    .response("400", error_response("Malformed JSON or a span of the wrong shape"))
                    .response("401", error_response("No valid token"))
                    .response("403", error_response("The token's role may not write runs, or the decision point denied it"))
                    .response("404", error_response("No such workspace (or not the token's)"))
                    .response("413", error_response("The body is larger than this server accepts"))
                    .response("422", error_response("More spans than one request may carry, or times out of range")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/runs/{id}/report",
            PathItem::new(
                HttpMethod::Get,
                get_operation("run_report", "A run's report: scope, duration, data touched, deviations, mitigations, approvals, provenance")
                    .parameter(path_parameter("id", "Run id"))
                    .response("200", object_response("The report")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/health",
            PathItem::new(
                HttpMethod::Get,
                get_operation("health", "Every agent's health signals per window, their robust baselines and the anomalies of the last windows")
                    .parameter(text("agent", "Only this agent", Type::String))
                    .parameter(bounded("window", "Window in minutes (the workspace's setting by default, else 5)", 1, 1_440))
                    .parameter(bounded("windows", "Windows read, ending with the last complete one (default 288)", 1, 10_000))
                    .response("200", object_response("The reading"))
                    .response("422", error_response("A window or a number of windows out of range")),
            ),
        )
}
