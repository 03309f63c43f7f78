//! The console's agents: the portfolio table with every agent's scores and
//! risk trend, an agent's page (scores with their components, charts,
//! dependencies and blast radius, grants, recent decisions, runs and
//! alerts) and the kill switch behind a confirmation.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use charter_app::{App, DecisionSearch, Scored};
use charter_model::{AgentStatus, RecordKind};
use charter_risk::{AgentAssessment, Score};
use serde::{Deserialize, Serialize};

use super::pages::{all_records, form_urlencoded_path};
use super::session::CsrfForm;
use super::{Session, failure, message, render, value};

/// Agents per page of the table.
const AGENTS_PAGE: usize = 50;
/// Decisions, runs and alerts shown on an agent's page.
const RECENT: usize = 10;

/// Filters and order of the agents table.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AgentsQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    band: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// The risk band of a score under the workspace's thresholds, in words:
/// the table never says it with colour alone.
fn band(scored: &Scored, risk: f64) -> &'static str {
    if risk >= scored.config.risk_red_from {
        "red"
    } else if risk >= scored.config.risk_amber_from {
        "amber"
    } else {
        "green"
    }
}

/// A trend label as the report writes it (`degrading`, …).
fn label(trend: &charter_risk::Trend) -> String {
    serde_json::to_value(trend.label).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row<'a> {
    agent_id: &'a str,
    name: &'a str,
    status: &'static str,
    criticality: Option<String>,
    risk: f64,
    band: &'static str,
    integration: f64,
    value_leakage: f64,
    trend: Option<String>,
    change: Option<String>,
    flags: usize,
}

fn row<'a>(scored: &Scored, agent: &'a AgentAssessment) -> Row<'a> {
    let trend = agent.trends.iter().find(|t| t.metric == "risk_score");
    Row {
        agent_id: &agent.agent_id,
        name: &agent.name,
        status: agent.status.as_str(),
        criticality: agent.criticality.map(|c| c.to_string()),
        risk: agent.risk.value,
        band: band(scored, agent.risk.value),
        integration: agent.integration.value,
        value_leakage: agent.value_leakage.value,
        trend: trend.map(label),
        change: trend.and_then(|t| t.change).map(|c| format!("{c:+.1}")),
        flags: agent.flags.len() + agent.value_findings.len(),
    }
}

/// `GET /console/agents`: the portfolio, riskiest first (or by id), a
/// page at a time, filtered by status and risk band.
pub(crate) async fn agents(
    State(app): State<App>,
    session: Session,
    query: Result<Query<AgentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let refuse = |detail: String| {
        message(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "Not accepted",
            &detail,
            Some(("/console/agents", "All agents")),
        )
    };
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match text.parse::<AgentStatus>() {
            Ok(status) => Some(status),
            Err(_) => {
                return refuse(format!(
                    "status: \"{text}\" is not an agent status (active, pilot, paused or retired)"
                ));
            }
        },
    };
    let wanted_band = match query.band.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text @ ("red" | "amber" | "green")) => Some(text.to_owned()),
        Some(text) => return refuse(format!("band: \"{text}\" is not a risk band (red, amber or green)")),
    };
    let by_id = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None | Some("risk") => false,
        Some("id") => true,
        Some(text) => return refuse(format!("sort: \"{text}\" is not an order (risk or id)")),
    };
    let scored = match app.scored_portfolio(&session.caller, &session.workspace, app.now().date()).await {
        Ok(scored) => scored,
        Err(error) => return failure(&session, error),
    };
    let mut matching: Vec<&AgentAssessment> = scored
        .assessment
        .agents
        .iter()
        .filter(|agent| status.is_none_or(|status| agent.status == status))
        .filter(|agent| wanted_band.as_deref().is_none_or(|wanted| band(&scored, agent.risk.value) == wanted))
        .collect();
    if by_id {
        matching.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
    }
    let pages = matching.len().div_ceil(AGENTS_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<Row<'_>> = matching
        .iter()
        .skip((page - 1) * AGENTS_PAGE)
        .take(AGENTS_PAGE)
        .map(|agent| row(&scored, agent))
        .collect();
    let filter = minijinja::context! {
        status => status.map(|s| s.as_str()),
        band => wanted_band.clone(),
        sort => if by_id { "id" } else { "risk" },
    };
    // The filters again, for the links to the other pages.
    let mut params = Vec::new();
    for (name, value) in [
        ("status", status.map(|s| s.as_str().to_owned())),
        ("band", wanted_band.clone()),
        ("sort", by_id.then(|| "id".to_owned())),
    ] {
        if let Some(value) = value {
            params.push(format!("{name}={}", form_urlencoded_path(&value)));
        }
    }
    let link = |page: usize| {
        let mut query = params.clone();
        query.push(format!("page={page}"));
        format!("/console/agents?{}", query.join("&"))
    };
    render(
        StatusCode::OK,
        "agents.html",
        minijinja::context! {
            session => session.view(),
            page => "agents",
            agents => value(&rows),
            matching => matching.len(),
            total => scored.assessment.agents.len(),
            as_of => scored.as_of.to_string(),
            thresholds => minijinja::context! {
                amber => scored.config.risk_amber_from,
                red => scored.config.risk_red_from,
            },
            number => page,
            pages,
            previous => (page > 1).then(|| link(page - 1)),
            next => (page < pages).then(|| link(page + 1)),
            filter,
        },
    )
}

/// A score with its components, as the agent page lists them.
fn score_view(name: &str, how: &str, score: &Score) -> minijinja::Value {
    minijinja::context! {
        name,
        how,
        value => score.value,
        components => value(&score.components),
    }
}

/// `GET /console/agents/{id}`.
pub(crate) async fn agent(State(app): State<App>, session: Session, Path(id): Path<String>) -> Response {
    let (caller, workspace) = (&session.caller, &session.workspace);
    let view = match app.get_record(caller, workspace, RecordKind::Agent, &id).await {
        Ok(view) => view,
        Err(error) => return failure(&session, error),
    };
    let search = DecisionSearch { principal: Some(id.clone()), ..DecisionSearch::default() };
    let runs_filter = charter_app::RunFilter {
        agent: Some(id.clone()),
        limit: Some(RECENT),
        ..charter_app::RunFilter::default()
    };
    let read = tokio::try_join!(
        app.scored_portfolio(caller, workspace, app.now().date()),
        app.agent_snapshots(caller, workspace, &id),
        app.search_decisions(caller, workspace, &search, None, RECENT),
        app.runs(caller, workspace, &runs_filter),
        app.alerts(caller, workspace, false),
        all_records(&app, &session, RecordKind::Grant),
    );
    let (scored, snapshots, decisions, runs, alerts, grants) = match read {
        Ok(read) => read,
        Err(error) => return failure(&session, error),
    };
    let json = view.record.to_json_value();
    let record_json = serde_json::to_string_pretty(&json).unwrap_or_default();
    let assessed = scored.agent(&id);
    let scores = assessed.map(|a| {
        vec![
            score_view("Risk", "the sum of each component's points, weight × penalty", &a.risk),
            score_view(
                "Integration health",
                "100 less each component's points, weight × penalty",
                &a.integration,
            ),
            score_view(
                "Value leakage",
                "the sum of each component's points, weight × penalty",
                &a.value_leakage,
            ),
        ]
    });
    let trends: Vec<minijinja::Value> = assessed
        .map(|a| {
            a.trends
                .iter()
                .map(|t| {
                    minijinja::context! {
                        metric => t.metric, label => label(t), snapshots => t.snapshots,
                        first => t.first, last => t.last, change => t.change.map(|c| format!("{c:+.2}")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    // The systems it depends on, each with who else would be hit.
    let blast: Vec<&charter_risk::BlastRadius> = match &view.record {
        charter_model::Record::Agent(agent) => agent
            .dependencies
            .iter()
            .filter_map(|system| scored.assessment.systems.iter().find(|r| r.system == system.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    let escalations: Vec<&charter_risk::Escalation> = scored
        .assessment
        .escalations
        .iter()
        .filter(|e| e.subject == id || blast.iter().any(|r| r.system == e.subject))
        .collect();
    let recommendations: Vec<&charter_risk::Recommendation> =
        scored.assessment.recommendations.iter().filter(|r| r.subject == id).collect();
    let grants: Vec<serde_json::Value> = grants
        .iter()
        .map(|view| view.record.to_json_value())
        .filter(|grant| grant["agent_id"].as_str() == Some(id.as_str()))
        .collect();
    let alerts: Vec<&charter_model::Alert> =
        alerts.iter().filter(|alert| alert.agent_id.as_str() == id).take(RECENT).collect();
    let history: Vec<minijinja::Value> = snapshots
        .iter()
        .rev()
        .take(12)
        .map(|s| {
            minijinja::context! {
                date => s.snapshot_date.to_string(), risk => s.risk_score, band => band(&scored, s.risk_score),
                cost => s.cost_usd_30d, roi => s.roi_estimate_usd,
                failure => s.failure_rate_7d, manual => s.manual_minutes_per_run,
            }
        })
        .collect();
    let may_switch = session.caller.may_decide();
    render(
        StatusCode::OK,
        "agent.html",
        minijinja::context! {
            session => session.view(),
            page => "agents",
            agent => value(&json),
            version => view.version,
            updated_at => view.updated_at.to_string(),
            record_json,
            as_of => scored.as_of.to_string(),
            risk_band => assessed.map(|a| band(&scored, a.risk.value)),
            scores,
            trends,
            flags => assessed.map(|a| value(&a.flags)),
            findings => assessed.map(|a| value(&a.value_findings)),
            hitl => assessed.and_then(|a| a.hitl_cost_per_day).map(|h| format!("{h:.2}")),
            escalations => value(&escalations),
            recommendations => value(&recommendations),
            charts => !snapshots.is_empty(),
            history,
            snapshots => snapshots.len(),
            blast => value(&blast),
            grants => value(&grants),
            decisions => value(&decisions.items),
            runs => value(&runs),
            alerts => value(&alerts),
            may_pause => may_switch,
            may_resume => may_switch,
        },
    )
}

/// `GET /console/agents/{id}/charts/{name}`: one of the agent's charts
/// (the report's, drawn for this agent) as SVG.
pub(crate) async fn chart(
    State(app): State<App>,
    session: Session,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let (caller, workspace) = (&session.caller, &session.workspace);
    let read = tokio::try_join!(
        app.get_record(caller, workspace, RecordKind::Agent, &id),
        app.scored_portfolio(caller, workspace, app.now().date()),
        app.agent_snapshots(caller, workspace, &id),
    );
    let (_, scored, snapshots) = match read {
        Ok(read) => read,
        Err(error) => return failure(&session, error),
    };
    let charts = match charter_risk::charts::agent_charts(&snapshots, &id, scored.as_of, &scored.config) {
        Ok(charts) => charts,
        Err(problem) => {
            tracing::error!(%problem, agent = %id, "an agent's chart could not be drawn");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(&session),
                "Not drawn",
                "The chart could not be drawn.",
                None,
            );
        }
    };
    match charts.into_iter().find(|(file, _)| *file == name) {
        Some((_, svg)) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        None => message(StatusCode::NOT_FOUND, Some(&session), "Not found", "No such chart.", None),
    }
}

/// Which way the kill switch goes.
fn switch_of(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "pause" => Some(("Pause", "Every request of a paused agent is denied until it is resumed.")),
        "resume" => Some(("Resume", "The agent's requests are decided by the policies again.")),
        _ => None,
    }
}

/// `GET /console/agents/{id}/{pause|resume}`: the confirmation.
pub(crate) async fn confirm_switch(session: Session, Path((id, switch)): Path<(String, String)>) -> Response {
    let Some((verb, consequence)) = switch_of(&switch) else {
        return message(StatusCode::NOT_FOUND, Some(&session), "Not found", "No such page.", None);
    };
    let encoded = form_urlencoded_path(&id);
    render(
        StatusCode::OK,
        "confirm.html",
        minijinja::context! {
            session => session.view(),
            page => "agents",
            heading => format!("{verb} agent {id}?"),
            message => consequence,
            action => format!("/console/agents/{encoded}/{switch}"),
            button => format!("{verb} {id}"),
            back => format!("/console/agents/{encoded}"),
        },
    )
}

/// `POST /console/agents/{id}/{pause|resume}`: the kill switch, through the
/// same use cases as `charter agent pause|resume`.
pub(crate) async fn switch(
    State(app): State<App>,
    session: Session,
    Path((id, switch)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let sent = form.map(|Form(form)| form.csrf).unwrap_or_default();
    if let Some(refused) = session.refuse_without_csrf(&sent) {
        return refused;
    }
    let done = match switch.as_str() {
        "pause" => app.set_agent_status(&session.caller, &session.workspace, &id, AgentStatus::Paused).await,
        "resume" => app.resume_agent(&session.caller, &session.workspace, &id, None).await,
        _ => return message(StatusCode::NOT_FOUND, Some(&session), "Not found", "No such page.", None),
    };
    match done {
        Ok(_) => Redirect::to(&format!("/console/agents/{}", form_urlencoded_path(&id))).into_response(),
        Err(error) => failure(&session, error),
    }
}
