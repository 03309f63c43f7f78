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
use crate::extract::{Body, body_text, query, workspace};
use crate::openapi::{PathItemExt, error_response, json, object_response, path_parameter};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/traces", post(traces_of_token))
        .route("/workspaces/{workspace}/otlp/v1/traces", post(traces))
        .route("/workspaces/{workspace}/runs/ingest", post(ingest))
        .route("/workspaces/{workspace}/runs", super::registry::list_of(RecordKind::Run))
        .route("/workspaces/{workspace}/runs/{id}", super::registry::one_of(RecordKind::Run))
        .route("/workspaces/{workspace}/runs/{id}/report", get(report))
        .route("/workspaces/{workspace}/runs/{id}/validate", post(validate_run))
        .route("/workspaces/{workspace}/health", get(health))
        .route("/workspaces/{workspace}/alerts", super::registry::list_of(RecordKind::Alert))
        .route("/workspaces/{workspace}/alerts/{id}", super::registry::one_of(RecordKind::Alert))
        .route("/workspaces/{workspace}/alerts/{id}/ack", post(ack_alert))
        .route("/workspaces/{workspace}/alerts/{id}/resolve", post(resolve_alert))
        .route("/workspaces/{workspace}/alerts-evaluation", post(evaluate))
        .route("/workspaces/{workspace}/pages", get(pages))
        .route("/workspaces/{workspace}/budgets/{id}/set", post(set_budget))
        .route("/workspaces/{workspace}/budget-report", get(budget_report))
        .route("/workspaces/{workspace}/kpi-report", get(kpis))
        .route(
            "/workspaces/{workspace}/incidents",
            super::registry::list_of(RecordKind::Incident).post(open_incident),
        )
        .route("/workspaces/{workspace}/incidents/{id}", super::registry::one_of(RecordKind::Incident))
        .route("/workspaces/{workspace}/incidents/{id}/ack", post(ack_incident))
        .route("/workspaces/{workspace}/incidents/{id}/mitigate", post(mitigate_incident))
        .route("/workspaces/{workspace}/incidents/{id}/resolve", post(resolve_incident))
        .route("/workspaces/{workspace}/incidents/{id}/postmortem", post(postmortem))
        .route("/workspaces/{workspace}/incidents/{id}/pause-agent", post(pause_agent))
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

/// A run's output files, to validate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunValidationRequest {
    /// Each declared file provided; one not given fails the validation.
    outputs: Vec<RunOutputBody>,
}

/// One output file.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunOutputBody {
    /// Its name, as the run's spans declared it (`charter.validate.files`).
    name: String,
    /// Its content (UTF-8 text).
    content: String,
}

/// `POST /runs/{id}/validate`: the run's declared outputs filtered; the run
/// record with the result.
pub(crate) async fn validate_run(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(request): Body<RunValidationRequest>,
) -> Result<Response, ApiError> {
    let outputs = request
        .outputs
        .into_iter()
        .map(|output| charter_app::RunOutput { name: output.name, content: output.content.into_bytes() })
        .collect();
    Ok(Json(app.validate_run(&caller, &workspace(&name)?, &id, outputs).await?).into_response())
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

/// `POST /alerts/{id}/ack`.
pub(crate) async fn ack_alert(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(app.move_alert(&caller, &workspace(&name)?, &id, false).await?).into_response())
}

/// `POST /alerts/{id}/resolve`.
pub(crate) async fn resolve_alert(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(app.move_alert(&caller, &workspace(&name)?, &id, true).await?).into_response())
}

/// `POST /alerts-evaluation`: judge the agents' health now.
pub(crate) async fn evaluate(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(app.evaluate_alerts(&caller, &workspace(&name)?).await?).into_response())
}

/// An incident to open.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentRequest {
    /// What it is about.
    title: String,
    /// SEV1 to SEV4.
    severity: charter_model::IncidentSeverity,
    /// The agent concerned.
    #[serde(default)]
    agent_id: Option<String>,
    /// The commander (default: the first person with the incident_commander role).
    #[serde(default)]
    commander: Option<String>,
}

/// A note on an incident's timeline.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentNote {
    /// What to record with the transition.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /incidents`.
pub(crate) async fn open_incident(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<IncidentRequest>,
) -> Result<Response, ApiError> {
    let new = charter_app::NewIncident {
        title: request.title,
        severity: request.severity,
        agent_id: request.agent_id,
        commander: request.commander,
        source: "manual".into(),
    };
    let incident = app.open_incident(&caller, &workspace(&name)?, new).await?;
    Ok((StatusCode::CREATED, Json(incident)).into_response())
}

async fn move_incident(
    app: App,
    caller: Caller,
    name: String,
    id: String,
    to: charter_model::IncidentStatus,
    note: Option<String>,
) -> Result<Response, ApiError> {
    Ok(Json(app.move_incident(&caller, &workspace(&name)?, &id, to, note).await?).into_response())
}

/// `POST /incidents/{id}/ack`.
pub(crate) async fn ack_incident(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(note): Body<IncidentNote>,
) -> Result<Response, ApiError> {
    move_incident(app, caller, name, id, charter_model::IncidentStatus::Acknowledged, note.note).await
}

/// `POST /incidents/{id}/mitigate`.
pub(crate) async fn mitigate_incident(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(note): Body<IncidentNote>,
) -> Result<Response, ApiError> {
    move_incident(app, caller, name, id, charter_model::IncidentStatus::Mitigated, note.note).await
}

/// `POST /incidents/{id}/resolve`.
pub(crate) async fn resolve_incident(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(note): Body<IncidentNote>,
) -> Result<Response, ApiError> {
    move_incident(app, caller, name, id, charter_model::IncidentStatus::Resolved, note.note).await
}

/// `POST /incidents/{id}/postmortem`: the body is the postmortem.
pub(crate) async fn postmortem(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(postmortem): Body<charter_model::Postmortem>,
) -> Result<Response, ApiError> {
    Ok(Json(app.write_postmortem(&caller, &workspace(&name)?, &id, postmortem).await?).into_response())
}

/// `POST /incidents/{id}/pause-agent`: the kill switch from the incident.
pub(crate) async fn pause_agent(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(app.pause_from_incident(&caller, &workspace(&name)?, &id).await?).into_response())
}

/// `POST /budgets/{id}/set`: create or replace a budget; its exhaustion
/// this month follows from the month's spend and the new limit.
pub(crate) async fn set_budget(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let budget: charter_model::Budget = super::registry::parse_json(&body_text(body)?)?;
    if budget.budget_id.as_str() != id {
        return Err(charter_app::AppError::Invalid {
            what: "budget".into(),
            problems: vec![format!(
                "budget_id: the body names \"{}\" but the path \"{id}\"",
                budget.budget_id
            )],
        }
        .into());
    }
    let view = app.set_budget(&caller, &workspace(&name)?, budget).await?;
    Ok(crate::extract::record_response(StatusCode::OK, view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MonthQuery {
    month: Option<String>,
}

/// `GET /budget-report?month=YYYY-MM`.
pub(crate) async fn budget_report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let month = query(params)?.month;
    Ok(Json(app.budget_report(&caller, &workspace(&name)?, month).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    period: Option<String>,
}

/// `GET /kpi-report?period=YYYY-MM` (`/kpis` are the imported KPI records).
pub(crate) async fn kpis(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let period = query(params)?.period;
    Ok(Json(app.kpis(&caller, &workspace(&name)?, period).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PagesQuery {
    limit: Option<u32>,
}

/// `GET /pages`: the outbox, newest first, with each page's attempts.
pub(crate) async fn pages(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<PagesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let limit = query(params)?.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit: {limit} is not between 1 and 1000")));
    }
    let pages = app.pages(&caller, &workspace(&name)?, limit).await?;
    let items: Vec<serde_json::Value> = pages
        .iter()
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "receiver": row.page.receiver,
                "dedup_key": row.page.dedup_key,
                "action": row.page.action,
                "created_at": row.created_at,
                "attempts": row.attempts,
                "next_at": row.next_at,
                "delivered_at": row.delivered_at,
                "last_error": row.last_error,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
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

fn alert_move(id: &str, summary: &str) -> OperationBuilder {
    OperationBuilder::new()
        .tag("runs")
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameter(path_parameter("workspace", "Workspace name"))
        .parameter(path_parameter("id", "Alert id (ALR-YYYY-MM-DD-NNN)"))
        .response("200", object_response("The alert"))
        .response("401", error_response("No valid token"))
        .response(
            "403",
            error_response("The token's role may not write alerts, or the decision point denied it"),
        )
        .response("404", error_response("No such workspace (or not the token's) or alert"))
        .response("422", error_response("The alert is not in a state that allows this"))
}

fn incident_move(id: &str, summary: &str, with_note: bool) -> OperationBuilder {
    let mut operation = alert_move(id, summary)
        .tag("runs")
        .response("400", error_response("Malformed JSON or a field of the wrong shape"))
        .response(
            "403",
            error_response("The token's role may not write incidents, or the decision point denied it"),
        )
        .response("404", error_response("No such workspace (or not the token's) or incident"))
        .response(
            "422",
            error_response("The incident is not in the state this follows, or the postmortem is incomplete"),
        );
    if with_note {
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json(Ref::from_schema_name("IncidentNote")))
                .build(),
        ));
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
            "/v1/workspaces/{workspace}/runs/{id}/validate",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("validate_run"))
                    .summary(Some("Validate a run's outputs: each file its spans declared (charter.validate.files) filtered as its agent's egress content and logged; a finding of a blocked type, content the DLP rules block or a file not provided fails it and opens an incident; recorded once in the run"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Run id"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", json(Ref::from_schema_name("RunValidationRequest")))
                            .build(),
                    ))
                    .response("200", object_response("The run record with its validation result"))
                    .response("400", error_response("Malformed JSON or a field of the wrong shape"))
                    .response("401", error_response("No valid token"))
                    .response("403", error_response("The token's role may not write runs, the decision point denied it, or an agent's token names another agent's run"))
                    .response("404", error_response("No such workspace (or not the token's) or run"))
                    .response("409", error_response("The run was validated already"))
                    .response("413", error_response("The body is larger than this server accepts"))
                    .response("422", error_response("The run declares no outputs, or a file it did not declare or one given twice")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/alerts/{id}/ack",
            PathItem::new(
                HttpMethod::Post,
                alert_move("ack_alert", "Acknowledge an open alert; its receivers are paged with acknowledge"),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/alerts/{id}/resolve",
            PathItem::new(
                HttpMethod::Post,
                alert_move("resolve_alert", "Resolve an alert; its receivers are paged with resolve (same dedup_key)"),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/alerts-evaluation",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("evaluate_alerts"))
                    .summary(Some("Judge every agent's health now: raise an alert per anomaly (paging its class's receivers through the outbox), resolve those whose anomaly is gone"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", object_response("Alerts opened and resolved"))
                    .response("401", error_response("No valid token"))
                    .response("403", error_response("The token's role may not write alerts, or the decision point denied it"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/pages",
            PathItem::new(
                HttpMethod::Get,
                get_operation("list_pages", "The outbox of pages, newest first: receiver, dedup_key, action, attempts, delivery")
                    .parameter(bounded("limit", "At most this many (default 100)", 1, 1_000))
                    .response("200", object_response("{\"items\": [...]}")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/incidents",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("open_incident"))
                    .summary(Some("Open an incident INC-YYYY-MM-DD-NNN (SEV1-SEV4) with its commander"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", json(Ref::from_schema_name("IncidentRequest")))
                            .build(),
                    ))
                    .response("201", object_response("The incident"))
                    .response("400", error_response("Malformed JSON or a field of the wrong shape"))
                    .response("401", error_response("No valid token"))
                    .response("403", error_response("The token's role may not write incidents, or the decision point denied it"))
                    .response("404", error_response("No such workspace (or not the token's)"))
                    .response("422", error_response("No such agent or commander, or an empty title")),
            )
            .tap_add(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("list_incidents"))
                    .summary(Some("List incidents in id order"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("One page").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path("/v1/workspaces/{workspace}/incidents/{id}/ack", PathItem::new(HttpMethod::Post, incident_move("ack_incident", "Acknowledge an Open incident", true)))
        .path("/v1/workspaces/{workspace}/incidents/{id}/mitigate", PathItem::new(HttpMethod::Post, incident_move("mitigate_incident", "Mark an Acknowledged incident Mitigated", true)))
        .path("/v1/workspaces/{workspace}/incidents/{id}/resolve", PathItem::new(HttpMethod::Post, incident_move("resolve_incident", "Resolve a Mitigated incident", true)))
        .path(
            "/v1/workspaces/{workspace}/incidents/{id}/postmortem",
            PathItem::new(
                HttpMethod::Post,
                incident_move("write_postmortem", "Write a Resolved incident's postmortem (summary, impact, root_cause, timeline, actions each with owner and due); every missing part is named; the incident becomes Postmortem done", false)
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", json(Ref::from_schema_name("Postmortem")))
                            .build(),
                    )),
            ),
        )
        .path("/v1/workspaces/{workspace}/incidents/{id}/pause-agent", PathItem::new(HttpMethod::Post, incident_move("pause_incident_agent", "Pause the incident's agent (the kill switch), noted on its timeline", false)))
        .path(
            "/v1/workspaces/{workspace}/budgets/{id}/set",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("runs")
                    .operation_id(Some("set_budget"))
                    .summary(Some("Create or replace a monthly budget of an agent or a team; a hard one exhausted this month stops its agents (guardrail:budget-exhausted) until raised"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(path_parameter("id", "Budget id"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", json(Ref::from_schema_name("Budget")))
                            .build(),
                    ))
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description("The budget record")
                            .content("application/json", json(Ref::from_schema_name("BudgetView")))
                            .build(),
                    )
                    .response("400", error_response("Malformed JSON or a field of the wrong shape"))
                    .response("401", error_response("No valid token"))
                    .response("403", error_response("The token's role may not write budgets, or the decision point denied it"))
                    .response("404", error_response("No such workspace (or not the token's)"))
                    .response("422", error_response("The budget breaks a rule, or the body names another budget than the path")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/budget-report",
            PathItem::new(
                HttpMethod::Get,
                get_operation("budget_report", "Budgets, spend per agent and team, cost-to-outcome receipts (spend next to expected and actual value) and unexplained spend for a month")
                    .parameter(
                        ParameterBuilder::new()
                            .name("month")
                            .parameter_in(ParameterIn::Query)
                            .required(Required::False)
                            .description(Some("YYYY-MM (default this month)"))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{4}-(0[1-9]|1[0-2])$"))))
                            .build(),
                    )
                    .response("200", object_response("The report"))
                    .response("422", error_response("The month is not YYYY-MM")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/kpi-report",
            PathItem::new(
                HttpMethod::Get,
                get_operation("kpis", "The operations KPIs of a month: change success rate, MTTR for agent faults, mean time to acknowledge, alerts and pages per class, guardrail coverage")
                    .parameter(
                        ParameterBuilder::new()
                            .name("period")
                            .parameter_in(ParameterIn::Query)
                            .required(Required::False)
                            .description(Some("YYYY-MM (default this month)"))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{4}-(0[1-9]|1[0-2])$"))))
                            .build(),
                    )
                    .response("200", object_response("The KPIs"))
                    .response("422", error_response("The period is not YYYY-MM")),
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
