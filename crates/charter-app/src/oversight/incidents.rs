//! Incidents (`INC-YYYY-MM-DD-NNN`): opened by hand or by a policy breach
//! (an alert whose class opens one or is critical, a kill-switch pause),
//! moved Open → Acknowledged → Mitigated → Resolved → Postmortem done, every
//! transition a ledger entry with its actor and time; escalated along the
//! chain (commander, the agent owner's team lead, a governance steward)
//! when not acknowledged within its severity's time; closed by a
//! postmortem that passes its check.

use charter_model::{
    AgentId, Escalation, Incident, IncidentEvent, IncidentSeverity, IncidentStatus, Key, Person, Postmortem,
    Record, RecordKind, Role, Severity, Team, Timestamp, WorkspaceName,
};
use charter_store::{WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::data::datasets::{load_all, load_one, pick};
use crate::{App, AppError, Caller, Result};

/// An incident to open.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// What it is about.
    pub title: String,
    /// How severe.
    pub severity: IncidentSeverity,
    /// The agent concerned.
    pub agent_id: Option<String>,
    /// The commander (default: the first person with the incident_commander role).
    pub commander: Option<String>,
    /// What opened it.
    pub source: String,
}

/// The severity of an incident an alert of `severity` opens.
pub(crate) fn incident_severity(severity: Severity) -> IncidentSeverity {
    match severity {
        Severity::Critical => IncidentSeverity::Sev1,
        Severity::High => IncidentSeverity::Sev2,
        Severity::Medium => IncidentSeverity::Sev3,
        Severity::Low => IncidentSeverity::Sev4,
    }
}

/// Incidents escalated by one round.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Escalated {
    /// (workspace, incident, to whom).
    pub escalations: Vec<(String, String, String)>,
}

/// Writes the pages of `incident` (`trigger`, `acknowledge` or `resolve`)
/// to the receivers `observe_settings.incident_receivers` names, in `tx`.
/// One incident keeps one `dedup_key`, its id.
pub(crate) async fn page_incident(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    incident: &Incident,
    action: &str,
    at: Timestamp,
) -> Result<()> {
    let Some(stored) = tx.record(row.id, RecordKind::ObserveSettings, "default").await? else {
        return Ok(());
    };
    let Ok(Record::ObserveSettings(settings)) = RecordKind::ObserveSettings.parse_json(&stored.body) else {
        return Err(AppError::corrupt("observe_settings \"default\" does not parse"));
    };
    let severity = match incident.severity {
        IncidentSeverity::Sev1 => "critical",
        IncidentSeverity::Sev2 => "error",
        IncidentSeverity::Sev3 => "warning",
        IncidentSeverity::Sev4 => "info",
    };
    let last = incident.timeline.last().map(|event| event.event.clone()).unwrap_or_default();
    let content = super::alerts::PageContent {
        dedup_key: incident.incident_id.to_string(),
        summary: format!("{} {}: {} ({last})", incident.incident_id, incident.severity, incident.title),
        source: format!("charter/{}", row.name),
        severity,
        started: incident.opened_at,
        ended: incident.resolved_at,
        component: incident.agent_id.as_ref().map(ToString::to_string),
        group: "incident".into(),
        class: incident.severity.to_string(),
        details: serde_json::json!({
            "incident_id": incident.incident_id,
            "commander": incident.commander,
            "status": incident.status,
            "escalations": incident.escalations,
        }),
    };
    let pages = super::alerts::pages(&row.name, &content, &settings.incident_receivers, &settings, action);
    tx.enqueue_pages(row.id, &pages, at).await?;
    Ok(())
}

/// Opens an incident inside `tx`: its id from the day's counter, its
/// commander the one named or the first incident commander registered.
pub(crate) async fn open_in(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    actor: &str,
    at: Timestamp,
    new: &NewIncident,
) -> Result<(Incident, RecordWrite)> {
    let mut problems = Vec::new();
    if new.title.trim().is_empty() {
        problems.push("title: must not be empty".to_owned());
    }
    let agent = match &new.agent_id {
        Some(agent) => match AgentId::new(agent.clone()) {
            Ok(id) if tx.record(row.id, RecordKind::Agent, agent).await?.is_some() => Some(id),
            _ => {
                problems.push(format!("agent_id: no registered agent \"{agent}\""));
                None
            }
        },
        None => None,
    };
    let people = load_all(tx, row, RecordKind::Person, pick::person).await?;
    let commander = match &new.commander {
        Some(id) => match people.iter().find(|p| p.value.person_id.as_str() == id) {
            Some(person) if person.value.roles.contains(&Role::IncidentCommander) => {
                Some(person.value.person_id.clone())
            }
            Some(_) => {
                problems.push(format!("commander: {id} does not hold the incident_commander role"));
                None
            }
            None => {
                problems.push(format!("commander: no registered person \"{id}\""));
                None
            }
        },
        None => people
            .iter()
            .find(|p| p.value.roles.contains(&Role::IncidentCommander))
            .map(|p| p.value.person_id.clone()),
    };
    if !problems.is_empty() {
        return Err(AppError::invalid("incident", problems));
    }
    let date = at.date();
    let seq = crate::operations::declare::advance_day_counter(tx, row, "incident", date, "incident").await?;
    let incident = Incident {
        incident_id: Key::new(format!("INC-{date}-{seq:03}"))
            .map_err(|error| AppError::Internal(error.to_string()))?,
        title: new.title.clone(),
        severity: new.severity,
        status: IncidentStatus::Open,
        commander: commander.clone(),
        agent_id: agent,
        source: new.source.clone(),
        opened_at: at,
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: None,
        postmortem_at: None,
        escalations: Vec::new(),
        timeline: vec![IncidentEvent {
            at,
            actor: actor.to_owned(),
            event: format!(
                "opened ({}, {}), commander {}",
                new.severity,
                new.source,
                commander.as_ref().map_or_else(
                    || "none: nobody holds the incident_commander role".into(),
                    ToString::to_string
                )
            ),
        }],
        postmortem: None,
    };
    let write = RecordWrite::create(
        RecordKind::Incident,
        incident.incident_id.to_string(),
        Record::from(incident.clone()).to_canonical_json(),
    );
    page_incident(tx, row, &incident, "trigger", at).await?;
    Ok((incident, write))
}

impl App {
    /// Opens an incident (`charter incident open`).
    pub async fn open_incident(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        new: NewIncident,
    ) -> Result<Incident> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Incident)?;
        self.decide_write(caller, &row, RecordKind::Incident).await?;
        self.open_incident_as(&row, caller.actor(), new).await
    }

    /// Opens an incident as a consequence of something `actor` did (a
    /// pause, an alert), without a decision of its own.
    pub(crate) async fn open_incident_as(
        &self,
        row: &WorkspaceRow,
        actor: &str,
        new: NewIncident,
    ) -> Result<Incident> {
        let (actor, at, target) = (actor.to_owned(), self.clock.now(), row.clone());
        let incident = self
            .write(row, move |_app, tx| {
                let (actor, row, new) = (actor.clone(), target.clone(), new.clone());
                Box::pin(async move {
                    let (incident, write) = open_in(tx, &row, &actor, at, &new).await?;
                    crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                    Ok(incident)
                })
            })
            .await?;
        self.oversight.pages.notify_one();
        Ok(incident)
    }

    /// Whether `agent` has an incident not yet resolved.
    pub(crate) async fn has_open_incident(&self, row: &WorkspaceRow, agent: &str) -> Result<bool> {
        let incidents: Vec<Incident> = self.read_values(row).await?;
        Ok(incidents.iter().any(|incident| {
            incident.agent_id.as_ref().is_some_and(|a| a.as_str() == agent)
                && matches!(
                    incident.status,
                    IncidentStatus::Open | IncidentStatus::Acknowledged | IncidentStatus::Mitigated
                )
        }))
    }

    /// Incidents, newest first; only those before Postmortem done when `open`.
    pub async fn incidents(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        open: bool,
    ) -> Result<Vec<Incident>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut incidents: Vec<Incident> = self.read_values(&row).await?;
        incidents.retain(|incident| !open || incident.status != IncidentStatus::PostmortemDone);
        incidents.sort_by(|a, b| {
            (b.opened_at, b.incident_id.as_str()).cmp(&(a.opened_at, a.incident_id.as_str()))
        });
        Ok(incidents)
    }

    /// Moves an incident to `to`, the state after its own (acknowledge,
    /// mitigate, resolve), with an optional note on its timeline.
    pub async fn move_incident(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        to: IncidentStatus,
        note: Option<String>,
    ) -> Result<Incident> {
        if to == IncidentStatus::PostmortemDone || to == IncidentStatus::Open {
            return Err(AppError::invalid(
                "incident",
                vec![format!("status: an incident is moved to {to} by writing its postmortem or opening it")],
            ));
        }
        self.change_incident(caller, workspace, id, move |incident, actor, at| {
            let expected = match to {
                IncidentStatus::Acknowledged => IncidentStatus::Open,
                IncidentStatus::Mitigated => IncidentStatus::Acknowledged,
                _ => IncidentStatus::Mitigated,
            };
            if incident.status != expected {
                return Err(AppError::invalid(
                    "incident",
                    vec![format!(
                        "status: {} is {}; it moves to {to} from {expected}",
                        incident.incident_id, incident.status
                    )],
                ));
            }
            incident.status = to;
            match to {
                IncidentStatus::Acknowledged => incident.acknowledged_at = Some(at),
                IncidentStatus::Mitigated => incident.mitigated_at = Some(at),
                _ => incident.resolved_at = Some(at),
            }
            let event = match &note {
                Some(note) => format!("{to}: {note}"),
                None => to.to_string(),
            };
            incident.timeline.push(IncidentEvent { at, actor: actor.to_owned(), event });
            Ok(())
        })
        .await
    }

    /// Writes a resolved incident's postmortem; it is checked first, and
    /// every missing part is named.
    pub async fn write_postmortem(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        postmortem: Postmortem,
    ) -> Result<Incident> {
        self.change_incident(caller, workspace, id, move |incident, actor, at| {
            if incident.status != IncidentStatus::Resolved {
                return Err(AppError::invalid(
                    "postmortem",
                    vec![format!(
                        "status: {} is {}; a postmortem follows resolution",
                        incident.incident_id, incident.status
                    )],
                ));
            }
            let problems = postmortem.problems();
            if !problems.is_empty() {
                return Err(AppError::invalid("postmortem", problems));
            }
            incident.postmortem = Some(postmortem.clone());
            incident.status = IncidentStatus::PostmortemDone;
            incident.postmortem_at = Some(at);
            incident.timeline.push(IncidentEvent {
                at,
                actor: actor.to_owned(),
                event: "postmortem done".into(),
            });
            Ok(())
        })
        .await
    }

    /// Pauses the incident's agent (the kill switch) and notes it on the
    /// incident's timeline.
    pub async fn pause_from_incident(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<Incident> {
        let row = self.visible_workspace(caller, workspace).await?;
        let stored = self.store.record(row.id, RecordKind::Incident, id).await?;
        let agent = match stored.map(|s| RecordKind::Incident.parse_json(&s.body)) {
            Some(Ok(Record::Incident(incident))) => incident.agent_id.clone(),
            Some(_) => return Err(AppError::corrupt(format!("incident \"{id}\" does not parse"))),
            None => return Err(AppError::NotFound { kind: RecordKind::Incident, id: id.to_owned() }),
        };
        let Some(agent) = agent else {
            return Err(AppError::invalid(
                "incident",
                vec![format!("agent_id: {id} names no agent to pause")],
            ));
        };
        self.set_agent_status(caller, workspace, agent.as_str(), charter_model::AgentStatus::Paused).await?;
        self.change_incident(caller, workspace, id, move |incident, actor, at| {
            incident.timeline.push(IncidentEvent {
                at,
                actor: actor.to_owned(),
                event: format!("paused agent {agent} (kill switch)"),
            });
            Ok(())
        })
        .await
    }

    async fn change_incident(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        change: impl Fn(&mut Incident, &str, Timestamp) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Incident> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Incident)?;
        self.decide_write(caller, &row, RecordKind::Incident).await?;
        let (actor, at, id, target) =
            (caller.actor().to_owned(), self.clock.now(), id.to_owned(), row.clone());
        let change = std::sync::Arc::new(change);
        let incident = self
            .write(&row, move |_app, tx| {
                let (actor, id, row, change) = (actor.clone(), id.clone(), target.clone(), change.clone());
                Box::pin(async move {
                    let loaded = load_one(tx, &row, RecordKind::Incident, &id, pick::incident).await?;
                    let mut incident = loaded.value;
                    let before = incident.status;
                    change(&mut incident, &actor, at)?;
                    let action = match incident.status {
                        status if status == before => None,
                        IncidentStatus::Acknowledged | IncidentStatus::Mitigated => Some("acknowledge"),
                        IncidentStatus::Resolved => Some("resolve"),
                        _ => None,
                    };
                    if let Some(action) = action {
                        page_incident(tx, &row, &incident, action, at).await?;
                    }
                    let body = Record::from(incident.clone()).to_canonical_json();
                    let write = RecordWrite::update(RecordKind::Incident, id.clone(), body, loaded.version);
                    crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                    Ok(incident)
                })
            })
            .await?;
        self.oversight.pages.notify_one();
        Ok(incident)
    }

    /// Escalates every open incident not acknowledged within its
    /// severity's time, one step along the chain per period missed:
    /// the commander, the agent owner's team lead, a governance steward.
    pub async fn escalate_incidents(&self) -> Result<Escalated> {
        let mut done = Escalated::default();
        for row in self.store.workspaces().await? {
            let incidents: Vec<Incident> = self.read_values(&row).await?;
            if incidents.iter().all(|incident| incident.status != IncidentStatus::Open) {
                continue;
            }
            let settings = self.observe_settings(&row).await?;
            let people: Vec<Person> = self.read_values(&row).await?;
            let teams: Vec<Team> = self.read_values(&row).await?;
            let agents: Vec<charter_model::Agent> = self.read_values(&row).await?;
            let now = self.clock.now();
            for incident in incidents.iter().filter(|incident| incident.status == IncidentStatus::Open) {
                let period = i64::from(settings.ack_minutes(incident.severity)) * 60_000_000;
                let overdue = (now.unix_micros() - incident.opened_at.unix_micros()) / period;
                let step = incident.escalations.len() as i64;
                if overdue <= step || step >= 3 {
                    continue;
                }
                let lead = incident
                    .agent_id
                    .as_ref()
                    .and_then(|agent| agents.iter().find(|a| a.agent_id == *agent))
                    .and_then(|agent| agent.owner_team.as_deref())
                    .and_then(|team| teams.iter().find(|t| t.team_id.as_str() == team || t.name == team))
                    .and_then(|team| team.lead.as_ref().map(ToString::to_string));
                let steward =
                    people.iter().find(|p| p.roles.contains(&Role::Steward)).map(|p| p.person_id.to_string());
                let chain = [incident.commander.as_ref().map(ToString::to_string), lead, steward];
                let (to, reason) = match &chain[step as usize] {
                    Some(person) => (
                        person.clone(),
                        format!(
                            "not acknowledged within {} minutes",
                            settings.ack_minutes(incident.severity) * (step as u32 + 1)
                        ),
                    ),
                    None => (
                        "nobody".to_owned(),
                        format!(
                            "not acknowledged within {} minutes and no {} is registered",
                            settings.ack_minutes(incident.severity) * (step as u32 + 1),
                            [
                                "incident commander",
                                "team lead for the agent's owner team",
                                "governance steward"
                            ][step as usize]
                        ),
                    ),
                };
                let id = incident.incident_id.to_string();
                let (to_, reason_) = (to.clone(), reason.clone());
                let target = row.clone();
                self.write(&row, move |_app, tx| {
                    let (id, row, to, reason) = (id.clone(), target.clone(), to_.clone(), reason_.clone());
                    Box::pin(async move {
                        let loaded = load_one(tx, &row, RecordKind::Incident, &id, pick::incident).await?;
                        let mut incident = loaded.value;
                        if incident.status != IncidentStatus::Open
                            || incident.escalations.len() as i64 != step
                        {
                            return Ok(());
                        }
                        incident.escalations.push(Escalation {
                            at: now,
                            to: to.clone(),
                            reason: reason.clone(),
                        });
                        incident.timeline.push(IncidentEvent {
                            at: now,
                            actor: "charter".into(),
                            event: format!("escalated to {to}: {reason}"),
                        });
                        // The escalation pages again (same dedup_key, new summary).
                        page_incident(tx, &row, &incident, "trigger", now).await?;
                        let body = Record::from(incident).to_canonical_json();
                        let write =
                            RecordWrite::update(RecordKind::Incident, id.clone(), body, loaded.version);
                        crate::core::audit::write_records(tx, &row, "charter", now, &[write]).await
                    })
                })
                .await?;
                self.oversight.pages.notify_one();
                done.escalations.push((row.name.to_string(), incident.incident_id.to_string(), to));
            }
        }
        Ok(done)
    }
}
