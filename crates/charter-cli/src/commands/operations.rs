//! `charter op …`: governed operations — declare, list, show, approve,
//! reject, run, halt, report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_model::{Operation, Record, RecordKind};
use clap::Subcommand;

use crate::output::{Output, Table, print_json, print_record};
use crate::settings::Global;

/// The subcommands of `charter op`.
#[derive(Debug, Subcommand)]
pub enum OpCommand {
    /// Declare an operation from its YAML declaration; prints its OPS-YYYY-MM-DD-NNN id
    Declare {
        /// The declaration (OPERATION_NAME, OBJECTIVE, RISK_CLASS, BLAST_RADIUS,
        /// ROLLBACK_STRATEGY, ALLOWED_PATHS, ALLOWED_SERVICES, NOT_ALLOWED, REQUESTED_BY, STEPS)
        file: PathBuf,
    },
    /// List operations
    List,
    /// Show one operation: its status, tier, approvals and plan
    Show {
        /// Operation id (OPS-YYYY-MM-DD-NNN)
        id: String,
    },
    /// Approve the operation's current plan (approver; not its requester; after a dry run)
    Approve {
        /// Operation id
        id: String,
    },
    /// Reject an operation that has not run
    Reject {
        /// Operation id
        id: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Replace the plan of an operation that has not run (voids approvals and dry runs)
    Revise {
        /// Operation id
        id: String,
        /// The new declaration
        file: PathBuf,
    },
    /// Run the operation's steps in order with verification gates; on a failure, roll back.
    /// Exits 0 only when the run ends in SUCCESS
    Run {
        /// Operation id
        id: String,
        /// Check everything and run only each step's dry_run command: the proof Tier 3+
        /// approval needs
        #[arg(long)]
        dry_run: bool,
        /// Where snapshots of ALLOWED_PATHS are kept (default: DATA_DIR/snapshots)
        #[arg(long, value_name = "DIR")]
        snapshot_dir: Option<PathBuf>,
        /// Also write the run's report as report.md and report.json in this directory
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
    },
    /// Stop a running operation: its runner kills the current step and rolls back
    Halt {
        /// Operation id
        id: String,
        /// The runner died (the operation stays Executing): roll back here, from the recorded
        /// evidence and the snapshot
        #[arg(long)]
        recover: bool,
        /// Where the snapshots are (default: DATA_DIR/snapshots)
        #[arg(long, value_name = "DIR")]
        snapshot_dir: Option<PathBuf>,
    },
    /// Publish a Validated operation's results
    Publish {
        /// Operation id
        id: String,
    },
    /// Close an operation (Published, Rejected or RolledBack)
    Retire {
        /// Operation id
        id: String,
    },
    /// Change success rate and mean time to recover over a period
    Kpis {
        /// The period: YYYY-MM, YYYY or YYYY-MM-DD
        #[arg(long)]
        period: String,
    },
    /// Print the report of an operation's latest run (or of run N)
    Report {
        /// Operation id
        id: String,
        /// Which run, from 1 (default: the latest)
        #[arg(long)]
        run: Option<u64>,
        /// md or json
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// Print a month's signoff ledger entries, as ops/ledger/YYYY-MM.yaml
    Ledger {
        /// The month, YYYY-MM
        #[arg(long)]
        month: String,
    },
}

fn operation(record: &Record) -> Option<&Operation> {
    match record {
        Record::Operation(operation) => Some(operation),
        _ => None,
    }
}

async fn all_operations(
    app: &charter_app::App,
    global: &Global,
    workspace: &charter_model::WorkspaceName,
) -> Result<Vec<Operation>> {
    let views = crate::commands::registry::all_records(app, global, workspace, RecordKind::Operation).await?;
    Ok(views.iter().filter_map(|view| operation(&view.record)).cloned().collect())
}

pub(crate) async fn run(global: &Global, command: OpCommand) -> Result<ExitCode> {
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    match command {
        OpCommand::Declare { file } => {
            let text = crate::input::read_to_string(&file)?;
            let view = backend
                .declare_operation(&workspace, &text)
                .await
                .with_context(|| format!("{} was not declared", file.display()))?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => {
                    let op = operation(&view.record).context("an operation")?;
                    println!("{}", view.id);
                    eprintln!(
                        "Declared \"{}\": {} (Tier {}), status {}; plan hash {}",
                        op.declaration.operation_name,
                        op.declaration.risk_class,
                        op.tier,
                        op.status,
                        &op.declaration_hash[..16]
                    );
                }
            }
        }
        OpCommand::List => {
            let page = backend.list_records(&workspace, RecordKind::Operation).await?;
            match global.output {
                Output::Json => print_json(&page)?,
                Output::Table => {
                    let mut table =
                        Table::new(["OPERATION", "STATUS", "TIER", "RISK CLASS", "REQUESTED BY", "NAME"]);
                    for op in page.items.iter().filter_map(|view| operation(&view.record)) {
                        table.row([
                            op.operation_id.to_string(),
                            op.status.to_string(),
                            op.tier.to_string(),
                            op.declaration.risk_class.to_string(),
                            op.declaration.requested_by.clone(),
                            op.declaration.operation_name.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
        OpCommand::Show { id } => {
            let view = backend.get_record(&workspace, RecordKind::Operation, &id).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => {
                    let op = operation(&view.record).context("an operation")?;
                    let d = &op.declaration;
                    println!("{}  {}  (version {})", op.operation_id, op.status, view.version);
                    println!("OPERATION_NAME:    {}", d.operation_name);
                    println!("OBJECTIVE:         {}", d.objective);
                    println!("RISK_CLASS:        {} (Tier {})", d.risk_class, op.tier);
                    println!("BLAST_RADIUS:      {}", d.blast_radius);
                    println!("ROLLBACK_STRATEGY: {}", d.rollback_strategy);
                    println!("ALLOWED_PATHS:     {}", d.allowed_paths.join(", "));
                    println!("ALLOWED_SERVICES:  {}", d.allowed_services.join(", "));
                    println!("REQUESTED_BY:      {} at {}", d.requested_by, op.requested_at);
                    println!("PLAN HASH:         {}", op.declaration_hash);
                    for approval in &op.approvals {
                        let void = if approval.declaration_hash == op.declaration_hash {
                            ""
                        } else {
                            " (void: plan changed)"
                        };
                        println!("APPROVED BY:       {} at {}{void}", approval.by, approval.at);
                    }
                    let mut table = Table::new(["STEP", "NAME", "COMMAND", "TOUCHES", "SERVICES", "VERIFY"]);
                    for (index, step) in d.steps.iter().enumerate() {
                        table.row([
                            (index + 1).to_string(),
                            step.name.clone(),
                            step.command.clone(),
                            step.touches.join(", "),
                            step.services.join(", "),
                            step.verify.join("; "),
                        ]);
                    }
                    print!("\n{}", table.render());
                }
            }
        }
        OpCommand::Approve { id } => {
            let view = backend.approve_operation(&workspace, &id).await?;
            let op = operation(&view.record).context("an operation")?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!(
                    "Approved {id} (plan {}); status {}, {} approval(s) of this plan",
                    &op.declaration_hash[..16],
                    op.status,
                    charter_ops::tiers::current_approvals(op).len()
                ),
            }
        }
        OpCommand::Reject { id, reason } => {
            let view = backend.reject_operation(&workspace, &id, &reason).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!("Rejected {id}."),
            }
        }
        OpCommand::Revise { id, file } => {
            let text = crate::input::read_to_string(&file)?;
            let (app, who) = backend.local("op revise")?;
            let view = app.revise_operation(who, &workspace, &id, &text).await?;
            match global.output {
                Output::Json => print_record(global, &view)?,
                Output::Table => println!("Revised {id}: approvals and dry runs of the old plan are void."),
            }
        }
        OpCommand::Run { id, dry_run, snapshot_dir, report_dir } => {
            let options = charter_app::RunOptions {
                dry_run,
                snapshot_dir: snapshot_dir.unwrap_or_else(|| global.data_dir.join("snapshots")),
                rules: None,
                sandbox: crate::sandbox::launcher(),
            };
            let (app, who) = backend.local("op run")?;
            let result = app.run_operation(who, &workspace, &id, options).await?;
            if let Some(dir) = report_dir {
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let (json, _) = result.report.json_and_hash();
                std::fs::write(dir.join("report.md"), result.report.markdown())?;
                std::fs::write(dir.join("report.json"), json)?;
            }
            match global.output {
                Output::Json => {
                    print_json(&serde_json::json!({ "run": result.run, "report": result.report }))?
                }
                Output::Table => {
                    for step in &result.run.steps {
                        println!("{}", charter_ops::run::contract(step));
                    }
                    println!("{}", result.report.exec_summary);
                    println!("Status: {}", result.operation.status);
                }
            }
            let success = result.run.outcome == Some(charter_model::operation::RunOutcome::Success);
            return Ok(if success { ExitCode::SUCCESS } else { ExitCode::from(3) });
        }
        OpCommand::Halt { id, recover: false, .. } => {
            backend.halt_operation(&workspace, &id).await?;
            println!("Asked {id} to halt: its runner stops the current step and rolls back.");
            println!("If no runner is alive, `charter op halt {id} --recover` rolls back here.");
        }
        OpCommand::Halt { id, recover: true, snapshot_dir } => {
            let dir = snapshot_dir.unwrap_or_else(|| global.data_dir.join("snapshots"));
            let (app, who) = backend.local("op halt --recover")?;
            let result = app
                .recover_operation(who, &workspace, &id, &dir, crate::sandbox::launcher().as_ref())
                .await?;
            println!("{}", result.report.exec_summary);
            println!("Status: {}", result.operation.status);
            let clean = result.run.outcome == Some(charter_model::operation::RunOutcome::Rollback);
            return Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(3) });
        }
        OpCommand::Publish { id } => {
            let to = charter_model::OperationStatus::Published;
            let (app, who) = backend.local("op publish and op retire")?;
            app.advance_operation(who, &workspace, &id, to).await?;
            println!("{id} is {to}.");
        }
        OpCommand::Retire { id } => {
            let to = charter_model::OperationStatus::Retired;
            let (app, who) = backend.local("op publish and op retire")?;
            app.advance_operation(who, &workspace, &id, to).await?;
            println!("{id} is {to}.");
        }
        OpCommand::Kpis { period } => {
            let (app, _) = backend.local("op kpis")?;
            let operations = all_operations(app, global, &workspace).await?;
            let kpis = charter_ops::run::kpis(&operations, &period);
            match global.output {
                Output::Json => print_json(&kpis)?,
                Output::Table => {
                    println!("Period {}: {} runs, {} succeeded", kpis.period, kpis.runs, kpis.succeeded);
                    println!(
                        "Change success rate: {}",
                        kpis.change_success_rate.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1}%"))
                    );
                    println!(
                        "Halted and rolled back: {}; mean time to recover: {}",
                        kpis.halted,
                        kpis.mean_time_to_recover_secs
                            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1} s"))
                    );
                }
            }
        }
        OpCommand::Report { id, run, format } => {
            let report = backend.operation_report(&workspace, &id, run).await?;
            match format.as_str() {
                "md" => print!("{}", report.markdown()),
                "json" => println!("{}", report.json_and_hash().0),
                other => anyhow::bail!("--format: \"{other}\" is not md or json"),
            }
        }
        OpCommand::Ledger { month } => {
            let valid = month.len() == 7
                && month.as_bytes()[4] == b'-'
                && format!("{month}-01").parse::<charter_model::Date>().is_ok();
            if !valid {
                anyhow::bail!("--month: \"{month}\" is not YYYY-MM");
            }
            let (app, _) = backend.local("op ledger")?;
            let operations = all_operations(app, global, &workspace).await?;
            let entries = charter_ops::run::month_ledger(&operations, &month);
            match global.output {
                Output::Json => print_json(&entries)?,
                Output::Table => {
                    print!("{}", entries.iter().map(charter_ops::run::SignoffEntry::yaml).collect::<String>())
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
