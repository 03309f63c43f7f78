//! The console's pages. Each handler calls the use cases the API calls and
//! renders what they answer; none reads the store or decides anything.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use charter_app::App;
use charter_model::RecordKind;
use serde::Deserialize;

use super::{Session, failure, message, render, value};

/// Every record of `kind`, a page at a time.
pub(crate) async fn all_records(
    app: &App,
    session: &Session,
    kind: RecordKind,
) -> Result<Vec<charter_app::RecordView>, charter_app::AppError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page =
            app.list_records(&session.caller, &session.workspace, kind, after.as_deref(), 1_000).await?;
        all.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// `GET /console`: the governance check, what waits on people, the
/// ledger's latest checkpoint and the latest recorded certification.
pub(crate) async fn overview(State(app): State<App>, session: Session) -> Response {
    match overview_context(&app, &session).await {
        Ok(context) => render(StatusCode::OK, "overview.html", context),
        Err(error) => failure(&session, error),
    }
}

async fn overview_context(app: &App, session: &Session) -> Result<minijinja::Value, charter_app::AppError> {
    let (caller, workspace) = (&session.caller, &session.workspace);
    let (activity, scored, check, queue, incidents, alerts, note, recorded) = tokio::try_join!(
        app.activity(caller, workspace, 10),
        app.scored_portfolio(caller, workspace, app.now().date()),
        app.governance_reading(caller, workspace, app.now().date()),
        app.approvals_queue(caller, workspace),
        app.incidents(caller, workspace, true),
        app.alerts(caller, workspace, true),
        app.latest_checkpoint(caller, workspace),
        app.latest_certification(caller, workspace),
    )?;
    let mut agents_by_status = std::collections::BTreeMap::new();
    for agent in &scored.assessment.agents {
        *agents_by_status.entry(agent.status.as_str()).or_insert(0_u64) += 1;
    }
    // An escalation is about an agent (linked to its page) or a system.
    let escalations: Vec<minijinja::Value> = scored
        .assessment
        .escalations
        .iter()
        .take(10)
        .map(|e| {
            minijinja::context! {
                rule => e.rule, subject => &e.subject, message => &e.message,
                agent => scored.agent(&e.subject).is_some(),
            }
        })
        .collect();
    let (pending_approvals, open_incidents) = (queue.len(), incidents.len());
    let open_alerts = alerts.len();
    let checkpoint = note.and_then(|note| {
        let mut lines = note.lines().skip(1);
        let size = lines.next()?.to_owned();
        let root = lines.next()?.to_owned();
        Some(minijinja::context! { size, root })
    });
    let certification = recorded.map(|recorded| {
        let text = |name: &str| recorded.value.get(name).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        minijinja::context! {
            outcome => text("outcome"),
            as_of => text("as_of"),
            blockers_active => recorded.value.get("blockers_active").and_then(serde_json::Value::as_u64).unwrap_or(0),
            seq => recorded.seq,
        }
    });
    Ok(minijinja::context! {
        session => session.view(),
        page => "overview",
        activity => value(&activity),
        agents_by_status,
        escalations,
        escalations_total => scored.assessment.escalations.len(),
        check => value(&check),
        pending_approvals,
        open_incidents,
        open_alerts,
        checkpoint,
        certification,
    })
}

/// A path segment with everything but unreserved characters percent-encoded.
pub(crate) fn form_urlencoded_path(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `GET /console/report`: the executive report, as of today, behind the session.
pub(crate) async fn report(State(app): State<App>, session: Session) -> Response {
    let today = app.now().date();
    let report = match app
        .report(&session.caller, &session.workspace, today, None, charter_app::ReportFormat::Html)
        .await
    {
        Ok(report) => report,
        Err(error) => return failure(&session, error),
    };
    let mut page = Vec::new();
    if let Err(error) = report.write_to(&mut page) {
        tracing::error!(%error, "the report could not be written");
        return failure(
            &session,
            crate::ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report could not be written",
            ),
        );
    }
    // The report styles itself inline and draws its charts as inline SVG.
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

/// `GET /console/operations`: the approvals queue and every operation.
pub(crate) async fn operations(State(app): State<App>, session: Session) -> Response {
    let (views, queue) = match tokio::try_join!(
        all_records(&app, &session, RecordKind::Operation),
        app.approvals_queue(&session.caller, &session.workspace)
    ) {
        Ok(both) => both,
        Err(error) => return failure(&session, error),
    };
    let mut operations: Vec<serde_json::Value> =
        views.iter().map(|view| view.record.to_json_value()).collect();
    operations
        .sort_by_key(|op| std::cmp::Reverse(op["requested_at"].as_str().unwrap_or_default().to_owned()));
    let queue: Vec<serde_json::Value> = queue
        .into_iter()
        .map(|(operation, missing)| {
            let mut json = serde_json::to_value(&operation).unwrap_or_default();
            json["missing"] = missing.into();
            json
        })
        .collect();
    render(
        StatusCode::OK,
        "operations.html",
        minijinja::context! {
            session => session.view(),
            page => "operations",
            queue => value(&queue),
            operations => value(&operations),
        },
    )
}

/// `GET /console/operations/{id}`: the declaration, plan hash, steps,
/// approvals and runs; approve or reject where the role may.
pub(crate) async fn operation(State(app): State<App>, session: Session, Path(id): Path<String>) -> Response {
    let (view, queue) = match tokio::try_join!(
        app.get_record(&session.caller, &session.workspace, RecordKind::Operation, &id),
        app.approvals_queue(&session.caller, &session.workspace)
    ) {
        Ok(both) => both,
        Err(error) => return failure(&session, error),
    };
    // Offered where an approval is still needed and the role approves.
    let waiting = queue.iter().any(|(operation, _)| operation.operation_id.as_str() == id);
    let may_approve = waiting
        && matches!(
            session.caller.token_role(),
            Some(charter_model::Role::Approver | charter_model::Role::Admin)
        );
    render(
        StatusCode::OK,
        "operation.html",
        minijinja::context! {
            session => session.view(),
            page => "operations",
            op => value(view.record.to_json_value()),
            may_approve,
        },
    )
}

/// The reject form.
#[derive(Debug, Deserialize)]
pub(crate) struct Verdict {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/operations/{id}/{approve|reject}`: through the same use
/// cases as `charter op approve|reject` (separation of duties included).
pub(crate) async fn judge_operation(
    State(app): State<App>,
    session: Session,
    Path((id, verdict)): Path<(String, String)>,
    form: Result<Form<Verdict>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Verdict { csrf, reason } =
        form.map(|Form(form)| form).unwrap_or(Verdict { csrf: String::new(), reason: String::new() });
    if let Some(refused) = session.refuse_without_csrf(&csrf) {
        return refused;
    }
    let done = match verdict.as_str() {
        "approve" => app.approve_operation(&session.caller, &session.workspace, &id).await.map(drop),
        "reject" => app.reject_operation(&session.caller, &session.workspace, &id, &reason).await.map(drop),
        _ => return message(StatusCode::NOT_FOUND, Some(&session), "Not found", "No such page.", None),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/console/operations/{}", form_urlencoded_path(&id))).into_response(),
        Err(error) => failure(&session, error),
    }
}

/// `GET /console/operations/{id}/report`: the report of its latest run.
pub(crate) async fn operation_report(
    State(app): State<App>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    match app.operation_report(&session.caller, &session.workspace, &id, None).await {
        Ok(report) => {
            let heading = format!("Run report of {id}");
            render(
                StatusCode::OK,
                "report_text.html",
                minijinja::context! {
                    session => session.view(),
                    page => "operations",
                    heading,
                    text => report.markdown(),
                    back => format!("/console/operations/{}", form_urlencoded_path(&id)),
                },
            )
        }
        Err(error) => failure(&session, error),
    }
}

/// The decision log's search form, as sent.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub(crate) struct DecisionsQuery {
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    before: Option<u64>,
}

/// A time field of a form: RFC 3339, or a date (its midnight, UTC).
fn form_time(field: &str, text: Option<&str>) -> Result<Option<charter_model::Timestamp>, String> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else { return Ok(None) };
    if let Ok(at) = text.parse::<charter_model::Timestamp>() {
        return Ok(Some(at));
    }
    match text.parse::<charter_model::Date>() {
        Ok(date) => {
            Ok(Some(charter_model::Timestamp::from_offset_date_time(date.inner().midnight().assume_utc())))
        }
        Err(_) => Err(format!("{field}: \"{text}\" is neither a date (YYYY-MM-DD) nor an RFC 3339 time")),
    }
}

/// `GET /console/decisions`: the decision log, searched, newest first.
pub(crate) async fn decisions(
    State(app): State<App>,
    session: Session,
    query: Result<Query<DecisionsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let text = |value: &Option<String>| value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let outcome = match text(&query.outcome).as_deref() {
        None => Ok(None),
        Some("allow") => Ok(Some(charter_policy::Effect::Allow)),
        Some("deny") => Ok(Some(charter_policy::Effect::Deny)),
        Some(other) => Err(format!("outcome: \"{other}\" is neither allow nor deny")),
    };
    let times = form_time("since", query.since.as_deref())
        .and_then(|since| form_time("until", query.until.as_deref()).map(|until| (since, until)));
    let (outcome, (since, until)) = match outcome.and_then(|outcome| times.map(|times| (outcome, times))) {
        Ok(parsed) => parsed,
        Err(problem) => {
            return message(
                StatusCode::BAD_REQUEST,
                Some(&session),
                "Not accepted",
                &problem,
                Some(("/console/decisions", "All decisions")),
            );
        }
    };
    let search = charter_app::DecisionSearch {
        principal: text(&query.principal),
        action: text(&query.action),
        resource: text(&query.resource),
        outcome,
        reason: text(&query.reason),
        since,
        until,
    };
    let page =
        match app.search_decisions(&session.caller, &session.workspace, &search, query.before, 50).await {
            Ok(page) => page,
            Err(error) => return failure(&session, error),
        };
    let next = page.next_before.map(|before| {
        let mut params: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("principal", &query.principal),
            ("action", &query.action),
            ("resource", &query.resource),
            ("outcome", &query.outcome),
            ("reason", &query.reason),
            ("since", &query.since),
            ("until", &query.until),
        ] {
            if let Some(value) = text(value) {
                params.push((name, value));
            }
        }
        params.push(("before", before.to_string()));
        let encoded: Vec<String> =
            params.iter().map(|(name, value)| format!("{name}={}", form_urlencoded_path(value))).collect();
        format!("/console/decisions?{}", encoded.join("&"))
    });
    render(
        StatusCode::OK,
        "decisions.html",
        minijinja::context! {
            session => session.view(),
            page => "decisions",
            items => value(&page.items),
            search => value(&query),
            next,
        },
    )
}

/// `GET /console/decisions/{id}`: one decision, its request, reasons and
/// version, and its inclusion proof checked against the signed checkpoint.
pub(crate) async fn decision(State(app): State<App>, session: Session, Path(id): Path<String>) -> Response {
    let proven = match app.proven_decision(&session.caller, &session.workspace, &id).await {
        Ok(proven) => proven,
        Err(error) => return failure(&session, error),
    };
    let context_json = serde_json::to_string_pretty(&proven.line.decision.context).unwrap_or_default();
    let proof_hashes: Vec<String> =
        proven.proof.iter().flat_map(|proof| proof.hashes.iter().map(|hash| hash.to_hex())).collect();
    let failure_text = proven.verified.as_ref().err().cloned();
    render(
        StatusCode::OK,
        "decision.html",
        minijinja::context! {
            session => session.view(),
            page => "decisions",
            d => value(&proven),
            verified => proven.verified.is_ok(),
            failure => failure_text,
            context_json,
            proof_hashes,
        },
    )
}

/// Where the entry browser is.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LedgerQuery {
    #[serde(default)]
    before: Option<u64>,
}

/// Entries per page of the entry browser.
const ENTRIES_PAGE: u64 = 50;

/// `GET /console/ledger`: the latest checkpoint with its signature checked,
/// the verifier key and how to verify offline, and the entries, newest first.
pub(crate) async fn ledger(
    State(app): State<App>,
    session: Session,
    query: Result<Query<LedgerQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let (caller, workspace) = (&session.caller, &session.workspace);
    let (size, checkpoint) =
        match tokio::try_join!(app.ledger_size(caller, workspace), app.checked_checkpoint(caller, workspace))
        {
            Ok(both) => both,
            Err(error) => return failure(&session, error),
        };
    let end = query.before.unwrap_or(size).min(size);
    let start = end.saturating_sub(ENTRIES_PAGE);
    let mut entries = match app.ledger_entries(caller, workspace, start, end).await {
        Ok(entries) => entries,
        Err(error) => return failure(&session, error),
    };
    entries.reverse();
    let key = app.verifier();
    let (note, checked) = match checkpoint {
        Some((note, checked)) => (Some(note), checked),
        None => (None, Ok(())),
    };
    render(
        StatusCode::OK,
        "ledger.html",
        minijinja::context! {
            session => session.view(),
            page => "ledger",
            size,
            origin => app.ledger_origin(workspace),
            key => key.map(|key| key.to_string()),
            checkpoint => note,
            checkpoint_ok => checked.is_ok(),
            checkpoint_problem => checked.err(),
            entries => value(&entries),
            first => start,
            last => end.saturating_sub(1),
            newer => (end < size).then(|| (end + ENTRIES_PAGE).min(size)),
            older => (start > 0).then_some(start),
        },
    )
}

/// `GET /console/certification`: the verdict computed now (not recorded).
pub(crate) async fn certification(State(app): State<App>, session: Session) -> Response {
    let request = charter_app::CertifyRequest { as_of: None, matrix: None, record: false };
    match app.certify(&session.caller, &session.workspace, request).await {
        Ok(certification) => render(
            StatusCode::OK,
            "certification.html",
            minijinja::context! {
                session => session.view(),
                page => "certification",
                v => value(&certification.verdict),
            },
        ),
        Err(error) => failure(&session, error),
    }
}

/// A list page of one record kind: its columns (label, JSON field), the
/// first being the id.
pub(crate) struct Listing {
    kind: RecordKind,
    page: &'static str,
    heading: &'static str,
    caption: &'static str,
    empty: &'static str,
    columns: &'static [(&'static str, &'static str)],
}

/// Incidents.
pub(crate) static INCIDENTS: Listing = Listing {
    kind: RecordKind::Incident,
    page: "incidents",
    heading: "Incidents",
    caption: "Incidents by id (opening day and number)",
    empty: "No incidents.",
    columns: &[
        ("Incident", "incident_id"),
        ("Title", "title"),
        ("Severity", "severity"),
        ("Status", "status"),
        ("Agent", "agent_id"),
        ("Commander", "commander"),
        ("Opened", "opened_at"),
    ],
};

/// Alerts.
pub(crate) static ALERTS: Listing = Listing {
    kind: RecordKind::Alert,
    page: "alerts",
    heading: "Alerts",
    caption: "Alerts by id",
    empty: "No alerts.",
    columns: &[
        ("Alert", "alert_id"),
        ("Class", "class_id"),
        ("Agent", "agent_id"),
        ("Severity", "severity"),
        ("Status", "status"),
        ("Summary", "summary"),
        ("Opened", "opened_at"),
    ],
};

/// Agents' runs.
pub(crate) static RUNS: Listing = Listing {
    kind: RecordKind::Run,
    page: "runs",
    heading: "Runs",
    caption: "Agents' runs (from telemetry) by id",
    empty: "No runs yet: agents report them over OTLP or POST …/runs/ingest.",
    columns: &[
        ("Run", "run_id"),
        ("Agent", "agent_id"),
        ("Status", "status"),
        ("Ended", "ended_at"),
        ("Duration (ms)", "duration_ms"),
        ("Tool calls", "tool_calls"),
        ("Cost (USD)", "cost_usd"),
    ],
};

/// Where a list page starts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AfterQuery {
    #[serde(default)]
    after: Option<String>,
}

/// A page of 50 records of a listing.
pub(crate) async fn listing(
    app: App,
    session: Session,
    query: Result<Query<AfterQuery>, axum::extract::rejection::QueryRejection>,
    listing: &Listing,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let page = match app
        .list_records(&session.caller, &session.workspace, listing.kind, query.after.as_deref(), 50)
        .await
    {
        Ok(page) => page,
        Err(error) => return failure(&session, error),
    };
    let rows: Vec<serde_json::Value> = page.items.iter().map(|view| view.record.to_json_value()).collect();
    let columns: Vec<minijinja::Value> =
        listing.columns.iter().map(|&(label, field)| minijinja::context! { label, field }).collect();
    let base = format!("/console/{}", listing.page);
    let next = page.next_after.map(|after| format!("{base}?after={}", form_urlencoded_path(&after)));
    render(
        StatusCode::OK,
        "records.html",
        minijinja::context! {
            session => session.view(),
            page => listing.page,
            heading => listing.heading,
            caption => listing.caption,
            empty => listing.empty,
            columns,
            rows => value(&rows),
            base,
            next,
        },
    )
}

/// One record of a listing, as the registry holds it.
pub(crate) async fn listed(app: App, session: Session, id: String, listing: &Listing) -> Response {
    match app.get_record(&session.caller, &session.workspace, listing.kind, &id).await {
        Ok(view) => {
            let json = view.record.to_json_value();
            let status = json["status"].as_str().unwrap_or_default();
            let steps: Vec<minijinja::Value> = if session.caller.may_write(listing.kind) {
                next_steps(listing.kind, status)
                    .iter()
                    .map(|&(step, label)| {
                        let action =
                            format!("/console/{}/{}/{step}", listing.page, form_urlencoded_path(&id));
                        minijinja::context! { action, label, note => listing.kind == RecordKind::Incident }
                    })
                    .collect()
            } else {
                Vec::new()
            };
            render(
                StatusCode::OK,
                "record.html",
                minijinja::context! {
                    session => session.view(),
                    page => listing.page,
                    heading => format!("{} {id}", listing.kind.name()),
                    back => format!("/console/{}", listing.page),
                    steps,
                    record_json => serde_json::to_string_pretty(&json).unwrap_or_default(),
                },
            )
        }
        Err(error) => failure(&session, error),
    }
}

/// The steps a record of `kind` in `status` may take next, as (path
/// segment, button): an incident one state on, an alert acknowledged or
/// resolved.
fn next_steps(kind: RecordKind, status: &str) -> &'static [(&'static str, &'static str)] {
    match (kind, status) {
        (RecordKind::Incident, "Open") => &[("acknowledge", "Acknowledge")],
        (RecordKind::Incident, "Acknowledged") => &[("mitigate", "Mark mitigated")],
        (RecordKind::Incident, "Mitigated") => &[("resolve", "Mark resolved")],
        (RecordKind::Alert, "open") => &[("acknowledge", "Acknowledge"), ("resolve", "Resolve")],
        (RecordKind::Alert, "acknowledged") => &[("resolve", "Resolve")],
        _ => &[],
    }
}

/// The form of a step: the CSRF token and, for an incident, a note for its
/// timeline.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/{incidents|alerts}/{id}/{step}`: moves an incident or an
/// alert on through the same use cases as `charter incident` and
/// `charter alert`.
pub(crate) async fn step(
    app: App,
    session: Session,
    (id, step): (String, String),
    form: Result<Form<StepForm>, axum::extract::rejection::FormRejection>,
    listing: &Listing,
) -> Response {
    let StepForm { csrf, note } = form.map(|Form(form)| form).unwrap_or_default();
    if let Some(refused) = session.refuse_without_csrf(&csrf) {
        return refused;
    }
    let (caller, workspace) = (&session.caller, &session.workspace);
    let note = Some(note.trim().to_owned()).filter(|note| !note.is_empty());
    let done = match (listing.kind, step.as_str()) {
        (RecordKind::Incident, "acknowledge" | "mitigate" | "resolve") => {
            let to = match step.as_str() {
                "acknowledge" => charter_model::IncidentStatus::Acknowledged,
                "mitigate" => charter_model::IncidentStatus::Mitigated,
                _ => charter_model::IncidentStatus::Resolved,
            };
            app.move_incident(caller, workspace, &id, to, note).await.map(drop)
        }
        (RecordKind::Alert, "acknowledge" | "resolve") => {
            app.move_alert(caller, workspace, &id, step == "resolve").await.map(drop)
        }
        _ => return message(StatusCode::NOT_FOUND, Some(&session), "Not found", "No such page.", None),
    };
    match done {
        Ok(()) => {
            Redirect::to(&format!("/console/{}/{}", listing.page, form_urlencoded_path(&id))).into_response()
        }
        Err(error) => failure(&session, error),
    }
}
