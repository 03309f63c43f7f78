//! `charter-bench ingest`: OTLP/HTTP trace ingest of GenAI spans over
//! loopback from concurrent clients, in both encodings (issue 15's target:
//! 50,000 spans/s sustained, nothing lost), and `charter-bench page`: the
//! time from the ingest that crosses an anomaly threshold to the page
//! arriving at a local receiver (target p99 ≤ 1 s).
//!
//! The server is a child process (this binary, `serve-scratch`): the
//! router `charter serve` runs, with group commit, checkpoints, the alert
//! evaluator and the pager, over SQLite in a scratch directory holding a
//! registry of agents and tools. The clients send batches as the
//! OpenTelemetry SDK's batch processor does (up to 512 spans; a trace's
//! children before its root), prepared before the clock starts. Afterwards
//! the stored spans and runs are counted.

use std::io::{BufRead, Write as _};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::ledger::LedgerSettings;
use charter_app::{App, Caller, ImportSource};
use charter_model::{RecordKind, Role, WorkspaceName};
use charter_store::Store;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

/// Agents of the scratch registry.
const AGENTS: usize = 200;
/// Tools of the scratch registry.
const TOOLS: usize = 50;

pub(crate) fn agent_id(n: usize) -> String {
    format!("agent_bench_{n:04}")
}

pub(crate) fn tool_id(n: usize) -> String {
    format!("tool_{n:03}")
}

/// The scratch registry: teams, an operator, agents with their tools, the
/// tools, a price for the model the spans name.
fn registry(receiver: Option<&str>) -> Result<ImportSource> {
    let mut files = Vec::new();
    let mut add = |kind: RecordKind, value: serde_json::Value| -> Result<()> {
        files.push(charter_app::import::SourceFile {
            name: kind.file_name().to_owned(),
            bytes: serde_json::to_vec(&value)?,
        });
        Ok(())
    };
    add(
        RecordKind::Team,
        serde_json::json!([{"team_id": "bench", "name": "Bench", "lead": "bench_operator"}]),
    )?;
    add(
        RecordKind::Person,
        serde_json::json!([{"person_id": "bench_operator", "name": "Bench Operator", "team": "bench",
            "roles": ["operator", "admin", "incident_commander"]}]),
    )?;
    add(
        RecordKind::System,
        serde_json::Value::Array(
            (0..TOOLS).map(|t| serde_json::json!({"system_id": tool_id(t), "type": "API"})).collect(),
        ),
    )?;
    add(
        RecordKind::Agent,
        serde_json::Value::Array(
            (0..AGENTS)
                .map(|a| {
                    serde_json::json!({"agent_id": agent_id(a), "name": format!("Bench agent {a}"), "status": "active",
                        "owner_team": "bench", "dependencies": [tool_id(a % TOOLS), tool_id((a + 1) % TOOLS), tool_id((a + 2) % TOOLS)]})
                })
                .collect(),
        ),
    )?;
    add(
        RecordKind::Policy,
        serde_json::json!([{"policy_id": "POL-BENCH-WRITERS", "title": "Writers write", "purpose": "bench",
            "rules": "operators and admins write", "owner": "bench_operator", "status": "Active",
            "cedar": "permit(principal is User, action == Action::\"write_record\", resource is Workspace) when { context has writer && (principal.roles.contains(context.writer) || principal.roles.contains(\"admin\")) };"}]),
    )?;
    let mut settings = serde_json::json!({"settings_id": "default",
        "prices": {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}});
    if let Some(url) = receiver {
        // Hour-long windows, so the page benchmark's history lies in windows
        // that do not move while it runs.
        settings["window_minutes"] = 60.into();
        settings["receivers"] = serde_json::json!({"hook": {"kind": "webhook", "url": url}});
        add(
            RecordKind::Procedure,
            serde_json::json!([{"procedure_id": "PROC-RESPOND-AGENT-INCIDENT", "title": "Respond", "purpose": "bench",
                "steps": "1. respond", "owner": "bench_operator", "status": "Active"}]),
        )?;
        add(
            RecordKind::AlertClass,
            serde_json::json!([{"class_id": "agent-drift", "reasons": ["anomaly:signal-beyond-baseline"], "severity": "high",
                "owner": "bench_operator", "runbook": "PROC-RESPOND-AGENT-INCIDENT", "receivers": ["hook"]}]),
        )?;
    }
    add(RecordKind::ObserveSettings, serde_json::Value::Array(vec![settings]))?;
    // The safety filter's rules (charter-bench guard-http): secrets never
    // leave, personal data leaving is replaced by placeholders, payment data
    // is masked.
    add(
        RecordKind::DlpRule,
        serde_json::json!([
            {"rule_id": "DLP-SECRETS", "direction": "egress", "match": {"families": ["secret"]}, "action": "block"},
            {"rule_id": "DLP-PERSONAL", "direction": "egress", "match": {"families": ["personal"]}, "action": "redact"},
            {"rule_id": "DLP-PAYMENT", "match": {"families": ["financial"]}, "action": "redact", "redaction": "mask"}
        ]),
    )?;
    Ok(ImportSource { origin: "benchmark registry".into(), files, ignored: Vec::new() })
}

/// `serve-scratch`: a server over a scratch registry, its address and an
/// operator token printed on one line; serves until stdin closes.
pub(crate) async fn serve_scratch(dir: std::path::PathBuf, receiver: Option<String>) -> Result<ExitCode> {
    let store = Store::open_data_dir(&dir).await?;
    let settings = LedgerSettings {
        signer: Some(Arc::new(charter_app::ledger::generate_signer("charter-bench")?)),
        min_interval: charter_server::CHECKPOINT_INTERVAL,
        ..LedgerSettings::default()
    };
    let app = App::new(store.clone()).with_ledger(settings).with_notifier(Arc::new(charter_notify::Webhook));
    let workspace = WorkspaceName::new("bench")?;
    let local = Caller::local("bench");
    app.import(&local, &workspace, registry(receiver.as_deref())?, true).await?;
    let token = app.create_token(&local, &workspace, Role::Operator, "bench_operator").await?.secret;
    let app = app.with_group_commit();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{} {token}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().lock().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                line.clear();
            }
        })
        .await;
    };
    charter_server::serve(
        listener,
        app,
        charter_server::Limits { body_bytes: 16 << 20, ..Default::default() },
        stdin_closed,
    )
    .await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The server child and what it printed.
pub(crate) struct Child {
    process: std::process::Child,
    pub(crate) address: std::net::SocketAddr,
    pub(crate) token: Arc<str>,
    dir: tempfile::TempDir,
}

impl Child {
    pub(crate) fn start(receiver: Option<&str>) -> Result<Child> {
        let dir = tempfile::tempdir()?;
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("serve-scratch").arg(dir.path());
        if let Some(url) = receiver {
            command.arg("--receiver").arg(url);
        }
        let mut process = command
            .env("CHARTER_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the server process")?;
        let stdout = process.stdout.take().context("no stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let (address, token) = line.trim().split_once(' ').context("the server printed no address")?;
        Ok(Child { process, address: address.parse()?, token: token.into(), dir })
    }

    /// Stops the server (closing its stdin) and opens its store.
    pub(crate) async fn stop(mut self) -> Result<(Store, tempfile::TempDir)> {
        drop(self.process.stdin.take());
        self.process.wait()?;
        Ok((Store::open_data_dir(self.dir.path()).await?, self.dir))
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.into())
}

/// Batch `n`: `traces` traces of five spans (a chat, three tool calls, the
/// root invoke_agent last) of agents in `agents`, ending a second before now.
fn batch(n: usize, traces: usize, now_ns: u64, agents: std::ops::Range<usize>) -> ExportTraceServiceRequest {
    let mut spans = Vec::with_capacity(traces * 5);
    for t in 0..traces {
        let trace = (n * traces + t) as u128 + 1;
        let trace_id = trace.to_be_bytes().to_vec();
        let agent = agents.start + (n * 7 + t) % agents.len();
        let root_id = ((trace as u64) << 8 | 1).to_be_bytes().to_vec();
        let end = now_ns - 1_000_000_000;
        let start = end - 800_000_000;
        let child = |k: u64, name: &str, attributes: Vec<KeyValue>| Span {
            trace_id: trace_id.clone(),
            span_id: ((trace as u64) << 8 | (k + 2)).to_be_bytes().to_vec(),
            parent_span_id: root_id.clone(),
            name: name.into(),
            start_time_unix_nano: start + k * 100_000_000,
            end_time_unix_nano: start + k * 100_000_000 + 90_000_000,
            attributes,
            status: Some(Status { code: 1, message: String::new() }),
            ..Default::default()
        };
        spans.push(child(
            0,
            "chat gpt-4o-mini",
            vec![
                kv("gen_ai.operation.name", text("chat")),
                kv("gen_ai.request.model", text("gpt-4o-mini")),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(1_200)),
                kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(300)),
            ],
        ));
        for k in 1..4 {
            let tool = tool_id((agent + k as usize - 1) % TOOLS);
            spans.push(child(
                k,
                &format!("execute_tool {tool}"),
                vec![kv("gen_ai.operation.name", text("execute_tool")), kv("gen_ai.tool.name", text(&tool))],
            ));
        }
        spans.push(Span {
            trace_id,
            span_id: root_id,
            name: "invoke_agent".into(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes: vec![
                kv("gen_ai.operation.name", text("invoke_agent")),
                kv("gen_ai.agent.id", text(&agent_id(agent))),
            ],
            status: Some(Status { code: 1, message: String::new() }),
            ..Default::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", text("bench-worker"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// One client: posts the next body until none is left; returns the spans
/// the server accepted (sent minus those its partial successes rejected)
/// and the requests that failed.
async fn client(
    address: std::net::SocketAddr,
    token: Arc<str>,
    bodies: Arc<Vec<(Bytes, usize)>>,
    next: Arc<AtomicUsize>,
    content_type: &'static str,
) -> Result<(usize, usize, Vec<Duration>)> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let (mut accepted, mut failed, mut latencies) = (0, 0, Vec::new());
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let Some((body, spans)) = bodies.get(n) else {
            return Ok((accepted, failed, latencies));
        };
        let request = hyper::Request::post("/v1/traces")
            .header(hyper::header::HOST, "bench")
            .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(body.clone()))?;
        let began = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let answer = response.into_body().collect().await?.to_bytes();
        latencies.push(began.elapsed());
        if !status.is_success() {
            failed += 1;
            continue;
        }
        // A full success is an empty answer (protobuf) or `{}` (JSON).
        let rejected = if answer.is_empty() || answer.as_ref() == b"{}" {
            0
        } else {
            let value: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
            value["partialSuccess"]["rejectedSpans"].as_str().and_then(|n| n.parse().ok()).unwrap_or(*spans)
        };
        accepted += spans - rejected;
    }
}

pub(crate) async fn ingest(
    clients: usize,
    spans: usize,
    batch_traces: usize,
    url: Option<String>,
) -> Result<ExitCode> {
    if clients == 0 || batch_traces == 0 || spans < batch_traces * 5 {
        bail!("need a client, a trace per batch and at least one batch of spans");
    }
    let batches = spans / (batch_traces * 5);
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64;
    let mut clean = true;
    for (encoding, content_type) in [("protobuf", "application/x-protobuf"), ("json", "application/json")] {
        let offset = if encoding == "json" { batches } else { 0 };
        let prepared = Instant::now();
        let bodies: Vec<(Bytes, usize)> = (0..batches)
            .map(|n| {
                let request = batch(n + offset, batch_traces, now_ns, 0..AGENTS);
                let body = match encoding {
                    "protobuf" => request.encode_to_vec(),
                    _ => serde_json::to_vec(&request).unwrap_or_default(),
                };
                (Bytes::from(body), batch_traces * 5)
            })
            .collect();
        let bytes: usize = bodies.iter().map(|(b, _)| b.len()).sum();
        println!(
            "ingest {encoding}: {batches} batches of {} spans ({:.1} MB) prepared in {:.1} s",
            batch_traces * 5,
            bytes as f64 / 1e6,
            prepared.elapsed().as_secs_f64()
        );
        let (child, address, token) = match &url {
            Some(url) => (None, url.parse()?, Arc::<str>::from("none")),
            None => {
                let child = Child::start(None)?;
                let (address, token) = (child.address, child.token.clone());
                (Some(child), address, token)
            }
        };
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(client(address, token.clone(), bodies.clone(), next.clone(), content_type)))
            .collect();
        let (mut accepted, mut failed, mut latencies) = (0, 0, Vec::new());
        for task in tasks {
            let (a, f, l) = task.await??;
            accepted += a;
            failed += f;
            latencies.extend(l);
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        let sent = batches * batch_traces * 5;
        println!(
            "ingest {encoding}: {clients} clients, {sent} spans in {:.2} s: {:.0} spans/s accepted; request latency p50 {:.1} ms, p99 {:.1} ms; {accepted} accepted, {failed} requests failed",
            elapsed.as_secs_f64(),
            accepted as f64 / elapsed.as_secs_f64(),
            crate::quantile(&latencies, 0.5).as_secs_f64() * 1e3,
            crate::quantile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
        if let Some(child) = child {
            let (store, _dir) = child.stop().await?;
            let row = store.workspace(&WorkspaceName::new("bench")?).await?.context("the workspace")?;
            let stored = store.count_spans(row.id).await?;
            let runs = store
                .record_counts(row.id)
                .await?
                .into_iter()
                .find(|(k, _)| k == "run")
                .map_or(0, |(_, n)| n);
            let ok = stored == sent as u64 && runs == (batches * batch_traces) as u64 && failed == 0;
            println!(
                "ingest {encoding}: {stored} spans and {runs} runs stored ({})",
                if ok {
                    "none lost".to_owned()
                } else {
                    format!("MISMATCH: sent {sent} spans in {} traces", batches * batch_traces)
                }
            );
            clean &= ok;
            store.close().await;
        }
    }
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One run of `agent` in native span JSON: a root of `length_ms`, ending at `end_us`.
fn native_run(trace: u128, agent: usize, end_us: i64, length_ms: i64) -> serde_json::Value {
    serde_json::json!({"trace_id": format!("{trace:032x}"), "span_id": "00000000000000a1", "name": "run",
        "kind": "invoke_agent", "agent_id": agent_id(agent), "start_us": end_us - length_ms * 1_000,
        "end_us": end_us, "status": "ok"})
}

pub(crate) async fn post_json(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    path: &str,
    token: &str,
    body: String,
) -> Result<hyper::StatusCode> {
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, "bench")
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}

pub(crate) async fn connect(
    address: std::net::SocketAddr,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A local webhook receiver: the time each agent's first page arrived.
async fn receiver() -> Result<(String, tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/alerts", listener.local_addr()?);
    let (pages, arrived) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let pages = pages.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buffer = [0; 16_384];
                loop {
                    let Ok(n) = socket.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buffer[..n]);
                    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse().ok()))
                        .unwrap_or(0);
                    if data.len() < end + 4 + length {
                        continue;
                    }
                    let arrived = Instant::now();
                    let body: serde_json::Value =
                        serde_json::from_slice(&data[end + 4..end + 4 + length]).unwrap_or_default();
                    if body["status"] == "firing"
                        && let Some(agent) = body["alerts"][0]["labels"]["agent"].as_str()
                    {
                        let _ = pages.send((agent.to_owned(), arrived));
                    }
                    let _ = socket.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
                    data.drain(..end + 4 + length);
                }
            });
        }
    });
    Ok((url, arrived))
}

/// `charter-bench page`: for each of `agents` agents with a steady history
/// and two drifting hours, the ingest of the run that makes the third is
/// timed to the page's arrival at a local webhook receiver; with
/// `background` clients sending ordinary batches of other traces meanwhile.
pub(crate) async fn page(agents: usize, background: usize) -> Result<ExitCode> {
    if agents == 0 || agents > AGENTS / 2 {
        bail!("--agents must be between 1 and {}", AGENTS / 2);
    }
    let (url, mut arrived) = receiver().await?;
    let child = Child::start(Some(&url))?;
    let (address, token) = (child.address, child.token.clone());
    let hour = 3_600_000_000_i64;
    let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros() as i64;
    let current = now_us.div_euclid(hour) * hour;
    // History: thirteen steady hours (100 ms runs), then two at 5 s.
    let mut sender = connect(address).await?;
    let mut trace = 1_000_000_u128;
    for agent in 0..agents {
        let mut spans = Vec::new();
        for back in (1..=15).rev() {
            trace += 1;
            let length = if back <= 2 { 5_000 } else { 100 + (back % 5) * 10 };
            spans.push(native_run(trace, agent, current - back * hour + 600_000_000, length));
        }
        let status = post_json(
            &mut sender,
            "/v1/workspaces/bench/runs/ingest",
            &token,
            serde_json::Value::Array(spans).to_string(),
        )
        .await?;
        if !status.is_success() {
            bail!("the history of agent {agent} was refused: {status}");
        }
    }
    // Let the evaluator see the history (no page: the third hour is not in yet).
    tokio::time::sleep(Duration::from_secs(2)).await;
    if let Ok((agent, _)) = arrived.try_recv() {
        bail!("agent {agent} was paged before its third drifting hour");
    }
    println!(
        "page: {agents} agents with 15 hours of history each; hour-long windows; {background} background clients"
    );
    // Background load: ordinary batches for the other agents.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let now_ns = (now_us as u64) * 1_000;
    let mut loaders = Vec::new();
    for client in 0..background {
        let (stop, token) = (stop.clone(), token.clone());
        loaders.push(tokio::spawn(async move {
            let mut sender = connect(address).await?;
            let mut n = 100_000 + client * 100_000;
            let mut sent = 0_usize;
            while !stop.load(Ordering::Relaxed) {
                let body = batch(n, 100, now_ns, AGENTS / 2..AGENTS).encode_to_vec();
                n += 1;
                let request = hyper::Request::post("/v1/traces")
                    .header(hyper::header::HOST, "bench")
                    .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(hyper::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(Full::new(Bytes::from(body)))?;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                response.into_body().collect().await?;
                sent += 500;
            }
            Ok::<usize, anyhow::Error>(sent)
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut missed = 0;
    for agent in 0..agents {
        trace += 1;
        let body = serde_json::Value::Array(vec![native_run(
            trace,
            agent,
            now_us - 1_000_000 + agent as i64,
            5_000,
        )])
        .to_string();
        let sent = Instant::now();
        let status = post_json(&mut sender, "/v1/workspaces/bench/runs/ingest", &token, body).await?;
        if !status.is_success() {
            bail!("the drifting run of agent {agent} was refused: {status}");
        }
        let wanted = agent_id(agent);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, arrived.recv()).await {
                Ok(Some((paged, at))) if paged == wanted => {
                    latencies.push(at.duration_since(sent));
                    break;
                }
                Ok(Some(_)) => continue,
                _ => {
                    missed += 1;
                    break;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut background_spans = 0;
    for loader in loaders {
        background_spans += loader.await??;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "page: {} pages timed, {missed} missed (none within 10 s); ingest-to-page latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {background_spans} background spans ingested meanwhile ({:.0}/s)",
        latencies.len(),
        ms(crate::quantile(&latencies, 0.5)),
        ms(crate::quantile(&latencies, 0.99)),
        ms(crate::quantile(&latencies, 1.0)),
        background_spans as f64 / elapsed.as_secs_f64()
    );
    let (store, _dir) = child.stop().await?;
    store.close().await;
    Ok(if missed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
