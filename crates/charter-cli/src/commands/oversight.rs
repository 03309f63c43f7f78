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
    /// Validate a run's outputs: each file its spans declared (charter.validate.files) is
    /// filtered as its agent's egress content; a finding of a blocked type (charter.validate.block,
    /// default secret), content the DLP rules block, or a file missing fails it and opens an
    /// incident. Exits 2 when it fails
    Validate {
        /// Run id
        id: String,
        /// The directory the declared names are relative to (absolute names are read as they are)
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Ingest spans from a file: an OTLP trace export (protobuf, or JSON with resourceSpans)
    /// or a JSON array of spans in Charter's own shape (see GET /openapi.json, schema Span)
    Ingest {
        /// The file
        file: PathBuf,
    },
}

/// The subcommands of `charter alerts`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first (open and acknowledged ones; --all for every one)
    List {
        /// Resolved ones too
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge an alert (its receivers are paged with acknowledge)
    Ack {
        /// Alert id (ALR-YYYY-MM-DD-NNN)
        id: String,
    },
    /// Resolve an alert (its receivers are paged with resolve)
    Resolve {
        /// Alert id
        id: String,
    },
    /// Judge every agent's health now: raise and resolve alerts, then send the pages due
    Evaluate,
    /// The outbox of pages, newest first, with their attempts
    Pages {
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// The subcommands of `charter incident`.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (INC-YYYY-MM-DD-NNN)
    Open {
        /// What it is about
        #[arg(long)]
        title: String,
        /// SEV1, SEV2, SEV3 or SEV4
        #[arg(long)]
        severity: charter_model::IncidentSeverity,
        /// The agent concerned
        #[arg(long)]
        agent: Option<String>,
        /// The incident commander (default: the first person with the incident_commander role)
        #[arg(long)]
        commander: Option<String>,
    },
    /// Acknowledge an Open incident
    Ack {
        /// Incident id
        id: String,
        /// A note for the timeline
        #[arg(long)]
        note: Option<String>,
    },
    /// Mark an Acknowledged incident Mitigated
    Mitigate {
        /// Incident id
        id: String,
        /// A note for the timeline
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve a Mitigated incident
    Resolve {
        /// Incident id
        id: String,
        /// A note for the timeline
        #[arg(long)]
        note: Option<String>,
    },
    /// Write a Resolved incident's postmortem from a JSON file (summary, impact, root_cause,
    /// timeline, actions with description, owner and due); every missing part is named
    Postmortem {
        /// Incident id
        id: String,
        /// The postmortem as JSON
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Pause the incident's agent (the kill switch)
    Pause {
        /// Incident id
        id: String,
    },
    /// Incidents, newest first (those not closed by a postmortem; --all for every one)
    List {
        /// Closed ones too
        #[arg(long)]
        all: bool,
    },
    /// One incident with its timeline and escalations
    Show {
        /// Incident id
        id: String,
    },
}

/// The subcommands of `charter budget`.
#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Create or replace a monthly budget of an agent or a team (raising an exhausted one lets
    /// its agents act again)
    Set {
        /// Budget id
        id: String,
        /// The agent it holds for
        #[arg(long, conflicts_with = "team", required_unless_present = "team")]
        agent: Option<String>,
        /// The team it holds for (its agents' owner_team)
        #[arg(long)]
        team: Option<String>,
        /// USD per calendar month (UTC)
        #[arg(long)]
        monthly_usd: f64,
        /// Percent of the budget at which an alert is raised (default 80)
        #[arg(long)]
        soft_percent: Option<f64>,
        /// Stop the agents when the budget is spent (guardrail:budget-exhausted)
        #[arg(long)]
        hard: bool,
    },
    /// Budgets, spend, cost-to-outcome receipts and unexplained spend for a month
    Show {
        /// YYYY-MM (default: this month)
        #[arg(long)]
        month: Option<String>,
    },
}

/// The options of `charter kpis`.
#[derive(Debug, Args)]
pub struct KpisArgs {
    /// The month, YYYY-MM (default: this month)
    #[arg(long)]
    pub period: Option<String>,
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
                    if !report.validation.is_empty() {
                        section("Validation", &report.validation);
                    }
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
        RunsCommand::Validate { id, dir } => {
            let declared = app.run_outputs_declared(&caller, &workspace, &id).await?;
            let mut outputs = Vec::with_capacity(declared.len());
            for name in declared {
                let path = dir.join(&name);
                match std::fs::read(&path) {
                    Ok(content) => outputs.push(charter_app::RunOutput { name, content }),
                    // Not provided: the validation says so and fails.
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
                }
            }
            let run = app.validate_run(&caller, &workspace, &id, outputs).await?;
            let result = run.validation.as_ref().and_then(|validation| validation.result.as_ref());
            match global.output {
                Output::Json => print_json(&run)?,
                Output::Table => {
                    if let Some(result) = result {
                        println!(
                            "{id}: validation {}{}",
                            if result.passed { "passed" } else { "FAILED" },
                            result.incident.as_ref().map_or_else(String::new, |i| format!("; opened {i}"))
                        );
                        for file in &result.files {
                            println!("  {} {}", if file.passed { "ok  " } else { "FAIL" }, file.summary);
                        }
                    }
                }
            }
            app.deliver_pages().await?;
            if result.is_some_and(|result| !result.passed) {
                return Ok(ExitCode::from(2));
            }
        }
        RunsCommand::Ingest { file } => {
            let bytes = crate::input::read(&file)?;
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
            // What the new runs show, and the pages it calls for.
            for (_, evaluated) in app.evaluate_pending().await? {
                for alert in &evaluated.opened {
                    println!(
                        "ALERT {} [{}] {}: {}",
                        alert.alert_id, alert.class_id, alert.agent_id, alert.summary
                    );
                }
            }
            app.deliver_pages().await?;
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
            let spans: Vec<charter_observe::Span> = crate::input::parse_json(file, bytes)?;
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

pub(crate) async fn alerts(global: &Global, command: AlertsCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    let show = |alerts: &[charter_model::Alert]| -> Result<()> {
        match global.output {
            Output::Json => print_json(&alerts)?,
            Output::Table => {
                let mut table = Table::new([
                    "ALERT", "CLASS", "AGENT", "SEVERITY", "STATUS", "OWNER", "RUNBOOK", "SUMMARY",
                ]);
                for alert in alerts {
                    table.row([
                        alert.alert_id.to_string(),
                        alert.class_id.to_string(),
                        alert.agent_id.to_string(),
                        alert.severity.to_string(),
                        alert.status.to_string(),
                        alert.owner.as_ref().map_or_else(|| "-".into(), ToString::to_string),
                        alert.runbook.clone().unwrap_or_else(|| "-".into()),
                        alert.summary.clone(),
                    ]);
                }
                if table.is_empty() {
                    println!("No alerts.");
                } else {
                    print!("{}", table.render());
                }
            }
        }
        Ok(())
    };
    match command {
        AlertsCommand::List { all } => show(&app.alerts(&caller, &workspace, !all).await?)?,
        AlertsCommand::Ack { id } => {
            let alert = app.move_alert(&caller, &workspace, &id, false).await?;
            app.deliver_pages().await?;
            show(&[alert])?;
        }
        AlertsCommand::Resolve { id } => {
            let alert = app.move_alert(&caller, &workspace, &id, true).await?;
            app.deliver_pages().await?;
            show(&[alert])?;
        }
        AlertsCommand::Evaluate => {
            let evaluated = app.evaluate_alerts(&caller, &workspace).await?;
            let delivered = app.deliver_pages().await?;
            match global.output {
                Output::Json => {
                    print_json(&serde_json::json!({ "evaluated": evaluated, "pages": delivered }))?
                }
                Output::Table => {
                    show(&evaluated.opened)?;
                    println!(
                        "{} opened, {} resolved; pages: {} delivered, {} failed (retried later)",
                        evaluated.opened.len(),
                        evaluated.resolved.len(),
                        delivered.delivered,
                        delivered.failed
                    );
                }
            }
        }
        AlertsCommand::Pages { limit } => {
            let pages = app.pages(&caller, &workspace, limit).await?;
            let mut table = Table::new([
                "PAGE",
                "RECEIVER",
                "ACTION",
                "DEDUP KEY",
                "ATTEMPTS",
                "DELIVERED",
                "LAST ERROR",
            ]);
            for page in &pages {
                table.row([
                    page.id.to_string(),
                    page.page.receiver.clone(),
                    page.page.action.clone(),
                    page.page.dedup_key.clone(),
                    page.attempts.to_string(),
                    page.delivered_at.map_or_else(|| "-".into(), |t| t.to_string()),
                    page.last_error.clone().unwrap_or_default(),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn incident(global: &Global, command: IncidentCommand) -> Result<ExitCode> {
    use charter_model::IncidentStatus;
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    let show = |incidents: &[charter_model::Incident], detail: bool| -> Result<()> {
        match global.output {
            Output::Json => print_json(&incidents)?,
            Output::Table => {
                let mut table =
                    Table::new(["INCIDENT", "SEV", "STATUS", "AGENT", "COMMANDER", "OPENED", "TITLE"]);
                for incident in incidents {
                    table.row([
                        incident.incident_id.to_string(),
                        incident.severity.to_string(),
                        incident.status.to_string(),
                        incident.agent_id.as_ref().map_or_else(|| "-".into(), ToString::to_string),
                        incident.commander.as_ref().map_or_else(|| "-".into(), ToString::to_string),
                        incident.opened_at.to_string(),
                        incident.title.clone(),
                    ]);
                }
                if table.is_empty() {
                    println!("No incidents.");
                } else {
                    print!("{}", table.render());
                }
                if detail {
                    for incident in incidents {
                        for event in &incident.timeline {
                            println!("  {} {}: {}", event.at, event.actor, event.event);
                        }
                    }
                }
            }
        }
        Ok(())
    };
    let moved = |id: String, to: IncidentStatus, note: Option<String>| {
        let (app, caller, workspace) = (app.clone(), caller.clone(), workspace.clone());
        async move { app.move_incident(&caller, &workspace, &id, to, note).await }
    };
    let incident = match command {
        IncidentCommand::Open { title, severity, agent, commander } => {
            let new = charter_app::NewIncident {
                title,
                severity,
                agent_id: agent,
                commander,
                source: "manual".into(),
            };
            app.open_incident(&caller, &workspace, new).await?
        }
        IncidentCommand::Ack { id, note } => moved(id, IncidentStatus::Acknowledged, note).await?,
        IncidentCommand::Mitigate { id, note } => moved(id, IncidentStatus::Mitigated, note).await?,
        IncidentCommand::Resolve { id, note } => moved(id, IncidentStatus::Resolved, note).await?,
        IncidentCommand::Postmortem { id, file } => {
            let postmortem: charter_model::Postmortem = crate::input::read_json(&file)?;
            app.write_postmortem(&caller, &workspace, &id, postmortem).await?
        }
        IncidentCommand::Pause { id } => app.pause_from_incident(&caller, &workspace, &id).await?,
        IncidentCommand::List { all } => {
            show(&app.incidents(&caller, &workspace, !all).await?, false)?;
            return Ok(ExitCode::SUCCESS);
        }
        IncidentCommand::Show { id } => {
            let found = app
                .incidents(&caller, &workspace, false)
                .await?
                .into_iter()
                .find(|i| i.incident_id.as_str() == id);
            let Some(found) = found else { bail!("no incident \"{id}\" in {workspace}") };
            show(&[found], true)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    show(&[incident], true)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn budget(global: &Global, command: BudgetCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    match command {
        BudgetCommand::Set { id, agent, team, monthly_usd, soft_percent, hard } => {
            let budget = charter_model::Budget {
                budget_id: id.parse().map_err(|error| anyhow::anyhow!("budget id: {error}"))?,
                agent_id: agent
                    .map(|a| a.parse())
                    .transpose()
                    .map_err(|error| anyhow::anyhow!("--agent: {error}"))?,
                team,
                monthly_usd,
                soft_percent,
                hard,
                exhausted_in: None,
            };
            let view = app.set_budget(&caller, &workspace, budget).await?;
            print_record(global, &view)?;
        }
        BudgetCommand::Show { month } => {
            let report = app.budget_report(&caller, &workspace, month).await?;
            match global.output {
                Output::Json => print_json(&report)?,
                Output::Table => {
                    println!(
                        "Spend of {workspace} in {}: {:.4} USD",
                        report.month, report.workspace_spend_usd
                    );
                    let mut table = Table::new(["BUDGET", "FOR", "MONTHLY USD", "SPENT USD", "%", "STATE"]);
                    for line in &report.budgets {
                        let subject = line.budget.agent_id.as_ref().map_or_else(
                            || format!("team {}", line.budget.team.clone().unwrap_or_default()),
                            |agent| format!("agent {agent}"),
                        );
                        let state = if line.exhausted {
                            "EXHAUSTED: agents stopped"
                        } else if line.soft_reached {
                            "soft threshold reached"
                        } else {
                            "ok"
                        };
                        table.row([
                            line.budget.budget_id.to_string(),
                            subject,
                            format!("{:.2}", line.budget.monthly_usd),
                            format!("{:.4}", line.spend_usd),
                            format!("{:.1}", line.percent),
                            state.to_owned(),
                        ]);
                    }
                    print!("{}", table.render());
                    let mut receipts = Table::new([
                        "AGENT",
                        "TEAM",
                        "SPENT USD",
                        "TELEMETRY",
                        "IMPORTED",
                        "RUNS",
                        "TOKENS",
                        "UNPRICED",
                        "KPI COST 30D",
                        "ROI EXPECTED/ACTUAL",
                    ]);
                    for receipt in &report.receipts {
                        let roi = receipt
                            .value
                            .iter()
                            .map(|v| {
                                format!(
                                    "{}/{}",
                                    v.expected_roi_usd.map_or("-".into(), |x| x.to_string()),
                                    v.actual_roi_usd.map_or("-".into(), |x| x.to_string())
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" ");
                        receipts.row([
                            receipt.agent_id.clone(),
                            receipt.team.clone().unwrap_or_default(),
                            format!("{:.4}", receipt.spend_usd),
                            format!("{:.4}", receipt.telemetry_usd),
                            format!("{:.4}", receipt.imported_usd),
                            receipt.runs.to_string(),
                            receipt.tokens.to_string(),
                            receipt.unpriced_tokens.to_string(),
                            receipt.kpi_cost_usd_30d.map_or("-".into(), |c| c.to_string()),
                            roi,
                        ]);
                    }
                    print!("{}", receipts.render());
                    if report.unexplained.any() {
                        println!(
                            "UNEXPLAINED SPEND: {} tokens without a price, {} spans of no registered agent, {} spans waiting over an hour for their trace to name an agent",
                            report.unexplained.unpriced_tokens,
                            report.unexplained.unattributed_spans,
                            report.unexplained.waiting_spans
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn kpis(global: &Global, args: KpisArgs) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let report = app.kpis(&caller(global), &workspace, args.period).await?;
    match global.output {
        Output::Json => print_json(&report)?,
        Output::Table => {
            let value =
                |v: Option<f64>, unit: &str| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}{unit}"));
            let ops = &report.operations;
            println!("KPIs of {workspace} for {}", report.period);
            println!(
                "Change success rate: {} ({} of {} operation runs; mean time to recover {})",
                value(ops.change_success_rate, "%"),
                ops.succeeded,
                ops.runs,
                value(ops.mean_time_to_recover_secs, " s")
            );
            println!(
                "Incidents: {} opened, {} resolved; MTTR {}; mean time to acknowledge {}",
                report.incidents_opened,
                report.incidents_resolved,
                value(report.mttr_minutes, " min"),
                value(report.incident_mtta_minutes, " min")
            );
            let c = &report.coverage;
            println!(
                "Guardrail coverage: {} agents; {} with an active policy, {} with a budget, {} with alert classes; {} decisions for {} tool calls ({})",
                c.agents,
                c.with_active_policy,
                c.with_budget,
                c.with_alert_class,
                c.agent_decisions,
                c.tool_calls,
                value(c.decision_coverage_percent, "%")
            );
            let mut table = Table::new(["ALERT CLASS", "ALERTS", "PAGES", "MTTA"]);
            for (class, kpis) in &report.alerts {
                table.row([
                    class.clone(),
                    kpis.alerts.to_string(),
                    kpis.pages.to_string(),
                    value(kpis.mtta_minutes, " min"),
                ]);
            }
            if !table.is_empty() {
                print!("{}", table.render());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
