//! `charter audit`: the tamper-evident log (the ledger) from the command line:
//! query, prove, verify, export.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use charter_ledger::{Checkpoint, NoteVerifier, verify_inclusion};
use charter_store::EventFilter;
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json};
use crate::settings::{Global, caller, open, resolve_workspace};

/// The subcommands of `charter audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest last
    Log(AuditLogArgs),
    /// Prove that an event is in the log, against the latest checkpoint
    Prove {
        /// The event's sequence number
        seq: u64,
    },
    /// Recompute every leaf, rebuild the tree and check every stored node, checkpoint and signature
    Verify {
        /// Verifier key to check checkpoints with (default: the local signing key's)
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// A checkpoint kept from an earlier look (a signed note): the log must
        /// be consistent with it. When the log verifies, its latest checkpoint
        /// is written there for next time. Keep it where whoever can write the
        /// database cannot (another machine, another account)
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write a self-contained bundle (events, checkpoints, verifier key) to a directory
    Export {
        /// Directory to create
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Verify an exported bundle offline, with nothing but the verifier key
    VerifyBundle {
        /// The bundle's directory
        dir: PathBuf,
        /// Verifier key: <name>+<hash>+<base64 key>
        #[arg(long, value_name = "KEY")]
        key: String,
        /// A checkpoint kept from an earlier look at the log: the bundle must be
        /// consistent with it
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Print the verifier key of the local signing key
    Key,
}

/// The filters of `charter audit log`.
#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only events about this subject id
    #[arg(long)]
    pub subject: Option<String>,
    /// Only events about subjects of this kind (agent, policy, workspace, token…)
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events by this actor
    #[arg(long)]
    pub actor_is: Option<String>,
    /// Only events at or after this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<charter_model::Timestamp>,
    /// Only events before this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<charter_model::Timestamp>,
    /// Events after this sequence number (paging)
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// Most events to list
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

pub(crate) async fn run(global: &Global, command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::VerifyBundle { dir, key, checkpoint } => {
            let verifier = NoteVerifier::parse(&key).context("--key")?;
            let seen = checkpoint.as_deref().map(crate::input::read_to_string).transpose()?;
            let report = charter_app::bundle::verify_bundle_since(&dir, &verifier, seen.as_deref())?;
            let ok = report.failure.is_none();
            match global.output {
                Output::Json => print_json(&report)?,
                Output::Table => match &report.failure {
                    None => println!(
                        "Bundle verified: {} entries and {} checkpoints of {}, signed by {}",
                        report.entries,
                        report.checkpoints,
                        report.origin.as_deref().unwrap_or("?"),
                        verifier
                    ),
                    Some(failure) => println!("Bundle does NOT verify: {failure}"),
                },
            }
            return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        AuditCommand::Key => {
            let app = open(global, true).await?;
            let verifier = app.verifier().map(|v| v.to_string()).unwrap_or_default();
            match global.output {
                Output::Json => print_json(&serde_json::json!({ "verifier_key": verifier }))?,
                Output::Table => println!("{verifier}"),
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }

    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let who = caller(global);
    match command {
        AuditCommand::Log(args) => {
            let filter = EventFilter {
                kind: args.kind,
                subject: args.subject,
                actor: args.actor_is,
                since: args.since,
                until: args.until,
            };
            let events = app.audit_log(&who, &workspace, &filter, args.after, args.limit).await?;
            match global.output {
                Output::Json => {
                    let lines: Vec<serde_json::Value> = events
                        .iter()
                        .map(|event| serde_json::from_str(&event.body).unwrap_or(serde_json::Value::Null))
                        .collect();
                    print_json(&lines)?;
                }
                Output::Table => {
                    let mut table = Table::new(["SEQ", "AT", "ACTOR", "ACTION", "KIND", "SUBJECT"]);
                    for event in &events {
                        table.row([
                            event.seq.to_string(),
                            event.at.to_string(),
                            event.actor.clone(),
                            event.action.clone(),
                            event.kind.clone(),
                            event.subject.clone(),
                        ]);
                    }
                    print!("{}", table.render());
                    if events.len() as u32 == args.limit.clamp(1, 1_000)
                        && let Some(last) = events.last()
                    {
                        println!("(more: --after {})", last.seq);
                    }
                }
            }
        }
        AuditCommand::Prove { seq } => {
            if seq == 0 {
                bail!("event sequence numbers start at 1");
            }
            let note =
                app.latest_checkpoint(&who, &workspace).await?.context("the log has no checkpoint yet")?;
            let proof = app.inclusion_proof(&who, &workspace, seq - 1, None).await?;
            let entry = app.ledger_entries(&who, &workspace, seq - 1, seq).await?;
            let entry = entry.first().context("the event is not in the log")?;
            // Check the proof here too, as a stranger would.
            let leaf = charter_ledger::leaf_hash(entry.event.as_bytes());
            let checked = verify_inclusion(&leaf, proof.index, proof.size, &proof.hashes, &proof.root);
            if let Some(verifier) = app.verifier() {
                let checkpoint = Checkpoint::open(&note, &verifier)?;
                if checkpoint.root != proof.root || checkpoint.size != proof.size {
                    bail!("the proof is not against the latest checkpoint");
                }
            }
            match global.output {
                Output::Json => print_json(&serde_json::json!({
                    "seq": seq,
                    "index": proof.index,
                    "tree_size": proof.size,
                    "leaf_hash": proof.leaf_hash,
                    "proof": proof.hashes,
                    "root": proof.root,
                    "checkpoint": note,
                    "event": serde_json::from_str::<serde_json::Value>(&entry.event).unwrap_or_default(),
                    "verified": checked.is_ok(),
                }))?,
                Output::Table => {
                    println!("Event {seq} is entry {} of the tree of {} entries.", proof.index, proof.size);
                    println!("Leaf hash: {}", proof.leaf_hash);
                    println!("Proof ({} hashes, leaf upwards):", proof.hashes.len());
                    for hash in &proof.hashes {
                        println!("  {hash}");
                    }
                    println!("Root:      {}", proof.root);
                    println!("Checkpoint:\n{note}");
                    match &checked {
                        Ok(()) => println!("The proof verifies against the checkpoint's root."),
                        Err(error) => println!("The proof does NOT verify: {error}"),
                    }
                }
            }
            if checked.is_err() {
                return Ok(ExitCode::FAILURE);
            }
        }
        AuditCommand::Verify { key, checkpoint } => {
            let verifier = match key {
                Some(key) => NoteVerifier::parse(&key).context("--key")?,
                None => app.verifier().context("no verifier key: pass --key")?,
            };
            let bar = progress_bar(global, "verifying {bar:40} {pos}/{len} entries ({eta})");
            let seen = match &checkpoint {
                Some(path) if path.exists() => Some(crate::input::read_to_string(path)?),
                _ => None,
            };
            let report = app
                .verify_ledger_since(&workspace, &verifier, seen.as_deref(), &|done, total| {
                    if let Some(bar) = &bar {
                        bar.set_length(total);
                        bar.set_position(done);
                    }
                })
                .await?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let ok = report.failure.is_none();
            if ok
                && let Some(path) = &checkpoint
                && let Some(latest) = app.latest_checkpoint(&who, &workspace).await?
            {
                let partial = path.with_extension("partial");
                std::fs::write(&partial, &latest)
                    .and_then(|()| std::fs::rename(&partial, path))
                    .with_context(|| format!("cannot write the checkpoint to {}", path.display()))?;
            }
            match global.output {
                Output::Json => print_json(&report)?,
                Output::Table => match &report.failure {
                    None => println!(
                        "The log of {workspace} verifies: {} entries, {} checkpoints signed by {verifier}, {} records; root {}",
                        report.entries, report.checkpoints, report.records, report.root
                    ),
                    Some(failure) => println!("The log of {workspace} does NOT verify: {failure}"),
                },
            }
            return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        AuditCommand::Export { out } => {
            let report = app.export_ledger(&who, &workspace, &out).await?;
            match global.output {
                Output::Json => print_json(&report)?,
                Output::Table => println!(
                    "Exported {} entries and {} checkpoints of {workspace} to {}",
                    report.entries,
                    report.checkpoints,
                    out.display()
                ),
            }
        }
        AuditCommand::VerifyBundle { .. } | AuditCommand::Key => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal, none otherwise.
pub(crate) fn progress_bar(global: &Global, template: &str) -> Option<indicatif::ProgressBar> {
    if global.output != Output::Table || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}
