//! `charter guard`: the safety filter from the command line. `scan`
//! reports what a file holds; `redact` filters it through the workspace's
//! DLP rules as an agent's content would be (logged in the ledger) and
//! writes what may pass to standard output; `lint` checks the rules.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_app::FilterRequest;
use charter_model::{Direction, GuardAction};
use clap::Subcommand;

use crate::output::{Output, Table, print_json};
use crate::settings::{Global, caller};

/// The subcommands of `charter guard`.
#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// What a file holds: each finding's type, byte offsets and confidence, and the file's
    /// class (with the workspace's guard settings; nothing is logged)
    Scan {
        /// The file, or - for standard input
        file: PathBuf,
    },
    /// Filter a file as an agent's content: the DLP rules and the decision point decide; what
    /// may pass (unchanged or redacted) goes to standard output; exits with status 2, writing
    /// nothing, when the content is blocked. Without --agent every finding is redacted. The
    /// filtering is logged in the ledger (never the content)
    Redact {
        /// The file, or - for standard input
        file: PathBuf,
        /// The agent whose content it is
        #[arg(long)]
        agent: Option<String>,
        /// egress (the agent sends it) or ingress (the agent takes it in)
        #[arg(long, default_value = "egress")]
        direction: String,
        /// The system or dataset it goes to or comes from
        #[arg(long)]
        destination: Option<String>,
    },
    /// Check the workspace's DLP rules and guard settings: names that are not registered, rules
    /// that never decide, doors left open; exits with status 1 on an error
    Lint,
}

/// The bytes of `file`, or of standard input for `-`.
fn content(file: &Path) -> Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes).context("cannot read standard input")?;
        Ok(bytes)
    } else {
        crate::input::read(file)
    }
}

/// Runs one `charter guard` command.
pub(crate) async fn guard(global: &Global, command: GuardCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    match command {
        GuardCommand::Scan { file } => {
            let bytes = content(&file)?;
            let (findings, class) = app.scan_content(&caller, &workspace, &bytes).await?;
            match global.output {
                Output::Json => print_json(&serde_json::json!({ "class": class, "findings": findings }))?,
                Output::Table => {
                    let mut table = Table::new(["TYPE", "START", "END", "CONFIDENCE"]);
                    for finding in &findings {
                        table.row([
                            finding.kind.to_string(),
                            finding.start.to_string(),
                            finding.end.to_string(),
                            format!("{:.2}", finding.confidence),
                        ]);
                    }
                    print!("{}", table.render());
                    println!("{} findings; class {class}", findings.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        GuardCommand::Redact { file, agent, direction, destination } => {
            let direction: Direction =
                direction.parse().map_err(|error| anyhow::anyhow!("--direction: {error}"))?;
            let bytes = content(&file)?;
            let request = FilterRequest { agent, direction, destination, content: bytes };
            let filtered = app.filter(&caller, &workspace, request).await?;
            let blocked = filtered.action == GuardAction::Block;
            match global.output {
                Output::Json => print_json(&filtered)?,
                Output::Table => {
                    if let Some(content) = &filtered.content {
                        std::io::stdout()
                            .lock()
                            .write_all(content)
                            .context("cannot write standard output")?;
                    }
                    let mut counts = std::collections::BTreeMap::new();
                    for finding in &filtered.findings {
                        *counts.entry(finding.kind.as_str()).or_insert(0) += 1;
                    }
                    let counts: Vec<String> = counts.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
                    eprintln!(
                        "{}: {} findings ({}), class {}; {}; {}",
                        filtered.action,
                        filtered.findings.len(),
                        if counts.is_empty() { "none".to_owned() } else { counts.join(", ") },
                        filtered.class,
                        filtered.reasons.join(", "),
                        filtered.decision_id.as_deref().unwrap_or("not logged"),
                    );
                }
            }
            Ok(if blocked { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        GuardCommand::Lint => {
            let lints = app.guard_lint(&caller, &workspace).await?;
            match global.output {
                Output::Json => print_json(&lints)?,
                Output::Table => {
                    if lints.is_empty() {
                        println!("the DLP rules and guard settings of {workspace} look right");
                    }
                    for lint in &lints {
                        let level = match lint.level {
                            charter_guard::Level::Error => "error",
                            charter_guard::Level::Warning => "warning",
                        };
                        println!("{level}: {}: {}", lint.subject, lint.message);
                    }
                }
            }
            if lints.iter().any(|lint| lint.level == charter_guard::Level::Error) {
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
