//! Cost budgets (FinOps). Spend is attributed to agent, team and workspace
//! per calendar month from two sources:
//! - run telemetry: tokens at the configured prices, added as runs close;
//! - imported KPI cost records (`kpis_cost.json`): an agent's reported
//!   `cost_usd_30d` is spread evenly over the 30 days up to the moment the
//!   record was written, and each month counts the share of those days it
//!   holds.
//!
//! Both measure the same spend from different ends (the model tokens an
//! agent reports against the bill its owners import), so an agent's month
//! counts the larger of the two: neither is added twice, and neither
//! source can hide spend the other saw.
//!
//! A hard budget whose month's spend reaches its limit is marked exhausted
//! for that month (a ledger entry), and the decision point denies its
//! agents with `guardrail:budget-exhausted` until the budget is raised
//! (`charter budget set`) or the month turns. Runs closing and KPI records
//! written both judge it; neither lifts it. Tokens without a price and spans
//! no registered agent explains are unexplained spend.

use std::collections::{BTreeMap, HashMap, HashSet};

use charter_model::{
    Budget, KpiRecord, Record, RecordKind, RunRecord, Timestamp, ValueRecord, WorkspaceName,
};
use charter_observe::{Anomaly, Evidence, Signal};
use charter_store::{SpendRow, StoredRecord, WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::data::datasets::{load_all, pick};
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// The reason of a budget's alert.
pub const BUDGET_THRESHOLD: &str = "anomaly:budget-threshold";

/// The days an imported KPI cost covers.
const KPI_COST_DAYS: u64 = 30;

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

/// The first instant of `month` (`YYYY-MM`) and of the month after, in µs.
fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let first: charter_model::Date = format!("{month}-01").parse().ok()?;
    let next = first.plus_months(1)?;
    let micros = |date: charter_model::Date| {
        format!("{date}T00:00:00Z").parse::<Timestamp>().ok().map(Timestamp::unix_micros)
    };
    Some((micros(first)?, micros(next)?))
}

/// The share of a 30-day cost recorded at `recorded` that falls in the
/// month `bounds` delimits.
fn imported_share(cost_usd_30d: f64, recorded: Timestamp, (start, end): (i64, i64)) -> f64 {
    let window = KPI_COST_DAYS as i64 * 86_400_000_000;
    let to = recorded.unix_micros();
    let from = to.saturating_sub(window);
    let overlap = (to.min(end) - from.max(start)).max(0);
    cost_usd_30d * overlap as f64 / window as f64
}

/// A month's spend per agent: telemetry and imported.
#[derive(Debug, Default)]
pub(crate) struct MonthSpend {
    /// The spend of runs, per agent.
    pub(crate) telemetry: Vec<SpendRow>,
    /// The month's share of imported KPI costs, per agent.
    pub(crate) imported: BTreeMap<String, f64>,
}

impl MonthSpend {
    /// `month`'s spend, with the imported costs of `kpis` (each with the
    /// time it was written).
    fn new<'a>(
        month: &str,
        telemetry: Vec<SpendRow>,
        kpis: impl IntoIterator<Item = (&'a KpiRecord, Timestamp)>,
    ) -> Self {
        let mut imported = BTreeMap::new();
        if let Some(bounds) = month_bounds(month) {
            for (kpi, recorded) in kpis {
                if let Some(cost) = kpi.kpis.cost_usd_30d {
                    let share = imported_share(cost, recorded, bounds);
                    if share > 0.0 {
                        imported.insert(kpi.agent_id.to_string(), share);
                    }
                }
            }
        }
        MonthSpend { telemetry, imported }
    }

    /// What counts for `agent`: the larger of telemetry and imported.
    pub(crate) fn usd(&self, agent: &str) -> f64 {
        let telemetry: f64 = self.telemetry.iter().filter(|s| s.agent_id == agent).map(|s| s.usd).sum();
        telemetry.max(self.imported.get(agent).copied().unwrap_or(0.0)) + 0.0
    }

    /// Every agent with spend of either kind.
    fn agents(&self) -> std::collections::BTreeSet<&str> {
        self.telemetry
            .iter()
            .map(|s| s.agent_id.as_str())
            .chain(self.imported.keys().map(String::as_str))
            .collect()
    }

    /// What counts for the whole workspace.
    fn total(&self) -> f64 {
        self.agents().into_iter().map(|agent| self.usd(agent)).sum::<f64>() + 0.0
    }
}

/// The KPI records among `stored`, with the time each was written.
fn kpis_of(stored: Vec<StoredRecord>) -> Result<Vec<(KpiRecord, Timestamp)>> {
    stored
        .into_iter()
        .map(|stored| {
            RecordKind::Kpi
                .parse_json(&stored.body)
                .ok()
                .and_then(pick::kpi)
                .map(|kpi| (kpi, stored.updated_at))
                .ok_or_else(|| AppError::corrupt(format!("kpi \"{}\" does not parse", stored.id)))
        })
        .collect()
}

/// `month`'s spend as `tx` sees it.
async fn month_spend_in(tx: &mut WriteTx, row: &WorkspaceRow, month: &str) -> Result<MonthSpend> {
    let telemetry = tx.spend(row.id, month).await?;
    let kpis = kpis_of(tx.all_records(row.id, RecordKind::Kpi).await?)?;
    Ok(MonthSpend::new(month, telemetry, kpis.iter().map(|(kpi, at)| (kpi, *at))))
}

/// The agents a budget covers.
fn covered<'a>(budget: &'a Budget, teams: &'a HashMap<String, String>) -> Vec<&'a str> {
    match (&budget.agent_id, &budget.team) {
        (Some(agent), _) => vec![agent.as_str()],
        (None, Some(team)) => teams
            .iter()
            .filter(|(_, t)| t.as_str() == team.as_str())
            .map(|(agent, _)| agent.as_str())
            .collect(),
        (None, None) => Vec::new(),
    }
}

/// A budget's spend in one month.
fn budget_spend(budget: &Budget, spend: &MonthSpend, teams: &HashMap<String, String>) -> f64 {
    covered(budget, teams).into_iter().map(|agent| spend.usd(agent)).sum::<f64>() + 0.0
}

/// The hard budgets that spend newly reached in a month: `touched` names
/// the (month, agent) pairs whose spend just grew, and `teams` each
/// agent's owner team. Each budget reached is marked exhausted for its
/// month, a write of the budget record.
pub(crate) async fn exhausted_budgets(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    touched: &std::collections::BTreeSet<(String, String)>,
    teams: &HashMap<String, String>,
) -> Result<Vec<RecordWrite>> {
    if touched.is_empty() || !tx.has_records(row.id, RecordKind::Budget).await? {
        return Ok(Vec::new());
    }
    let mut writes = Vec::new();
    let budgets = load_all(tx, row, RecordKind::Budget, pick::budget).await?;
    let months: std::collections::BTreeSet<&str> = touched.iter().map(|(month, _)| month.as_str()).collect();
    for month in months {
        let spend = month_spend_in(tx, row, month).await?;
        for loaded in &budgets {
            let budget = &loaded.value;
            if !budget.hard || budget.exhausted_in.as_deref() == Some(month) {
                continue;
            }
            let agents = covered(budget, teams);
            let hit = agents.iter().any(|agent| touched.contains(&(month.to_owned(), (*agent).to_owned())));
            if hit && budget_spend(budget, &spend, teams) >= budget.monthly_usd {
                let mut exhausted = budget.clone();
                exhausted.exhausted_in = Some(month.to_owned());
                let body = Record::from(exhausted).to_canonical_json();
                writes.push(RecordWrite::update(RecordKind::Budget, loaded.id.clone(), body, loaded.version));
            }
        }
    }
    Ok(writes)
}

/// The hard budgets exhausted this month by `writes` (just stored): KPI
/// cost records add imported spend to their agents, and a budget written
/// (imported, or updated with a lower limit) is judged against the spend
/// its agents already have.
pub(crate) async fn exhausted_by_writes(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    at: Timestamp,
    writes: &[RecordWrite],
) -> Result<Vec<RecordWrite>> {
    if !tx.has_records(row.id, RecordKind::Budget).await? {
        return Ok(Vec::new());
    }
    let month = month_of(at);
    let teams: HashMap<String, String> = load_all(tx, row, RecordKind::Agent, pick::agent)
        .await?
        .into_iter()
        .filter_map(|loaded| Some((loaded.value.agent_id.to_string(), loaded.value.owner_team?)))
        .collect();
    let mut touched = std::collections::BTreeSet::new();
    for write in writes {
        match write.kind {
            RecordKind::Kpi => {
                touched.insert((month.clone(), write.id.clone()));
            }
            RecordKind::Budget => {
                let budget = RecordKind::Budget.parse_json(&write.body).ok().and_then(pick::budget);
                for agent in budget.iter().flat_map(|budget| covered(budget, &teams)) {
                    touched.insert((month.clone(), agent.to_owned()));
                }
            }
            _ => {}
        }
    }
    exhausted_budgets(tx, row, &touched, &teams).await
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
    /// What counts against budgets in the month, USD: the larger of
    /// telemetry and imported spend.
    pub spend_usd: f64,
    /// Spend from run telemetry in the month, USD.
    pub telemetry_usd: f64,
    /// The month's share of the imported KPI cost, USD.
    pub imported_usd: f64,
    /// Tokens, and those without a price.
    pub tokens: u64,
    /// Tokens whose cost Charter cannot explain (no price).
    pub unpriced_tokens: u64,
    /// Runs.
    pub runs: u64,
    /// The imported KPI record's 30-day cost, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpi_cost_usd_30d: Option<f64>,
    /// When the KPI record was written: its 30 days end then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpi_recorded_at: Option<Timestamp>,
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
    /// Spend of the workspace in the month, USD: each agent's counted spend.
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
    /// The workspace's KPI records, each with the time it was written.
    async fn kpi_records(&self, row: &WorkspaceRow) -> Result<Vec<(KpiRecord, Timestamp)>> {
        kpis_of(self.stored_records(row, RecordKind::Kpi).await?)
    }

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
                let spend = month_spend_in(tx, &row, &month).await?;
                budget.exhausted_in = (budget.hard
                    && budget_spend(&budget, &spend, &directory.teams) >= budget.monthly_usd)
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
        let kpis = self.kpi_records(&row).await?;
        let spend = MonthSpend::new(
            &month,
            self.store.spend(row.id, &month).await?,
            kpis.iter().map(|(k, at)| (k, *at)),
        );
        let budgets: Vec<Budget> = self.read_values(&row).await?;
        let values: Vec<ValueRecord> = self.read_values(&row).await?;
        let budgets = budgets
            .into_iter()
            .map(|budget| {
                let spend_usd = budget_spend(&budget, &spend, &directory.teams);
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
            spend_usd: spend.usd(agent),
            telemetry_usd: 0.0,
            imported_usd: spend.imported.get(agent).copied().unwrap_or(0.0),
            tokens: 0,
            unpriced_tokens: 0,
            runs: 0,
            kpi_cost_usd_30d: None,
            kpi_recorded_at: None,
            value: Vec::new(),
        };
        for agent in spend.agents() {
            receipts.insert(agent.to_owned(), receipt(agent));
        }
        for row in &spend.telemetry {
            let entry = receipts.entry(row.agent_id.clone()).or_insert_with(|| receipt(&row.agent_id));
            entry.telemetry_usd += row.usd;
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
        for (kpi, recorded) in &kpis {
            if let Some(receipt) = receipts.get_mut(kpi.agent_id.as_str()) {
                receipt.kpi_cost_usd_30d = kpi.kpis.cost_usd_30d;
                receipt.kpi_recorded_at = Some(*recorded);
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
            workspace_spend_usd: spend.total(),
            unexplained: Unexplained {
                unpriced_tokens: spend.telemetry.iter().map(|s| s.unpriced_tokens).sum(),
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
        let kpis = self.kpi_records(row).await?;
        let spend = MonthSpend::new(
            &month,
            self.store.spend(row.id, &month).await?,
            kpis.iter().map(|(k, at)| (k, *at)),
        );
        let mut anomalies = Vec::new();
        for budget in &budgets {
            let agents: Vec<String> =
                covered(budget, &directory.teams).into_iter().map(str::to_owned).collect();
            judged.extend(agents.iter().cloned());
            let spent = budget_spend(budget, &spend, &directory.teams);
            let threshold = budget.monthly_usd * budget.soft_percent() / 100.0;
            if spent < threshold {
                continue;
            }
            for agent in agents {
                let runs = spend.telemetry.iter().filter(|s| s.agent_id == agent).map(|s| s.runs).sum();
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
