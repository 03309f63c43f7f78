//! `charter-bench decide-http`: decisions over HTTP with durable logging.
//!
//! A real server (the router `charter serve` runs, with group commit and
//! rate-limited checkpoints) on loopback, over SQLite in a scratch
//! directory holding the policy benchmark's registry; N clients on
//! keep-alive HTTP/1.1 connections, each sending its next request when the
//! previous answer arrives. The clients run in the same process and share
//! the machine's cores with the server. Afterwards the decisions in the
//! ledger are counted: every answer with a decision id must be there.
//!
//! With `--writes-per-sec`, the same load runs twice on the same server:
//! alone, then while one more client creates teams over the API at that
//! rate (registry writes that no decision reads), and the two runs are
//! compared. A decision point that failed or re-made decisions on every
//! registry write would answer 503s or slow down there.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, ImportSource};
use charter_bench::workload::{Shape, workload};
use charter_model::{RecordKind, Role, WorkspaceName};
use charter_store::{EventFilter, Store};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The registry of `shape` as import files, the requests as bodies, and an
/// agent of the registry.
fn registry_files(shape: Shape) -> Result<(ImportSource, Vec<String>, String)> {
    let (registry, requests) = workload(shape);
    let agent = registry.agents.first().context("the workload has no agent")?.agent_id.to_string();
    let mut files = Vec::new();
    let mut add = |kind: RecordKind, bytes: serde_json::Result<Vec<u8>>| -> Result<()> {
        files.push(charter_app::import::SourceFile { name: kind.file_name().to_owned(), bytes: bytes? });
        Ok(())
    };
    add(RecordKind::Team, serde_json::to_vec(&registry.teams))?;
    add(RecordKind::Person, serde_json::to_vec(&registry.people))?;
    add(RecordKind::System, serde_json::to_vec(&registry.systems))?;
    add(RecordKind::Agent, serde_json::to_vec(&registry.agents))?;
    add(RecordKind::Dataset, serde_json::to_vec(&registry.datasets))?;
    add(RecordKind::Workflow, serde_json::to_vec(&registry.workflows))?;
    add(RecordKind::Policy, serde_json::to_vec(&registry.policies))?;
    let bodies = requests.iter().map(serde_json::to_string).collect::<serde_json::Result<Vec<_>>>()?;
    Ok((ImportSource { origin: "benchmark workload".into(), files, ignored: Vec::new() }, bodies, agent))
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    ids: usize,
    failures: usize,
    /// Answers 503 (the decision could not be logged).
    unavailable: usize,
}

impl Seen {
    fn add(&mut self, other: Seen) {
        self.latencies.extend(other.latencies);
        self.ids += other.ids;
        self.failures += other.failures;
        self.unavailable += other.unavailable;
    }
}

/// The load to offer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Concurrent clients.
    pub(crate) clients: usize,
    /// Requests in all.
    pub(crate) total: usize,
    /// Requests offered per second in all (paced clients), or as fast as
    /// answered.
    pub(crate) rate: Option<f64>,
    /// Registry writes per second during a second run.
    pub(crate) writes_per_sec: Option<f64>,
}

/// One client: sends requests until `total` have been sent by all. With a
/// `pace`, it sends one every `pace` and measures each latency from when the
/// request was due (so a slow answer that delays the next request counts
/// against the server, not hidden by it); without, it sends the next request
/// as soon as the previous answer arrives.
async fn client(
    address: std::net::SocketAddr,
    token: Arc<str>,
    bodies: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    total: usize,
    pace: Option<Duration>,
    start: tokio::time::Instant,
) -> Result<Seen> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let uri = format!("http://{address}/v1/workspaces/bench/decide");
    let mut seen = Seen::default();
    let mut due = start;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total {
            return Ok(seen);
        }
        if pace.is_some() {
            tokio::time::sleep_until(due).await;
        }
        let request = hyper::Request::post(&uri)
            .header(hyper::header::HOST, "bench")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bodies[n % bodies.len()].clone())))?;
        let began = if pace.is_some() { due.into_std() } else { Instant::now() };
        if let Some(pace) = pace {
            due += pace;
        }
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        seen.latencies.push(began.elapsed());
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status.is_success() && answer["decision_id"].is_string() {
            seen.ids += 1;
        } else {
            seen.failures += 1;
            if status == hyper::StatusCode::SERVICE_UNAVAILABLE {
                seen.unavailable += 1;
            }
        }
    }
}

/// Creates teams over the API at `per_second` until `stop`; returns how
/// many were created and how many writes failed.
async fn writer(
    address: std::net::SocketAddr,
    token: Arc<str>,
    per_second: f64,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Result<(usize, usize)> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let uri = format!("http://{address}/v1/workspaces/bench/teams");
    let pace = Duration::from_secs_f64(1.0 / per_second);
    let (mut written, mut failed) = (0, 0);
    let mut due = tokio::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep_until(due).await;
        due += pace;
        let n = written + failed;
        let body = serde_json::json!({ "team_id": format!("team_churn_{n}"), "name": format!("Churn {n}") });
        let request = hyper::Request::post(&uri)
            .header(hyper::header::HOST, "bench")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status.is_success() { written += 1 } else { failed += 1 }
    }
    Ok((written, failed))
}

/// One run of `load` against the server at `address`.
async fn run(
    address: std::net::SocketAddr,
    token: &Arc<str>,
    bodies: &Arc<Vec<String>>,
    load: Load,
) -> Result<(Seen, Duration)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let pace = match load.rate {
        Some(rate) if rate > 0.0 => Some(Duration::from_secs_f64(load.clients as f64 / rate)),
        Some(_) => bail!("--rate must be positive"),
        None => None,
    };
    let mut tasks = Vec::new();
    let now = tokio::time::Instant::now();
    for index in 0..load.clients {
        // Paced clients start spread over one pace, not all at once.
        let start = now + pace.unwrap_or_default().mul_f64(index as f64 / load.clients as f64);
        tasks.push(tokio::spawn(client(
            address,
            token.clone(),
            bodies.clone(),
            next.clone(),
            load.total,
            pace,
            start,
        )));
    }
    let mut seen = Seen::default();
    for task in tasks {
        seen.add(task.await??);
    }
    let elapsed = started.elapsed();
    seen.latencies.sort_unstable();
    Ok((seen, elapsed))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Prints one run's figures; returns its throughput and p99.
fn report(label: &str, load: Load, seen: &Seen, elapsed: Duration) -> (f64, Duration) {
    let offered =
        load.rate.map_or_else(|| "as fast as answered".to_owned(), |rate| format!("offered {rate:.0}/s"));
    let throughput = load.total as f64 / elapsed.as_secs_f64();
    let p99 = crate::quantile(&seen.latencies, 0.99);
    println!(
        "decide-http{label}: {} clients ({offered}), {} requests in {:.2} s: {throughput:.0} decisions/s; latency p50 {}, p99 {}, max {}; {} failures ({} of them 503)",
        load.clients,
        load.total,
        elapsed.as_secs_f64(),
        ms(crate::quantile(&seen.latencies, 0.5)),
        ms(p99),
        ms(crate::quantile(&seen.latencies, 1.0)),
        seen.failures,
        seen.unavailable,
    );
    (throughput, p99)
}

pub(crate) async fn decide_http(shape: Shape, load: Load) -> Result<ExitCode> {
    if load.clients == 0 || load.total < load.clients {
        bail!("need at least one client and one request per client");
    }
    if load.writes_per_sec.is_some_and(|rate| !(rate > 0.0 && rate.is_finite())) {
        bail!("--writes-per-sec must be positive");
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let store = Store::open_data_dir(scratch.path()).await?;
    let settings = LedgerSettings {
        signer: Some(Arc::new(charter_app::ledger::generate_signer("charter-bench")?)),
        min_interval: charter_server::CHECKPOINT_INTERVAL,
        ..LedgerSettings::default()
    };
    let app = App::new(store.clone()).with_ledger(settings);
    let workspace = WorkspaceName::new("bench")?;
    let local = Caller::local("bench");
    let (source, bodies, agent) = registry_files(shape)?;
    app.import(&local, &workspace, source, true).await?;
    // The clients hold an agent's token; the writer, the installation's own
    // admin token.
    let token: Arc<str> = app.create_token(&local, &workspace, Role::Operator, &agent).await?.secret.into();
    let steward: Arc<str> = app.create_token(&local, &workspace, Role::Admin, "bench").await?.secret.into();
    let app = app.with_group_commit();
    let loaded = app.policy_engine(&local, &workspace).await?;
    println!(
        "decide-http: {} Cedar policies over {} agents and {} tools, SQLite (WAL, synchronous=FULL) in {}",
        loaded.engine.policy_count(),
        shape.agents,
        shape.tools,
        scratch.path().display()
    );
    let before = store.event_count(store.workspace(&workspace).await?.context("the workspace")?.id).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(charter_server::serve(
        listener,
        app.clone(),
        charter_server::Limits::default(),
        async {
            stopped.await.ok();
        },
    ));

    let bodies = Arc::new(bodies);
    let (mut seen, elapsed) = run(address, &token, &bodies, load).await?;
    let (alone_throughput, alone_p99) = report("", load, &seen, elapsed);
    let mut writes_failed = 0;
    if let Some(per_second) = load.writes_per_sec {
        let stop_writing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writing = tokio::spawn(writer(address, steward.clone(), per_second, stop_writing.clone()));
        let (churned, elapsed) = run(address, &token, &bodies, load).await?;
        stop_writing.store(true, Ordering::Relaxed);
        let (written, failed) = writing.await??;
        writes_failed = failed;
        let label = format!(" with {per_second:.0} registry writes/s");
        let (throughput, p99) = report(&label, load, &churned, elapsed);
        println!(
            "decide-http: {written} teams created during the second run ({:.1}/s), {failed} writes failed; \
             against the run alone: throughput {:.2}x, p99 {:.2}x",
            written as f64 / elapsed.as_secs_f64(),
            throughput / alone_throughput,
            p99.as_secs_f64() / alone_p99.as_secs_f64().max(1e-9),
        );
        seen.add(churned);
    }
    stop.send(()).ok();
    server.await??;

    let row = store.workspace(&workspace).await?.context("the workspace")?;
    let filter = EventFilter { kind: Some(charter_policy::DECISION.to_owned()), ..EventFilter::default() };
    let (mut logged, mut after) = (0_usize, before);
    loop {
        let page = store.events_matching(row.id, &filter, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        logged += page.len();
    }
    println!(
        "decide-http: {} answers with a decision id, {} failures; {logged} decisions in the ledger ({})",
        seen.ids,
        seen.failures,
        if logged == seen.ids {
            "none lost".to_owned()
        } else {
            format!("MISMATCH: {} lost", seen.ids as i64 - logged as i64)
        }
    );
    store.close().await;
    let clean = logged == seen.ids && seen.failures == 0 && writes_failed == 0;
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
