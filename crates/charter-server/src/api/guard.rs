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
    Router::new()
        .route("/workspaces/{workspace}/filter", post(filter))
        .route("/workspaces/{workspace}/guard-stats", axum::routing::get(stats))
        .route("/workspaces/{workspace}/guard-lint", axum::routing::get(lint))
        .route(
            "/workspaces/{workspace}/filter/stream",
            // A stream may be longer than any body the server buffers.
            post(filter_stream).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// Who filters a stream, which way, where: the query of `…/filter/stream`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    #[serde(default)]
    agent: Option<String>,
    direction: Direction,
    #[serde(default)]
    destination: Option<String>,
}

/// `POST /workspaces/{ws}/filter/stream`: the body is the content, of any
/// length, filtered as bytes; the answer is JSON lines, `{"content": …}`
/// for each piece that may pass as it is read (`{"content_base64": …}`
/// when the piece is not UTF-8: its bytes as they are), then one summary
/// line. When the summary says
/// `block`, nothing of what came before may be passed on.
async fn filter_stream(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<axum::extract::Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use futures_util::StreamExt as _;
    let params = crate::extract::query(params)?;
    let head = charter_app::FilterHead {
        agent: params.agent,
        direction: params.direction,
        destination: params.destination,
    };
    let mut session = app.filter_session(&caller, &workspace(&name)?, head).await?;
    let (lines, receiver) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let line = |value: serde_json::Value| {
            let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
            bytes.push(b'\n');
            Ok(axum::body::Bytes::from(bytes))
        };
        // Pieces end at line ends, so only content that is not UTF-8 makes
        // a piece that is not: it passes as the bytes it is, in base64.
        let piece = |bytes: Vec<u8>| match String::from_utf8(bytes) {
            Ok(text) => line(serde_json::json!({ "content": text })),
            Err(error) => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(error.as_bytes());
                line(serde_json::json!({ "content_base64": encoded }))
            }
        };
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            let Ok(chunk) = chunk else {
                let _ = lines.send(Err(std::io::Error::other("the request body broke off"))).await;
                return;
            };
            let passed = session.push(&chunk);
            if !passed.is_empty() && lines.send(piece(passed)).await.is_err() {
                return;
            }
        }
        let passed = session.flush();
        if !passed.is_empty() && lines.send(piece(passed)).await.is_err() {
            return;
        }
        let summary = match session.finish().await {
            Ok(filtered) => {
                serde_json::json!({"action": filtered.action, "class": filtered.class, "counts": filtered.counts,
                    "reasons": filtered.reasons, "decision_id": filtered.decision_id})
            }
            Err(error) => serde_json::json!({"action": "block", "error": error.to_string()}),
        };
        let _ = lines.send(line(summary)).await;
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    Ok(([(axum::http::header::CONTENT_TYPE, "application/x-ndjson")], axum::body::Body::from_stream(stream))
        .into_response())
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    #[serde(default)]
    days: Option<u32>,
}

/// `GET /workspaces/{ws}/guard-stats?days=7`: filterings per agent and type.
async fn stats(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    params: Result<axum::extract::Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let params = crate::extract::query(params)?;
    Ok(Json(app.guard_stats(&caller, &workspace(&name)?, params.days.unwrap_or(7)).await?).into_response())
}

/// `GET /workspaces/{ws}/guard-lint`: what is wrong in the DLP rules.
async fn lint(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(app.guard_lint(&caller, &workspace(&name)?).await?).into_response())
}

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let query = |name: &str, description: &str, values: Option<[&str; 2]>| {
        let mut schema = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String);
        if let Some(values) = values {
            schema = schema.enum_values(Some(values));
        }
        let required =
            if values.is_some() { utoipa::openapi::Required::True } else { utoipa::openapi::Required::False };
        utoipa::openapi::path::ParameterBuilder::new()
            .name(name)
            .parameter_in(utoipa::openapi::path::ParameterIn::Query)
            .required(required)
            .description(Some(description))
            .schema(Some(schema))
            .build()
    };
    let get = |id: &str, summary: &str| {
        utoipa::openapi::path::OperationBuilder::new()
            .tag("guard")
            .operation_id(Some(id))
            .summary(Some(summary))
            .parameter(crate::openapi::path_parameter("workspace", "Workspace name"))
            .response(
                "200",
                utoipa::openapi::ResponseBuilder::new()
                    .description("A list")
                    .content(
                        "application/json",
                        crate::openapi::json(utoipa::openapi::schema::ArrayBuilder::new().items(
                            utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Object),
                        )),
                    )
                    .build(),
            )
            .response("400", error_response("A query parameter of the wrong shape"))
            .response("401", error_response("No valid token"))
            .response("404", error_response("No such workspace (or not the token's)"))
    };
    let paths = paths
        .path(
            "/v1/workspaces/{workspace}/guard-stats",
            PathItem::new(
                HttpMethod::Get,
                get(
                    "guard_stats",
                    "Filterings per agent over the last days: how many, blocked, redacted, findings per type",
                )
                .parameter({
                    let mut parameter = crate::openapi::query_parameter(
                        "days",
                        "Days back from now (1 to 366, default 7)",
                        utoipa::openapi::Type::Integer,
                    );
                    if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(schema))) =
                        parameter.schema.as_mut()
                    {
                        schema.minimum = Some(1f64.into());
                        schema.maximum = Some(366f64.into());
                    }
                    parameter
                })
                .response("422", error_response("days out of range")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/guard-lint",
            PathItem::new(
                HttpMethod::Get,
                get("guard_lint", "What is wrong or surprising in the DLP rules and guard settings"),
            ),
        );
    let paths = paths.path(
        "/v1/workspaces/{workspace}/filter/stream",
        PathItem::new(
            HttpMethod::Post,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("guard")
                .operation_id(Some("filter_stream"))
                .summary(Some("Filter content of any length as it comes: JSON lines, {\"content\": …} for each piece that may pass ({\"content_base64\": …} for a piece that is not UTF-8: the content is filtered as bytes), then a summary line (action, class, counts, reasons, decision_id); when it says block, nothing before may be passed on"))
                .parameter(crate::openapi::path_parameter("workspace", "Workspace name"))
                .parameter(query("direction", "egress or ingress", Some(["egress", "ingress"])))
                .parameter(query("agent", "The agent (without one, every finding is redacted)", None))
                .parameter(query("destination", "The system or dataset", None))
                .request_body(Some(
                    // Empty content is content: the answer is its summary.
                    utoipa::openapi::request_body::RequestBodyBuilder::new()
                        .required(Some(utoipa::openapi::Required::False))
                        .content("application/octet-stream", utoipa::openapi::ContentBuilder::new().build())
                        .build(),
                ))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("JSON lines: the pieces that pass, then the summary")
                        .content("application/x-ndjson", utoipa::openapi::ContentBuilder::new().build())
                        .build(),
                )
                .response("400", error_response("A query parameter of the wrong shape"))
                .response("401", error_response("No valid token"))
                .response("403", error_response("The token's role may not filter"))
                .response("404", error_response("No such workspace (or not the token's)")),
        ),
    );
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
