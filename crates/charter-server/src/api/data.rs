//! Data-model governance over HTTP: schema changes, promotion, data-quality
//! runs and the daily governance check.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use charter_app::App;
use charter_data::quality::{Format, KeySets, Options};
use charter_model::{DatasetScope, RecordKind};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::PathsBuilder;
use utoipa::openapi::path::{HttpMethod, PathItem};

use super::registry;
use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{AsOf, Body, body_text, record_response, workspace};
use crate::openapi::{error_response, object_response, path_parameter, post_operation};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workspaces/{workspace}/datasets/{id}/schema-changes", post(propose))
        .route("/workspaces/{workspace}/datasets/{id}/promote", post(promote))
        .route("/workspaces/{workspace}/datasets/{id}/quality", post(quality))
        .route("/workspaces/{workspace}/changes", registry::list_of(RecordKind::Change))
        .route("/workspaces/{workspace}/changes/{id}", registry::one_of(RecordKind::Change))
        .route("/workspaces/{workspace}/changes/{id}/apply", post(apply))
        .route("/workspaces/{workspace}/changes/{id}/rollback", post(rollback))
        .route("/workspaces/{workspace}/notifications", registry::list_of(RecordKind::Notification))
        .route("/workspaces/{workspace}/notifications/{id}", registry::one_of(RecordKind::Notification))
        .route("/workspaces/{workspace}/dq-runs", registry::list_of(RecordKind::QualityRun))
        .route("/workspaces/{workspace}/dq-runs/{id}", registry::one_of(RecordKind::QualityRun))
        .route("/workspaces/{workspace}/governance-check", post(governance_check))
}

/// `POST /datasets/{id}/schema-changes`: the body is a [`charter_data::Proposal`].
/// Webhook deliveries run after the answer, in the background.
pub(crate) async fn propose(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(proposal): Body<charter_data::Proposal>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let proposed = app.propose_schema_change(&caller, &workspace, &id, proposal).await?;
    if proposed.notifications.iter().any(|n| n.delivery.is_some()) {
        let (app, caller, workspace) = (app.clone(), caller.clone(), workspace.clone());
        tokio::spawn(async move {
            if let Err(error) = app.deliver_notifications(&caller, &workspace).await {
                tracing::warn!(%error, "webhook delivery");
            }
        });
    }
    Ok((StatusCode::CREATED, Json(proposed)).into_response())
}

pub(crate) async fn apply(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(record_response(StatusCode::OK, app.apply_change(&caller, &workspace(&name)?, &id).await?))
}

pub(crate) async fn rollback(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(record_response(StatusCode::OK, app.rollback_change(&caller, &workspace(&name)?, &id).await?))
}

/// Body of a promotion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PromoteRequest {
    /// STAGE or PUBLISHED.
    pub(crate) to: DatasetScope,
}

pub(crate) async fn promote(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Body(request): Body<PromoteRequest>,
) -> Result<Response, ApiError> {
    let promoted = app.promote_dataset(&caller, &workspace(&name)?, &id, request.to).await?;
    Ok(Json(promoted).into_response())
}

/// Query of a quality run.
#[derive(Debug, Deserialize)]
pub(crate) struct QualityQuery {
    /// The file's name, recorded with the run.
    source: Option<String>,
    /// Failing rows kept per check.
    samples: Option<usize>,
}

/// `POST /datasets/{id}/quality`: the body is the data itself, CSV
/// (`text/csv`) or JSON Lines (`application/x-ndjson`). Only datasets
/// whose references stay inside the dataset can be checked this way;
/// others need the CLI's `--keys`.
pub(crate) async fn quality(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
    Query(query): Query<QualityQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let body = body_text(body)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("text/csv");
    let format = if content_type.starts_with("application/x-ndjson")
        || content_type.starts_with("application/jsonl")
    {
        Format::JsonLines
    } else if content_type.starts_with("text/csv") {
        Format::Csv
    } else {
        return Err(ApiError::bad_request(format!(
            "Content-Type {content_type}: send text/csv or application/x-ndjson"
        )));
    };
    let options = Options {
        sample_limit: query.samples.unwrap_or(Options::default().sample_limit).min(100),
        ..Options::default()
    };
    let input = charter_app::QualityInput {
        name: query.source.unwrap_or_else(|| "request body".into()),
        reader: Box::new(std::io::Cursor::new(body)),
        format,
        keys: KeySets::new(),
        options,
        progress: Box::new(|_| {}),
    };
    let recorded = app.validate_quality(&caller, &workspace, &id, input).await?;
    Ok((StatusCode::CREATED, Json(recorded)).into_response())
}

pub(crate) async fn governance_check(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    as_of: AsOf,
) -> Result<Response, ApiError> {
    let today = as_of.or_today(&app);
    let check = app.governance_check(&caller, &workspace(&name)?, today).await?;
    Ok(Json(check).into_response())
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let id = |description: &str| path_parameter("id", description);
    let dataset_id = || id("Dataset id");
    paths
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/schema-changes",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "propose_schema_change",
                    "data",
                    "Propose a new schema (PROC-ANALYZE-SCHEMA-CHANGE): the diff with breaking changes marked, every dataset downstream with its path and referencing fields, the agents, workflows and policies affected; logs a Planned CHG-YYYY-MM-DD-### entry and notifies the owners of affected agents (webhook delivery in the background); needs change_schema from the decision point",
                    Some("Proposal"),
                    ("201", "The change (with impact_analysis), the notifications and the decision id", None),
                )
                .parameter(dataset_id())
                .response("201", object_response("The change (with impact_analysis), the notifications and the decision id"))
                .response("422", error_response("The proposed schema breaks a rule or changes nothing")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/changes/{id}/apply",
            PathItem::new(
                HttpMethod::Post,
                post_operation("apply_change", "data", "Apply a Planned change: Executing, then Complete with the dataset at schema version + 1", None, ("200", "The change", Some("ChangeView")))
                    .parameter(id("Change id (CHG-YYYY-MM-DD-###)"))
                    .response("422", error_response("The change is not Planned, or the dataset moved on since its analysis")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/changes/{id}/rollback",
            PathItem::new(
                HttpMethod::Post,
                post_operation("rollback_change", "data", "Roll a change back; a Complete one has its previous schema restored (schema version + 1)", None, ("200", "The change", Some("ChangeView")))
                    .parameter(id("Change id (CHG-YYYY-MM-DD-###)"))
                    .response("422", error_response("Already Rolled Back, or a later change is in the way")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/promote",
            PathItem::new(
                HttpMethod::Post,
                post_operation("promote_dataset", "data", "Promote a dataset one scope up (DRAFT, STAGE, PUBLISHED) when every gate is met: decision point, scope order, specialist agent, quality score, validation procedures, registration, no open change", Some("PromoteRequest"), ("200", "The dataset and the gates", None))
                    .parameter(dataset_id())
                    .response("200", object_response("The dataset and the gates, all met"))
                    .response("422", error_response("Every unmet gate, one per line")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/datasets/{id}/quality",
            PathItem::new(
                HttpMethod::Post,
                post_operation("validate_quality", "data", "Validate the body (text/csv or application/x-ndjson) against the dataset's schema, record the run and raise one RAIDA issue per failing check; query parameters source (file name) and samples (failing rows kept per check)", None, ("201", "The run, the threshold and the RAIDA outcomes", None))
                    .parameter(dataset_id())
                    .response("201", object_response("The run, the threshold and the RAIDA outcomes"))
                    .response("422", error_response("The file cannot be validated: a mandatory column missing, a rule that does not compile, a reference to another dataset")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/governance-check",
            PathItem::new(
                HttpMethod::Post,
                post_operation("governance_check", "data", "Run the daily governance check (PROC-DAILY-GOVERNANCE) for today or ?as_of=YYYY-MM-DD; raises RAIDA items for AMBER and RED findings, idempotently", None, ("200", "The dashboard and the RAIDA outcomes", None))
                    .response("200", object_response("The dashboard (status GREEN, AMBER or RED per section) and the RAIDA outcomes")),
            ),
        )
}
