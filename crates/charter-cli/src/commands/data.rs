//! `charter dataset|schema|dq|raida|check`: data-model governance.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use charter_app::{App, NewRaida, RaidaFilter, RaidaPatch};
use charter_data::quality::{Format, KeySets, Options};
use charter_model::{Change, Dataset, DatasetScope, Record, RecordKind, WorkspaceName};
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json, print_record};
use crate::settings::{Global, caller, open, resolve_workspace};

/// The subcommands of `charter dataset`.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Register a dataset from a JSON file, in DRAFT at schema version 1, managed by a specialist agent
    Create {
        /// The dataset (dataset_id, dataset_name, fields, rules, managed_by_agent, …)
        file: PathBuf,
    },
    /// List datasets with their scope, version, agent and latest quality score
    List,
    /// Promote a dataset one scope up; refused, listing every unmet gate, unless all are met
    Promote {
        /// Dataset id
        dataset: String,
        /// STAGE or PUBLISHED
        #[arg(long, value_name = "SCOPE")]
        to: String,
    },
}

/// The subcommands of `charter schema`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Propose a new schema: prints the diff and the impact, logs a Planned CHG-YYYY-MM-DD-###
    /// entry and notifies the owners of affected agents
    Propose {
        /// Dataset id
        dataset: String,
        /// The proposed schema: {"fields": [...], "rules": [...], "renamed": {"old": "new"},
        /// "description": "..."}
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
    },
    /// Apply a Planned change: Executing, then Complete at schema version + 1
    Apply {
        /// Change id (CHG-YYYY-MM-DD-###)
        id: String,
    },
    /// Roll a change back (a Complete one restores the previous schema)
    Rollback {
        /// Change id
        id: String,
    },
    /// List the change log
    List {
        /// Only changes of this dataset
        #[arg(long)]
        dataset: Option<String>,
    },
    /// Show one change with its impact analysis
    Show {
        /// Change id
        id: String,
    },
    /// Deliver pending webhook notifications (retried; each outcome is recorded)
    Notify,
}

/// The subcommands of `charter dq`.
#[derive(Debug, Subcommand)]
pub enum DqCommand {
    /// Validate a CSV or JSON Lines file (streamed) against a dataset's schema, record the run and
    /// raise a RAIDA issue per failing check; exits with status 2 below the quality threshold
    Validate {
        /// Dataset id
        dataset: String,
        /// The data file (.csv, .jsonl or .ndjson)
        file: PathBuf,
        /// Key values of a referenced dataset, from one of its data files (repeatable)
        #[arg(long = "keys", value_name = "DATASET=FILE")]
        keys: Vec<String>,
        /// Failing rows kept per check
        #[arg(long, default_value_t = 5)]
        samples: usize,
    },
    /// List recorded runs, newest first
    Runs {
        /// Only runs of this dataset
        #[arg(long)]
        dataset: Option<String>,
    },
}

/// The subcommands of `charter raida`.
#[derive(Debug, Subcommand)]
pub enum RaidaCommand {
    /// List items (open and in progress unless --all or --status)
    List {
        /// risk, assumption, issue, dependency or action
        #[arg(long = "type")]
        item_type: Option<String>,
        /// open, in_progress or closed
        #[arg(long)]
        status: Option<String>,
        /// Only this owner
        #[arg(long)]
        owner: Option<String>,
        /// Closed items too
        #[arg(long)]
        all: bool,
    },
    /// Add an item; prints its RAIDA-NNNN id
    Add {
        /// risk, assumption, issue, dependency or action
        #[arg(long = "type")]
        item_type: String,
        /// One line
        #[arg(long)]
        title: String,
        /// Details
        #[arg(long)]
        description: Option<String>,
        /// Who must act
        #[arg(long)]
        owner: Option<String>,
        /// low, medium, high or critical
        #[arg(long, default_value = "medium")]
        severity: String,
        /// Due date (YYYY-MM-DD)
        #[arg(long)]
        due: Option<charter_model::Date>,
        /// The record that raised it, as kind/id
        #[arg(long)]
        source: Option<String>,
    },
    /// Change an item
    Update {
        /// Item id
        id: String,
        /// New title
        #[arg(long)]
        title: Option<String>,
        /// New description
        #[arg(long)]
        description: Option<String>,
        /// New owner
        #[arg(long)]
        owner: Option<String>,
        /// New severity
        #[arg(long)]
        severity: Option<String>,
        /// New status: open, in_progress or closed
        #[arg(long)]
        status: Option<String>,
        /// New due date
        #[arg(long)]
        due: Option<charter_model::Date>,
    },
    /// Close an item
    Close {
        /// Item id
        id: String,
    },
}

/// The options of `charter check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The day to check (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Bring the RAIDA items in line: raise one per AMBER or RED finding, close those whose
    /// finding is gone (without it, the check only reads and says what it would do)
    #[arg(long)]
    pub raise: bool,
}

/// Exit status when a quality score is below the threshold, or the check
/// found something RED.
const BELOW_STANDARD: u8 = 2;

pub(crate) async fn context(global: &Global) -> Result<(App, WorkspaceName)> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    Ok((app, workspace))
}

fn parse<T: std::str::FromStr>(field: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|error| anyhow!("--{field}: {error}"))
}

use crate::input::read_json;

pub(crate) async fn dataset(global: &Global, command: DatasetCommand) -> Result<ExitCode> {
    let (app, workspace) = context(global).await?;
    match command {
        DatasetCommand::Create { file } => {
            let dataset: Dataset = read_json(&file)?;
            let view = app
                .create_dataset(&caller(global), &workspace, dataset)
                .await
                .with_context(|| format!("{} was not created", file.display()))?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => {
                    println!("{}", view.id);
                    eprintln!(
                        "Created {} in DRAFT at schema version 1 (registered in the data-model registry).",
                        view.id
                    );
                }
            }
        }
        DatasetCommand::List => {
            let runs = app.quality_runs(&caller(global), &workspace, None).await?;
            let datasets: Vec<Dataset> =
                crate::commands::registry::all_records(&app, global, &workspace, RecordKind::Dataset)
                    .await?
                    .into_iter()
                    .filter_map(|v| match v.record {
                        Record::Dataset(d) => Some(*d),
                        _ => None,
                    })
                    .collect();
            match global.output {
                Output::Json => print_json(&datasets)?,
                Output::Table => {
                    let mut table = Table::new(["DATASET", "SCOPE", "VERSION", "AGENT", "OWNER", "QUALITY"]);
                    for d in &datasets {
                        let latest = runs.iter().find(|r| r.dataset_id == d.dataset_id);
                        table.row([
                            d.dataset_id.to_string(),
                            d.scope.to_string(),
                            d.schema_version.to_string(),
                            d.managed_by_agent
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_else(|| "-".into()),
                            d.owner.clone().unwrap_or_else(|| "-".into()),
                            latest.map_or_else(|| "-".into(), |r| format!("{}% ({})", r.score, r.run_id)),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
        DatasetCommand::Promote { dataset, to } => {
            let target: DatasetScope = parse("to", &to)?;
            let promoted = app
                .promote_dataset(&caller(global), &workspace, &dataset, target)
                .await
                .with_context(|| format!("{dataset} was not promoted"))?;
            match global.output {
                Output::Json => print_json(&promoted)?,
                Output::Table => {
                    println!("{dataset} is now {target}.");
                    for gate in &promoted.gates {
                        println!("  met  {:<22} {}", gate.gate, gate.detail);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_change(change: &Change) {
    println!(
        "{}  {}  {} on {}",
        change.change_id, change.status, change.change_type, change.dataset_affected
    );
    println!("  {}", change.change_description);
    let impact = &change.impact_analysis;
    if let Some(summary) = impact.get("summary").and_then(|s| s.as_str()) {
        println!("  impact: {summary}");
    }
    for field in impact.pointer("/diff/fields").and_then(|f| f.as_array()).into_iter().flatten() {
        println!(
            "  {} {:<24} {:<26} {}",
            if field.get("breaking").and_then(|b| b.as_bool()) == Some(true) {
                "BREAKING"
            } else {
                "        "
            },
            field.get("field").and_then(|f| f.as_str()).unwrap_or_default(),
            field.get("change").and_then(|f| f.as_str()).unwrap_or_default(),
            field.get("detail").and_then(|f| f.as_str()).unwrap_or_default(),
        );
    }
    for rule in impact.pointer("/diff/rules").and_then(|f| f.as_array()).into_iter().flatten() {
        println!(
            "  rule {} {}: {}",
            rule.get("rule").and_then(|f| f.as_str()).unwrap_or_default(),
            rule.get("change").and_then(|f| f.as_str()).unwrap_or_default(),
            rule.get("expression").and_then(|f| f.as_str()).unwrap_or_default()
        );
    }
    let list =
        |pointer: &str| impact.pointer(pointer).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let all_downstream = list("/downstream");
    // Each downstream dataset names the one before it on its path (`from`);
    // records made before `from` carry the whole `path`.
    let from: std::collections::HashMap<&str, &str> = all_downstream
        .iter()
        .filter_map(|d| Some((d.get("dataset")?.as_str()?, d.get("from")?.as_str()?)))
        .collect();
    let changed = impact.get("dataset").and_then(|d| d.as_str()).unwrap_or_default();
    for downstream in &all_downstream {
        let path: Vec<&str> = match downstream.get("path").and_then(|p| p.as_array()) {
            Some(path) => path.iter().filter_map(|s| s.as_str()).collect(),
            None => {
                let mut at = downstream.get("dataset").and_then(|d| d.as_str()).unwrap_or_default();
                let mut path = vec![at];
                while at != changed && path.len() <= from.len() {
                    let Some(&before) = from.get(at) else { break };
                    path.push(before);
                    at = before;
                }
                path.reverse();
                path
            }
        };
        let fields: Vec<String> = downstream
            .get("fields")
            .and_then(|f| f.as_array())
            .map(|f| {
                f.iter()
                    .map(|x| {
                        let r = x.get("references").and_then(|r| r.as_array());
                        format!(
                            "{} -> {}.{}",
                            x.get("field").and_then(|v| v.as_str()).unwrap_or_default(),
                            r.and_then(|r| r.first()).and_then(|v| v.as_str()).unwrap_or_default(),
                            r.and_then(|r| r.get(1)).and_then(|v| v.as_str()).unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "  downstream {} (depth {}): {}{}",
            downstream.get("dataset").and_then(|d| d.as_str()).unwrap_or_default(),
            downstream.get("depth").and_then(|d| d.as_u64()).unwrap_or_default(),
            path.join(" -> "),
            if fields.is_empty() { String::new() } else { format!("; fields {}", fields.join(", ")) }
        );
    }
    for agent in list("/agents") {
        println!(
            "  agent {} (owner {}): {}",
            agent.get("agent_id").and_then(|a| a.as_str()).unwrap_or_default(),
            agent.get("owner").and_then(|a| a.as_str()).unwrap_or("none"),
            agent
                .get("reasons")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        );
    }
    for workflow in list("/workflows") {
        println!(
            "  workflow {} of {}",
            workflow.get("workflow_id").and_then(|a| a.as_str()).unwrap_or_default(),
            workflow.get("agent_id").and_then(|a| a.as_str()).unwrap_or_default()
        );
    }
    for policy in list("/policies") {
        println!(
            "  policy {} (owner {}) names {}",
            policy.get("policy_id").and_then(|a| a.as_str()).unwrap_or_default(),
            policy.get("owner").and_then(|a| a.as_str()).unwrap_or_default(),
            policy
                .get("names")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        );
    }
}

fn change_of(view: &charter_app::RecordView) -> Result<&Change> {
    match &view.record {
        Record::Change(change) => Ok(change),
        _ => bail!("{} is not a change", view.id),
    }
}

pub(crate) async fn schema(global: &Global, command: SchemaCommand) -> Result<ExitCode> {
    let (app, workspace) = context(global).await?;
    match command {
        SchemaCommand::Propose { dataset, schema } => {
            let proposal: charter_data::Proposal = read_json(&schema)?;
            let proposed = app
                .propose_schema_change(&caller(global), &workspace, &dataset, proposal)
                .await
                .with_context(|| format!("the change to {dataset} was not proposed"))?;
            let delivered = if proposed.notifications.iter().any(|n| n.delivery.is_some()) {
                app.deliver_notifications(&caller(global), &workspace).await?
            } else {
                Vec::new()
            };
            match global.output {
                Output::Json => print_json(&serde_json::json!({
                    "change": proposed.change,
                    "notifications": proposed.notifications,
                    "deliveries": delivered,
                    "decision_id": proposed.decision_id,
                }))?,
                Output::Table => {
                    print_change(&proposed.change);
                    for n in &proposed.notifications {
                        let delivery = delivered
                            .iter()
                            .find(|d| d.notification_id == n.notification_id)
                            .and_then(|d| d.delivery.as_ref())
                            .map(|d| match &d.last_error {
                                Some(error) => format!(
                                    " (webhook {:?} after {} attempt(s): {error})",
                                    d.status, d.attempts
                                ),
                                None => format!(" (webhook {:?})", d.status),
                            })
                            .unwrap_or_default();
                        println!("  notified {} ({}){delivery}", n.recipient, n.notification_id);
                    }
                }
            }
        }
        SchemaCommand::Apply { id } => {
            let view = app
                .apply_change(&caller(global), &workspace, &id)
                .await
                .with_context(|| format!("{id} was not applied"))?;
            report_step(global, &view)?;
        }
        SchemaCommand::Rollback { id } => {
            let view = app
                .rollback_change(&caller(global), &workspace, &id)
                .await
                .with_context(|| format!("{id} was not rolled back"))?;
            report_step(global, &view)?;
        }
        SchemaCommand::List { dataset } => {
            let changes = app.list_changes(&caller(global), &workspace, dataset.as_deref()).await?;
            match global.output {
                Output::Json => print_json(&changes)?,
                Output::Table => {
                    let mut table =
                        Table::new(["CHANGE", "STATUS", "TYPE", "DATASET", "VERSION", "BY", "DESCRIPTION"]);
                    for c in &changes {
                        table.row([
                            c.change_id.to_string(),
                            c.status.to_string(),
                            c.change_type.to_string(),
                            c.dataset_affected.to_string(),
                            match (c.from_version, c.to_version) {
                                (Some(from), Some(to)) => format!("{from} -> {to}"),
                                (Some(from), None) => format!("{from}"),
                                _ => "-".into(),
                            },
                            c.executed_by.clone().or_else(|| c.requested_by.clone()).unwrap_or_default(),
                            c.change_description.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
        SchemaCommand::Show { id } => {
            let view = app.get_record(&caller(global), &workspace, RecordKind::Change, &id).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => print_change(change_of(&view)?),
            }
        }
        SchemaCommand::Notify => {
            let delivered = app.deliver_notifications(&caller(global), &workspace).await?;
            match global.output {
                Output::Json => print_json(&delivered)?,
                Output::Table => {
                    for n in &delivered {
                        let d = n.delivery.as_ref();
                        println!(
                            "{} to {}: {:?} after {} attempt(s){}",
                            n.notification_id,
                            n.recipient,
                            d.map(|d| d.status),
                            d.map_or(0, |d| d.attempts),
                            d.and_then(|d| d.last_error.as_ref())
                                .map(|e| format!(": {e}"))
                                .unwrap_or_default()
                        );
                    }
                    if delivered.is_empty() {
                        println!("No notification is waiting for delivery.");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_step(global: &Global, view: &charter_app::RecordView) -> Result<()> {
    match global.output {
        Output::Json => print_record(global, view),
        Output::Table => {
            let change = change_of(view)?;
            let version = match (change.status, change.to_version, &change.previous) {
                (charter_model::ChangeStatus::RolledBack, Some(to), Some(_)) => {
                    format!(" (the previous schema is back, as schema version {})", to + 1)
                }
                (charter_model::ChangeStatus::RolledBack, _, _) => " (nothing was applied)".to_owned(),
                (_, Some(to), _) => format!(" (schema version {to})"),
                _ => String::new(),
            };
            println!("{} is {}{version}.", change.change_id, change.status);
            Ok(())
        }
    }
}

fn format_of(path: &Path) -> Result<Format> {
    Format::from_name(&path.to_string_lossy())
        .ok_or_else(|| anyhow!("{}: unknown format: name it .csv, .jsonl or .ndjson", path.display()))
}

pub(crate) async fn dq(global: &Global, command: DqCommand) -> Result<ExitCode> {
    let (app, workspace) = context(global).await?;
    match command {
        DqCommand::Validate { dataset, file, keys, samples } => {
            let schema = app.dataset(&caller(global), &workspace, &dataset).await?;
            let mut key_sets = KeySets::new();
            for given in &keys {
                let (other, path) =
                    given.split_once('=').ok_or_else(|| anyhow!("--keys {given}: expected DATASET=FILE"))?;
                let path = Path::new(path);
                let needed: Vec<(String, String)> = charter_data::external_references(&schema)
                    .into_iter()
                    .filter(|(d, _)| d == other)
                    .collect();
                if needed.is_empty() {
                    // Keys no check needs: say so, and go on without them.
                    eprintln!("warning: --keys {given}: no field of {dataset} references {other}; not read");
                    continue;
                }
                let referenced = app.dataset(&caller(global), &workspace, other).await?;
                for (d, field) in needed {
                    let definition = referenced
                        .fields
                        .iter()
                        .find(|f| f.name == field)
                        .ok_or_else(|| anyhow!("{other} has no field \"{field}\""))?;
                    let input = crate::input::open(path)?;
                    let set =
                        charter_data::load_keys(std::io::BufReader::new(input), format_of(path)?, definition)
                            .map_err(|error| anyhow!("{}: {error}", path.display()))?;
                    key_sets.insert((d, field), set);
                }
            }
            let format = format_of(&file)?;
            let input = crate::input::open(&file)?;
            let size = input.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = crate::commands::ledger::progress_bar(
                global,
                "validating {bar:40} {bytes}/{total_bytes} ({eta})",
            );
            if let Some(bar) = &bar {
                bar.set_length(size);
            }
            let started = std::time::Instant::now();
            let name = file
                .file_name()
                .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
            let progress = bar.clone();
            let input = charter_app::QualityInput {
                name,
                reader: Box::new(input),
                format,
                keys: key_sets,
                options: Options { sample_limit: samples, ..Options::default() },
                progress: Box::new(move |bytes| {
                    if let Some(bar) = &progress {
                        bar.set_position(bytes);
                    }
                }),
            };
            let recorded = app.validate_quality(&caller(global), &workspace, &dataset, input).await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let elapsed = started.elapsed();
            let recorded = recorded?;
            let unknown = recorded.unknown_columns.clone();
            let run = &recorded.run;
            match global.output {
                Output::Json => print_json(&recorded)?,
                Output::Table => {
                    println!(
                        "{} {}: score {}% ({} of {} rows pass every check; threshold {}%)",
                        run.run_id, dataset, run.score, run.rows_passed, run.rows, recorded.threshold
                    );
                    let mut table = Table::new(["CHECK", "FAILED", "PASS RATE", "FIRST FAILURES"]);
                    for check in &run.checks {
                        let first: Vec<String> = check
                            .samples
                            .iter()
                            .map(|s| match &s.value {
                                Some(value) => format!("line {} \"{value}\": {}", s.line, s.message),
                                None => format!("line {}: {}", s.line, s.message),
                            })
                            .collect();
                        table.row([
                            check.check.clone(),
                            check.failed.to_string(),
                            format!("{}%", check.pass_rate),
                            first.join("; "),
                        ]);
                    }
                    print!("{}", table.render());
                    if !unknown.is_empty() {
                        println!("columns the schema does not know (ignored): {}", unknown.join(", "));
                    }
                    for raised in &recorded.raida {
                        println!("RAIDA {} {} ({})", raised.raida_id, raised.outcome, raised.origin_key);
                    }
                    eprintln!(
                        "{} rows in {:.2} s ({:.0} rows/s)",
                        run.rows,
                        elapsed.as_secs_f64(),
                        run.rows as f64 / elapsed.as_secs_f64().max(1e-9)
                    );
                }
            }
            if run.score < recorded.threshold {
                return Ok(ExitCode::from(BELOW_STANDARD));
            }
        }
        DqCommand::Runs { dataset } => {
            let runs = app.quality_runs(&caller(global), &workspace, dataset.as_deref()).await?;
            match global.output {
                Output::Json => print_json(&runs)?,
                Output::Table => {
                    let mut table =
                        Table::new(["RUN", "DATASET", "VERSION", "SCORE", "ROWS", "SOURCE", "AT", "BY"]);
                    for r in &runs {
                        table.row([
                            r.run_id.to_string(),
                            r.dataset_id.to_string(),
                            r.schema_version.to_string(),
                            format!("{}%", r.score),
                            r.rows.to_string(),
                            r.source.clone(),
                            r.run_at.to_string(),
                            r.run_by.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn raida(global: &Global, command: RaidaCommand) -> Result<ExitCode> {
    let (app, workspace) = context(global).await?;
    let who = caller(global);
    match command {
        RaidaCommand::List { item_type, status, owner, all } => {
            let filter = RaidaFilter {
                item_type: item_type.as_deref().map(|t| parse("type", t)).transpose()?,
                status: status.as_deref().map(|s| parse("status", s)).transpose()?,
                owner,
                all,
            };
            let items = app.raida_list(&who, &workspace, &filter).await?;
            match global.output {
                Output::Json => print_json(&items)?,
                Output::Table => {
                    let mut table =
                        Table::new(["ID", "TYPE", "SEVERITY", "STATUS", "OWNER", "DUE", "SOURCE", "TITLE"]);
                    for i in &items {
                        table.row([
                            i.raida_id.to_string(),
                            i.item_type.to_string(),
                            i.severity.to_string(),
                            i.status.to_string(),
                            i.owner.clone().unwrap_or_else(|| "-".into()),
                            i.due_date.map_or_else(|| "-".into(), |d| d.to_string()),
                            i.source.clone().unwrap_or_else(|| "-".into()),
                            i.title.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
        RaidaCommand::Add { item_type, title, description, owner, severity, due, source } => {
            let new = NewRaida {
                item_type: parse("type", &item_type)?,
                title,
                description,
                owner,
                severity: parse("severity", &severity)?,
                due_date: due,
                source,
            };
            let view = app.raida_add(&who, &workspace, new).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!("{}", view.id),
            }
        }
        RaidaCommand::Update { id, title, description, owner, severity, status, due } => {
            let patch = RaidaPatch {
                title,
                description,
                owner,
                severity: severity.as_deref().map(|s| parse("severity", s)).transpose()?,
                status: status.as_deref().map(|s| parse("status", s)).transpose()?,
                due_date: due,
            };
            let view = app.raida_update(&who, &workspace, &id, patch).await?;
            print_record(global, &view)?;
        }
        RaidaCommand::Close { id } => {
            let view = app.raida_close(&who, &workspace, &id).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!("{id} closed."),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn check(global: &Global, args: CheckArgs) -> Result<ExitCode> {
    let (app, workspace) = context(global).await?;
    let today = args.as_of.unwrap_or_else(|| app.now().date());
    let outcome = if args.raise {
        app.governance_check(&caller(global), &workspace, today).await?
    } else {
        (*app.governance_reading(&caller(global), &workspace, today).await?).clone()
    };
    let dashboard = &outcome.dashboard;
    match global.output {
        Output::Json => print_json(&outcome)?,
        Output::Table => {
            println!("Governance check of {workspace} on {}: {}", dashboard.date, dashboard.status);
            for section in &dashboard.sections {
                println!("{:<5} {:<15} {}", section.status.to_string(), section.section, section.summary);
                for finding in &section.findings {
                    println!("      {:<5} {}", finding.status.to_string(), finding.message);
                }
            }
            let opened = outcome.raida.iter().filter(|r| r.outcome.raised()).count();
            let closed =
                outcome.raida.iter().filter(|r| r.outcome == charter_app::RaisedOutcome::Closed).count();
            let open = outcome.raida.len() - opened - closed;
            if outcome.applied {
                println!("RAIDA: {opened} raised, {open} already open, {closed} closed");
            } else {
                println!(
                    "RAIDA (nothing changed; --raise does it): {opened} to raise, {open} already open, {closed} to close"
                );
            }
        }
    }
    Ok(if dashboard.status == charter_data::check::Status::Red {
        ExitCode::from(BELOW_STANDARD)
    } else {
        ExitCode::SUCCESS
    })
}
