//! `charter bench decide-http`: decisions over HTTP with durable logging.
//!
//! A real server (the router `charter serve` runs, with group commit and
//! rate-limited checkpoints) on loopback, over SQLite in a scratch
//! directory holding the policy benchmark's registry; N clients on
//! keep-alive HTTP/1.1 connections, each sending its next request when the
//! previous answer arrives. The clients run in the same process and share
//! the machine's cores with the server. Afterwards the decisions in the
//! ledger are counted: every answer with a decision id must be there.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, ImportSource};
use charter_model::{RecordKind, Role, WorkspaceName};
use charter_policy::workload::{Shape, workload};
use charter_store::{EventFilter, Store};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The registry of `shape` as import files.
fn registry_files(shape: Shape) -> Result<(ImportSource, Vec<String>)> {
    let (registry, requests) = workload(shape);
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
    Ok((ImportSource { origin: "benchmark workload".into(), files, ignored: Vec::new() }, bodies))
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    ids: usize,
    failures: usize,
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
        }
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
}

pub(crate) async fn decide_http(
    shape: Shape,
    clients: usize,
    total: usize,
    rate: Option<f64>,
) -> Result<ExitCode> {
    if clients == 0 || total < clients {
        bail!("need at least one client and one request per client");
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
    let (source, bodies) = registry_files(shape)?;
    app.import(&local, &workspace, source, true).await?;
    let token: Arc<str> =
        app.create_token(&local, &workspace, Role::Operator, "gateway").await?.secret.into();
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
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let pace = match rate {
        Some(rate) if rate > 0.0 => Some(Duration::from_secs_f64(clients as f64 / rate)),
        Some(_) => bail!("--rate must be positive"),
        None => None,
    };
    let mut tasks = Vec::new();
    let now = tokio::time::Instant::now();
    for index in 0..clients {
        // Paced clients start spread over one pace, not all at once.
        let start = now + pace.unwrap_or_default().mul_f64(index as f64 / clients as f64);
        tasks.push(tokio::spawn(client(
            address,
            token.clone(),
            bodies.clone(),
            next.clone(),
            total,
            pace,
            start,
        )));
    }
    let mut seen = Seen::default();
    for task in tasks {
        let mine = task.await??;
        seen.latencies.extend(mine.latencies);
        seen.ids += mine.ids;
        seen.failures += mine.failures;
    }
    let elapsed = started.elapsed();
    stop.send(()).ok();
    server.await??;

    seen.latencies.sort_unstable();
    let row = store.workspace(&workspace).await?.context("the workspace")?;
    let filter = EventFilter { kind: Some(charter_policy::DECISION.to_owned()), ..EventFilter::default() };
    let (mut logged, mut after) = (0_usize, before);
    loop {
        let page = store.events_matching(row.id, &filter, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        logged += page.len();
    }
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    let offered =
        rate.map_or_else(|| "as fast as answered".to_owned(), |rate| format!("offered {rate:.0}/s"));
    println!(
        "decide-http: {clients} clients ({offered}), {total} requests in {:.2} s: {:.0} decisions/s; latency p50 {}, p99 {}, max {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        ms(quantile(&seen.latencies, 0.5)),
        ms(quantile(&seen.latencies, 0.99)),
        ms(quantile(&seen.latencies, 1.0)),
    );
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
    Ok(if logged == seen.ids && seen.failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
