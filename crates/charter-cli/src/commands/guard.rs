//! `charter guard`: the safety filter from the command line. `scan`
//! reports what a file holds; `redact` filters it through the workspace's
//! DLP rules as an agent's content would be (logged in the ledger) and
//! writes what may pass to standard output; `lint` checks the rules.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_app::{FilterRequest, Filtered};
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
    /// may pass (unchanged or redacted) goes to standard output; exits with status 2 when the
    /// content is blocked (a file of up to 8 MiB writes nothing then; a longer one, or standard
    /// input, is filtered as a stream in constant memory and stops at the block). Without --agent
    /// every finding is redacted. The filtering is logged in the ledger (never the content);
    /// with --output json, its summary is printed instead of the content
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
    /// Filterings per agent over the last days, from the ledger: how many, blocked, redacted,
    /// and the findings per type
    Stats {
        /// Days back from now (1 to 366)
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Check the workspace's DLP rules and guard settings: names that are not registered, rules
    /// that never decide, doors left open; exits with status 1 on an error
    Lint,
}

/// The file, or standard input for `-`, to be read a piece at a time.
fn reader(file: &Path) -> Result<Box<dyn std::io::Read>> {
    if file.as_os_str() == "-" {
        Ok(Box::new(std::io::stdin()))
    } else {
        Ok(Box::new(crate::input::open(file)?))
    }
}

/// Reads the next piece (up to 1 MiB) of `input` into `buffer`; empty at
/// the end.
fn next_piece<'b>(input: &mut dyn std::io::Read, buffer: &'b mut [u8], file: &Path) -> Result<&'b [u8]> {
    let n = input.read(buffer).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(&buffer[..n])
}

/// A file as big as one request carries is filtered whole (nothing is
/// written when it is blocked); a bigger one, or standard input, as a
/// stream in constant memory (a block part way stops the output).
fn small_file(file: &Path) -> Option<u64> {
    (file.as_os_str() != "-")
        .then(|| std::fs::metadata(file).ok().map(|m| m.len()))
        .flatten()
        .filter(|len| *len <= charter_app::MAX_FILTER_BYTES as u64)
}

/// Runs one `charter guard` command.
pub(crate) async fn guard(global: &Global, command: GuardCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    match command {
        GuardCommand::Scan { file } => {
            let (scanner, class_rules) = app.guard_scanner(&caller, &workspace).await?;
            let mut input = reader(&file)?;
            let mut buffer = vec![0_u8; 1 << 20];
            let mut segmenter = charter_guard::Segmenter::new(&scanner);
            let mut findings = Vec::new();
            loop {
                let piece = next_piece(input.as_mut(), &mut buffer, &file)?;
                if piece.is_empty() {
                    break;
                }
                if let Some((at, segment)) = segmenter.push(piece) {
                    findings.extend(charter_guard::scan_at(&scanner, at, &segment));
                }
            }
            if let Some((at, segment)) = segmenter.finish() {
                findings.extend(charter_guard::scan_at(&scanner, at, &segment));
            }
            let class = charter_guard::classify(&findings, &class_rules);
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
            let mut stdout = std::io::stdout().lock();
            let filtered = if small_file(&file).is_some() {
                let bytes = crate::input::read(&file)?;
                let request = FilterRequest { agent, direction, destination, content: bytes };
                let filtered = app.filter(&caller, &workspace, request).await?;
                if let (Output::Table, Some(content)) = (global.output, &filtered.content) {
                    stdout.write_all(content).context("cannot write standard output")?;
                }
                filtered
            } else {
                let head = charter_app::FilterHead { agent, direction, destination };
                let mut session = app.filter_session(&caller, &workspace, head).await?;
                let mut input = reader(&file)?;
                let mut buffer = vec![0_u8; 1 << 20];
                loop {
                    let piece = next_piece(input.as_mut(), &mut buffer, &file)?;
                    let passed = if piece.is_empty() { session.flush() } else { session.push(piece) };
                    if global.output == Output::Table {
                        stdout.write_all(&passed).context("cannot write standard output")?;
                    }
                    if piece.is_empty() || session.blocked() {
                        break;
                    }
                }
                session.finish().await?
            };
            let blocked = filtered.action == GuardAction::Block;
            match global.output {
                Output::Json => print_json(&Filtered { content: None, ..filtered })?,
                Output::Table => {
                    let counts: Vec<String> =
                        filtered.counts.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
                    eprintln!(
                        "{}: {} findings ({}), class {}; {}; {}",
                        filtered.action,
                        filtered.counts.values().sum::<u64>(),
                        if counts.is_empty() { "none".to_owned() } else { counts.join(", ") },
                        filtered.class,
                        filtered.reasons.join(", "),
                        filtered.decision_id.as_deref().unwrap_or("not logged"),
                    );
                }
            }
            Ok(if blocked { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        GuardCommand::Stats { days } => {
            let stats = app.guard_stats(&caller, &workspace, days).await?;
            match global.output {
                Output::Json => print_json(&stats)?,
                Output::Table => {
                    let mut table = Table::new([
                        "AGENT",
                        "FILTERINGS",
                        "BLOCKED",
                        "REDACTED",
                        "VALUES REDACTED",
                        "FINDINGS",
                    ]);
                    for agent in &stats {
                        let findings: Vec<String> =
                            agent.findings.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
                        table.row([
                            agent.agent.clone(),
                            agent.filterings.to_string(),
                            agent.blocked.to_string(),
                            agent.redacted_filterings.to_string(),
                            agent.redacted.to_string(),
                            findings.join(", "),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(ExitCode::SUCCESS)
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
