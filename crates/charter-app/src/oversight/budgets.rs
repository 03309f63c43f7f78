//! Cost budgets (FinOps). Spend is attributed from run telemetry (tokens at
//! the configured prices) to agent, team and workspace per calendar month,
//! as runs close. A hard budget whose month's spend reaches its limit is
//! marked exhausted for that month (a ledger entry), and the decision point
//! denies its agents with `guardrail:budget-exhausted` until the budget is
//! raised (`charter budget set`) or the month turns. Tokens without a price
//! and spans no registered agent explains are unexplained spend.

use std::collections::{BTreeMap, HashSet};

use charter_model::{Budget, Record, RecordKind, RunRecord, Timestamp, ValueRecord, WorkspaceName};
use charter_observe::{Anomaly, Evidence, Signal};
use charter_store::{SpendRow, WorkspaceRow, WriteTx};
use serde::Serialize;

use super::Directory;
use crate::core::audit::RecordWrite;
use crate::data::datasets::{load_all, pick};
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// The reason of a budget's alert.
pub const BUDGET_THRESHOLD: &str = "anomaly:budget-threshold";

/// `YYYY-MM` of `at`.
pub(crate) fn month_of(at: Timestamp) -> String {
    at.to_string()[..7].to_owned()
}

/// The spend a run adds to its agent's month.
pub(crate) fn spend_of(run: &RunRecord) -> SpendRow {
    SpendRow {
        agent_id: run.agent_id.to_string(),
        month: month_of(run.ended_at),
        usd: run.cost_usd,
        tokens: run.input_tokens.saturating_add(run.output_tokens),
        unpriced_tokens: run.unpriced_tokens,
        runs: 1,
    }
}

/// A budget's spend in one month.
fn budget_spend(budget: &Budget, spend: &[SpendRow], directory: &Directory) -> f64 {
    match (&budget.agent_id, &budget.team) {
        // `+ 0.0`: an empty float sum is -0.0.
        (Some(agent), _) => {
            spend.iter().filter(|s| s.agent_id == agent.as_str()).map(|s| s.usd).sum::<f64>() + 0.0
        }
        (None, Some(team)) => {
            let agents: Vec<&str> = directory.team_agents(team).collect();
            spend.iter().filter(|s| agents.contains(&s.agent_id.as_str())).map(|s| s.usd).sum::<f64>() + 0.0
        }
        (None, None) => 0.0,
    }
}

/// The hard budgets the runs just closed (`spent`) exhausted: each marked
/// exhausted for its month, a write of the budget record.
pub(crate) async fn exhausted_budgets(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    spent: &[SpendRow],
    directory: &Directory,
) -> Result<Vec<RecordWrite>> {
    if spent.is_empty() || !tx.has_records(row.id, RecordKind::Budget).await? {
        return Ok(Vec::new());
    }
    let mut writes = Vec::new();
    let budgets = load_all(tx, row, RecordKind::Budget, pick::budget).await?;
    let months: std::collections::BTreeSet<&str> = spent.iter().map(|s| s.month.as_str()).collect();
    for month in months {
        let spend = tx.spend(row.id, month).await?;
        for loaded in &budgets {
            let budget = &loaded.value;
            if !budget.hard || budget.exhausted_in.as_deref() == Some(month) {
                continue;
            }
            let touched = spent.iter().any(|s| {
                s.month == month
                    && match (&budget.agent_id, &budget.team) {
                        (Some(agent), _) => agent.as_str() == s.agent_id,
                        (None, Some(team)) => directory.team_agents(team).any(|a| a == s.agent_id),
                        _ => false,
                    }
            });
            if touched && budget_spend(budget, &spend, directory) >= budget.monthly_usd {
                let mut exhausted = budget.clone();
                exhausted.exhausted_in = Some(month.to_owned());
                let body = Record::from(exhausted).to_canonical_json();
                writes.push(RecordWrite::update(RecordKind::Budget, loaded.id.clone(), body, loaded.version));
            }
        }
    }
    Ok(writes)
}

/// One budget in a month.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetLine {
    /// The budget.
    pub budget: Budget,
    /// Spend in the month, USD.
    pub spend_usd: f64,
    /// Spend as a percent of the budget.
    pub percent: f64,
    /// Whether spend reached the soft threshold.
    pub soft_reached: bool,
    /// Whether the budget stops its agents this month.
    pub exhausted: bool,
}

/// One agent's cost-to-outcome receipt for a month.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// The agent.
    pub agent_id: String,
    /// Its owner team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Spend from telemetry in the month, USD.
    pub spend_usd: f64,
    /// Tokens, and those without a price.
    pub tokens: u64,
    /// Tokens whose cost Charter cannot explain (no price).
    pub unpriced_tokens: u64,
    /// Runs.
    pub runs: u64,
    /// The imported KPI record's 30-day cost, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpi_cost_usd_30d: Option<f64>,
    /// Value records whose period overlaps the month: expected and actual ROI and cost.
    pub value: Vec<ValueLine>,
}

/// Expected against actual value in a period.
#[derive(Debug, Clone, Serialize)]
pub struct ValueLine {
    /// The period.
    pub period: String,
    /// Expected ROI, USD.
    pub expected_roi_usd: Option<f64>,
    /// Actual ROI, USD.
    pub actual_roi_usd: Option<f64>,
    /// Expected cost, USD.
    pub expected_cost_usd: Option<f64>,
    /// Actual cost, USD.
    pub actual_cost_usd: Option<f64>,
}

/// Budgets, spend and receipts for a month.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    /// `YYYY-MM`.
    pub month: String,
    /// Spend of the workspace in the month, USD.
    pub workspace_spend_usd: f64,
    /// Each budget.
    pub budgets: Vec<BudgetLine>,
    /// Each agent with spend or value in the month.
    pub receipts: Vec<Receipt>,
    /// Spend nobody can explain: tokens without a price, spans of
    /// unregistered agents.
    pub unexplained: Unexplained,
}

/// Spend Charter cannot attribute.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unexplained {
    /// Tokens of models without a price.
    pub unpriced_tokens: u64,
    /// Spans refused because no registered agent is theirs.
    pub unattributed_spans: u64,
    /// Spans still waiting, after an hour, for a span of their trace to
    /// name their agent (a child span whose root never came).
    pub waiting_spans: u64,
}

impl Unexplained {
    /// Whether there is any.
    pub fn any(&self) -> bool {
        self.unpriced_tokens > 0 || self.unattributed_spans > 0 || self.waiting_spans > 0
    }
}

impl App {
    /// Creates or replaces a budget (`charter budget set`): its exhaustion
    /// for the current month follows from the month's spend and the new
    /// limit, so raising a budget lets its agents act again.
    pub async fn set_budget(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        budget: Budget,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Budget)?;
        self.decide_write(caller, &row, RecordKind::Budget).await?;
        let problems: Vec<String> =
            Record::from(budget.clone()).check().iter().map(|error| error.to_string()).collect();
        if !problems.is_empty() {
            return Err(AppError::invalid("budget", problems));
        }
        let directory = self.directory(&row).await?;
        let (actor, at, target) = (caller.actor().to_owned(), self.clock.now(), row.clone());
        let budget_id = budget.budget_id.clone();
        let id = budget_id.to_string();
        self.write(&row, move |_app, tx| {
            let (actor, row, mut budget, directory, id) =
                (actor.clone(), target.clone(), budget.clone(), directory.clone(), id.clone());
            Box::pin(async move {
                let month = month_of(at);
                let spend = tx.spend(row.id, &month).await?;
                budget.exhausted_in = (budget.hard
                    && budget_spend(&budget, &spend, &directory) >= budget.monthly_usd)
                    .then_some(month);
                let body = Record::from(budget).to_canonical_json();
                let write = match tx.record(row.id, RecordKind::Budget, &id).await? {
                    Some(stored) => RecordWrite::update(RecordKind::Budget, id.clone(), body, stored.version),
                    None => RecordWrite::create(RecordKind::Budget, id.clone(), body),
                };
                crate::core::audit::write_records(tx, &row, &actor, at, &[write]).await?;
                Ok(())
            })
        })
        .await?;
        self.get_record(caller, workspace, RecordKind::Budget, budget_id.as_str()).await
    }

    /// Budgets, spend and cost-to-outcome receipts for `month` (`YYYY-MM`,
    /// this month by default).
    pub async fn budget_report(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        month: Option<String>,
    ) -> Result<BudgetReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        let month = month.unwrap_or_else(|| month_of(self.clock.now()));
        let valid = month.len() == 7
            && month.as_bytes()[4] == b'-'
            && format!("{month}-01").parse::<charter_model::Date>().is_ok();
        if !valid {
            return Err(AppError::invalid(
                "budget report",
                vec![format!("month: \"{month}\" is not YYYY-MM")],
            ));
        }
        let directory = self.directory(&row).await?;
        let spend = self.store.spend(row.id, &month).await?;
        let budgets: Vec<Budget> = self.read_values(&row).await?;
        let kpis: Vec<charter_model::KpiRecord> = self.read_values(&row).await?;
        let values: Vec<ValueRecord> = self.read_values(&row).await?;
        let budgets = budgets
            .into_iter()
            .map(|budget| {
                let spend_usd = budget_spend(&budget, &spend, &directory);
                let percent =
                    if budget.monthly_usd > 0.0 { spend_usd / budget.monthly_usd * 100.0 } else { 100.0 };
                BudgetLine {
                    soft_reached: percent >= budget.soft_percent(),
                    exhausted: budget.hard && budget.exhausted_in.as_deref() == Some(month.as_str()),
                    spend_usd,
                    percent,
                    budget,
                }
            })
            .collect();
        let mut receipts: BTreeMap<String, Receipt> = BTreeMap::new();
        let receipt = |agent: &str| Receipt {
            agent_id: agent.to_owned(),
            team: directory.teams.get(agent).cloned(),
            spend_usd: 0.0,
            tokens: 0,
            unpriced_tokens: 0,
            runs: 0,
            kpi_cost_usd_30d: None,
            value: Vec::new(),
        };
        for row in &spend {
            let entry = receipts.entry(row.agent_id.clone()).or_insert_with(|| receipt(&row.agent_id));
            entry.spend_usd += row.usd;
            entry.tokens += row.tokens;
            entry.unpriced_tokens += row.unpriced_tokens;
            entry.runs += row.runs;
        }
        for value in &values {
            let (start, end) = (value.period_start.to_string(), value.period_end.to_string());
            if start[..7] > *month.as_str() || end[..7] < *month.as_str() {
                continue;
            }
            let agent = value.agent_id.to_string();
            receipts.entry(agent.clone()).or_insert_with(|| receipt(&agent)).value.push(ValueLine {
                period: format!("{start}..{end}"),
                expected_roi_usd: value.expected.roi_usd,
                actual_roi_usd: value.actual.roi_usd,
                expected_cost_usd: value.expected.cost_usd,
                actual_cost_usd: value.actual.cost_usd,
            });
        }
        for kpi in &kpis {
            if let Some(receipt) = receipts.get_mut(kpi.agent_id.as_str()) {
                receipt.kpi_cost_usd_30d = kpi.kpis.cost_usd_30d;
            }
        }
        let unattributed_spans = self
            .store
            .rejections(row.id, &format!("{month}-01"))
            .await?
            .iter()
            .filter(|(day, reason, _)| day.starts_with(month.as_str()) && reason.contains("agent"))
            .map(|(_, _, spans)| spans)
            .sum();
        Ok(BudgetReport {
            workspace_spend_usd: spend.iter().map(|s| s.usd).sum::<f64>() + 0.0,
            unexplained: Unexplained {
                unpriced_tokens: spend.iter().map(|s| s.unpriced_tokens).sum(),
                unattributed_spans,
                waiting_spans: self
                    .store
                    .waiting_spans(
                        row.id,
                        self.clock
                            .now()
                            .minus(charter_model::Span::from_secs(3_600))
                            .unwrap_or(self.clock.now()),
                    )
                    .await?,
            },
            month,
            budgets,
            receipts: receipts.into_values().collect(),
        })
    }

    /// The budget anomalies of this month: each budget whose spend reached
    /// its soft threshold (team budgets alert on their agents); and every
    /// agent a budget covers, judged whether or not it has one.
    pub(crate) async fn budget_anomalies(
        &self,
        row: &WorkspaceRow,
    ) -> Result<(Vec<Anomaly>, HashSet<String>)> {
        let budgets: Vec<Budget> = self.read_values(row).await?;
        let mut judged = HashSet::new();
        if budgets.is_empty() {
            return Ok((Vec::new(), judged));
        }
        let directory = self.directory(row).await?;
        let month = month_of(self.clock.now());
        let spend = self.store.spend(row.id, &month).await?;
        let mut anomalies = Vec::new();
        for budget in &budgets {
            let agents: Vec<String> = match (&budget.agent_id, &budget.team) {
                (Some(agent), _) => vec![agent.to_string()],
                (None, Some(team)) => directory.team_agents(team).map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            judged.extend(agents.iter().cloned());
            let spent = budget_spend(budget, &spend, &directory);
            let threshold = budget.monthly_usd * budget.soft_percent() / 100.0;
            if spent < threshold {
                continue;
            }
            for agent in agents {
                let runs = spend.iter().filter(|s| s.agent_id == agent).map(|s| s.runs).sum();
                anomalies.push(Anomaly {
                    reason: BUDGET_THRESHOLD,
                    agent_id: agent,
                    signal: Some(Signal::CostUsd),
                    summary: format!(
                        "budget {} is {:.0}% spent in {month} ({spent:.2} of {:.2} USD){}",
                        budget.budget_id,
                        if budget.monthly_usd > 0.0 { spent / budget.monthly_usd * 100.0 } else { 100.0 },
                        budget.monthly_usd,
                        if budget.hard && spent >= budget.monthly_usd {
                            "; exhausted: its agents are stopped"
                        } else {
                            ""
                        }
                    ),
                    evidence: Evidence {
                        observed: vec![spent],
                        baseline: None,
                        threshold: Some(threshold),
                        windows: Vec::new(),
                        runs,
                        new_targets: Vec::new(),
                    },
                });
            }
        }
        Ok((anomalies, judged))
    }
}
