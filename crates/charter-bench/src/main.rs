//! `charter-bench`: measurements of Charter on scratch data, printed as
//! figures, side by side with the peers the issues name where there is one.
//! Every run works in a new temporary directory, deleted afterwards. Not
//! part of the product: `cargo run --release -p charter-bench -- --help`.

mod cert;
mod console;
mod data;
mod guard;
mod http;
mod ingest;
mod observe;
mod ops;
mod risk;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::ledger::{LedgerSettings, LogEvent};
use charter_app::{App, Caller};
use charter_model::WorkspaceName;
use charter_store::Store;

use charter_bench::workload::Shape;
use charter_policy::{Effect, Engine, Outcome, reason};

use charter_bench::workload;
use clap::{Parser, Subcommand};

/// mimalloc, as in the `charter` binary, so the figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measure Charter on scratch data in a temporary directory and print the figures.
#[derive(Debug, Parser)]
#[command(name = "charter-bench", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Durable appends from concurrent writers, log verification, proof generation (SQLite)
    Ledger {
        /// Concurrent writers
        #[arg(long, default_value_t = 64)]
        writers: usize,
        /// Appends in all, spread over the writers
        #[arg(long, default_value_t = 100_000)]
        appends: u64,
        /// Entries of the log `audit verify` checks
        #[arg(long, default_value_t = 1_000_000)]
        verify_entries: u64,
        /// Entries of the log proofs are made on (0: use the verified log)
        #[arg(long, default_value_t = 0)]
        proof_entries: u64,
        /// Proofs of each kind to time
        #[arg(long, default_value_t = 1_000)]
        proofs: u64,
    },
    /// Decisions per second in-process, side by side with the raw Cedar authoriser
    Policy {
        /// Cedar policies in the set
        #[arg(long, default_value_t = 100)]
        policies: usize,
        /// Agents in the registry
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        /// Tools in the registry
        #[arg(long, default_value_t = 5_000)]
        tools: usize,
        /// Distinct requests (each side decides all of them, several rounds)
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Rounds each side runs, alternating
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// The portfolio report on a generated portfolio: JSON and HTML end to end, with phases and peak memory
    Report {
        /// Agents of the generated portfolio (52 weekly snapshots each)
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Runs of each report; the median is printed
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The formats to make, in order: json, html, md
        #[arg(long, value_delimiter = ',', default_value = "json,html")]
        formats: Vec<charter_app::ReportFormat>,
    },
    /// The web console's pages on the generated portfolio, fetched over loopback from the
    /// real server after a sign-in: p50, p95 and the slowest per page
    Console {
        /// Agents of the generated portfolio
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Decisions logged first
        #[arg(long, default_value_t = 100_000)]
        decisions: u64,
        /// Timed fetches per page
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Certification of the generated portfolio after a year's volume of evidence (decisions
    /// logged in the ledger, runs from telemetry): the time of `certify`, each phase of its
    /// measurement, and the verdict
    Cert {
        /// Agents of the generated portfolio
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Decisions logged before certifying
        #[arg(long, default_value_t = 1_000_000)]
        decisions: u64,
        /// Agent runs ingested before certifying
        #[arg(long, default_value_t = 100_000)]
        runs: u64,
        /// Operations declared and run through the runner before certifying
        #[arg(long, default_value_t = 200)]
        operations: u64,
        /// Incidents opened and resolved before certifying (at most 999: one day's ids)
        #[arg(long, default_value_t = 500)]
        incidents: u64,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Certifications timed; the median is printed
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Makes the report of workspace `bench` in DATA once, into OUT; prints the seconds, the
    /// peak resident megabytes and the report's bytes (the report benchmark runs this in a
    /// child process)
    #[command(hide = true)]
    ReportOnce {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        format: charter_app::ReportFormat,
        #[arg(long)]
        out: PathBuf,
    },
    /// Generates a portfolio into FILES and imports it into a new data directory DATA (the
    /// report benchmark runs this in a child process)
    #[command(hide = true)]
    PreparePortfolio {
        #[arg(long)]
        agents: usize,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        files: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// A directory of JSON record files imported with the portfolio
        #[arg(long)]
        extra: Option<PathBuf>,
    },
    /// OTLP/HTTP ingest of GenAI spans over loopback from concurrent clients, both encodings;
    /// the server runs in a child process; stored spans and runs are counted afterwards
    Ingest {
        /// Concurrent clients, one connection each
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Spans per encoding
        #[arg(long, default_value_t = 200_000)]
        spans: usize,
        /// Traces per batch (five spans each; the SDK's batch processor sends up to 512 spans)
        #[arg(long, default_value_t = 100)]
        batch_traces: usize,
        /// Send to this address (host:port, path /v1/traces) instead of a Charter child, e.g. a
        /// peer receiver
        #[arg(long)]
        url: Option<String>,
    },
    /// The safety filter on a labelled corpus (gen_pii_corpus.py --out DIR): throughput on one
    /// thread (scan, scan + redact), the worst case on pathological input, findings written to
    /// DIR/charter_findings.jsonl; with --peers, scored by pii_score.py and Presidio run on the
    /// same corpus in the same run
    Guard {
        /// The corpus directory (text.txt, labels.jsonl, decoys.jsonl)
        #[arg(long)]
        corpus: PathBuf,
        /// Timed passes (the median is printed)
        #[arg(long, default_value_t = 7)]
        passes: usize,
        /// The directory of pii_score.py and pii_presidio.py (../shared/peers)
        #[arg(long)]
        peers: Option<PathBuf>,
        /// The Python that has presidio-analyzer and presidio-anonymizer
        #[arg(long, default_value = "python3")]
        python: String,
        /// Run Presidio on the first N MiB only (it takes about a minute per 10 MB)
        #[arg(long)]
        peer_mb: Option<f64>,
    },
    /// The filter endpoint's latency at a fixed offered rate, ~4 KB bodies from a corpus, ledger
    /// write included (server in a child process)
    GuardHttp {
        /// The corpus directory
        #[arg(long)]
        corpus: PathBuf,
        /// Requests per second offered
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        /// Seconds
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Connections
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// Time from the ingest that makes an agent's drift last three windows to the page at a
    /// local webhook receiver, one agent after the other, with background ingest load
    Page {
        /// Agents paged, one after the other
        #[arg(long, default_value_t = 50)]
        agents: usize,
        /// Clients sending ordinary batches meanwhile
        #[arg(long, default_value_t = 2)]
        background: usize,
    },
    /// The server of `ingest` and `page` (internal)
    #[command(hide = true)]
    ServeScratch {
        /// Data directory
        dir: PathBuf,
        /// A webhook receiver to page (with an alert class for drift)
        #[arg(long)]
        receiver: Option<String>,
    },
    /// Health evaluation and anomaly detection for many agents over a day of windows
    Health {
        /// Agents
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Windows per agent (288: one day of five-minute windows)
        #[arg(long, default_value_t = 288)]
        windows: usize,
        /// Runs; the median is printed
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// The operation runner: snapshot and compare of a file tree, overhead per step
    Ops {
        /// Files under the allowed path
        #[arg(long, default_value_t = 10_000)]
        files: usize,
        /// Their total size, in MB
        #[arg(long, default_value_t = 100)]
        megabytes: u64,
        /// Steps of the operation whose overhead is measured
        #[arg(long, default_value_t = 100)]
        steps: usize,
    },
    /// Schema-change impact analysis on a generated catalog, side by side with networkx
    Impact {
        /// Directory with edges.csv and sources.txt (`../shared/peers/gen_graph.py DIR`)
        #[arg(long, value_name = "DIR")]
        graph: PathBuf,
        /// Python with networkx, to run the peer in the same run (skipped when absent)
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// The peer script (`graph_networkx.py`)
        #[arg(long, value_name = "FILE")]
        peer: Option<PathBuf>,
    },
    /// Data-quality validation of a CSV file (`gen_dq_csv.py`), side by side with pandera
    Dq {
        /// The CSV file (id,owner,status,cost,created,parent_id)
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Python with pandera, to run the peer in the same run (skipped when absent)
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// The peer script (`dq_pandera.py`)
        #[arg(long, value_name = "FILE")]
        peer: Option<PathBuf>,
        /// Rounds Charter runs (the best and the median are printed)
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Decisions over HTTP with durable logging: a server on loopback, concurrent keep-alive
    /// clients in the same process, then the decisions in the ledger counted
    DecideHttp {
        /// Concurrent clients, one connection each
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Requests in all
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Offer this many requests a second in all (each client paced, latency measured from
        /// when each request was due); default: each client sends as soon as it is answered
        #[arg(long, value_name = "PER_SECOND")]
        rate: Option<f64>,
        /// Cedar policies in the set
        #[arg(long, default_value_t = 100)]
        policies: usize,
        /// Agents in the registry
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        /// Tools in the registry
        #[arg(long, default_value_t = 5_000)]
        tools: usize,
        /// Also run the same load again while another client creates teams at this rate over
        /// the API (registry writes no decision reads), and compare the two runs
        #[arg(long, value_name = "PER_SECOND")]
        writes_per_sec: Option<f64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Ledger { writers, appends, verify_entries, proof_entries, proofs } => {
            ledger(writers, appends, verify_entries, proof_entries, proofs).await
        }
        BenchCommand::Policy { policies, agents, tools, requests, rounds } => {
            let shape = Shape { policies, agents, tools, requests, ..Shape::default() };
            policy(shape, rounds)
        }
        BenchCommand::Impact { graph, python, peer } => data::impact(&graph, python, peer),
        BenchCommand::Dq { file, python, peer, rounds } => data::dq(&file, python, peer, rounds),
        BenchCommand::Report { agents, seed, rounds, formats } => {
            risk::report(agents, seed, rounds, &formats).await
        }
        BenchCommand::Console { agents, decisions, rounds, seed } => {
            console::console(agents, decisions, rounds, seed).await
        }
        BenchCommand::Cert { agents, decisions, runs, operations, incidents, seed, rounds } => {
            let volume = cert::Volume { agents, decisions, runs, operations, incidents, seed };
            cert::cert(volume, rounds).await
        }
        BenchCommand::ReportOnce { data, format, out } => risk::report_once(&data, format, &out).await,
        BenchCommand::PreparePortfolio { agents, seed, files, data, extra } => {
            risk::prepare(agents, seed, &files, &data, extra.as_deref()).await
        }
        BenchCommand::Health { agents, windows, rounds } => observe::health(agents, windows, rounds),
        BenchCommand::Ingest { clients, spans, batch_traces, url } => {
            ingest::ingest(clients, spans, batch_traces, url).await
        }
        BenchCommand::ServeScratch { dir, receiver } => ingest::serve_scratch(dir, receiver).await,
        BenchCommand::Page { agents, background } => ingest::page(agents, background).await,
        BenchCommand::Guard { corpus, passes, peers, python, peer_mb } => {
            guard::scan(&corpus, passes.max(1), peers.as_deref(), &python, peer_mb)
        }
        BenchCommand::GuardHttp { corpus, rate, seconds, connections } => {
            guard::http(&corpus, rate.max(1), seconds.max(1), connections.max(1)).await
        }
        BenchCommand::Ops { files, megabytes, steps } => ops::ops(files, megabytes * 1_000_000, steps).await,
        BenchCommand::DecideHttp { clients, requests, rate, policies, agents, tools, writes_per_sec } => {
            let shape = Shape { policies, agents, tools, ..Shape::default() };
            let load = http::Load { clients, total: requests, rate, writes_per_sec };
            http::decide_http(shape, load).await
        }
    }
}

fn event(n: u64) -> LogEvent {
    LogEvent {
        action: "observe".into(),
        kind: "bench.event".into(),
        subject: format!("event-{n}"),
        value: serde_json::json!({ "decision": if n.is_multiple_of(7) { "deny" } else { "allow" }, "agent": format!("agent_bench_{:02}", n % 50), "n": n }),
    }
}

/// Fills a workspace with `entries` events in large transactions.
async fn fill(app: &App, workspace: &WorkspaceName, entries: u64) -> Result<Duration> {
    let caller = Caller::local("bench");
    app.create_workspace(&caller, workspace).await?;
    let started = Instant::now();
    let mut done = 1; // the workspace's own creation event
    while done < entries {
        let batch = (entries - done).min(50_000);
        app.log_events(&caller, workspace, (done..done + batch).map(event).collect()).await?;
        done += batch;
    }
    Ok(started.elapsed())
}

/// The `q` quantile of sorted durations (zero when there are none).
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
}

fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

async fn ledger(
    writers: usize,
    appends: u64,
    verify_entries: u64,
    proof_entries: u64,
    proofs: u64,
) -> Result<ExitCode> {
    if writers == 0 || appends < writers as u64 {
        bail!("need at least one writer and one append per writer");
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let store = Store::open_data_dir(scratch.path()).await?;
    let signer = Arc::new(charter_app::ledger::generate_signer("charter-bench")?);
    let verifier = signer.verifier();
    let settings = LedgerSettings {
        signer: Some(signer),
        min_interval: charter_server::CHECKPOINT_INTERVAL,
        ..LedgerSettings::default()
    };
    let plain = App::new(store).with_ledger(settings);
    println!("scratch database: SQLite (WAL, synchronous=FULL) in {}", scratch.path().display());

    // 1. Durable appends from concurrent writers, through group commit.
    let app = plain.clone().with_group_commit();
    let workspace = WorkspaceName::new("appends")?;
    app.create_workspace(&Caller::local("bench"), &workspace).await?;
    let per_writer = appends / writers as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (app, workspace) = (app.clone(), workspace.clone());
        tasks.push(tokio::spawn(async move {
            let caller = Caller::local(format!("writer-{writer}"));
            let mut latencies = Vec::with_capacity(per_writer as usize);
            for n in 0..per_writer {
                let event = event(writer as u64 * per_writer + n);
                let began = Instant::now();
                app.log_event(&caller, &workspace, &event.action, &event.kind, &event.subject, &event.value)
                    .await?;
                latencies.push(began.elapsed());
            }
            Ok::<_, charter_app::AppError>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let total = per_writer * writers as u64;
    println!(
        "appends: {total} durable appends from {writers} concurrent writers in {:.2} s = {:.0} appends/s (latency p50 {}, p99 {})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        micros(quantile(&latencies, 0.5)),
        micros(quantile(&latencies, 0.99)),
    );
    app.checkpoint_pending().await?;
    let report = plain.verify_ledger(&workspace, &verifier, &|_, _| {}).await?;
    if let Some(failure) = report.failure {
        bail!("the appended log does not verify: {failure}");
    }
    println!("appends: the log verifies ({} entries, {} checkpoints)", report.entries, report.checkpoints);

    // 2. Verification of a large log.
    let workspace = WorkspaceName::new("verify")?;
    let filled = fill(&plain, &workspace, verify_entries).await?;
    println!("verify: filled a log of {verify_entries} entries in {:.1} s", filled.as_secs_f64());
    let started = Instant::now();
    let report = plain.verify_ledger(&workspace, &verifier, &|_, _| {}).await?;
    let elapsed = started.elapsed();
    if let Some(failure) = report.failure {
        bail!("the filled log does not verify: {failure}");
    }
    println!(
        "verify: {} entries and {} checkpoints verified in {:.2} s ({:.0} entries/s; every leaf recomputed, every tile and signature checked)",
        report.entries,
        report.checkpoints,
        elapsed.as_secs_f64(),
        report.entries as f64 / elapsed.as_secs_f64()
    );

    // 3. Proofs.
    let (workspace, size) = if proof_entries > 0 {
        let workspace = WorkspaceName::new("proofs")?;
        let filled = fill(&plain, &workspace, proof_entries).await?;
        println!("proofs: filled a log of {proof_entries} entries in {:.1} s", filled.as_secs_f64());
        (workspace, proof_entries)
    } else {
        (workspace, verify_entries)
    };
    let caller = Caller::local("bench");
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut random = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    for _ in 0..proofs {
        let index = random(size);
        let began = Instant::now();
        let proof = plain.inclusion_proof(&caller, &workspace, index, Some(size)).await?;
        inclusion.push(began.elapsed());
        charter_ledger::verify_inclusion(&proof.leaf_hash, index, size, &proof.hashes, &proof.root)?;
        let from = 1 + random(size - 1);
        let began = Instant::now();
        let proof = plain.consistency_proof(&caller, &workspace, from, size).await?;
        consistency.push(began.elapsed());
        charter_ledger::verify_consistency(from, size, &proof.hashes, &proof.from_root, &proof.to_root)?;
    }
    inclusion.sort_unstable();
    consistency.sort_unstable();
    println!(
        "proofs on a log of {size} entries ({proofs} each, tiles read from the database): inclusion p50 {}, p99 {}; consistency p50 {}, p99 {}",
        micros(quantile(&inclusion, 0.5)),
        micros(quantile(&inclusion, 0.99)),
        micros(quantile(&consistency, 0.5)),
        micros(quantile(&consistency, 0.99)),
    );
    plain.store().close().await;
    Ok(ExitCode::SUCCESS)
}

/// Charter's decisions against the raw Cedar authoriser on the same
/// policies, entities and requests, in one thread, alternating rounds.
fn policy(shape: Shape, rounds: usize) -> Result<ExitCode> {
    if shape.requests == 0 || rounds == 0 {
        bail!("need at least one request and one round");
    }
    let (registry, requests) = workload::workload(shape);
    let started = Instant::now();
    let engine = Engine::new(&registry);
    let built = started.elapsed();
    if let Some(error) = engine.unreadable_policies().first() {
        bail!("the workload's policies do not compile: {error}");
    }
    println!(
        "policy: {} Cedar policies, {} agents, {} tools, {} datasets; engine built in {} ms",
        engine.policy_count(),
        registry.agents.len(),
        registry.systems.len(),
        registry.datasets.len(),
        built.as_millis()
    );
    // Each request is decided a millisecond after the previous one, as
    // under load: nothing is shared between decisions by their time.
    let start = 1_795_341_600_000_000_i64;
    let times: Vec<charter_model::Timestamp> = (0..requests.len() as i64)
        .map(|i| charter_model::Timestamp::from_unix_micros(start + i * 1_000).context("a valid time"))
        .collect::<Result<_>>()?;

    // The raw authoriser gets ready-made Cedar requests and the whole set;
    // Charter starts from the JSON-shaped request and does everything.
    let whole = engine.policy_set();
    let authorizer = cedar_policy::Authorizer::new();
    let mut cedar_requests = Vec::with_capacity(requests.len());
    let (mut allowed, mut mismatches) = (0, 0);
    for (request, &now) in requests.iter().zip(&times) {
        let Ok((cedar_request, _)) = engine.authorize(request, now) else {
            bail!("the workload made a request the schema refuses: {request:?}");
        };
        let raw = Outcome::of(&authorizer.is_authorized(&cedar_request, &whole, engine.entities()));
        let decision = engine.decide(request, now);
        let raw_effect = if raw.allow && raw.errors.is_empty() { Effect::Allow } else { Effect::Deny };
        let raw_reasons: Vec<String> = if raw.allow || !raw.reasons.is_empty() {
            raw.reasons.iter().cloned().collect()
        } else {
            vec![reason::DEFAULT_DENY.to_owned()]
        };
        if decision.decision != raw_effect || (raw.errors.is_empty() && decision.reasons != raw_reasons) {
            mismatches += 1;
        }
        allowed += usize::from(decision.allowed());
        cedar_requests.push(cedar_request);
    }
    println!(
        "policy: {} requests, {allowed} allowed, {} denied; decisions identical to raw Cedar: {}",
        requests.len(),
        requests.len() - allowed,
        if mismatches == 0 { "all".to_owned() } else { format!("NO, {mismatches} differ") }
    );

    let mut raw_times = Vec::with_capacity(rounds);
    let mut charter_times = Vec::with_capacity(rounds);
    let mut sink = 0_usize;
    for _ in 0..rounds {
        let began = Instant::now();
        for request in &cedar_requests {
            let response = authorizer.is_authorized(request, &whole, engine.entities());
            sink += usize::from(response.decision() == cedar_policy::Decision::Allow);
        }
        raw_times.push(began.elapsed());
        let began = Instant::now();
        for (request, &now) in requests.iter().zip(&times) {
            sink += usize::from(engine.decide(request, now).allowed());
        }
        charter_times.push(began.elapsed());
    }
    std::hint::black_box(sink);
    raw_times.sort_unstable();
    charter_times.sort_unstable();
    let rate = |times: &[Duration]| requests.len() as f64 / quantile(times, 0.5).as_secs_f64();
    let (raw, charter) = (rate(&raw_times), rate(&charter_times));
    println!(
        "policy: raw cedar-policy {:.0} decisions/s, Charter {:.0} decisions/s (one thread, median of {rounds} rounds): {:.1}x",
        raw,
        charter,
        charter / raw
    );
    Ok(if mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
