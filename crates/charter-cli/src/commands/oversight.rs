//! `charter runs` and `charter health`: what agents did at run time, from
//! their telemetry.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json, print_record};
use crate::settings::{Global, caller};

/// The subcommands of `charter runs`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first
    List {
        /// Only this agent's
        #[arg(long)]
        agent: Option<String>,
        /// Only failed runs
        #[arg(long)]
        failed: bool,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One run's record
    Show {
        /// Run id (RUN-<trace id>-<agent>)
        id: String,
    },
    /// A run's report: scope, duration, data touched, deviations, mitigations, approvals
    Report {
        /// Run id
        id: String,
    },
    /// Ingest spans from a file: an OTLP trace export (protobuf, or JSON with resourceSpans)
    /// or a JSON array of spans in Charter's own shape (see GET /openapi.json, schema Span)
    Ingest {
        /// The file
        file: PathBuf,
    },
}

/// The options of `charter health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Only this agent
    #[arg(long)]
    pub agent: Option<String>,
    /// Window in minutes (default: the workspace's setting, else 5)
    #[arg(long, value_name = "MINUTES")]
    pub window: Option<u32>,
    /// Windows read, ending with the last complete one (default 288: a day of 5-minute windows)
    #[arg(long)]
    pub windows: Option<u32>,
}

pub(crate) async fn run(global: &Global, command: RunsCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    match command {
        RunsCommand::List { agent, failed, limit } => {
            let filter = charter_app::RunFilter { agent, failed, limit: Some(limit), ..Default::default() };
            let runs = app.runs(&caller, &workspace, &filter).await?;
            match global.output {
                Output::Json => print_json(&runs)?,
                Output::Table => {
                    let mut table = Table::new([
                        "RUN", "AGENT", "STARTED", "MS", "STATUS", "TOOLS", "TOKENS", "USD", "HITS",
                    ]);
                    for run in &runs {
                        table.row([
                            run.run_id.to_string(),
                            run.agent_id.to_string(),
                            run.started_at.to_string(),
                            format!("{:.0}", run.duration_ms),
                            format!("{:?}", run.status).to_lowercase(),
                            run.tools.join(","),
                            (run.input_tokens + run.output_tokens).to_string(),
                            format!("{:.4}", run.cost_usd),
                            run.guardrail_hits.len().to_string(),
                        ]);
                    }
                    if table.is_empty() {
                        println!("No runs in {workspace}.");
                    } else {
                        print!("{}", table.render());
                    }
                }
            }
        }
        RunsCommand::Show { id } => {
            let view = app.get_record(&caller, &workspace, charter_model::RecordKind::Run, &id).await?;
            print_record(global, &view)?;
        }
        RunsCommand::Report { id } => {
            let report = app.agent_run_report(&caller, &workspace, &id).await?;
            match global.output {
                Output::Json => print_json(&report)?,
                Output::Table => {
                    println!("RUN REPORT {}", report.run_id);
                    println!("Agent: {}", report.agent_id);
                    if let Some(workflow) = &report.workflow_id {
                        println!("Workflow: {workflow}");
                    }
                    println!(
                        "Duration: {:.0} ms ({} to {}), {}",
                        report.duration_ms,
                        report.started_at,
                        report.ended_at,
                        format!("{:?}", report.status).to_lowercase()
                    );
                    let section = |title: &str, lines: &[String]| {
                        println!("{title}:");
                        if lines.is_empty() {
                            println!("  none");
                        }
                        for line in lines {
                            println!("  - {line}");
                        }
                    };
                    section("Scope", &report.scope);
                    section("Data touched", &report.data_touched);
                    section("Deviations", &report.deviations);
                    section("Mitigations", &report.mitigations);
                    section("Approvals", &report.approvals);
                    println!(
                        "Tokens: {} in, {} out; cost {:.4} USD{}",
                        report.tokens.0,
                        report.tokens.1,
                        report.cost_usd,
                        if report.unpriced_tokens > 0 {
                            format!(" ({} tokens without a price)", report.unpriced_tokens)
                        } else {
                            String::new()
                        }
                    );
                    println!(
                        "Provenance: {} spans, sha256 {}; models {}",
                        report.provenance.spans,
                        report.provenance.spans_sha256,
                        report.provenance.models.join(", ")
                    );
                }
            }
        }
        RunsCommand::Ingest { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?;
            let ingested = ingest(&app, &caller, &workspace, &file, &bytes).await?;
            match global.output {
                Output::Json => print_json(&ingested)?,
                Output::Table => {
                    println!(
                        "{}: {} spans accepted ({} new, {} waiting for their agent), {} rejected, {} flagged; runs closed: {}",
                        file.display(),
                        ingested.accepted,
                        ingested.stored,
                        ingested.waiting,
                        ingested.rejected.len(),
                        ingested.flagged.len(),
                        if ingested.runs.is_empty() { "none".to_owned() } else { ingested.runs.join(", ") }
                    );
                    for rejection in ingested.rejected.iter().chain(&ingested.flagged) {
                        println!("  {}/{}: {}", rejection.trace_id, rejection.span_id, rejection.reason);
                    }
                }
            }
            if !ingested.rejected.is_empty() {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ingests `bytes` read from `file`, in whichever of the three shapes it is.
async fn ingest(
    app: &charter_app::App,
    caller: &charter_app::Caller,
    workspace: &charter_model::WorkspaceName,
    file: &std::path::Path,
    bytes: &[u8],
) -> Result<charter_app::Ingested> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let ingested = match first {
        Some(b'[') => {
            let spans: Vec<charter_observe::Span> = serde_json::from_slice(bytes).map_err(|error| {
                anyhow::anyhow!(
                    "{}: line {}, column {}: {error}",
                    file.display(),
                    error.line(),
                    error.column()
                )
            })?;
            app.ingest_spans(caller, workspace, spans).await
        }
        Some(first) => {
            use charter_observe::otlp::{Encoding, decode};
            let encoding = if first == b'{' { Encoding::Json } else { Encoding::Protobuf };
            let request =
                decode(bytes, encoding).map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
            app.ingest_otlp(caller, workspace, &request).await
        }
        None => bail!("{}: the file is empty", file.display()),
    };
    ingested.with_context(|| format!("{}", file.display()))
}

pub(crate) async fn health(global: &Global, args: HealthArgs) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let query = charter_app::HealthQuery {
        agent: args.agent,
        window_minutes: args.window,
        windows: args.windows,
        as_of: None,
    };
    let report = app.health(&caller(global), &workspace, query).await?;
    match global.output {
        Output::Json => print_json(&report)?,
        Output::Table => {
            println!(
                "Health of {workspace}: {} windows of {} minutes, {} to {}",
                report.windows, report.window_minutes, report.from, report.to
            );
            let value = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
            let mut table = Table::new([
                "AGENT",
                "RUNS",
                "P50 MS",
                "P95 MS",
                "ERRORS",
                "TOOL FAIL",
                "HITS",
                "USD",
                "ANOMALIES",
            ]);
            for agent in &report.agents {
                let latest = |name: &str| agent.latest.get(name).copied().flatten();
                table.row([
                    agent.agent_id.clone(),
                    agent.runs.to_string(),
                    value(latest("latency_p50_ms")),
                    value(latest("latency_p95_ms")),
                    value(latest("error_rate")),
                    value(latest("tool_failure_rate")),
                    value(latest("guardrail_hits")),
                    value(latest("cost_usd")),
                    agent.anomalies.len().to_string(),
                ]);
            }
            if table.is_empty() {
                println!("No runs or denied decisions in the period.");
            } else {
                print!("{}", table.render());
            }
            for agent in &report.agents {
                for anomaly in &agent.anomalies {
                    println!("ANOMALY {} [{}]: {}", agent.agent_id, anomaly.reason, anomaly.summary);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
