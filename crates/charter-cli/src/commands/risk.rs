//! `charter assess`, `charter report` and `charter gen portfolio`: the
//! agent portfolio's risk and value.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json};
use crate::settings::{Global, caller};

/// The options of `charter assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The day assessed (default: today, UTC); records after it are not read
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Do not save the snapshots
    #[arg(long)]
    pub no_save: bool,
    /// Scoring configuration in TOML (see examples/risk.toml; default: the built-in values)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The options of `charter report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// html (report.html and the four charts as SVG files), md (report.md) or json (assessment.json)
    #[arg(long, default_value = "md")]
    pub format: String,
    /// The day assessed (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Directory to write into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Scoring configuration in TOML (see examples/risk.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The subcommands of `charter gen`.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// A synthetic agent portfolio in the nine-file format
    Portfolio {
        /// Number of agents
        #[arg(long, default_value_t = 100)]
        agents: usize,
        /// Seed: the same seed gives the same files
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Date of the last weekly snapshot
        #[arg(long, default_value = "2024-12-20", value_name = "YYYY-MM-DD")]
        end_date: charter_model::Date,
        /// Directory to write
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub(crate) async fn assess(global: &Global, args: AssessArgs) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let as_of = args.as_of.unwrap_or_else(|| app.now().date());
    let config = risk_config(args.config.as_deref())?;
    let assessed = app.assess(&caller(global), &workspace, as_of, !args.no_save, config.as_ref()).await?;
    let a = &assessed.assessment;
    match global.output {
        Output::Json => print_json(&assessed)?,
        Output::Table => {
            println!("Portfolio of {workspace} as of {as_of}, riskiest first:");
            let mut table = Table::new([
                "AGENT",
                "STATUS",
                "RISK",
                "INTEGRATION",
                "LEAKAGE",
                "RISK TREND",
                "HITL USD/DAY",
            ]);
            for agent in &a.agents {
                let trend = &agent.trends[0];
                let label = match trend.label {
                    charter_risk::Label::Improving => "improving",
                    charter_risk::Label::Stable => "stable",
                    charter_risk::Label::Degrading => "degrading",
                    charter_risk::Label::InsufficientHistory => "insufficient history",
                };
                table.row([
                    agent.agent_id.clone(),
                    agent.status.to_string(),
                    agent.risk.value.to_string(),
                    agent.integration.value.to_string(),
                    agent.value_leakage.value.to_string(),
                    match (trend.first, trend.last) {
                        (Some(first), Some(last)) if trend.snapshots > 1 => {
                            format!("{label} ({first} -> {last})")
                        }
                        _ => label.to_owned(),
                    },
                    agent.hitl_cost_per_day.map_or_else(|| "-".into(), |c| format!("{c:.2}")),
                ]);
            }
            print!("{}", table.render());
            let cite = |evidence: &[charter_risk::Evidence]| {
                evidence
                    .iter()
                    .map(|e| format!("{}/{}.{}={}", e.kind, e.id, e.field, e.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for e in &a.escalations {
                println!(
                    "ESCALATE {} [{}]: {}\n    from {}",
                    e.subject,
                    e.rule,
                    e.message,
                    cite(&e.evidence)
                );
            }
            for r in &a.recommendations {
                println!(
                    "RECOMMEND {} {}: {}\n    from {}",
                    r.action,
                    r.subject,
                    r.reason,
                    cite(&r.evidence)
                );
            }
            for problem in &a.problems {
                println!("input: {problem}");
            }
            if !args.no_save {
                println!("Saved {} snapshot(s) for {as_of}.", assessed.saved.len());
                for skipped in &assessed.skipped {
                    println!("no snapshot: {skipped}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the report's files into `out` and returns the report's path. The
/// charts go first, the report last: a report on disk means every file it
/// names is there too.
/// The scoring configuration from `path`; none means the workspace's own.
fn risk_config(path: Option<&Path>) -> Result<Option<charter_risk::Config>> {
    let Some(path) = path else { return Ok(None) };
    let text = crate::input::read_to_string(path)?;
    charter_risk::Config::from_toml(&text)
        .map(Some)
        .map_err(|problems| anyhow!("{}: {}", path.display(), problems.join("; ")))
}

pub(crate) async fn report(global: &Global, args: ReportArgs) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let as_of = args.as_of.unwrap_or_else(|| app.now().date());
    let config = risk_config(args.config.as_deref())?;
    let format: charter_app::ReportFormat =
        args.format.parse().map_err(|error| anyhow!("--format: {error}"))?;
    let report = app.report(&caller(global), &workspace, as_of, config.as_ref(), format).await?;
    println!("{}", report.write_to_dir(&args.out)?.display());
    Ok(ExitCode::SUCCESS)
}

/// `charter gen portfolio`.
pub(crate) fn generate(global: &Global, command: GenCommand) -> Result<ExitCode> {
    let GenCommand::Portfolio { agents, seed, end_date, out } = command;
    let spec = charter_bench::portfolio::PortfolioSpec { agents, seed, end_date };
    let counts = charter_bench::portfolio::portfolio(spec, &out)
        .with_context(|| format!("cannot write the portfolio to {}", out.display()))?;
    match global.output {
        Output::Json => print_json(&serde_json::json!({
            "out": out.display().to_string(), "agents": counts.agents, "systems": counts.systems,
            "workflows": counts.workflows, "snapshots": counts.snapshots, "risk_signals": counts.risk_signals,
            "risk_events": counts.risk_events, "reviews": counts.reviews, "value_records": counts.value_records,
        }))?,
        Output::Table => println!(
            "Wrote {} agents, {} systems, {} workflows, {} snapshots, {} risk signals, {} risk events, {} reviews and {} value records to {}",
            counts.agents,
            counts.systems,
            counts.workflows,
            counts.snapshots,
            counts.risk_signals,
            counts.risk_events,
            counts.reviews,
            counts.value_records,
            out.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
