//! The workspace overview of PROC-WORKSPACE-INIT: datasets, active agents,
//! recent changes.

use std::collections::BTreeMap;

use charter_model::{AgentStatus, RaidaStatus, Record, RecordKind, Timestamp, WorkspaceName};
use serde::Serialize;

use crate::registry::records::RecordView;
use crate::{App, Caller, Result};

/// A workspace at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceStatus {
    /// The workspace.
    pub workspace: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Records held, by kind.
    pub records: BTreeMap<String, u64>,
    /// Audit events recorded.
    pub audit_events: u64,
    /// Agents by status.
    pub agents_by_status: BTreeMap<String, u64>,
    /// Datasets (at most `limit`, by id).
    pub datasets: Vec<DatasetLine>,
    /// Agents that are active or in pilot (at most `limit`, by id).
    pub active_agents: Vec<AgentLine>,
    /// RAIDA items not closed.
    pub open_raida: u64,
    /// The latest changes, newest first.
    pub recent_changes: Vec<ChangeLine>,
}

/// A dataset in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetLine {
    /// Id.
    pub dataset_id: String,
    /// Name.
    pub name: String,
    /// DRAFT, STAGE or PUBLISHED.
    pub scope: String,
    /// Schema version.
    pub schema_version: u32,
    /// Specialist agent.
    pub managed_by_agent: Option<String>,
}

/// An agent in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentLine {
    /// Id.
    pub agent_id: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Criticality.
    pub criticality: Option<String>,
    /// Owning team.
    pub owner_team: Option<String>,
}

/// A change in the overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeLine {
    /// Position in the audit log.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Kind of subject.
    pub kind: String,
    /// Subject.
    pub subject: String,
}

/// What happened in a workspace lately, read without counting its records:
/// for pages that show it on every load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    /// Audit events recorded.
    pub audit_events: u64,
    /// RAIDA items not closed.
    pub open_raida: u64,
    /// The latest changes, newest first.
    pub recent_changes: Vec<ChangeLine>,
}

impl App {
    /// The size of the workspace's log, its open RAIDA items and its
    /// latest `limit` changes.
    pub async fn activity(&self, caller: &Caller, workspace: &WorkspaceName, limit: u32) -> Result<Activity> {
        let row = self.visible_workspace(caller, workspace).await?;
        let audit_events = self.store.event_count(row.id).await?;
        let open_raida = self.open_raida(row.id).await?;
        let recent_changes = self.recent_changes(row.id, limit).await?;
        Ok(Activity { audit_events, open_raida, recent_changes })
    }

    async fn open_raida(&self, workspace: i64) -> Result<u64> {
        Ok(self
            .all(workspace, RecordKind::Raida)
            .await?
            .into_iter()
            .filter(|view| matches!(&view.record, Record::Raida(item) if item.status != RaidaStatus::Closed))
            .count() as u64)
    }

    async fn recent_changes(&self, workspace: i64, limit: u32) -> Result<Vec<ChangeLine>> {
        Ok(self
            .store
            .recent_events(workspace, limit)
            .await?
            .into_iter()
            .map(|event| ChangeLine {
                seq: event.seq,
                at: event.at,
                actor: event.actor,
                action: event.action,
                kind: event.kind,
                subject: event.subject,
            })
            .collect())
    }

    /// The overview of a workspace, listing at most `limit` datasets, agents
    /// and changes.
    pub async fn status(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        limit: u32,
    ) -> Result<WorkspaceStatus> {
        let row = self.visible_workspace(caller, workspace).await?;
        let records = self.store.record_counts(row.id).await?.into_iter().collect();
        let audit_events = self.store.event_count(row.id).await?;

        let mut agents_by_status = BTreeMap::new();
        let mut active_agents = Vec::new();
        for view in self.all(row.id, RecordKind::Agent).await? {
            if let Record::Agent(agent) = view.record {
                *agents_by_status.entry(agent.status.to_string()).or_insert(0) += 1;
                if matches!(agent.status, AgentStatus::Active | AgentStatus::Pilot)
                    && active_agents.len() < limit as usize
                {
                    active_agents.push(AgentLine {
                        agent_id: agent.agent_id.to_string(),
                        name: agent.name,
                        status: agent.status.to_string(),
                        criticality: agent.criticality.map(|c| c.to_string()),
                        owner_team: agent.owner_team,
                    });
                }
            }
        }
        let mut datasets = Vec::new();
        for view in self.all(row.id, RecordKind::Dataset).await?.into_iter().take(limit as usize) {
            if let Record::Dataset(dataset) = view.record {
                datasets.push(DatasetLine {
                    dataset_id: dataset.dataset_id.to_string(),
                    name: dataset.dataset_name,
                    scope: dataset.scope.to_string(),
                    schema_version: dataset.schema_version,
                    managed_by_agent: dataset.managed_by_agent.map(|a| a.to_string()),
                });
            }
        }
        let open_raida = self.open_raida(row.id).await?;
        let recent_changes = self.recent_changes(row.id, limit).await?;
        Ok(WorkspaceStatus {
            workspace: row.name.to_string(),
            created_at: row.created_at,
            records,
            audit_events,
            agents_by_status,
            datasets,
            active_agents,
            open_raida,
            recent_changes,
        })
    }

    /// Every record of a kind, in id order.
    async fn all(&self, workspace: i64, kind: RecordKind) -> Result<Vec<RecordView>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.records(workspace, kind, after.as_deref(), 1_000).await?;
            let done = page.len() < 1_000;
            after = page.last().map(|r| r.id.clone());
            for stored in page {
                out.push(RecordView::from_stored(stored)?);
            }
            if done {
                return Ok(out);
            }
        }
    }
}
