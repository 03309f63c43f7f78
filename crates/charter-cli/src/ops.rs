//! `charter op declare|list|show`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_model::{Operation, Record, RecordKind};

use crate::args::{Global, OpCommand, Output};
use crate::table::Table;
use crate::{caller, open, print_json, print_record, resolve_workspace};

fn operation(record: &Record) -> Option<&Operation> {
    match record {
        Record::Operation(operation) => Some(operation),
        _ => None,
    }
}

pub(crate) async fn run(global: &Global, command: OpCommand) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    match command {
        OpCommand::Declare { file } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let view = app
                .declare_operation(&caller(global), &workspace, &text)
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
            let page = app
                .list_records(&caller(global), &workspace, RecordKind::Operation, None, charter_app::MAX_PAGE)
                .await?;
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
            let view = app.get_record(&caller(global), &workspace, RecordKind::Operation, &id).await?;
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
    }
    Ok(ExitCode::SUCCESS)
}
