//! Portfolio risk over HTTP: the assessment (which saves the day's
//! snapshots) and the executive report as a page.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use charter_app::App;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::Type;
use utoipa::openapi::{PathsBuilder, ResponseBuilder};

use crate::ApiError;
use crate::auth::Authenticated;
use crate::extract::{AsOf, workspace};
use crate::openapi::{error_response, object_response, path_parameter, query_parameter};

/// This capability's routes under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new().route("/workspaces/{workspace}/assessment", get(assessment))
}

/// `GET /assessment`: the portfolio assessment as of a day, as JSON. A
/// read: no snapshot is saved (`charter assess` saves them).
pub(crate) async fn assessment(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    as_of: AsOf,
) -> Result<Response, ApiError> {
    let as_of = as_of.or_today(&app);
    let assessed = app.assess(&caller, &workspace(&name)?, as_of, false, None).await?;
    Ok(Json(assessed.assessment).into_response())
}

/// `GET /workspaces/{ws}/report`: the executive report as an HTML page with
/// its four charts, as of `?as_of=` (default today); saves nothing.
pub(crate) async fn report_page(
    State(app): State<App>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    as_of: AsOf,
) -> Result<Response, ApiError> {
    let workspace = workspace(&name)?;
    let as_of = as_of.or_today(&app);
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

/// This capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    paths
        .path(
            "/workspaces/{workspace}/report",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("risk")
                    .operation_id(Some("report_page"))
                    .summary(Some("The executive portfolio report as an HTML page with its charts; saves nothing"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .parameter(query_parameter("as_of", "The day to assess, YYYY-MM-DD (default today)", Type::String))
                    .response(
                        "200",
                        ResponseBuilder::new()
                            .description("The report")
                            .content("text/html", utoipa::openapi::ContentBuilder::new().build())
                            .build(),
                    )
                    .response("400", error_response("as_of is not a date"))
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
        .path(
            "/v1/workspaces/{workspace}/assessment",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("risk")
                    .operation_id(Some("assessment"))
                    .summary(Some("The portfolio assessment as of ?as_of=YYYY-MM-DD (default today): every agent's integration, risk and value-leakage scores with their components and evidence, trends, ranked risk signals, blast radii, escalations and recommendations; saves nothing"))
                    .parameter(path_parameter("workspace", "Workspace name"))
                    .response("200", object_response("The assessment"))
                    .response("401", error_response("No valid token"))
                    .response("404", error_response("No such workspace (or not the token's)")),
            ),
        )
}
