//! The operations KPIs of a period (agent operations framework,
//! "Continuous Improvement"): change success rate, MTTR for agent faults,
//! mean time to acknowledge, guardrail coverage, alerts and pages per class.

use std::collections::{BTreeMap, BTreeSet};

use charter_model::{
    Agent, Alert, AlertClass, Budget, Incident, Operation, Policy, PolicyStatus, RunRecord, Timestamp,
    WorkspaceName,
};
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// Alerts and pages of one class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassKpis {
    /// Alerts raised.
    pub alerts: u64,
    /// Pages written for them.
    pub pages: u64,
    /// Mean minutes from raised to acknowledged, over those acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtta_minutes: Option<f64>,
}

/// How much of what agents do passes through governance.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Agents registered (not retired).
    pub agents: u64,
    /// Of them, those an active policy scopes: named in its Cedar, or all
    /// agents when an active policy constrains its principal to `Agent` only.
    pub with_active_policy: u64,
    /// Of them, those under a budget (their own or their team's).
    pub with_budget: u64,
    /// Of them, those whose every anomaly some alert class covers.
    pub with_alert_class: u64,
    /// Tool calls in the period's runs.
    pub tool_calls: u64,
    /// Decisions about agents in the period.
    pub agent_decisions: u64,
    /// agent_decisions / tool_calls in percent, at most 100 (absent without tool calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_coverage_percent: Option<f64>,
}

/// The KPIs of a period.
#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    /// `YYYY-MM`.
    pub period: String,
    /// Governed operations: runs, change success rate, time to recover.
    pub operations: charter_ops::run::Kpis,
    /// Incidents opened in the period.
    pub incidents_opened: u64,
    /// Of them, those resolved.
    pub incidents_resolved: u64,
    /// Mean minutes from opened to resolved (MTTR for agent faults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mttr_minutes: Option<f64>,
    /// Mean minutes from opened to acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_mtta_minutes: Option<f64>,
    /// Alerts and pages per class.
    pub alerts: BTreeMap<String, ClassKpis>,
    /// Guardrail coverage.
    pub coverage: Coverage,
}

fn mean_minutes(pairs: impl Iterator<Item = (Timestamp, Timestamp)>) -> Option<f64> {
    let minutes: Vec<f64> =
        pairs.map(|(from, to)| (to.unix_micros() - from.unix_micros()) as f64 / 60e6).collect();
    (!minutes.is_empty()).then(|| minutes.iter().sum::<f64>() / minutes.len() as f64)
}

/// The anomaly reasons an alert class can cover.
const REASONS: [&str; 6] = [
    charter_observe::reason::BEYOND_BASELINE,
    charter_observe::reason::DENIED_BURST,
    charter_observe::reason::REDACTIONS_ELEVATED,
    charter_observe::reason::QUALITY_DIVERGENCE,
    charter_observe::reason::NEW_ACCESS,
    super::budgets::BUDGET_THRESHOLD,
];

impl App {
    /// The KPIs of `period` (`YYYY-MM`, this month by default).
    pub async fn kpis(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        period: Option<String>,
    ) -> Result<KpiReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        let period = period.unwrap_or_else(|| super::budgets::month_of(self.clock.now()));
        let start: charter_model::Date =
            format!("{period}-01").parse().ok().filter(|_| period.len() == 7).ok_or_else(|| {
                AppError::invalid("kpis", vec![format!("period: \"{period}\" is not YYYY-MM")])
            })?;
        let since = Timestamp::from_offset_date_time(start.inner().midnight().assume_utc());
        let end = start.plus_months(1).unwrap_or(start);
        let until = Timestamp::from_offset_date_time(end.inner().midnight().assume_utc());
        let in_period = |at: Timestamp| at.to_string().starts_with(&period);

        let operations: Vec<Operation> = self.read_values(&row).await?;
        let incidents: Vec<Incident> = self.read_values(&row).await?;
        let alerts: Vec<Alert> = self.read_values(&row).await?;
        let classes: Vec<AlertClass> = self.read_values(&row).await?;
        let agents: Vec<Agent> = self.read_values(&row).await?;
        let budgets: Vec<Budget> = self.read_values(&row).await?;
        let policies: Vec<Policy> = self.read_values(&row).await?;
        let runs: Vec<RunRecord> = self.runs_closed_since(&row, since).await?;
        let pages = self.store.pages(row.id, 100_000).await?;

        let opened: Vec<&Incident> = incidents.iter().filter(|i| in_period(i.opened_at)).collect();
        let mut by_class: BTreeMap<String, ClassKpis> = BTreeMap::new();
        for alert in alerts.iter().filter(|a| in_period(a.opened_at)) {
            by_class.entry(alert.class_id.to_string()).or_default().alerts += 1;
        }
        for (class, kpis) in &mut by_class {
            let of_class: Vec<&Alert> =
                alerts.iter().filter(|a| a.class_id.as_str() == class && in_period(a.opened_at)).collect();
            kpis.mtta_minutes =
                mean_minutes(of_class.iter().filter_map(|a| a.acknowledged_at.map(|t| (a.opened_at, t))));
            let keys: BTreeSet<&str> = of_class.iter().map(|a| a.dedup_key.as_str()).collect();
            kpis.pages = pages.iter().filter(|p| keys.contains(p.page.dedup_key.as_str())).count() as u64;
        }

        let live: Vec<&Agent> =
            agents.iter().filter(|a| a.status != charter_model::AgentStatus::Retired).collect();
        let active: Vec<&str> = policies
            .iter()
            .filter(|p| p.status == PolicyStatus::Active)
            .filter_map(|p| p.cedar.as_deref())
            .collect();
        let all_agents = active
            .iter()
            .any(|cedar| cedar.contains("principal is Agent,") || cedar.contains("principal is Agent)"));
        let covered_reasons = REASONS.iter().all(|reason| {
            classes.iter().any(|c| c.reasons.is_empty() || c.reasons.iter().any(|r| r == reason))
        });
        let tool_calls: u64 = runs.iter().filter(|r| in_period(r.ended_at)).map(|r| r.tool_calls).sum();
        let decisions =
            self.store.events_between(row.id, charter_policy::DECISION, None, since, until).await?;
        let agent_decisions = decisions
            .iter()
            .filter(|event| live.iter().any(|agent| agent.agent_id.as_str() == event.subject))
            .count() as u64;
        let coverage = Coverage {
            agents: live.len() as u64,
            with_active_policy: live
                .iter()
                .filter(|agent| {
                    all_agents
                        || active.iter().any(|cedar| cedar.contains(&format!("\"{}\"", agent.agent_id)))
                })
                .count() as u64,
            with_budget: live
                .iter()
                .filter(|agent| {
                    budgets.iter().any(|b| {
                        b.agent_id.as_ref() == Some(&agent.agent_id)
                            || (b.team.is_some() && b.team.as_deref() == agent.owner_team.as_deref())
                    })
                })
                .count() as u64,
            with_alert_class: if covered_reasons { live.len() as u64 } else { 0 },
            tool_calls,
            agent_decisions,
            decision_coverage_percent: (tool_calls > 0)
                .then(|| (agent_decisions as f64 * 100.0 / tool_calls as f64).min(100.0)),
        };
        Ok(KpiReport {
            operations: charter_ops::run::kpis(&operations, &period),
            incidents_opened: opened.len() as u64,
            incidents_resolved: opened.iter().filter(|i| i.resolved_at.is_some()).count() as u64,
            mttr_minutes: mean_minutes(opened.iter().filter_map(|i| i.resolved_at.map(|t| (i.opened_at, t)))),
            incident_mtta_minutes: mean_minutes(
                opened.iter().filter_map(|i| i.acknowledged_at.map(|t| (i.opened_at, t))),
            ),
            alerts: by_class,
            coverage,
            period,
        })
    }
}
