//! Alerts and pages. Every anomaly of an agent's health becomes an alert of
//! the alert class that covers its reason, raised once while it lasts
//! (its `dedup_key`) and resolved when it is gone; its pages are written to
//! the outbox in the same transaction, so a page is neither lost nor sent
//! for an alert that did not commit, and [`App::deliver_pages`] sends them
//! in order per receiver, retrying with backoff and recording each attempt.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use charter_model::{
    Alert, AlertClass, AlertStatus, Key, ObserveSettings, ReceiverKind, Record, RecordKind, Severity,
    Timestamp, WorkspaceName,
};
use charter_observe::Anomaly;
use charter_store::{NewPage, WorkspaceRow, WriteTx};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::core::audit::RecordWrite;
use crate::data::datasets::{load_all, pick};
use crate::{App, AppError, Caller, Result};

/// Windows an evaluation reads: enough for the baseline's minimum history
/// and the windows judged, with room.
pub const EVALUATION_WINDOWS: u32 = 48;

/// The class of an anomaly no class covers.
pub const UNCLASSIFIED: &str = "unclassified";

/// What an evaluation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluated {
    /// Alerts raised.
    pub opened: Vec<Alert>,
    /// Alerts resolved because their anomaly is gone.
    pub resolved: Vec<String>,
    /// Incidents opened by alerts.
    pub incidents: Vec<String>,
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Delivered {
    /// Pages delivered.
    pub delivered: u64,
    /// Attempts that failed (each is retried later).
    pub failed: u64,
}

/// Workspaces with runs closed since their last evaluation, with who
/// ingested them (the evaluation acts in their name).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    dirty: std::sync::Mutex<HashMap<i64, (WorkspaceRow, Caller)>>,
    /// Wakes the page deliverer.
    pub(crate) pages: tokio::sync::Notify,
    /// Wakes the evaluator.
    pub(crate) runs: tokio::sync::Notify,
    /// What the evaluator keeps of each workspace's recent history.
    pub(crate) watches: tokio::sync::Mutex<HashMap<i64, super::watch::Watch>>,
}

/// The stable key of an anomaly's alert: one alert while it lasts.
fn dedup_key(workspace: &str, class: &str, anomaly: &Anomaly) -> String {
    let signal = anomaly.signal.map_or("", |signal| signal.name());
    let text = format!("{workspace}\n{class}\n{}\n{}\n{signal}", anomaly.agent_id, anomaly.reason);
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..12].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("charter-{hex}")
}

/// The class covering `reason`: the first naming it, else the first naming none.
fn class_for<'a>(classes: &'a [AlertClass], reason: &str) -> Option<&'a AlertClass> {
    classes
        .iter()
        .find(|class| class.reasons.iter().any(|r| r == reason))
        .or_else(|| classes.iter().find(|class| class.reasons.is_empty()))
}

fn pagerduty_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "info",
    }
}

/// What a page says, whatever the receiver's protocol.
pub(crate) struct PageContent {
    /// One key for every page about the same alert or incident.
    pub(crate) dedup_key: String,
    /// One line.
    pub(crate) summary: String,
    /// `charter/<workspace>[/<agent>]`.
    pub(crate) source: String,
    /// PagerDuty's severity: critical, error, warning or info.
    pub(crate) severity: &'static str,
    /// When it began.
    pub(crate) started: Timestamp,
    /// When it ended, once resolved.
    pub(crate) ended: Option<Timestamp>,
    /// The agent, if one.
    pub(crate) component: Option<String>,
    /// The alert class, or `incident`.
    pub(crate) group: String,
    /// The anomaly reason, or the incident's severity.
    pub(crate) class: String,
    /// Everything else, as PagerDuty's `custom_details` and the webhook's
    /// annotations.
    pub(crate) details: serde_json::Value,
}

/// The pages of `content` for `action` (`trigger`, `acknowledge`,
/// `resolve`) to `receivers` (names in `settings`): PagerDuty Events API v2
/// or an Alertmanager-style webhook.
pub(crate) fn pages(
    workspace: &WorkspaceName,
    content: &PageContent,
    receivers: &[String],
    settings: &ObserveSettings,
    action: &str,
) -> Vec<NewPage> {
    receivers
        .iter()
        .filter_map(|name| settings.receivers.get(name).map(|receiver| (name, receiver)))
        .map(|(name, receiver)| {
            let body = match receiver.kind {
                ReceiverKind::Pagerduty => serde_json::json!({
                    "routing_key": receiver.routing_key,
                    "event_action": action,
                    "dedup_key": content.dedup_key,
                    "payload": {
                        "summary": content.summary,
                        "source": content.source,
                        "severity": content.severity,
                        "timestamp": content.started.to_string(),
                        "component": content.component,
                        "group": content.group,
                        "class": content.class,
                        "custom_details": content.details,
                    },
                }),
                ReceiverKind::Webhook => {
                    let status = if action == "resolve" { "resolved" } else { "firing" };
                    let mut annotations = content.details.clone();
                    annotations["summary"] = content.summary.clone().into();
                    annotations["action"] = action.into();
                    serde_json::json!({
                        "version": "4",
                        "status": status,
                        "receiver": name,
                        "groupKey": content.dedup_key,
                        "externalURL": format!("charter/{workspace}"),
                        "alerts": [{
                            "status": status,
                            "labels": {
                                "alertname": content.group,
                                "agent": content.component,
                                "reason": content.class,
                                "severity": content.severity,
                                "workspace": workspace,
                            },
                            "annotations": annotations,
                            "startsAt": content.started.to_string(),
                            "endsAt": content.ended.map(|t| t.to_string()),
                            "fingerprint": content.dedup_key,
                        }],
                    })
                }
            };
            NewPage {
                receiver: name.clone(),
                url: receiver.url.clone(),
                dedup_key: content.dedup_key.clone(),
                action: action.to_owned(),
                body: body.to_string(),
            }
        })
        .collect()
}

/// The pages of `alert` for `action` to the receivers of its class.
fn pages_for(
    workspace: &WorkspaceName,
    alert: &Alert,
    receivers: &[String],
    settings: &ObserveSettings,
    action: &str,
) -> Vec<NewPage> {
    let content = PageContent {
        dedup_key: alert.dedup_key.clone(),
        summary: format!("{}: {}", alert.agent_id, alert.summary),
        source: format!("charter/{workspace}/{}", alert.agent_id),
        severity: pagerduty_severity(alert.severity),
        started: alert.opened_at,
        ended: alert.resolved_at,
        component: Some(alert.agent_id.to_string()),
        group: alert.class_id.to_string(),
        class: alert.reason.clone(),
        details: serde_json::json!({
            "alert_id": alert.alert_id,
            "owner": alert.owner,
            "runbook": alert.runbook,
            "evidence": alert.evidence,
        }),
    };
    pages(workspace, &content, receivers, settings, action)
}

/// Longest a receiver may take to answer a page.
pub const PAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Longest wait between two attempts at one page.
const MAX_BACKOFF_SECS: u64 = 300;

/// The wait after `attempts` failed attempts: 1 s, doubling, at most five minutes.
fn backoff(attempts: u64) -> charter_model::Span {
    charter_model::Span::from_secs((1_u64 << attempts.min(16)).min(MAX_BACKOFF_SECS))
}

impl App {
    /// Notes that `row` has new runs for the evaluator, in `caller`'s name.
    pub(crate) fn runs_closed(&self, row: &WorkspaceRow, caller: &Caller) {
        let mut dirty = self.oversight.dirty.lock().unwrap_or_else(|p| p.into_inner());
        dirty.insert(row.id, (row.clone(), caller.clone()));
        drop(dirty);
        self.oversight.runs.notify_one();
    }

    /// Waits until runs close somewhere (the server's evaluator loop).
    pub async fn runs_closed_signal(&self) {
        self.oversight.runs.notified().await;
    }

    /// Waits until pages are written (the server's delivery loop).
    pub async fn pages_written_signal(&self) {
        self.oversight.pages.notified().await;
    }

    /// Evaluates every workspace with runs closed since its last evaluation.
    pub async fn evaluate_pending(&self) -> Result<Vec<(WorkspaceName, Evaluated)>> {
        let dirty: Vec<(WorkspaceRow, Caller)> = {
            let mut dirty = self.oversight.dirty.lock().unwrap_or_else(|p| p.into_inner());
            dirty.drain().map(|(_, entry)| entry).collect()
        };
        let mut done = Vec::new();
        for (row, caller) in dirty {
            done.push((row.name.clone(), self.evaluate_row(&row, &caller).await?));
        }
        Ok(done)
    }

    /// Evaluates the agents' health now and raises or resolves alerts
    /// (`charter alerts evaluate`).
    pub async fn evaluate_alerts(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<Evaluated> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Alert)?;
        self.decide_write(caller, &row, RecordKind::Alert).await?;
        self.evaluate_row(&row, caller).await
    }

    async fn evaluate_row(&self, row: &WorkspaceRow, caller: &Caller) -> Result<Evaluated> {
        let (mut anomalies, mut evaluated) = self.watch_anomalies(row, EVALUATION_WINDOWS).await?;
        let (budgets, judged) = self.budget_anomalies(row).await?;
        evaluated.extend(judged);
        anomalies.extend(budgets);
        let classes: Vec<AlertClass> = self.read_values(row).await?;
        // Nothing to open or resolve (the usual case while anomalies last):
        // no write, so the writer stays free for the requests.
        let alerts: Vec<Alert> = self.read_values(row).await?;
        let open: Vec<&Alert> = alerts.iter().filter(|alert| alert.status != AlertStatus::Resolved).collect();
        let keys: HashSet<String> = anomalies
            .iter()
            .map(|anomaly| {
                let class_id =
                    class_for(&classes, anomaly.reason).map_or(UNCLASSIFIED, |c| c.class_id.as_str());
                dedup_key(row.name.as_str(), class_id, anomaly)
            })
            .collect();
        let open_keys: HashSet<&str> = open.iter().map(|alert| alert.dedup_key.as_str()).collect();
        let nothing_new = keys.iter().all(|key| open_keys.contains(key.as_str()));
        let nothing_gone = open
            .iter()
            .all(|alert| keys.contains(&alert.dedup_key) || !evaluated.contains(alert.agent_id.as_str()));
        if nothing_new && nothing_gone {
            return Ok(Evaluated::default());
        }
        let settings = self.observe_settings(row).await?;
        let work =
            Arc::new((anomalies, evaluated, classes, settings, caller.actor().to_owned(), self.clock.now()));
        let target = row.clone();
        let evaluated = self
            .write(row, move |app, tx| {
                let (work, row) = (work.clone(), target.clone());
                Box::pin(async move {
                    let (anomalies, evaluated, classes, settings, actor, at) = &*work;
                    raise_alerts(app, tx, &row, anomalies, evaluated, classes, settings, actor, *at).await
                })
            })
            .await?;
        if !evaluated.opened.is_empty() || !evaluated.resolved.is_empty() {
            self.oversight.pages.notify_one();
        }
        Ok(evaluated)
    }

    /// Alerts, newest first; only those not resolved when `open`.
    pub async fn alerts(&self, caller: &Caller, workspace: &WorkspaceName, open: bool) -> Result<Vec<Alert>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut alerts: Vec<Alert> = self.read_values(&row).await?;
        alerts.retain(|alert| !open || alert.status != AlertStatus::Resolved);
        alerts.sort_by(|a, b| (b.opened_at, b.alert_id.as_str()).cmp(&(a.opened_at, a.alert_id.as_str())));
        Ok(alerts)
    }

    /// Acknowledges (`resolve` false) or resolves an alert, paging its
    /// receivers the same.
    pub async fn move_alert(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        resolve: bool,
    ) -> Result<Alert> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Alert)?;
        self.decide_write(caller, &row, RecordKind::Alert).await?;
        let classes: Vec<AlertClass> = self.read_values(&row).await?;
        let settings = self.observe_settings(&row).await?;
        let (actor, at, id, target) =
            (caller.actor().to_owned(), self.clock.now(), id.to_owned(), row.clone());
        let alert = self
            .write(&row, move |_app, tx| {
                let (actor, id, row, classes, settings) =
                    (actor.clone(), id.clone(), target.clone(), classes.clone(), settings.clone());
                Box::pin(async move {
                    let loaded =
                        crate::data::datasets::load_one(tx, &row, RecordKind::Alert, &id, pick::alert)
                            .await?;
                    let mut alert = loaded.value;
                    let (action, allowed) = if resolve {
                        ("resolve", alert.status != AlertStatus::Resolved)
                    } else {
                        ("acknowledge", alert.status == AlertStatus::Open)
                    };
                    if !allowed {
                        return Err(AppError::invalid(
                            "alert",
                            vec![format!("status: alert {id} is {}; it cannot be {action}d", alert.status)],
                        ));
                    }
                    if resolve {
                        alert.status = AlertStatus::Resolved;
                        alert.resolved_at = Some(at);
                        alert.resolved_by = Some(actor.clone());
                    } else {
                        alert.status = AlertStatus::Acknowledged;
                        alert.acknowledged_at = Some(at);
                        alert.acknowledged_by = Some(actor.clone());
                    }
                    let receivers = classes
                        .iter()
                        .find(|class| class.class_id == alert.class_id)
                        .map(|class| class.receivers.clone())
                        .unwrap_or_default();
                    let pages = pages_for(&row.name, &alert, &receivers, &settings, action);
                    let body = Record::from(alert.clone()).to_canonical_json();
                    let write = RecordWrite::update(RecordKind::Alert, id.clone(), body, loaded.version);
                    crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                    tx.enqueue_pages(row.id, &pages, at).await?;
                    Ok(alert)
                })
            })
            .await?;
        self.oversight.pages.notify_one();
        Ok(alert)
    }

    /// Sends every page that is due, in order per receiver; returns what
    /// was delivered and what failed (and waits for its retry).
    pub async fn deliver_pages(&self) -> Result<Delivered> {
        let mut done = Delivered::default();
        // Round after round: a receiver's next page goes as soon as its
        // previous one is delivered; one that failed waits for its retry.
        let mut failing: HashSet<(i64, String)> = HashSet::new();
        loop {
            let now = self.clock.now();
            let due: Vec<charter_store::PageRow> = self
                .store
                .page_heads()
                .await?
                .into_iter()
                .filter(|head| {
                    head.next_at <= now && !failing.contains(&(head.workspace_id, head.page.receiver.clone()))
                })
                .collect();
            if due.is_empty() {
                break;
            }
            for head in due {
                let sent = tokio::time::timeout(
                    PAGE_TIMEOUT,
                    self.notifier.post_json(&head.page.url, head.page.body.clone()),
                )
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {} s", PAGE_TIMEOUT.as_secs())));
                let at = self.clock.now();
                let mut tx = self.store.begin().await?;
                match &sent {
                    Ok(_) => {
                        tx.record_attempt(head.workspace_id, head.id, at, Ok(())).await?;
                        done.delivered += 1;
                    }
                    Err(error) => {
                        let retry_at = at.plus(backoff(head.attempts)).unwrap_or(at);
                        tx.record_attempt(head.workspace_id, head.id, at, Err((error, retry_at))).await?;
                        failing.insert((head.workspace_id, head.page.receiver.clone()));
                        done.failed += 1;
                    }
                }
                tx.commit().await?;
            }
        }
        self.metrics.delivered(done.delivered, done.failed);
        Ok(done)
    }

    /// A workspace's pages, newest first.
    pub async fn pages(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        limit: u32,
    ) -> Result<Vec<charter_store::PageRow>> {
        let row = self.visible_workspace(caller, workspace).await?;
        Ok(self.store.pages(row.id, limit).await?)
    }
}

#[allow(clippy::too_many_arguments)]
async fn raise_alerts(
    _app: &App,
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    anomalies: &[Anomaly],
    evaluated: &HashSet<String>,
    classes: &[AlertClass],
    settings: &ObserveSettings,
    actor: &str,
    at: Timestamp,
) -> Result<Evaluated> {
    let existing = load_all(tx, row, RecordKind::Alert, pick::alert).await?;
    let mut active: HashMap<String, (String, u64, Alert)> = existing
        .into_iter()
        .filter(|loaded| loaded.value.status != AlertStatus::Resolved)
        .map(|loaded| (loaded.value.dedup_key.clone(), (loaded.id, loaded.version, loaded.value)))
        .collect();
    let receivers_of = |class_id: &str| {
        classes
            .iter()
            .find(|class| class.class_id.as_str() == class_id)
            .map(|c| c.receivers.clone())
            .unwrap_or_default()
    };
    let mut writes = Vec::new();
    let mut pages = Vec::new();
    let mut evaluated_now = Evaluated::default();
    let mut current = HashSet::new();
    for anomaly in anomalies {
        let class = class_for(classes, anomaly.reason);
        let class_id = class.map_or(UNCLASSIFIED, |class| class.class_id.as_str());
        let key = dedup_key(row.name.as_str(), class_id, anomaly);
        current.insert(key.clone());
        if active.contains_key(&key) {
            continue;
        }
        let date = at.date();
        let seq = tx.advance_counter(row.id, &format!("alert/{date}"), 1).await?;
        let alert = Alert {
            alert_id: Key::new(format!("ALR-{date}-{seq:03}"))
                .map_err(|error| AppError::Internal(error.to_string()))?,
            class_id: Key::new(class_id).map_err(|error| AppError::Internal(error.to_string()))?,
            agent_id: charter_model::AgentId::new(anomaly.agent_id.clone())
                .map_err(|error| AppError::corrupt(error.to_string()))?,
            reason: anomaly.reason.to_owned(),
            signal: anomaly.signal.map(|signal| signal.name().to_owned()),
            summary: anomaly.summary.clone(),
            evidence: serde_json::to_value(&anomaly.evidence)
                .map_err(|error| AppError::Internal(error.to_string()))?,
            severity: class.map_or(Severity::Medium, |class| class.severity),
            status: AlertStatus::Open,
            owner: class.and_then(|class| class.owner.clone()),
            runbook: class.and_then(|class| class.runbook.clone()),
            dedup_key: key.clone(),
            opened_at: at,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            incident_id: None,
        };
        let mut alert = alert;
        if class.is_some_and(|class| class.opens_incident || class.severity == Severity::Critical) {
            let new = super::incidents::NewIncident {
                title: format!("{} {}: {}", alert.alert_id, alert.agent_id, alert.summary),
                severity: super::incidents::incident_severity(alert.severity),
                agent_id: Some(alert.agent_id.to_string()),
                commander: None,
                source: format!("alert:{}", alert.alert_id),
            };
            let (incident, write) = super::incidents::open_in(tx, row, actor, at, &new).await?;
            alert.incident_id = Some(incident.incident_id.clone());
            evaluated_now.incidents.push(incident.incident_id.to_string());
            writes.push(write);
        }
        pages.extend(pages_for(&row.name, &alert, &receivers_of(class_id), settings, "trigger"));
        let id = alert.alert_id.to_string();
        writes.push(RecordWrite::create(
            RecordKind::Alert,
            id.clone(),
            Record::from(alert.clone()).to_canonical_json(),
        ));
        active.insert(key, (id, 1, alert.clone()));
        evaluated_now.opened.push(alert);
    }
    for (key, (id, version, alert)) in &active {
        if current.contains(key) || !evaluated.contains(alert.agent_id.as_str()) {
            continue;
        }
        let mut resolved = alert.clone();
        resolved.status = AlertStatus::Resolved;
        resolved.resolved_at = Some(at);
        resolved.resolved_by = Some(format!("charter (the anomaly is gone; evaluated for {actor})"));
        pages.extend(pages_for(
            &row.name,
            &resolved,
            &receivers_of(resolved.class_id.as_str()),
            settings,
            "resolve",
        ));
        writes.push(RecordWrite::update(
            RecordKind::Alert,
            id.clone(),
            Record::from(resolved).to_canonical_json(),
            *version,
        ));
        evaluated_now.resolved.push(id.clone());
    }
    crate::core::audit::write_records(tx, row, actor, at, &writes).await?;
    tx.enqueue_pages(row.id, &pages, at).await?;
    Ok(evaluated_now)
}
