//! Data-model governance over HTTP: schema changes, promotion, data-quality
//! runs and the daily governance check.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use charter_app::App;
use charter_data::quality::{Format, KeySets, Options};
use charter_model::{DatasetScope, Date};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Authenticated;
use crate::routes::{Body, body_text, record_response, workspace};

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
    let options = Options { sample_limit: query.samples.unwrap_or(Options::default().sample_limit).min(100) };
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

/// Query of the governance check.
#[derive(Debug, Deserialize)]
pub(crate) struct CheckQuery {
    /// The day to check (default today).
    as_of: Option<Date>,
}

pub(crate) async fn governance_check(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Query(query): Query<CheckQuery>,
) -> Result<Response, ApiError> {
    let today = query.as_of.unwrap_or_else(|| app.now().date());
    let check = app.governance_check(&caller, &workspace(&name)?, today).await?;
    Ok(Json(check).into_response())
}

/// Query of the assessment.
#[derive(Debug, Deserialize)]
pub(crate) struct AssessmentQuery {
    /// The day assessed (default today).
    as_of: Option<Date>,
}

/// `GET /assessment`: the portfolio assessment as of a day, as JSON. A
/// read: no snapshot is saved (`charter assess` saves them).
pub(crate) async fn assessment(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    query: Result<Query<AssessmentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let as_of = query.as_of.unwrap_or_else(|| app.now().date());
    let assessed = app.assess(&caller, &workspace(&name)?, as_of, false, None).await?;
    Ok(Json(assessed.assessment).into_response())
}

/// `GET /workspaces/{ws}/report`: the executive report as an HTML page with
/// its four charts, as of `?as_of=` (default today); saves nothing.
pub(crate) async fn report_page(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    query: Result<Query<AssessmentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let workspace = workspace(&name)?;
    let as_of = query.as_of.unwrap_or_else(|| app.now().date());
    let report = app.report(&caller, &workspace, as_of, None, charter_app::ReportFormat::Html).await?;
    let mut page = Vec::new();
    report.write_to(&mut page).map_err(|error| {
        ApiError::from(charter_app::AppError::Invalid {
            what: "report".into(),
            problems: vec![error.to_string()],
        })
    })?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}
