//! `charter certify`: the operations and governance certification of a
//! workspace from its own records, and `charter certify verify`, which
//! checks a signed verdict offline with nothing but the verifier key.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_app::CertifyRequest;
use charter_cert::{BlockerState, Outcome};
use charter_ledger::NoteVerifier;
use charter_model::Timestamp;
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json};
use crate::settings::{Global, caller};

/// Exit status of a RED verdict (and of an envelope that does not verify).
const RED: u8 = 2;

/// `charter certify`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CertifyArgs {
    /// Verify a signed verdict instead
    #[command(subcommand)]
    pub command: Option<CertifyCommand>,
    /// The end of the evidence period: a time (2027-01-15T12:00:00Z) or a date (its end,
    /// 23:59:59 UTC); default now
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Write certification.json, certification.md, certification.dsse.json (the signed
    /// envelope), measurements.json and the claim matrix used to this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The claim matrix (TOML; default: the workspace's cert_settings record, else the shipped
    /// examples/certification.toml)
    #[arg(long, value_name = "FILE")]
    pub matrix: Option<PathBuf>,
    /// Do not append the signed verdict's digest to the ledger
    #[arg(long)]
    pub no_record: bool,
}

/// The subcommands of `charter certify`.
#[derive(Debug, Subcommand)]
pub enum CertifyCommand {
    /// Check a signed verdict (a DSSE envelope) offline: its signature, that the checkpoint it
    /// names is its subject and is signed by the same key; exits 2 when it does not verify
    Verify {
        /// The envelope (certification.dsse.json)
        file: PathBuf,
        /// Verifier key: <name>+<hash>+<base64 key> (`charter audit key` prints it)
        #[arg(long, value_name = "KEY")]
        key: String,
        /// A ledger bundle (`charter audit export`): it must verify and hold the checkpoint the
        /// verdict was computed at, so the records behind the verdict are the ones in the ledger
        #[arg(long, value_name = "DIR")]
        bundle: Option<PathBuf>,
    },
}

/// Reads `--as-of` or `--expires`: a time, or a date meaning its last second.
fn as_of(text: &str) -> Result<Timestamp> {
    charter_cert::parse_as_of(text)
        .with_context(|| format!("\"{text}\": not a time (2027-01-15T12:00:00Z) or a date (YYYY-MM-DD)"))
}

pub(crate) async fn certify(global: &Global, args: CertifyArgs) -> Result<ExitCode> {
    if let Some(CertifyCommand::Verify { file, key, bundle }) = args.command {
        let verifier = NoteVerifier::parse(&key).context("--key")?;
        let text = crate::input::read_to_string(&file)?;
        let verified = charter_cert::verify(&text, &verifier).and_then(|verified| {
            let Some(dir) = &bundle else { return Ok(verified) };
            let note =
                verified.statement.predicate.checkpoint.as_ref().map(|c| c.note.clone()).unwrap_or_default();
            let report = charter_app::bundle::verify_bundle_since(dir, &verifier, Some(&note))
                .map_err(|error| format!("the bundle {}: {error}", dir.display()))?;
            match report.failure {
                None => Ok(verified),
                Some(failure) => Err(format!(
                    "the ledger bundle {} does not hold the verdict's checkpoint: {failure}",
                    dir.display()
                )),
            }
        });
        return match verified {
            Ok(verified) => {
                let verdict = &verified.statement.predicate;
                match global.output {
                    Output::Json => print_json(&serde_json::json!({
                        "verified": true,
                        "workspace": verdict.workspace,
                        "as_of": verdict.as_of,
                        "outcome": verdict.outcome,
                        "checkpoint_size": verified.checkpoint.size,
                        "payload_sha256": verified.payload_sha256,
                    }))?,
                    Output::Table => println!(
                        "{}: verified, signed by {verifier}: {} is {} as of {}, at checkpoint {} size {}; payload sha256 {}",
                        file.display(),
                        verdict.workspace,
                        match verdict.outcome {
                            Outcome::Green => "GREEN",
                            Outcome::Red => "RED",
                        },
                        verdict.as_of,
                        verified.checkpoint.origin,
                        verified.checkpoint.size,
                        verified.payload_sha256
                    ),
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(why) => {
                eprintln!("{}: does not verify: {why}", file.display());
                Ok(ExitCode::from(RED))
            }
        };
    }
    let (app, workspace) = super::data::context(global).await?;
    let matrix = match &args.matrix {
        Some(path) => Some((path.display().to_string(), crate::input::read_to_string(path)?)),
        None => None,
    };
    let request = CertifyRequest {
        as_of: args.as_of.as_deref().map(as_of).transpose().context("--as-of")?,
        matrix: matrix.clone(),
        record: !args.no_record,
    };
    let certification = app.certify(&caller(global), &workspace, request).await?;
    let verdict = &certification.verdict;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
        };
        write("certification.json", format!("{}\n", certification.json).as_bytes())?;
        write("certification.md", certification.markdown.as_bytes())?;
        write("measurements.json", serde_json::to_string_pretty(&certification.measurements)?.as_bytes())?;
        let matrix_text = matrix.map_or_else(|| charter_cert::DEFAULT_MATRIX.to_owned(), |(_, text)| text);
        write("certification.toml", matrix_text.as_bytes())?;
        match &certification.envelope {
            Some(envelope) => {
                write("certification.dsse.json", serde_json::to_string_pretty(envelope)?.as_bytes())?
            }
            None => {
                let _ = std::fs::remove_file(dir.join("certification.dsse.json"));
            }
        }
    }
    match global.output {
        Output::Json => print_json(verdict)?,
        Output::Table => {
            println!(
                "Certification of {workspace} as of {}: {}",
                verdict.as_of,
                match verdict.outcome {
                    Outcome::Green => "GREEN",
                    Outcome::Red => "RED",
                }
            );
            let mut claims = Table::new(["CLAIM", "TIER", "LEVEL", "STATUS", "TITLE"]);
            for claim in &verdict.claims {
                claims.row([
                    claim.id.clone(),
                    claim.tier.to_string(),
                    format!("{:?}", claim.level),
                    serde_json::to_value(claim.status)?.as_str().unwrap_or_default().to_owned(),
                    claim.title.clone(),
                ]);
            }
            print!("{}", claims.render());
            if !verdict.blockers.is_empty() {
                let mut blockers = Table::new(["BLOCKER", "CLAIM", "SUBJECT", "STATE", "REASON"]);
                for blocker in &verdict.blockers {
                    blockers.row([
                        blocker.id.to_string(),
                        blocker.claim.clone(),
                        blocker.subject.clone(),
                        match (blocker.state, &blocker.waiver) {
                            (BlockerState::Active, _) => "ACTIVE".to_owned(),
                            (BlockerState::Waived, waiver) => {
                                format!("waived {}", waiver.as_deref().unwrap_or(""))
                            }
                        },
                        blocker.reason.clone(),
                    ]);
                }
                print!("{}", blockers.render());
            }
            for waiver in verdict.waivers.iter().filter(|w| w.state == "expiring") {
                println!("waiver {} ({}) expires at {}", waiver.waiver_id, waiver.scope, waiver.expires_at);
            }
            match (&certification.envelope, &certification.unsigned) {
                (Some(_), _) => println!(
                    "Signed{}",
                    certification
                        .recorded_seq
                        .map_or_else(String::new, |seq| format!("; its digest is ledger entry {seq}"))
                ),
                (None, Some(why)) => println!("Not signed: {why}"),
                (None, None) => {}
            }
        }
    }
    Ok(match verdict.outcome {
        Outcome::Green => ExitCode::SUCCESS,
        Outcome::Red => ExitCode::from(RED),
    })
}

/// The subcommands of `charter drill`.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// A rollback drill: a governed operation over a scratch directory whose verification fails
    /// on purpose, run through the real runner; passes when it ends ROLLBACK with the file
    /// restored byte for byte within the objective. You declare and run it, as the decision
    /// point allows
    Rollback {
        /// The recovery objective, in seconds
        #[arg(long, default_value_t = 300.0)]
        objective: f64,
    },
    /// An incident drill: a SEV4 incident opened through the incident flow; it passes once it is
    /// acknowledged, mitigated, resolved and closed by a postmortem that passes its check
    Incident {
        /// The incident commander (default: the first person with the incident_commander role)
        #[arg(long)]
        commander: Option<String>,
    },
    /// Drills, newest first
    List,
}

/// The subcommands of `charter waiver`.
#[derive(Debug, Subcommand)]
pub enum WaiverCommand {
    /// Request a waiver of a blocker (OC-B1 … OC-B5) or a claim (T0.1 …); it holds nothing until
    /// approved by someone other than its owner and you
    Request {
        /// OC-B1 … OC-B5, or a claim id
        #[arg(long)]
        scope: String,
        /// Why the gap is accepted for now
        #[arg(long)]
        reason: String,
        /// Who owns the gap (a registered person)
        #[arg(long)]
        owner: String,
        /// When it ends: a time or a date (its end); at most the matrix's waivers.max_days away
        #[arg(long, value_name = "TIME")]
        expires: String,
    },
    /// Approve a waiver (decided by the decision point; not by its owner or requester)
    Approve {
        /// Waiver id (WVR-YYYY-MM-DD-NNN)
        id: String,
    },
    /// Waivers
    List,
}

/// Every record of `kind`, page after page, as its type.
async fn records<T>(
    app: &charter_app::App,
    caller: &charter_app::Caller,
    workspace: &charter_model::WorkspaceName,
    kind: charter_model::RecordKind,
    pick: fn(charter_model::Record) -> Option<T>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app.list_records(caller, workspace, kind, after.as_deref(), 1_000).await?;
        let more = page.items.len() == 1_000;
        after = page.items.last().map(|view| view.id.clone());
        all.extend(page.items.into_iter().filter_map(|view| pick(view.record)));
        if !more {
            return Ok(all);
        }
    }
}

pub(crate) async fn drill(global: &Global, command: DrillCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    let drill = match command {
        DrillCommand::Rollback { objective } => {
            let scratch = global.data_dir.join("drills").join(format!(
                "rollback-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            let options = charter_app::RollbackDrill {
                scratch,
                snapshot_dir: global.data_dir.join("snapshots"),
                objective_seconds: objective,
                sandbox: crate::sandbox::launcher(),
            };
            app.drill_rollback(&caller, &workspace, options).await?
        }
        DrillCommand::Incident { commander } => app.drill_incident(&caller, &workspace, commander).await?,
        DrillCommand::List => {
            let drills =
                records(&app, &caller, &workspace, charter_model::RecordKind::Drill, |record| match record {
                    charter_model::Record::Drill(drill) => Some(*drill),
                    _ => None,
                })
                .await?;
            match global.output {
                Output::Json => print_json(&drills)?,
                Output::Table => {
                    let mut table = Table::new(["DRILL", "KIND", "STARTED", "PASSED", "RECOVERY S"]);
                    for drill in drills.iter().rev() {
                        table.row([
                            drill.drill_id.to_string(),
                            drill.kind.name().to_owned(),
                            drill.started_at.to_string(),
                            drill.passed.to_string(),
                            drill.recovery_seconds.map_or_else(String::new, |s| format!("{s:.3}")),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    match global.output {
        Output::Json => print_json(&drill)?,
        Output::Table => {
            println!(
                "{} ({}) {}",
                drill.drill_id,
                drill.kind.name(),
                match (drill.kind, drill.passed) {
                    (charter_model::DrillKind::Rollback, true) => "PASSED",
                    (charter_model::DrillKind::Rollback, false) => "FAILED",
                    (charter_model::DrillKind::Incident, _) =>
                        "opened: it passes once its incident is closed by a checked postmortem",
                }
            );
            for line in &drill.evidence {
                println!("  {line}");
            }
        }
    }
    Ok(if drill.kind == charter_model::DrillKind::Rollback && !drill.passed {
        ExitCode::from(RED)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) async fn waiver(global: &Global, command: WaiverCommand) -> Result<ExitCode> {
    let (app, workspace) = super::data::context(global).await?;
    let caller = caller(global);
    let waiver =
        match command {
            WaiverCommand::Request { scope, reason, owner, expires } => {
                let expires_at = as_of(&expires).context("--expires")?;
                app.request_waiver(
                    &caller,
                    &workspace,
                    charter_app::NewWaiver { scope, reason, owner, expires_at },
                )
                .await?
            }
            WaiverCommand::Approve { id } => app.approve_waiver(&caller, &workspace, &id).await?,
            WaiverCommand::List => {
                let waivers =
                    records(&app, &caller, &workspace, charter_model::RecordKind::Waiver, |record| {
                        match record {
                            charter_model::Record::Waiver(waiver) => Some(*waiver),
                            _ => None,
                        }
                    })
                    .await?;
                match global.output {
                    Output::Json => print_json(&waivers)?,
                    Output::Table => {
                        let mut table =
                            Table::new(["WAIVER", "SCOPE", "OWNER", "APPROVER", "EXPIRES", "REASON"]);
                        for waiver in &waivers {
                            table.row([
                                waiver.waiver_id.to_string(),
                                waiver.scope.clone(),
                                waiver.owner.clone(),
                                waiver.approver.clone().unwrap_or_else(|| "(not approved)".into()),
                                waiver.expires_at.to_string(),
                                waiver.reason.clone(),
                            ]);
                        }
                        print!("{}", table.render());
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
        };
    match global.output {
        Output::Json => print_json(&waiver)?,
        Output::Table => println!(
            "{} {} owned by {}, expires {}: {}",
            waiver.waiver_id,
            waiver.scope,
            waiver.owner,
            waiver.expires_at,
            match &waiver.approver {
                Some(approver) => format!("approved by {approver}"),
                None => "requested; it holds nothing until approved".to_owned(),
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}
