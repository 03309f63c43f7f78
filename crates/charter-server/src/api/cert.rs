//! Certification over HTTP: the verdict (JSON, and as a page), waivers
//! (request, approve) and incident drills. A rollback drill runs commands
//! on the machine of the data directory, so it is the CLI's only.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use charter_app::{App, CertifyRequest};
use charter_model::{RecordKind, Timestamp};
use serde::Deserialize;
use utoipa::openapi::PathsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Body, query, workspace};
use crate::openapi::{error_response, path_parameter, post_operation};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/workspaces/{workspace}/certification", get(certification))
        .route(
            "/workspaces/{workspace}/waivers",
            super::registry::list_of(RecordKind::Waiver).post(request_waiver),
        )
        .route("/workspaces/{workspace}/waivers/{id}", super::registry::one_of(RecordKind::Waiver))
        .route("/workspaces/{workspace}/waivers/{id}/approve", post(approve_waiver))
        .route("/workspaces/{workspace}/drills", super::registry::list_of(RecordKind::Drill))
        .route("/workspaces/{workspace}/drills/{id}", super::registry::one_of(RecordKind::Drill))
        .route("/workspaces/{workspace}/drills/incident", post(incident_drill))
}

/// `?as_of=`: a time, or a date meaning its last second.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AsOfParams {
    #[serde(default)]
    as_of: Option<String>,
}

fn as_of(params: AsOfParams) -> Result<Option<Timestamp>, ApiError> {
    params
        .as_of
        .map(|text| {
            charter_cert::parse_as_of(&text).ok_or_else(|| {
                ApiError::bad_request(format!("as_of \"{text}\": not a time or a date (YYYY-MM-DD)"))
            })
        })
        .transpose()
}

async fn certify(
    app: &App,
    caller: &charter_app::Caller,
    name: &str,
    params: Result<Query<AsOfParams>, axum::extract::rejection::QueryRejection>,
) -> Result<charter_app::Certification, ApiError> {
    let request = CertifyRequest { as_of: as_of(query(params)?)?, matrix: None, record: false };
    Ok(app.certify(caller, &workspace(name)?, request).await?)
}

/// `GET /certification`: the verdict, its signed envelope and the timings
/// measured; nothing is recorded (`charter certify` records).
pub(crate) async fn certification(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<AsOfParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let certification = certify(&app, &caller, &name, params).await?;
    Ok(Json(serde_json::json!({
        "verdict": certification.verdict,
        "envelope": certification.envelope,
        "unsigned": certification.unsigned,
        "measurements": certification.measurements,
    }))
    .into_response())
}

/// `GET /workspaces/{ws}/certification` (outside `/v1`): the verdict as a page.
pub(crate) async fn certification_page(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<Query<AsOfParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let certification = certify(&app, &caller, &name, params).await?;
    let page = charter_cert::html(&certification.verdict);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// A waiver to request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaiverRequest {
    /// `OC-B1` … `OC-B5`, or a claim id (`T0.1` …).
    scope: String,
    /// Why the gap is accepted for now.
    reason: String,
    /// Who owns the gap (a registered person).
    owner: String,
    /// When it ends (RFC 3339), at most the matrix's `waivers.max_days` away.
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
}

/// `POST /waivers`.
pub(crate) async fn request_waiver(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<WaiverRequest>,
) -> Result<Response, ApiError> {
    let new = charter_app::NewWaiver {
        scope: request.scope,
        reason: request.reason,
        owner: request.owner,
        expires_at: request.expires_at,
    };
    let waiver = app.request_waiver(&caller, &workspace(&name)?, new).await?;
    Ok((axum::http::StatusCode::CREATED, Json(waiver)).into_response())
}

/// `POST /waivers/{id}/approve`.
pub(crate) async fn approve_waiver(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(app.approve_waiver(&caller, &workspace(&name)?, &id).await?).into_response())
}

/// An incident drill.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentDrillRequest {
    /// The incident commander (default: the first person with the incident_commander role).
    #[serde(default)]
    commander: Option<String>,
}

/// `POST /drills/incident`.
pub(crate) async fn incident_drill(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(request): Body<IncidentDrillRequest>,
) -> Result<Response, ApiError> {
    let drill = app.drill_incident(&caller, &workspace(&name)?, request.commander).await?;
    Ok((axum::http::StatusCode::CREATED, Json(drill)).into_response())
}

/// A date, or an RFC 3339 time with its zone.
fn as_of_pattern() -> String {
    let date = crate::openapi::DATE_PATTERN.trim_start_matches('^').trim_end_matches('$');
    format!(
        "^{date}(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,9}})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )
}

fn as_of_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("as_of")
        .parameter_in(ParameterIn::Query)
        .description(Some(
            "The end of the evidence period: an RFC 3339 time or a date (its last second); default now",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .pattern(Some(as_of_pattern())),
        ))
        .build()
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let certification = |id: &str, summary: &str, content: &str| {
        OperationBuilder::new()
            .tag("certification")
            .operation_id(Some(id))
            .summary(Some(summary))
            .parameter(path_parameter("workspace", "Workspace name"))
            .parameter(as_of_parameter())
            .response(
                "200",
                utoipa::openapi::ResponseBuilder::new()
                    .description("The verdict")
                    .content(content, utoipa::openapi::ContentBuilder::new().build())
                    .build(),
            )
            .response("400", error_response("as_of is not a time or a date"))
            .response("401", error_response("No valid token"))
            .response("404", error_response("No such workspace (or not the token's)"))
    };
    paths
        .path(
            "/v1/workspaces/{workspace}/certification",
            PathItem::new(
                HttpMethod::Get,
                certification(
                    "certification",
                    "The operations and governance certification computed now from the workspace's records: claims with levels L0-L4, the blocker register OC-B1..B7, waivers, the verdict (GREEN only when every Tier 0 claim is evidence-pass with no active blocker) and its DSSE envelope; records nothing",
                    "application/json",
                ),
            ),
        )
        .path(
            "/workspaces/{workspace}/certification",
            PathItem::new(
                HttpMethod::Get,
                certification("certification_page", "The certification as an HTML page", "text/html"),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/waivers",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "request_waiver",
                    "certification",
                    "Request a waiver WVR-YYYY-MM-DD-NNN of a blocker (OC-B1..B5) or a claim; it holds nothing until approved",
                    Some("WaiverRequest"),
                    ("201", "The waiver", None),
                )
                .response("422", error_response("A scope that is no blocker or claim, OC-B6/B7, an unknown owner, or an expiry in the past or too far")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/waivers/{id}/approve",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "approve_waiver",
                    "certification",
                    "Approve a waiver (decided by the decision point; the approver is neither its owner nor its requester)",
                    None,
                    ("200", "The waiver", None),
                )
                .parameter(path_parameter("id", "Waiver id"))
                .response("409", error_response("Approved already"))
                .response("422", error_response("The waiver has expired")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/drills/incident",
            PathItem::new(
                HttpMethod::Post,
                post_operation(
                    "incident_drill",
                    "certification",
                    "Start an incident drill: a SEV4 incident through the incident flow; it passes once closed by a checked postmortem",
                    Some("IncidentDrillRequest"),
                    ("201", "The drill", None),
                )
                .response("422", error_response("No such commander")),
            ),
        )
}
