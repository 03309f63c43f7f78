//! The JSON API under `/v1`, one module per capability, named as in
//! `charter-app` and the CLI. Each module holds its handlers (parse the
//! request, call one [`App`] method, render the answer), its routes and
//! its paths in the OpenAPI document.

use axum::Router;
use charter_app::App;
use utoipa::openapi::PathsBuilder;

mod cert;
mod data;
pub(crate) mod decisions;
pub(crate) mod guard;
mod ledger;
mod operations;
mod oversight;
pub(crate) mod registry;
mod risk;

pub(crate) use cert::{IncidentDrillRequest, WaiverRequest, certification_page};
pub(crate) use data::PromoteRequest;
pub(crate) use decisions::{DecisionBatch, DecisionBatchAnswer, GrantRequest, ResumeRequest};
pub(crate) use operations::RejectRequest;
pub(crate) use oversight::{IncidentNote, IncidentRequest, RunOutputBody, RunValidationRequest};
pub(crate) use risk::report_page;

/// Every capability's routes, to be nested under `/v1`.
pub(crate) fn routes() -> Router<App> {
    Router::new()
        .merge(registry::routes())
        .merge(ledger::routes())
        .merge(decisions::routes())
        .merge(operations::routes())
        .merge(data::routes())
        .merge(risk::routes())
        .merge(oversight::routes())
        .merge(guard::routes())
        .merge(cert::routes())
}

/// Every capability's paths in the OpenAPI document.
pub(crate) fn paths(paths: PathsBuilder) -> PathsBuilder {
    let paths = registry::paths(paths);
    let paths = ledger::paths(paths);
    let paths = decisions::paths(paths);
    let paths = operations::paths(paths);
    let paths = data::paths(paths);
    let paths = risk::paths(paths);
    let paths = oversight::paths(paths);
    let paths = guard::paths(paths);
    cert::paths(paths)
}
