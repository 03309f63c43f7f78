//! The decision API, grants and the kill switch over HTTP.
//!
//! A decision is answered only after it is in the workspace ledger. When it
//! cannot be logged the answer is still a decision — a denial, status 503 —
//! so a client that reads only `decision` fails closed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use charter_app::{App, AppError, NewGrant};
use charter_model::{AgentId, AgentStatus, GrantKind, RecordKind, Span};
use charter_policy::{DecisionAnswer, DecisionRequest, Effect, EntityRef};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::Ref;
use utoipa::openapi::{PathsBuilder, ResponseBuilder};

use super::registry;
use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Body, body_text, parse, record_response, workspace};
use crate::openapi::{PathItemExt, error_response, json, path_parameter, post_operation};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workspaces/{workspace}/decide", post(decide))
        .route("/workspaces/{workspace}/decide/batch", post(decide_batch))
        .route("/workspaces/{workspace}/grants", registry::list_of(RecordKind::Grant).post(create_grant))
        .route("/workspaces/{workspace}/grants/{id}", registry::one_of(RecordKind::Grant))
        .route("/workspaces/{workspace}/grants/{id}/revoke", post(revoke_grant))
        .route("/workspaces/{workspace}/agents/{id}/pause", post(pause_agent))
        .route("/workspaces/{workspace}/agents/{id}/resume", post(resume_agent))
}

/// Reason of a denial because the decision could not be logged.
pub const NOT_LOGGED: &str = "guardrail:not-logged";

/// A batch of decision requests.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBatch {
    /// The requests, at most 1,000.
    pub(crate) requests: Vec<DecisionRequest>,
}

/// The answers to a batch, in request order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DecisionBatchAnswer {
    /// One answer per request.
    pub(crate) decisions: Vec<DecisionAnswer>,
}

/// The answer when decisions cannot be made or logged: the caller's own
/// mistakes are errors; anything else denies every request with 503.
fn failed(error: AppError, requests: usize, batch: bool) -> Response {
    match error {
        AppError::WorkspaceNotFound(_)
        | AppError::NotFound { .. }
        | AppError::Forbidden(_)
        | AppError::Invalid { .. } => ApiError::from(error).into_response(),
        other => {
            tracing::error!(error = %other, "decisions could not be logged; denying");
            let denial = DecisionAnswer {
                decision: Effect::Deny,
                decision_id: None,
                reasons: vec![NOT_LOGGED.to_owned()],
                errors: vec!["the decision could not be written to the ledger, so it denies".to_owned()],
            };
            let body = if batch {
                serde_json::to_value(DecisionBatchAnswer { decisions: vec![denial; requests] })
            } else {
                serde_json::to_value(denial)
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body.unwrap_or_default())).into_response()
        }
    }
}

pub(crate) async fn decide(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<DecisionRequest>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    Ok(match app.decide(&caller, &workspace, std::slice::from_ref(&request)).await {
        Ok(mut answers) => match answers.pop() {
            Some(answer) => Json(answer).into_response(),
            None => failed(AppError::Stale { current: 0 }, 1, false),
        },
        Err(error) => failed(error, 1, false),
    })
}

pub(crate) async fn decide_batch(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(batch): Body<DecisionBatch>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    Ok(match app.decide(&caller, &workspace, &batch.requests).await {
        Ok(decisions) => Json(DecisionBatchAnswer { decisions }).into_response(),
        Err(error) => failed(error, batch.requests.len(), true),
    })
}

/// A grant to create; the token's holder approves it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantRequest {
    /// `access` (default), `approval` or `residency_exception`.
    #[serde(default)]
    pub kind: Option<GrantKind>,
    /// The agent it lets act.
    pub agent_id: AgentId,
    /// The action, e.g. `invoke_tool`.
    pub action: String,
    /// The resource.
    pub resource: EntityRef,
    /// How long it holds from now: `90s`, `30m`, `2h`, `7d` (at most 90 days).
    #[schema(pattern = "^([1-9][0-9]{0,5}[smhdw]){1,4}$")]
    pub ttl: String,
    /// Why it is given.
    pub reason: String,
    /// Who asked (default: the agent); never the approver.
    #[serde(default)]
    pub requested_by: Option<String>,
}

pub(crate) async fn create_grant(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<GrantRequest>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let ttl: Span = request.ttl.parse().map_err(|error| {
        ApiError::from(AppError::Invalid { what: "grant".into(), problems: vec![format!("ttl: {error}")] })
    })?;
    let new = NewGrant {
        kind: request.kind.unwrap_or(GrantKind::Access),
        agent_id: request.agent_id,
        action: request.action,
        resource_type: request.resource.entity_type,
        resource_id: request.resource.id,
        ttl,
        reason: request.reason,
        requested_by: request.requested_by,
    };
    let view = app.create_grant(&caller, &workspace, new).await?;
    Ok(record_response(StatusCode::CREATED, view))
}

pub(crate) async fn revoke_grant(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = app.revoke_grant(&caller, &workspace(&name)?, &id).await?;
    Ok(record_response(StatusCode::OK, view))
}

pub(crate) async fn pause_agent(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let view = app.set_agent_status(&caller, &workspace(&name)?, &id, AgentStatus::Paused).await?;
    Ok(record_response(StatusCode::OK, view))
}

/// Optional body of a resume.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResumeRequest {
    /// The status to resume to (default: the one before the pause).
    #[serde(default)]
    pub status: Option<AgentStatus>,
}

pub(crate) async fn resume_agent(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_text(body)?;
    let request: ResumeRequest =
        if body.iter().all(u8::is_ascii_whitespace) { ResumeRequest::default() } else { parse(&body)? };
    let view = app.resume_agent(&caller, &workspace(&name)?, &id, request.status).await?;
    Ok(record_response(StatusCode::OK, view))
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let denied = |description: &str, schema: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", json(Ref::from_schema_name(schema)))
            .build()
    };
    let id = |what: &str| path_parameter("id", what);
    paths
        .path(
            "/v1/workspaces/{workspace}/decide",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "decide",
                    "decisions",
                    "Decide whether a principal may take an action on a resource; the decision is in the ledger before the answer is sent",
                    Some("DecisionRequest"),
                    ("200", "The decision, with its id in the ledger and its reasons", Some("DecisionAnswer")),
                )
                .response("422", error_response("The request breaks a rule"))
                .response("503", denied("The decision could not be logged: it denies (reason guardrail:not-logged)", "DecisionAnswer")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/decide/batch",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "decide_batch",
                    "decisions",
                    "Decide up to 1,000 requests at once; all are logged, in order, before the answer",
                    Some("DecisionBatch"),
                    ("200", "One answer per request, in order", Some("DecisionBatchAnswer")),
                )
                .response("422", error_response("Too many requests"))
                .response("503", denied("The decisions could not be logged: every one denies", "DecisionBatchAnswer")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/grants",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "create_time_bound_grant",
                    "grants",
                    "Grant an agent one action on one resource for a while (approver or admin; the token's holder approves and may not be the requester)",
                    Some("GrantRequest"),
                    ("201", "The grant", Some("GrantView")),
                )
                .response("422", error_response("The grant breaks a rule; every problem is listed")),
            )
            .tap_add(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("grants")
                    .operation_id(Some("list_grants"))
                    .summary(Some("List grants in id order"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", ResponseBuilder::new().description("One page").build())
                    .response("401", error_response("No valid token")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/grants/{id}/revoke",
            PathItem::new(
                HttpMethod::Post,
                post_operation("revoke_grant", "grants", "Revoke a grant now: the next decision no longer sees it", None, (
                    "200",
                    "The revoked grant",
                    Some("GrantView"),
                ))
                .parameter(id("Grant id (GRANT-NNNN)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/agents/{id}/pause",
            PathItem::new(
                HttpMethod::Post,
                post_operation("pause_agent", "agents", "Kill switch: every decision about the agent denies from the next one", None, (
                    "200",
                    "The paused agent",
                    Some("AgentView"),
                ))
                .parameter(id("Agent id")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/agents/{id}/resume",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "resume_agent",
                    "agents",
                    "Lift the kill switch: back to the status before the pause, or the one the body names",
                    Some("ResumeRequest"),
                    ("200", "The resumed agent", Some("AgentView")),
                )
                .parameter(id("Agent id"))
                .response("422", error_response("The agent is not paused")),
            ),
        )
}
