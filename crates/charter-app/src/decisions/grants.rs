//! Time-bound grants and the kill switch: the use cases that change what the
//! decision point allows without touching a policy.
//!
//! Each is an ordinary record write, so it advances the version of the
//! decision point's inputs in the same transaction, and the next decision,
//! in any process, is made on the new state.

use charter_model::{AgentId, AgentStatus, Grant, GrantKind, Key, Record, RecordKind, Span, WorkspaceName};
use charter_policy::schema::{Action, EntityType};

use crate::core::audit::RecordWrite;
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// Name of the per-workspace counter that numbers grants.
const GRANT_COUNTER: &str = "grant";

/// Longest a grant may last: least privilege means access that ends.
pub const MAX_GRANT_TTL: Span = Span::from_secs(90 * 86_400);

/// A grant to create.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// What the grant is for.
    pub kind: GrantKind,
    /// The agent it lets act.
    pub agent_id: AgentId,
    /// The action.
    pub action: String,
    /// Type of the resource (`Tool`, `Dataset`, …).
    pub resource_type: String,
    /// Id of the resource.
    pub resource_id: String,
    /// How long it holds, from now.
    pub ttl: Span,
    /// Why.
    pub reason: String,
    /// Who asked for it (default: the agent itself). The approver, the
    /// caller, must be someone else.
    pub requested_by: Option<String>,
}

impl NewGrant {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match Action::find(&self.action) {
            None => problems.push(format!(
                "action: unknown action \"{}\", expected one of {}",
                self.action,
                charter_policy::schema::ACTIONS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
            )),
            Some((_, action)) => match EntityType::parse(&self.resource_type) {
                None => problems.push(format!(
                    "resource_type: unknown entity type \"{}\", expected one of {}",
                    self.resource_type,
                    EntityType::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                )),
                Some(resource) if !action.resources.contains(&resource) => problems.push(format!(
                    "resource_type: action {} does not apply to {}; it applies to {}",
                    action.name,
                    resource.name(),
                    action.resources.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                )),
                Some(_) => {}
            },
        }
        if self.resource_id.trim().is_empty() {
            problems.push("resource_id: must not be empty".into());
        }
        if self.reason.trim().is_empty() {
            problems.push("reason: a grant must say why it is given".into());
        }
        if self.ttl > MAX_GRANT_TTL {
            problems.push(format!("ttl: {} is longer than the longest grant, {MAX_GRANT_TTL}", self.ttl));
        }
        problems
    }
}

impl App {
    /// Creates a grant approved by `caller`, holding from now for its TTL.
    /// The caller must be allowed to write grants (approver or admin) and
    /// may not be the requester.
    pub async fn create_grant(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        new: NewGrant,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Grant)?;
        caller.require_own_identity("grants: a grant is an approval")?;
        self.require_registered(caller, workspace).await?;
        let problems = new.problems();
        if !problems.is_empty() {
            return Err(AppError::invalid("grant", problems));
        }
        self.decide_about_agent(caller, &row, "grant", new.agent_id.as_str()).await?;
        let resource =
            charter_policy::EntityRef { entity_type: new.resource_type.clone(), id: new.resource_id.clone() };
        if !self.policy_engine(caller, workspace).await?.engine.knows(&resource) {
            return Err(AppError::invalid(
                "grant",
                vec![format!(
                    "resource: the registry holds no {resource}; a grant names something that exists"
                )],
            ));
        }
        let at = self.clock.now();
        let expires_at = at.plus(new.ttl).ok_or_else(|| {
            AppError::invalid("grant", vec![format!("ttl: {} from now is past the end of time", new.ttl)])
        })?;
        let grant = Grant {
            grant_id: Key::new(format!("{}0000", charter_model::GRANT_ID_PREFIX))
                .map_err(|error| AppError::invalid("grant", vec![error.to_string()]))?,
            kind: new.kind,
            requested_by: new.requested_by.clone().unwrap_or_else(|| new.agent_id.to_string()),
            agent_id: new.agent_id,
            action: new.action,
            resource_type: new.resource_type,
            resource_id: new.resource_id,
            reason: new.reason,
            approved_by: caller.actor().to_owned(),
            granted_at: at,
            expires_at,
            revoked_at: None,
            revoked_by: None,
        };
        crate::registry::records::invalid(&Record::Grant(Box::new(grant.clone())))?;
        let actor = caller.actor().to_owned();
        let target = row.clone();
        let grant = self
            .write(&row, move |_app, tx| {
                let (mut grant, row, actor) = (grant.clone(), target.clone(), actor.clone());
                Box::pin(async move {
                    if tx.record(row.id, RecordKind::Agent, grant.agent_id.as_str()).await?.is_none() {
                        return Err(AppError::NotFound {
                            kind: RecordKind::Agent,
                            id: grant.agent_id.to_string(),
                        });
                    }
                    // Imported grants may already use some numbers.
                    let id = loop {
                        let n = tx.advance_counter(row.id, GRANT_COUNTER, 1).await?;
                        let id = format!("{}{n:04}", charter_model::GRANT_ID_PREFIX);
                        if tx.record(row.id, RecordKind::Grant, &id).await?.is_none() {
                            break id;
                        }
                    };
                    grant.grant_id = Key::new(id.clone())
                        .map_err(|error| AppError::invalid("grant", vec![error.to_string()]))?;
                    let body = Record::Grant(Box::new(grant.clone())).to_canonical_json();
                    crate::core::audit::write_records(
                        tx,
                        &row,
                        &actor,
                        at,
                        &[RecordWrite::create(RecordKind::Grant, id, body)],
                    )
                    .await?;
                    Ok(grant)
                })
            })
            .await?;
        let id = grant.grant_id.to_string();
        let record = Record::Grant(Box::new(grant));
        Ok(RecordView { kind: RecordKind::Grant, id, version: 1, created_at: at, updated_at: at, record })
    }

    /// Revokes a grant now: the next decision no longer sees it.
    pub async fn revoke_grant(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Grant)?;
        self.require_registered(caller, workspace).await?;
        let Record::Grant(grant) = self.get_record(caller, workspace, RecordKind::Grant, id).await?.record
        else {
            return Err(AppError::NotFound { kind: RecordKind::Grant, id: id.to_owned() });
        };
        self.decide_about_agent(caller, &row, "grant", grant.agent_id.as_str()).await?;
        let actor = caller.actor().to_owned();
        self.change_record(&row, caller, RecordKind::Grant, id, move |record, at| {
            let Record::Grant(grant) = record else {
                return Err(AppError::NotFound { kind: RecordKind::Grant, id: record.id() });
            };
            if let Some(revoked) = grant.revoked_at {
                return Err(AppError::invalid(
                    "grant",
                    vec![format!(
                        "revoked_at: grant {} was already revoked at {revoked} by {}",
                        grant.grant_id,
                        grant.revoked_by.as_deref().unwrap_or("someone")
                    )],
                ));
            }
            grant.revoked_at = Some(at);
            grant.revoked_by = Some(actor.clone());
            Ok(())
        })
        .await
    }

    /// Lifts the kill switch: sets a paused agent back to `status`, or to the
    /// status it had before it was paused (from its audit trail).
    pub async fn resume_agent(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        status: Option<AgentStatus>,
    ) -> Result<RecordView> {
        // Authority first: a caller who may not resume learns nothing of the
        // agent's state.
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_decider()?;
        self.require_registered(caller, workspace).await?;
        self.decide_about_agent(caller, &row, "resume_agent", id).await?;
        let current = self.get_record(caller, workspace, RecordKind::Agent, id).await?;
        let Record::Agent(agent) = &current.record else {
            return Err(AppError::NotFound { kind: RecordKind::Agent, id: id.to_owned() });
        };
        if agent.status != AgentStatus::Paused {
            return Err(AppError::invalid(
                "agent",
                vec![format!("status: agent {id} is {}, not paused", agent.status)],
            ));
        }
        let status = match status {
            Some(AgentStatus::Paused) => {
                return Err(AppError::invalid(
                    "agent",
                    vec!["status: resuming sets a status other than paused".into()],
                ));
            }
            Some(status) => status,
            None => self.status_before_pause(workspace, id).await?,
        };
        self.set_agent_status(caller, workspace, id, status).await
    }

    /// The status an agent had before its latest pause (`active` when its
    /// trail does not say).
    async fn status_before_pause(&self, workspace: &WorkspaceName, id: &str) -> Result<AgentStatus> {
        let row = self
            .store
            .workspace(workspace)
            .await?
            .ok_or_else(|| AppError::WorkspaceNotFound(workspace.clone()))?;
        let filter = charter_store::EventFilter {
            kind: Some(RecordKind::Agent.name().to_owned()),
            subject: Some(id.to_owned()),
            ..charter_store::EventFilter::default()
        };
        let (mut before, mut last, mut after) = (AgentStatus::Active, None, 0);
        loop {
            let page = self.store.events_matching(row.id, &filter, after, 1_000).await?;
            let Some(end) = page.last() else { break };
            after = end.seq;
            for stored in page {
                let value = charter_model::audit::AuditEvent::decode(&stored.body)
                    .ok()
                    .and_then(|event| event.value)
                    .and_then(|value| RecordKind::Agent.parse_json(&value).ok());
                if let Some(Record::Agent(agent)) = value {
                    if agent.status == AgentStatus::Paused
                        && let Some(previous) = last.filter(|s| *s != AgentStatus::Paused)
                    {
                        before = previous;
                    }
                    last = Some(agent.status);
                }
            }
        }
        Ok(before)
    }

    /// Sets an agent's status: `paused` is the kill switch (every decision
    /// about the agent denies from the next one on); resuming sets it back.
    pub async fn set_agent_status(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        status: AgentStatus,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        // The kill switch is not a record edit: who may pull it is the
        // policy's to say (the shipped one: owners, operators, incident
        // commanders and admins pause; owners and admins resume), read-only
        // roles never.
        caller.require_decider()?;
        self.require_registered(caller, workspace).await?;
        let action = if status == AgentStatus::Paused { "pause_agent" } else { "resume_agent" };
        self.decide_about_agent(caller, &row, action, id).await?;
        let view = self
            .change_record(&row, caller, RecordKind::Agent, id, move |record, _| match record {
                Record::Agent(agent) => {
                    agent.status = status;
                    Ok(())
                }
                _ => Err(AppError::NotFound { kind: RecordKind::Agent, id: record.id() }),
            })
            .await?;
        // A kill-switch pause is a policy breach: it opens an incident (unless
        // the settings say otherwise or one is open for the agent already).
        if status == AgentStatus::Paused
            && self.observe_settings(&row).await?.incident_on_pause != Some(false)
            && !self.has_open_incident(&row, id).await?
        {
            let new = crate::NewIncident {
                title: format!("agent {id} paused (kill switch) by {}", caller.actor()),
                severity: charter_model::IncidentSeverity::Sev2,
                agent_id: Some(id.to_owned()),
                commander: None,
                source: "kill-switch".into(),
            };
            self.open_incident_as(&row, caller.actor(), new).await?;
        }
        Ok(view)
    }
}

impl App {
    /// Asks the decision point whether `caller` may take `action` (`grant`,
    /// `pause_agent`, `resume_agent`) on the agent `agent`; the decision is
    /// logged, and a denial is an error naming it.
    async fn decide_about_agent(
        &self,
        caller: &Caller,
        row: &charter_store::WorkspaceRow,
        action: &str,
        agent: &str,
    ) -> Result<()> {
        let resource = charter_policy::EntityRef { entity_type: "Agent".into(), id: agent.to_owned() };
        self.require_allowed(caller, row, action, resource, serde_json::Map::new()).await.map(drop)
    }
}
