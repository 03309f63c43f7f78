//! `charter-bench guard`: the safety filter's throughput and quality on a
//! labelled corpus (`gen_pii_corpus.py`), side by side with Presidio in the
//! same run; its worst case on pathological input; and `guard-http`: the
//! filter endpoint's latency for 4 KB bodies at a fixed request rate,
//! ledger write included.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_guard::{Scanner, redact};
use charter_model::RedactionMode;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// MB/s (10^6 bytes) of `work` over `bytes`, the median of `passes`.
fn rate(bytes: usize, passes: usize, mut work: impl FnMut()) -> f64 {
    median(
        (0..passes)
            .map(|_| {
                let started = Instant::now();
                work();
                bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Long runs of the characters the patterns are made of.
fn pathological() -> Vec<(&'static str, Vec<u8>)> {
    const SIZE: usize = 2_000_000;
    let run = |unit: &[u8]| unit.repeat(SIZE / unit.len());
    vec![
        ("digits", run(b"1")),
        ("at signs", run(b"@")),
        ("base64", run(b"aB3+")),
        ("dotted digits", run(b"1.")),
        ("plus and digits", run(b"+1 ")),
        ("colons", run(b"a:")),
        ("keywords without values", run(b"password=")),
        // A PEM private key BEGIN line (a fixture), again and again with no END.
        ("PEM headers", run(include_bytes!("../fixtures/pem_header.txt"))),
        ("JWT starts", run(b"eyJ")),
        ("email fragments", run(b"a@b.")),
        ("IPv6 groups", run(b"a:a:a:a:a:a:a:a ")),
    ]
}

/// The peer's MB/s from its output line `…: 0.16 MB/s (…`.
fn peer_rate(output: &str) -> Option<f64> {
    let line = output.lines().find(|line| line.contains(" MB/s ("))?;
    let before = &line[..line.find(" MB/s (")?];
    before.rsplit(' ').next()?.parse().ok()
}

pub(crate) fn scan(
    corpus: &Path,
    passes: usize,
    peers: Option<&Path>,
    python: &str,
    peer_mb: Option<f64>,
) -> Result<ExitCode> {
    let text = std::fs::read(corpus.join("text.txt")).with_context(|| {
        format!("{}: no text.txt (write a corpus with gen_pii_corpus.py --out DIR)", corpus.display())
    })?;
    let scanner = Scanner::new();
    let started = Instant::now();
    let findings = scanner.scan(&text);
    let cold = text.len() as f64 / 1e6 / started.elapsed().as_secs_f64();
    let modes = vec![Some(RedactionMode::Placeholder); findings.len()];
    let scan = rate(text.len(), passes, || {
        std::hint::black_box(scanner.scan(&text));
    });
    let scan_redact = rate(text.len(), passes, || {
        let found = scanner.scan(&text);
        std::hint::black_box(redact(&text, &found, &modes[..found.len()], b"bench key"));
    });
    println!(
        "guard scan: {:.1} MB, {} findings, one thread: first pass (detectors compiled on the way) {cold:.0} MB/s; \
         scan {scan:.0} MB/s; scan + redact every finding {scan_redact:.0} MB/s (median of {passes})",
        text.len() as f64 / 1e6,
        findings.len()
    );
    let findings_path = corpus.join("charter_findings.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&findings_path)?);
    for finding in &findings {
        serde_json::to_writer(&mut out, finding)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let mut worst = f64::MAX;
    for (name, input) in pathological() {
        let mb = rate(input.len(), passes.min(5), || {
            std::hint::black_box(scanner.scan(&input));
        });
        println!("guard worst case: {name} ({:.0} MB): {mb:.0} MB/s", input.len() as f64 / 1e6);
        worst = worst.min(mb);
    }
    println!("guard worst case: slowest {worst:.0} MB/s");
    let Some(peers) = peers else {
        println!("findings in {} (score: pii_score.py LABELS DECOYS FINDINGS)", findings_path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let score = |findings: &Path| -> Result<String> {
        let output = Command::new(python)
            .arg(peers.join("pii_score.py"))
            .arg(corpus.join("labels.jsonl"))
            .arg(corpus.join("decoys.jsonl"))
            .arg(findings)
            .output()
            .with_context(|| format!("cannot run {python}"))?;
        if !output.status.success() {
            bail!("pii_score.py failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    println!("Charter, all corpus types:\n{}", score(&findings_path)?);
    let mut peer = Command::new(python);
    peer.arg(peers.join("pii_presidio.py")).arg(corpus).arg("--redact");
    if let Some(mb) = peer_mb {
        peer.arg("--mb").arg(mb.to_string());
    }
    let output = peer.output().with_context(|| format!("cannot run {python} pii_presidio.py"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    if !output.status.success() {
        bail!("pii_presidio.py failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let presidio = peer_rate(&text).context("no MB/s line in the peer's output")?;
    println!(
        "same run: Charter scan + redact {scan_redact:.0} MB/s, Presidio (regex recognizers + anonymizer) {presidio:.2} MB/s: {:.0}×",
        scan_redact / presidio
    );
    Ok(ExitCode::SUCCESS)
}

/// Bodies of about 4 KB: line-aligned pieces of the corpus.
fn bodies(text: &[u8], size: usize, count: usize) -> Vec<String> {
    let mut bodies = Vec::with_capacity(count);
    let mut at = 0;
    while bodies.len() < count {
        if at + size >= text.len() {
            at = 0;
        }
        let end =
            text[at + size..].iter().position(|&b| b == b'\n').map_or(text.len(), |n| at + size + n + 1);
        bodies.push(String::from_utf8_lossy(&text[at..end]).into_owned());
        at = end;
    }
    bodies
}

pub(crate) async fn http(
    corpus: &Path,
    rate_per_s: u32,
    seconds: u32,
    connections: usize,
) -> Result<ExitCode> {
    let text = std::fs::read(corpus.join("text.txt"))
        .with_context(|| format!("{}: no text.txt", corpus.display()))?;
    let total = (rate_per_s * seconds) as usize;
    let payloads: Vec<String> = bodies(&text, 4_000, total.min(20_000))
        .into_iter()
        .enumerate()
        .map(|(i, content)| {
            serde_json::json!({"agent": crate::ingest::agent_id(i % 200), "direction": "egress",
                "destination": crate::ingest::tool_id(i % 200 % 50), "content": content})
            .to_string()
        })
        .collect();
    let child = crate::ingest::Child::start(None)?;
    let (address, token) = (child.address, child.token.clone());
    // Warm up: the detectors compile, the guard and engine load.
    let mut sender = crate::ingest::connect(address).await?;
    for payload in payloads.iter().take(200) {
        crate::ingest::post_json(&mut sender, "/v1/workspaces/bench/filter", &token, payload.clone()).await?;
    }
    // Open loop: request i is due at start + i / rate; its latency counts
    // from when it was due, so a stall delays (and counts against) the
    // requests behind it.
    let payloads = Arc::new(payloads);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate_per_s));
    let started = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let (payloads, token) = (payloads.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut sender = crate::ingest::connect(address).await?;
            let mut latencies = Vec::new();
            let mut failed = 0usize;
            let mut i = connection;
            while i < total {
                let due = started + interval * i as u32;
                tokio::time::sleep_until(due).await;
                let payload = payloads[i % payloads.len()].clone();
                let status =
                    crate::ingest::post_json(&mut sender, "/v1/workspaces/bench/filter", &token, payload)
                        .await?;
                latencies.push(due.elapsed());
                failed += usize::from(!status.is_success());
                i += connections;
            }
            anyhow::Ok((latencies, failed))
        }));
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for task in tasks {
        let (l, f) = task.await??;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let q = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "guard http: {} requests of ~4 KB at {rate_per_s}/s offered over {connections} connections, {:.1} s: \
         {:.0}/s done; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {failed} failed",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    let (store, _dir) = child.stop().await?;
    let row =
        store.workspace(&charter_model::WorkspaceName::new("bench")?).await?.context("the workspace")?;
    let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros() as i64;
    let from = charter_model::Timestamp::from_unix_micros(0).context("epoch")?;
    let until = charter_model::Timestamp::from_unix_micros(now_us + 86_400_000_000).context("now")?;
    let logged = store.events_between(row.id, "filter", None, from, until).await?.len();
    println!("guard http: {logged} filterings in the ledger");
    store.close().await;
    Ok(if failed == 0 && logged >= total { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
