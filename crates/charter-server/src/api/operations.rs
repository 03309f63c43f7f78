//! Governed operations over HTTP: declaration, approval with separation of
//! duties, rejection and halt. Operations run from the CLI (`charter op run`),
//! next to the files they change.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use charter_app::App;
use charter_model::RecordKind;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{PathsBuilder, ResponseBuilder};

use super::registry;
use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Body, Count, body_text, query, record_response, workspace};
use crate::openapi::{PathItemExt, error_response, json, path_parameter, post_operation, query_parameter};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/workspaces/{workspace}/operations",
            registry::list_of(RecordKind::Operation).post(declare_operation),
        )
        .route("/workspaces/{workspace}/operations/{id}", registry::one_of(RecordKind::Operation))
        .route("/workspaces/{workspace}/operations/{id}/approve", post(approve_operation))
        .route("/workspaces/{workspace}/operations/{id}/reject", post(reject_operation))
        .route("/workspaces/{workspace}/operations/{id}/halt", post(halt_operation))
        .route("/workspaces/{workspace}/operations/{id}/report", get(operation_report))
}

/// Query of `GET /operations/{id}/report`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// Which run, from 1 (default: the latest).
    run: Option<Count>,
}

/// `GET /operations/{id}/report`: the report of a run, produced by the app
/// from the operation's record.
pub(crate) async fn operation_report(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    params: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<charter_app::RunReport>, ApiError> {
    let params = query(params)?;
    let run = params.run.map(|run| run.0);
    Ok(Json(app.operation_report(&caller, &workspace(&name)?, &id, run).await?))
}

/// `POST /operations`: the body is the declaration, in YAML or JSON (YAML
/// reads JSON too).
pub(crate) async fn declare_operation(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let body = body_text(body)?;
    let text = std::str::from_utf8(&body).map_err(|error| {
        ApiError::bad_request(format!("the request body is not UTF-8 (byte offset {})", error.valid_up_to()))
    })?;
    let view = app.declare_operation(&caller, &workspace, text).await?;
    Ok(record_response(StatusCode::CREATED, view))
}

/// Body of a rejection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectRequest {
    /// Why.
    pub(crate) reason: String,
}

pub(crate) async fn approve_operation(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = app.approve_operation(&caller, &workspace(&name)?, &id).await?;
    Ok(record_response(StatusCode::OK, view))
}

pub(crate) async fn reject_operation(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(request): Body<RejectRequest>,
) -> Result<Response, ApiError> {
    let view = app.reject_operation(&caller, &workspace(&name)?, &id, &request.reason).await?;
    Ok(record_response(StatusCode::OK, view))
}

pub(crate) async fn halt_operation(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let operation = app.halt_operation(&caller, &workspace(&name)?, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "operation_id": operation.operation_id, "halt_requested": operation.halt_requested }))).into_response())
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let id = |what: &str| path_parameter("id", what);
    paths
        .path(
            "/v1/workspaces/{workspace}/operations",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "declare_operation",
                    "operations",
                    "Declare an operation: the body is the Ops Governor declaration in YAML or JSON (OPERATION_NAME, OBJECTIVE, RISK_CLASS, BLAST_RADIUS, ROLLBACK_STRATEGY, ALLOWED_PATHS, ALLOWED_SERVICES, NOT_ALLOWED, REQUESTED_BY, STEPS); every problem is listed at once",
                    None,
                    ("201", "The operation, Planned, with its OPS-YYYY-MM-DD-NNN id, tier and declaration hash", Some("OperationView")),
                )
                .response("422", error_response("The declaration is invalid; every missing or wrong field is listed")),
            )
            .tap_add(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("operations")
                    .operation_id(Some("list_operations"))
                    .summary(Some("List operations in id order"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("One page").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/approve",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "approve_operation",
                    "operations",
                    "Approve the operation's current plan (approver; not its requester; after a passing dry run of this plan); enough approvals make it Approved",
                    None,
                    ("200", "The operation", Some("OperationView")),
                )
                .parameter(id("Operation id (OPS-YYYY-MM-DD-NNN)"))
                .response("422", error_response("The operation is not Planned")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/reject",
            PathItem::new(
                HttpMethod::Post,
                post_operation("reject_operation", "operations", "Reject an operation that has not run", Some("RejectRequest"), (
                    "200",
                    "The rejected operation",
                    Some("OperationView"),
                ))
                .parameter(id("Operation id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/halt",
            PathItem::new(
                HttpMethod::Post,
                post_operation("halt_operation", "operations", "Ask a running operation to halt: its runner kills the current step and rolls back", None, (
                    "202",
                    "The halt is recorded",
                    None,
                ))
                .parameter(id("Operation id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/operations/{id}/report",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("operations")
                    .operation_id(Some("operation_report"))
                    .summary(Some(
                        "The report of an operation's run (exec summary, changes made, verification evidence, risk assessment, next safe actions), from its record",
                    ))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(id("Operation id"))
                    .parameter(query_parameter("run", "Which run, from 1 (default: the latest)", Type::Integer))
                    .response("200", ResponseBuilder::new().description("The report").content("application/json", json(run_report_schema())).build())
                    .response("422", error_response("The operation has no such run")),
            ),
        )
}

/// The schema of a run report.
fn run_report_schema() -> ObjectBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let lines = || ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
    ObjectBuilder::new()
        .property("operation_id", text())
        .property("exec_summary", text())
        .property("changes_made", lines())
        .property("verification_evidence", lines())
        .property("risk_assessment", text())
        .property("next_safe_actions", lines())
        .required("operation_id")
        .required("exec_summary")
        .required("changes_made")
        .required("verification_evidence")
        .required("risk_assessment")
        .required("next_safe_actions")
}
