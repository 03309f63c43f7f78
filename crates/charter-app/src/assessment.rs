//! The portfolio assessment as a use case (`charter assess`): the nine
//! data layers read from the store, `charter-risk`'s assessment as of a
//! date, and — the seed's "snapshot save step" — one snapshot per agent
//! for that date, so later trends see it beside the imported ones.

use charter_model::{Date, Record, RecordKind, Snapshot, WorkspaceName};
use charter_risk::{Assessment, Config, Portfolio};
use serde::Serialize;

use crate::audit::RecordWrite;
use crate::data::pick;
use crate::{App, Caller, Result};

/// An assessment and what was saved of it.
#[derive(Debug, Clone, Serialize)]
pub struct Assessed {
    /// The assessment.
    pub assessment: Assessment,
    /// Snapshots written (`agent@date`), created or changed.
    pub saved: Vec<String>,
    /// Agents without a snapshot, and why (a snapshot is never made up).
    pub skipped: Vec<String>,
}

impl App {
    /// Assesses the workspace's portfolio as of `as_of` with `config`; with
    /// `save`, also writes one snapshot per agent for that date (in one
    /// transaction; snapshots already holding the same figures are left
    /// alone).
    pub async fn assess(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        as_of: Date,
        save: bool,
        config: &Config,
    ) -> Result<Assessed> {
        let row = self.visible_workspace(caller, workspace).await?;
        if save {
            caller.require_writer(RecordKind::Snapshot)?;
        }
        let agents = self.read_values(&row, RecordKind::Agent, pick::agent).await?;
        let systems = self.read_values(&row, RecordKind::System, pick::system).await?;
        let workflows = self.read_values(&row, RecordKind::Workflow, pick::workflow).await?;
        let kpis = self.read_values(&row, RecordKind::Kpi, pick::kpi).await?;
        let signals = self.read_values(&row, RecordKind::RiskSignal, pick::risk_signal).await?;
        let snapshots = self.read_values(&row, RecordKind::Snapshot, pick::snapshot).await?;
        let values = self.read_values(&row, RecordKind::ValueRecord, pick::value_record).await?;
        let reviews = self.read_values(&row, RecordKind::OwnershipReview, pick::ownership_review).await?;
        let portfolio = Portfolio {
            agents: &agents,
            systems: &systems,
            workflows: &workflows,
            kpis: &kpis,
            signals: &signals,
            snapshots: &snapshots,
            values: &values,
            reviews: &reviews,
            as_of,
        };
        let assessment = charter_risk::assess(&portfolio, config);
        let (mut saved, mut skipped) = (Vec::new(), Vec::new());
        if !save {
            return Ok(Assessed { assessment, saved, skipped });
        }
        let mut fresh = Vec::new();
        for agent in &assessment.agents {
            let kpi = kpis.iter().find(|k| k.agent_id.as_str() == agent.agent_id).map(|k| &k.kpis);
            let (Some(cost), Some(roi)) =
                (kpi.and_then(|k| k.cost_usd_30d), kpi.and_then(|k| k.roi_estimate_usd))
            else {
                skipped.push(format!(
                    "{}: no KPI record with cost_usd_30d and roi_estimate_usd",
                    agent.agent_id
                ));
                continue;
            };
            let Ok(agent_id) = agent.agent_id.parse() else { continue };
            fresh.push(Snapshot {
                agent_id,
                cost_usd_30d: cost,
                // No workflow fails: 0%; no manual minutes reported: none spent.
                failure_rate_7d: agent.failure_rate_7d.unwrap_or(0.0),
                integration_score: agent.integration.value,
                manual_minutes_per_run: agent.manual_minutes_per_run.unwrap_or(0.0),
                risk_score: agent.risk.value,
                roi_estimate_usd: roi,
                snapshot_date: as_of,
                value_leakage_score: agent.value_leakage.value,
            });
        }
        let at = self.clock.now();
        let (actor, target) = (caller.actor().to_owned(), row.clone());
        saved = self
            .write(&row, move |_app, tx| {
                let (row, actor, fresh) = (target.clone(), actor.clone(), fresh.clone());
                Box::pin(async move {
                    let mut writes = Vec::new();
                    let mut saved = Vec::new();
                    for snapshot in fresh {
                        let record = Record::Snapshot(snapshot);
                        let (id, body) = (record.id(), record.to_canonical_json());
                        match tx.record(row.id, RecordKind::Snapshot, &id).await? {
                            Some(stored) if stored.body == body => continue,
                            Some(stored) => writes.push(RecordWrite::update(
                                RecordKind::Snapshot,
                                id.clone(),
                                body,
                                stored.version,
                            )),
                            None => writes.push(RecordWrite::create(RecordKind::Snapshot, id.clone(), body)),
                        }
                        saved.push(id);
                    }
                    crate::audit::write_records(tx, &row, &actor, at, &writes).await?;
                    Ok(saved)
                })
            })
            .await?;
        Ok(Assessed { assessment, saved, skipped })
    }
}

impl App {
    /// The report's four charts (SVG) over the snapshots up to `as_of`, for
    /// `agents` in report order.
    pub async fn assessment_charts(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        as_of: Date,
        agents: &[&str],
    ) -> Result<Vec<(&'static str, String)>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let mut snapshots = self.read_values(&row, RecordKind::Snapshot, pick::snapshot).await?;
        snapshots.retain(|s| s.snapshot_date <= as_of);
        charter_risk::charts::charts(&snapshots, agents).map_err(|problem| crate::AppError::Invalid {
            what: "report charts".into(),
            problems: vec![problem],
        })
    }
}
