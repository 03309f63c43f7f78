//! Safety filters over HTTP: content in, what to pass on out (allowed,
//! redacted or blocked), with the findings, the class and the filtering's
//! id in the ledger.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use charter_app::{App, FilterRequest};
use charter_model::Direction;
use serde::{Deserialize, Serialize};
use utoipa::openapi::PathsBuilder;
use utoipa::openapi::path::{HttpMethod, PathItem};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{Body, workspace};
use crate::openapi::{error_response, post_operation};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new().route("/workspaces/{workspace}/filter", post(filter))
}

/// Content to filter.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterBody {
    /// The agent the content belongs to (id or name); without one, every
    /// finding is redacted.
    #[serde(default)]
    agent: Option<String>,
    /// `egress`: the agent sends it; `ingress`: the agent takes it in.
    direction: Direction,
    /// The system or dataset it goes to (egress) or comes from (ingress).
    #[serde(default)]
    destination: Option<String>,
    /// The content.
    content: String,
}

/// One finding: its type, byte offsets into the content (UTF-8) and confidence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FindingView {
    /// The finding type (`email`, `credit_card`, `jwt`, …).
    #[serde(rename = "type")]
    kind: charter_model::FindingType,
    /// First byte.
    start: u64,
    /// One past the last byte.
    end: u64,
    /// From 0 to 1.
    confidence: f32,
}

/// What the filter decided.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FilterAnswer {
    /// `allow`, `redact` or `block`.
    action: charter_model::GuardAction,
    /// The content to pass on: unchanged (allow), redacted (redact); absent
    /// when blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    /// What was found.
    findings: Vec<FindingView>,
    /// `public`, `internal`, `confidential` or `restricted`.
    class: charter_model::DataClass,
    /// Why: DLP rules (`dlp:<action>:<rule>/<version>`), the decision
    /// point's reasons, `guard:unknown-agent`, `guard:rules-unreadable`.
    reasons: Vec<String>,
    /// The filtering's entry in the ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    decision_id: Option<String>,
}

/// `POST /workspaces/{ws}/filter`.
async fn filter(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    Body(body): Body<FilterBody>,
) -> Result<Response, ApiError> {
    let request = FilterRequest {
        agent: body.agent,
        direction: body.direction,
        destination: body.destination,
        content: body.content.into_bytes(),
    };
    let filtered = app.filter(&caller, &workspace(&name)?, request).await?;
    let answer = FilterAnswer {
        action: filtered.action,
        // Redaction replaces ASCII values with ASCII: UTF-8 stays UTF-8.
        content: filtered.content.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        findings: filtered
            .findings
            .iter()
            .map(|f| FindingView {
                kind: f.kind,
                start: f.start as u64,
                end: f.end as u64,
                confidence: f.confidence,
            })
            .collect(),
        class: filtered.class,
        reasons: filtered.reasons,
        decision_id: filtered.decision_id,
    };
    Ok(Json(answer).into_response())
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    paths.path(
        "/v1/workspaces/{workspace}/filter",
        PathItem::new(
            HttpMethod::Post,
            post_operation(
                "filter",
                "guard",
                "Filter content an agent sends or takes in: findings, class, DLP rules and the decision point decide allow, redact or block; logged in the ledger without the content",
                Some("FilterBody"),
                ("200", "What to pass on, the findings and the class", Some("FilterAnswer")),
            )
            .response("413", error_response("The body is larger than this server accepts"))
            .response("422", error_response("Content longer than one request may carry")),
        ),
    )
}
