//! The console's data pages: datasets with their scope and schema version,
//! schema changes with their impact, data-quality runs with each check's
//! result; proposing a schema change (its impact shown at once) and
//! promoting a dataset (every unmet gate shown when refused).

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use charter_app::App;
use charter_model::{DatasetScope, RecordKind};
use serde::Deserialize;

use super::pages::{all_records, form_urlencoded_path};
use super::{Session, failure, message, render, value};

/// `GET /console/data`: the datasets, the latest schema changes with their
/// impact, and the latest data-quality runs with each check's result.
pub(crate) async fn data(State(app): State<App>, session: Session) -> Response {
    let (caller, workspace) = (&session.caller, &session.workspace);
    let read = tokio::try_join!(
        all_records(&app, &session, RecordKind::Dataset),
        app.list_changes(caller, workspace, None),
        app.quality_runs(caller, workspace, None)
    );
    let (datasets, mut changes, mut runs) = match read {
        Ok(read) => read,
        Err(error) => return failure(&session, error),
    };
    changes.truncate(20);
    runs.truncate(20);
    let datasets: Vec<serde_json::Value> = datasets.iter().map(|view| view.record.to_json_value()).collect();
    render(
        StatusCode::OK,
        "data.html",
        minijinja::context! {
            session => session.view(),
            page => "data",
            datasets => value(&datasets),
            changes => value(&changes),
            runs => value(&runs),
        },
    )
}

/// The scope a dataset is promoted to next.
fn next_scope(scope: DatasetScope) -> Option<DatasetScope> {
    match scope {
        DatasetScope::Draft => Some(DatasetScope::Stage),
        DatasetScope::Stage => Some(DatasetScope::Published),
        DatasetScope::Published => None,
    }
}

/// `GET /console/data/{id}`: a dataset, its fields, its schema changes and
/// their impact, its data-quality runs; the forms to propose a schema
/// change and to promote it, where the role may.
pub(crate) async fn dataset(State(app): State<App>, session: Session, Path(id): Path<String>) -> Response {
    let (caller, workspace) = (&session.caller, &session.workspace);
    let read = tokio::try_join!(
        app.dataset(caller, workspace, &id),
        app.list_changes(caller, workspace, Some(&id)),
        app.quality_runs(caller, workspace, Some(&id))
    );
    let (dataset, changes, runs) = match read {
        Ok(read) => read,
        Err(error) => return failure(&session, error),
    };
    // The form starts from the current schema: a steward edits it.
    let draft = serde_json::json!({
        "fields": dataset.fields,
        "description": "",
    });
    let promote_to = next_scope(dataset.scope).filter(|_| caller.may_write(RecordKind::Dataset));
    render(
        StatusCode::OK,
        "dataset.html",
        minijinja::context! {
            session => session.view(),
            page => "data",
            d => value(&dataset),
            changes => value(&changes),
            runs => value(&runs),
            may_propose => caller.may_write(RecordKind::Change),
            draft => serde_json::to_string_pretty(&draft).unwrap_or_default(),
            promote_to => promote_to.map(|scope| scope.as_str()),
        },
    )
}

/// The schema-change form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProposalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    proposal: String,
}

/// `POST /console/data/{id}/changes`: proposes a schema change through the
/// same use case as `charter data change propose`, then shows the change
/// with its impact.
pub(crate) async fn propose(
    State(app): State<App>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<ProposalForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let ProposalForm { csrf, proposal } = form.map(|Form(form)| form).unwrap_or_default();
    if let Some(refused) = session.refuse_without_csrf(&csrf) {
        return refused;
    }
    let back = format!("/console/data/{}", form_urlencoded_path(&id));
    let proposal: charter_data::Proposal = match serde_json::from_str(&proposal) {
        Ok(proposal) => proposal,
        Err(error) => {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&session),
                "Not accepted",
                &format!("proposal: {error}"),
                Some((&back, "Back to the dataset")),
            );
        }
    };
    match app.propose_schema_change(&session.caller, &session.workspace, &id, proposal).await {
        Ok(proposed) => Redirect::to(&format!(
            "/console/changes/{}",
            form_urlencoded_path(proposed.change.change_id.as_str())
        ))
        .into_response(),
        Err(error) => failure(&session, error),
    }
}

/// `GET /console/changes/{id}`: one schema change and its impact.
pub(crate) async fn change(State(app): State<App>, session: Session, Path(id): Path<String>) -> Response {
    let changes = match app.list_changes(&session.caller, &session.workspace, None).await {
        Ok(changes) => changes,
        Err(error) => return failure(&session, error),
    };
    let Some(change) = changes.into_iter().find(|c| c.change_id.as_str() == id) else {
        return message(
            StatusCode::NOT_FOUND,
            Some(&session),
            "Not found",
            &format!("No change {id}."),
            None,
        );
    };
    render(
        StatusCode::OK,
        "change.html",
        minijinja::context! {
            session => session.view(),
            page => "data",
            c => value(&change),
            changes => value([&change]),
        },
    )
}

/// The promotion form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PromoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

/// `POST /console/data/{id}/promote`: promotes the dataset through the same
/// use case as `charter data dataset promote`; a refusal lists every unmet
/// gate.
pub(crate) async fn promote(
    State(app): State<App>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<PromoteForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let PromoteForm { csrf, to } = form.map(|Form(form)| form).unwrap_or_default();
    if let Some(refused) = session.refuse_without_csrf(&csrf) {
        return refused;
    }
    let back = format!("/console/data/{}", form_urlencoded_path(&id));
    let Ok(target) = to.parse::<DatasetScope>() else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "Not accepted",
            &format!("to: \"{to}\" is not a scope (DRAFT, STAGE or PUBLISHED)"),
            Some((&back, "Back to the dataset")),
        );
    };
    match app.promote_dataset(&session.caller, &session.workspace, &id, target).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(error) => failure(&session, error),
    }
}
