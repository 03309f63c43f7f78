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
    /// The claim matrix (TOML; default: the shipped examples/certification.toml)
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
    },
}

/// Reads `--as-of`: a time, or a date meaning its last second.
fn as_of(text: &str) -> Result<Timestamp> {
    if let Ok(time) = text.parse::<Timestamp>() {
        return Ok(time);
    }
    let date: charter_model::Date =
        text.parse().with_context(|| format!("--as-of \"{text}\": not a time or a date (YYYY-MM-DD)"))?;
    format!("{date}T23:59:59Z").parse::<Timestamp>().with_context(|| format!("--as-of \"{text}\""))
}

pub(crate) async fn certify(global: &Global, args: CertifyArgs) -> Result<ExitCode> {
    if let Some(CertifyCommand::Verify { file, key }) = args.command {
        let verifier = NoteVerifier::parse(&key).context("--key")?;
        let text = crate::input::read_to_string(&file)?;
        return match charter_cert::verify(&text, &verifier) {
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
        as_of: args.as_of.as_deref().map(as_of).transpose()?,
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
