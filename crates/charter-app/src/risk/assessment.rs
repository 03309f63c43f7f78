//! The portfolio assessment as a use case (`charter assess`): the nine
//! data layers read from the store, `charter-risk`'s assessment as of a
//! date with the workspace's scoring configuration, and — the seed's
//! "snapshot save step" — one snapshot per agent for that date, so later
//! trends see it beside the imported ones. Also the executive report
//! (`charter report`, `GET /workspaces/{ws}/report`), built here once for
//! both.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use charter_model::{
    Agent, Date, KpiRecord, OwnershipReview, Record, RecordKind, RiskEvent, RiskSettings, RiskSignal,
    Snapshot, System, ValueRecord, Workflow, WorkspaceName,
};
use charter_risk::{Assessment, Config, Portfolio};
use charter_store::WorkspaceRow;
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::{App, AppError, Caller, Result};

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

/// Every record an assessment reads, as stored.
#[derive(Debug, Clone, Default)]
pub struct PortfolioRecords {
    /// Agents.
    pub agents: Vec<Agent>,
    /// Systems.
    pub systems: Vec<System>,
    /// Workflows.
    pub workflows: Vec<Workflow>,
    /// KPI records.
    pub kpis: Vec<KpiRecord>,
    /// Risk signals.
    pub signals: Vec<RiskSignal>,
    /// Snapshots, imported and saved.
    pub snapshots: Vec<Snapshot>,
    /// Expected-vs-actual value records.
    pub values: Vec<ValueRecord>,
    /// Owner reviews.
    pub reviews: Vec<OwnershipReview>,
    /// Risk history.
    pub risk_events: Vec<RiskEvent>,
}

impl PortfolioRecords {
    /// The portfolio as of `as_of`.
    pub fn portfolio(&self, as_of: Date) -> Portfolio<'_> {
        Portfolio {
            agents: &self.agents,
            systems: &self.systems,
            workflows: &self.workflows,
            kpis: &self.kpis,
            signals: &self.signals,
            snapshots: &self.snapshots,
            values: &self.values,
            reviews: &self.reviews,
            risk_events: &self.risk_events,
            as_of,
        }
    }
}

/// The kinds of records the portfolio assessment reads. Runs, alerts and
/// the other records written as agents work are not among them, so a busy
/// workspace keeps its cached assessment.
const PORTFOLIO_KINDS: &[RecordKind] = &[
    RecordKind::Agent,
    RecordKind::System,
    RecordKind::Workflow,
    RecordKind::Kpi,
    RecordKind::RiskSignal,
    RecordKind::Snapshot,
    RecordKind::ValueRecord,
    RecordKind::OwnershipReview,
    RecordKind::RiskEvent,
    RecordKind::RiskSettings,
];

/// The portfolio assessed for a day, as the console shows it: made once per
/// revision of its records and day, and shared by every reader until one
/// of the records it reads changes (decisions and runs leave it current).
#[derive(Debug)]
pub struct Scored {
    /// The day assessed.
    pub as_of: Date,
    /// The revision of the portfolio's records it was read at (or after).
    pub revision: u64,
    /// The scoring configuration used.
    pub config: Config,
    /// The assessment.
    pub assessment: Assessment,
    /// Index of each agent's assessment in `assessment.agents`.
    by_agent: std::collections::HashMap<String, usize>,
    /// The workspace assessed.
    workspace: WorkspaceRow,
}

impl Scored {
    /// The assessment of agent `id`, if it is in the portfolio.
    pub fn agent(&self, id: &str) -> Option<&charter_risk::AgentAssessment> {
        self.by_agent.get(id).and_then(|&i| self.assessment.agents.get(i))
    }
}

/// The formats of the executive report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `report.html` with the four charts inline, and the charts as SVG files.
    Html,
    /// `report.md`.
    Markdown,
    /// `assessment.json`: the whole assessment, compact (one line).
    Json,
}

impl FromStr for ReportFormat {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "html" => Ok(ReportFormat::Html),
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            other => Err(format!("expected html, md or json, got \"{other}\"")),
        }
    }
}

/// The report: its file and, for HTML, the charts it shows.
#[derive(Debug)]
pub struct PortfolioReport {
    /// The report's file name: `report.html`, `report.md` or `assessment.json`.
    pub name: &'static str,
    body: Body,
    /// The charts (HTML only) as (file name, SVG), also inline in the page.
    pub charts: Vec<(&'static str, String)>,
}

#[derive(Debug)]
enum Body {
    Text(String),
    // The JSON of a large portfolio is never held in memory whole: each
    // agent's assessment was written to a file as it was made.
    Json(super::spilled::Spilled),
}

impl PortfolioReport {
    /// Writes the report (not the charts) to `out`.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match &self.body {
            Body::Text(text) => out.write_all(text.as_bytes()),
            Body::Json(spilled) => {
                spilled.write_to(out)?;
                out.write_all(b"\n")
            }
        }
    }

    /// Writes the report and its charts into the directory `out` (created
    /// if missing) and answers the report's path. The report is written
    /// beside its place and renamed into it, so a failed write leaves no
    /// half a report behind. The error names the file.
    pub fn write_to_dir(
        &self,
        out: &std::path::Path,
    ) -> std::result::Result<std::path::PathBuf, ReportWriteError> {
        use std::io::Write as _;
        let failed = |path: &std::path::Path| {
            let path = path.to_owned();
            move |source| ReportWriteError { path, source }
        };
        std::fs::create_dir_all(out).map_err(failed(out))?;
        for (name, svg) in &self.charts {
            let path = out.join(name);
            std::fs::write(&path, svg).map_err(failed(&path))?;
        }
        let path = out.join(self.name);
        let partial = out.join(format!(".{}.partial", self.name));
        let written = std::fs::File::create(&partial).and_then(|file| {
            let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
            self.write_to(&mut file)?;
            file.flush()?;
            std::fs::rename(&partial, &path)
        });
        if let Err(error) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(failed(&path)(error));
        }
        Ok(path)
    }
}

/// A report that could not be written: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct ReportWriteError {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl App {
    /// Every record the workspace's assessment reads.
    pub async fn portfolio_records(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<PortfolioRecords> {
        let row = self.visible_workspace(caller, workspace).await?;
        self.read_portfolio(&row).await
    }

    /// Every layer, read on a blocking thread (straight from the SQLite
    /// file when there is one): the snapshots, most of the records, on a
    /// thread of their own beside the rest.
    async fn read_portfolio(&self, row: &WorkspaceRow) -> Result<PortfolioRecords> {
        let reader = super::spilled::Reader::open(self, row).await?;
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let snapshots = scope.spawn(|| reader.all());
                let records = PortfolioRecords {
                    agents: reader.all()?,
                    systems: reader.all()?,
                    workflows: reader.all()?,
                    kpis: reader.all()?,
                    signals: reader.all()?,
                    values: reader.all()?,
                    reviews: reader.all()?,
                    risk_events: reader.all()?,
                    snapshots: Vec::new(),
                };
                let snapshots = snapshots.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                Ok(PortfolioRecords { snapshots, ..records })
            })
        })
        .await
        .map_err(|error| AppError::internal(format!("reading the portfolio stopped: {error}")))?
    }

    /// The workspace's scoring configuration: its `risk_settings` record
    /// over the defaults, or the defaults.
    pub async fn risk_config(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<Config> {
        let row = self.visible_workspace(caller, workspace).await?;
        self.workspace_risk_config(&row).await
    }

    /// `config`, else the workspace's own.
    async fn config_or_own(&self, row: &WorkspaceRow, config: Option<&Config>) -> Result<Config> {
        match config {
            Some(config) => Ok(config.clone()),
            None => self.workspace_risk_config(row).await,
        }
    }

    async fn workspace_risk_config(&self, row: &WorkspaceRow) -> Result<Config> {
        let Some(stored) = self.store.record(row.id, RecordKind::RiskSettings, "default").await? else {
            return Ok(Config::default());
        };
        let settings: RiskSettings = serde_json::from_str(&stored.body)
            .map_err(|_| AppError::corrupt("risk_settings \"default\" does not parse"))?;
        Config::from_json(&settings.config).map_err(|problems| AppError::Invalid {
            what: "risk_settings \"default\"".into(),
            problems: problems.into_iter().map(|p| format!("config.{p}")).collect(),
        })
    }

    /// The workspace's records, the configuration used (`config`, else the
    /// workspace's own) and the assessment as of `as_of`.
    async fn assessed(
        &self,
        row: &WorkspaceRow,
        as_of: Date,
        config: Option<&Config>,
    ) -> Result<(PortfolioRecords, Config, Assessment)> {
        let config = self.config_or_own(row, config).await?;
        let records = self.read_portfolio(row).await?;
        let assessment = charter_risk::assess(&records.portfolio(as_of), &config);
        Ok((records, config, assessment))
    }

    /// The workspace's portfolio assessed as of `as_of` with its own
    /// configuration, saving nothing: the cached assessment while no record
    /// it reads has changed since it was made, else a fresh one (which
    /// replaces it).
    pub async fn scored_portfolio(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        as_of: Date,
    ) -> Result<Arc<Scored>> {
        let row = self.visible_workspace(caller, workspace).await?;
        self.scored(&row, as_of).await
    }

    async fn scored(&self, row: &WorkspaceRow, as_of: Date) -> Result<Arc<Scored>> {
        let cached = |revision: u64| {
            let cache = self.cache.assessments.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.get(&row.id).filter(|s| s.as_of == as_of && s.revision == revision).cloned()
        };
        let revision = crate::core::audit::revision(&self.store, row, PORTFOLIO_KINDS).await?;
        if let Some(scored) = cached(revision) {
            return Ok(scored);
        }
        let _assessing = self.cache.assessing.lock().await;
        // Read again: the revision may have moved, or another reader may
        // have made this assessment while this one waited. The revision is
        // read before the records, so a cached assessment is never older
        // than the revision it is filed under.
        let revision = crate::core::audit::revision(&self.store, row, PORTFOLIO_KINDS).await?;
        if let Some(scored) = cached(revision) {
            return Ok(scored);
        }
        let config = self.workspace_risk_config(row).await?;
        let records = self.read_portfolio(row).await?;
        // Seconds of CPU on a large portfolio: on the background thread,
        // so requests keep their workers.
        let workspace = row.clone();
        let scored = crate::core::background::run(move || {
            let assessment = charter_risk::assess(&records.portfolio(as_of), &config);
            let by_agent =
                assessment.agents.iter().enumerate().map(|(i, a)| (a.agent_id.clone(), i)).collect();
            Scored { as_of, revision, config, assessment, by_agent, workspace }
        })
        .await?;
        let scored = Arc::new(scored);
        self.cache
            .assessments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(row.id, Arc::clone(&scored));
        Ok(scored)
    }

    /// Makes again, as of `today`, every kept assessment whose records have
    /// changed since (or whose day has passed), so the next page finds it
    /// made: the server runs this every few seconds. Only workspaces someone
    /// has looked at are kept. Answers how many were made.
    pub async fn refresh_scored_portfolios(&self, today: Date) -> Result<usize> {
        let kept: Vec<Arc<Scored>> = self
            .cache
            .assessments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut made = 0;
        for scored in kept {
            let revision =
                crate::core::audit::revision(&self.store, &scored.workspace, PORTFOLIO_KINDS).await?;
            if scored.revision != revision || scored.as_of != today {
                self.scored(&scored.workspace, today).await?;
                made += 1;
            }
        }
        Ok(made)
    }

    /// Agent `agent`'s snapshots, in date order.
    pub async fn agent_snapshots(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        agent: &str,
    ) -> Result<Vec<Snapshot>> {
        let row = self.visible_workspace(caller, workspace).await?;
        // Snapshot ids are `agent@date`: the agent's snapshots sit together
        // in id order, right after `agent@`.
        let prefix = format!("{agent}@");
        let mut after = prefix.clone();
        let mut snapshots = Vec::new();
        loop {
            let page = self.store.records(row.id, RecordKind::Snapshot, Some(&after), 500).await?;
            let full = page.len() == 500;
            for stored in page {
                if !stored.id.starts_with(&prefix) {
                    return Ok(snapshots);
                }
                let snapshot: Snapshot = serde_json::from_str(&stored.body)
                    .map_err(|_| AppError::corrupt(format!("snapshot \"{}\" does not parse", stored.id)))?;
                after = stored.id;
                snapshots.push(snapshot);
            }
            if !full {
                return Ok(snapshots);
            }
        }
    }

    /// Assesses the workspace's portfolio as of `as_of` with `config` (the
    /// workspace's own when `None`); with `save`, also writes one snapshot
    /// per agent for that date (in one transaction; snapshots already
    /// holding the same figures are left alone).
    pub async fn assess(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        as_of: Date,
        save: bool,
        config: Option<&Config>,
    ) -> Result<Assessed> {
        let row = self.visible_workspace(caller, workspace).await?;
        if save {
            caller.require_writer(RecordKind::Snapshot)?;
        }
        let (records, _, assessment) = self.assessed(&row, as_of, config).await?;
        if !save {
            return Ok(Assessed { assessment, saved: Vec::new(), skipped: Vec::new() });
        }
        let (fresh, skipped) = snapshots_of(&assessment, &records.kpis);
        let at = self.clock.now();
        let (actor, target) = (caller.actor().to_owned(), row.clone());
        let saved = self
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
                    crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                    Ok(saved)
                })
            })
            .await?;
        Ok(Assessed { assessment, saved, skipped })
    }

    /// The executive report as of `as_of` in `format`, with `config` (the
    /// workspace's own when `None`). Saves nothing. The same records and
    /// date give the same bytes.
    pub async fn report(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        as_of: Date,
        config: Option<&Config>,
        format: ReportFormat,
    ) -> Result<PortfolioReport> {
        let row = self.visible_workspace(caller, workspace).await?;
        let config = self.config_or_own(&row, config).await?;
        if format == ReportFormat::Json {
            // Compact: the full assessment of a large portfolio is big
            // enough that indentation would double it.
            return Ok(PortfolioReport {
                name: "assessment.json",
                body: Body::Json(self.assess_spilled(&row, as_of, &config).await?),
                charts: Vec::new(),
            });
        }
        let records = self.read_portfolio(&row).await?;
        let assessment = charter_risk::assess(&records.portfolio(as_of), &config);
        let name = workspace.as_str();
        if format == ReportFormat::Markdown {
            let text = charter_risk::report::markdown(name, &assessment);
            return Ok(PortfolioReport { name: "report.md", body: Body::Text(text), charts: Vec::new() });
        }
        let agents: Vec<&str> = assessment
            .agents
            .iter()
            .take(charter_risk::report::RISKIEST)
            .map(|a| a.agent_id.as_str())
            .collect();
        let charts = charter_risk::charts::charts(&records.snapshots, &agents, as_of, &config)
            .map_err(|problem| AppError::Invalid { what: "report charts".into(), problems: vec![problem] })?;
        let page = charter_risk::report::html(name, &assessment, &charts);
        Ok(PortfolioReport { name: "report.html", body: Body::Text(page), charts })
    }
}

/// The snapshot of each assessed agent for the day assessed, and the agents
/// that get none (no KPI record with cost and ROI: a snapshot is never made
/// up).
fn snapshots_of(assessment: &Assessment, kpis: &[KpiRecord]) -> (Vec<Snapshot>, Vec<String>) {
    let kpis: BTreeMap<&str, &KpiRecord> = kpis.iter().map(|k| (k.agent_id.as_str(), k)).collect();
    let (mut fresh, mut skipped) = (Vec::new(), Vec::new());
    for agent in &assessment.agents {
        let kpi = kpis.get(agent.agent_id.as_str()).map(|k| &k.kpis);
        let (Some(cost), Some(roi)) =
            (kpi.and_then(|k| k.cost_usd_30d), kpi.and_then(|k| k.roi_estimate_usd))
        else {
            skipped.push(format!("{}: no KPI record with cost_usd_30d and roi_estimate_usd", agent.agent_id));
            continue;
        };
        let Ok(agent_id) = agent.agent_id.parse() else { continue };
        fresh.push(Snapshot {
            agent_id,
            cost_usd_30d: cost,
            daily_invocations: agent.daily_invocations,
            // No workflow fails: 0%; no manual minutes reported: none spent.
            failure_rate_7d: agent.failure_rate_7d.unwrap_or(0.0),
            integration_score: agent.integration.value,
            manual_minutes_per_run: agent.manual_minutes_per_run.unwrap_or(0.0),
            risk_score: agent.risk.value,
            roi_estimate_usd: roi,
            snapshot_date: assessment.as_of,
            value_leakage_score: agent.value_leakage.value,
        });
    }
    (fresh, skipped)
}
