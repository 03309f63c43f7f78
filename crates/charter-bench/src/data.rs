//! `charter-bench impact` and `charter-bench dq`: data-model governance
//! measured side by side with the Python tools a user would otherwise
//! reach for, on the same generated inputs, in the same run.
//!
//! - impact: the catalog of `gen_graph.py` (100,000 datasets, 1,000,000
//!   dependency edges) as dataset records, with 1,000 agents managing them,
//!   2,000 workflows and 20 policies; one schema change (a field removed)
//!   analysed from each of the 1,000 sources, against networkx's
//!   `descendants` for the same sources.
//! - dq: the 1,000,000-row CSV of `gen_dq_csv.py` validated from the file
//!   (reading included) with the five check classes pandera's script runs,
//!   against pandera; peak memory on the whole file and on a quarter of it.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::Clock as _;
use charter_data::quality::{Format, KeySets, Options};
use charter_data::{ImpactRecords, Index, Walker};
use charter_model::{Agent, Dataset, Policy, Team, Workflow};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs a peer script and returns its output, or why it did not run.
fn peer(python: Option<PathBuf>, script: Option<PathBuf>, arg: &Path) -> Option<String> {
    let (python, script) = (python?, script?);
    let output = std::process::Command::new(&python).arg(&script).arg(arg).output();
    match output {
        Ok(output) if output.status.success() => {
            Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        }
        Ok(output) => {
            eprintln!("peer {} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr).trim());
            None
        }
        Err(error) => {
            eprintln!("peer {} did not start: {error}", python.display());
            None
        }
    }
}

/// The number just before `unit` in `text`, e.g. `300.1` in `300.1 ms/query`.
fn number_before(text: &str, unit: &str) -> Option<f64> {
    let end = text.find(unit)?;
    text[..end].split_whitespace().last()?.parse().ok()
}

fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    // INVARIANT: the values below are built to match the record types.
    serde_json::from_value(value).unwrap_or_else(|error| unreachable!("bench record: {error}"))
}

pub(crate) fn impact(dir: &Path, python: Option<PathBuf>, script: Option<PathBuf>) -> Result<ExitCode> {
    let started = Instant::now();
    let edges_path = dir.join("edges.csv");
    let reader = BufReader::new(
        std::fs::File::open(&edges_path).with_context(|| format!("cannot read {}", edges_path.display()))?,
    );
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for (index, line) in reader.lines().enumerate().skip(1) {
        let line = line?;
        let Some((from, to)) = line.split_once(',') else {
            bail!("{}: line {}: expected from,to", edges_path.display(), index + 1)
        };
        edges.push((from.trim().parse()?, to.trim().parse()?));
    }
    let sources: Vec<u32> = std::fs::read_to_string(dir.join("sources.txt"))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse())
        .collect::<Result<_, _>>()?;
    let nodes = edges.iter().map(|&(a, b)| a.max(b)).max().map_or(0, |m| m as usize + 1);

    // The catalog as records: dataset v depends on u for every edge u -> v.
    let mut dependencies: Vec<Vec<String>> = vec![Vec::new(); nodes];
    for &(from, to) in &edges {
        dependencies[to as usize].push(format!("D{from}"));
    }
    let agents_n = 1_000;
    let datasets: Vec<Dataset> = dependencies
        .into_iter()
        .enumerate()
        .map(|(n, deps)| {
            json(serde_json::json!({
                "dataset_id": format!("D{n}"),
                "dataset_name": format!("dataset {n}"),
                "fields": [
                    {"name": "id", "type": "integer", "key": true, "mandatory": true},
                    {"name": "value", "type": "string"},
                    {"name": "upstream_id", "type": "integer"}
                ],
                "dependencies": deps,
                "managed_by_agent": format!("AGENT-D{}-OPS", n % agents_n),
            }))
        })
        .collect();
    let teams: Vec<Team> = (0..10)
        .map(|t| json(serde_json::json!({"team_id": format!("team{t}"), "name": format!("Team {t}"), "lead": format!("lead{t}")})))
        .collect();
    let agents: Vec<Agent> = (0..agents_n)
        .map(|a| {
            json(serde_json::json!({
                "agent_id": format!("AGENT-D{a}-OPS"), "name": format!("agent {a}"), "status": "active",
                "owner_team": format!("team{}", a % 10), "primary_dataset": format!("D{a}")
            }))
        })
        .collect();
    let workflows: Vec<Workflow> = (0..2 * agents_n)
        .map(|w| {
            json(serde_json::json!({"workflow_id": format!("wf_{w}"), "agent_id": format!("AGENT-D{}-OPS", w % agents_n), "human_in_the_loop": false, "failure_rate_7d": 1.0}))
        })
        .collect();
    let policies: Vec<Policy> = (0..20)
        .map(|p| {
            json(serde_json::json!({
                "policy_id": format!("POL-DATA-P{p}"), "title": "t", "purpose": "p", "owner": "steward", "status": "Active",
                "rules": format!("1. AGENT-D{p}-OPS alone writes D{} and D{}", p * 7, p * 13)
            }))
        })
        .collect();
    let loaded = started.elapsed();
    let registry = ImpactRecords {
        datasets: &datasets,
        agents: &agents,
        workflows: &workflows,
        policies: &policies,
        grants: &[],
        teams: &teams,
    };
    let started = Instant::now();
    let index = Index::new(registry);
    let built = started.elapsed();
    println!(
        "impact: catalog of {} datasets and {} distinct edges ({} agents, {} workflows, {} policies); read in {:.2} s, indexed in {:.2} s",
        index.catalog().len(),
        index.catalog().edge_count(),
        agents.len(),
        workflows.len(),
        policies.len(),
        loaded.as_secs_f64(),
        built.as_secs_f64()
    );

    // The downstream walk alone (what nx.descendants computes), each source
    // once, before any analysis has touched it.
    let mut walker = Walker::default();
    let mut walks = Vec::with_capacity(sources.len());
    for &source in &sources {
        let started = Instant::now();
        std::hint::black_box(walker.walk(index.catalog(), source).len());
        walks.push(started.elapsed());
    }
    // What the product answers: the full analysis and its JSON, each source
    // once, with a fresh walker (no scratch warmed by the walk above).
    let mut walker = Walker::default();
    let mut times = Vec::with_capacity(sources.len());
    let mut answered = Vec::with_capacity(sources.len());
    let mut serialised = Vec::with_capacity(sources.len());
    let mut descendants = 0_usize;
    let mut affected_agents = 0_usize;
    let mut json_bytes = 0_usize;
    let now = charter_app::SystemClock.now();
    for &source in &sources {
        let dataset = &datasets[source as usize];
        let mut proposed = dataset.schema();
        proposed.fields.retain(|f| f.name != "value");
        let diff = charter_data::diff(&dataset.schema(), &proposed, &Default::default())
            .map_err(|p| anyhow::anyhow!(p.join("; ")))?;
        let started = Instant::now();
        let impact = index
            .analyze(&mut walker, dataset.dataset_id.as_str(), &diff, now)
            .context("source not in the catalog")?;
        let analysed = started.elapsed();
        let text = serde_json::to_vec(&impact)?;
        let total = started.elapsed();
        json_bytes += text.len();
        std::hint::black_box(text);
        times.push(analysed);
        serialised.push(total - analysed);
        answered.push(total);
        descendants += impact.downstream.len();
        affected_agents += impact.agents.len();
    }
    let q = sources.len().max(1);
    let mean = |list: &[Duration]| ms(list.iter().sum::<Duration>()) / q as f64;
    let (mean_ms, walk_mean_ms, answer_mean_ms) = (mean(&times), mean(&walks), mean(&answered));
    for list in [&mut times, &mut walks, &mut serialised, &mut answered] {
        list.sort();
    }
    println!(
        "impact: {q} proposed changes, each source once: analysis with its JSON mean {answer_mean_ms:.2} ms, p50 {:.2} ms, p99 {:.2} ms (the analysis alone mean {mean_ms:.2} ms, p99 {:.2} ms; its JSON p50 {:.2} ms, mean {:.0} KB); the downstream walk alone (what nx.descendants computes) mean {walk_mean_ms:.3} ms, p50 {:.3} ms; mean {:.0} downstream datasets and {:.0} agents per change",
        ms(percentile(&answered, 0.5)),
        ms(percentile(&answered, 0.99)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&serialised, 0.5)),
        json_bytes as f64 / q as f64 / 1e3,
        ms(percentile(&walks, 0.5)),
        descendants as f64 / q as f64,
        affected_agents as f64 / q as f64
    );
    if let Some(output) = peer(python, script, dir) {
        println!("peer: {output}");
        if let Some(peer_ms) = number_before(&output, "ms/query") {
            println!(
                "impact: mean against mean: networkx {peer_ms:.1} ms per descendants query; Charter's answer (analysis with paths, agents, workflows, policies and owners, and its JSON) {answer_mean_ms:.2} ms: {:.1}x; Charter's walk alone {walk_mean_ms:.3} ms: {:.0}x",
                peer_ms / answer_mean_ms,
                peer_ms / walk_mean_ms,
            );
        }
        let peer_mean = output
            .split("mean descendants")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok());
        if let Some(peer_mean) = peer_mean {
            let ours = descendants as f64 / q as f64;
            if (peer_mean - ours).abs() > 1.0 {
                println!(
                    "impact: WARNING mean descendants differ: networkx {peer_mean:.0}, Charter {ours:.0}"
                );
            } else {
                println!("impact: same mean number of descendants as networkx ({ours:.0})");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The schema of `gen_dq_csv.py`'s file, with the checks of `dq_pandera.py`.
fn dq_schema() -> Dataset {
    json(serde_json::json!({
        "dataset_id": "Bench_Orders",
        "dataset_name": "bench",
        "fields": [
            {"name": "id", "type": "integer", "key": true, "mandatory": true},
            {"name": "owner", "type": "string", "mandatory": true},
            {"name": "status", "type": "string", "mandatory": true, "allowed_values": ["open", "closed", "pending", "archived"]},
            {"name": "cost", "type": "number", "mandatory": true},
            {"name": "created", "type": "date", "mandatory": true},
            {"name": "parent_id", "type": "integer", "references": {"dataset": "Bench_Orders", "field": "id"}}
        ],
        "rules": [{"name": "cost_non_negative", "expression": "cost >= 0"}]
    }))
}

/// Peak resident memory of this process since the last reset, in MB.
pub(crate) fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

pub(crate) fn reset_peak() {
    // Writing 5 to clear_refs resets the peak resident set size (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Validates the file with `threads` checking threads (0: one per core).
fn validate_file(
    schema: &Dataset,
    path: &Path,
    threads: usize,
) -> Result<(charter_data::QualityReport, Duration, Option<f64>)> {
    reset_peak();
    let started = Instant::now();
    let input = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let options = Options { threads, ..Options::default() };
    let report = charter_data::validate(schema, input, Format::Csv, &KeySets::new(), options, &mut |_| {})
        .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    Ok((report, started.elapsed(), peak_mb()))
}

pub(crate) fn dq(
    file: &Path,
    python: Option<PathBuf>,
    script: Option<PathBuf>,
    rounds: usize,
) -> Result<ExitCode> {
    let schema = dq_schema();
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    // One checking thread and one per core, alternating; the reports must
    // be the same.
    let mut times = Vec::new();
    let mut single = Vec::new();
    let mut report = None;
    let mut peak = None;
    for _ in 0..rounds.max(1) {
        let (alone, elapsed, _) = validate_file(&schema, file, 1)?;
        single.push(elapsed);
        let (r, elapsed, p) = validate_file(&schema, file, 0)?;
        if r != alone {
            bail!("one checking thread and one per core disagree on {}", file.display());
        }
        times.push(elapsed);
        peak = p;
        report = Some(r);
    }
    times.sort();
    single.sort();
    let report = report.context("no round ran")?;
    let rows = report.rows as f64;
    let failed: Vec<String> =
        report.checks.iter().filter(|c| c.failed > 0).map(|c| format!("{} {}", c.check, c.failed)).collect();
    let median = times[times.len() / 2];
    println!(
        "dq: {} rows ({:.0} MB), 5 check classes ({} checks): median {:.3} s = {:.2} M rows/s end to end (best {:.2} M rows/s); score {}%; failures: {}",
        report.rows,
        size as f64 / 1e6,
        report.checks.len(),
        median.as_secs_f64(),
        rows / median.as_secs_f64() / 1e6,
        rows / times[0].as_secs_f64() / 1e6,
        report.score,
        failed.join(", ")
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let alone = single[single.len() / 2];
    println!(
        "dq: one checking thread {:.2} M rows/s, {cores} (one per core) {:.2} M rows/s (medians): {:.2}x; the same report",
        rows / alone.as_secs_f64() / 1e6,
        rows / median.as_secs_f64() / 1e6,
        alone.as_secs_f64() / median.as_secs_f64()
    );

    // Memory: the whole file, then its first quarter.
    let quarter = tempfile::NamedTempFile::new()?;
    {
        let mut out = std::io::BufWriter::new(quarter.as_file());
        let input = BufReader::new(std::fs::File::open(file)?);
        for line in input.lines().take(report.rows as usize / 4 + 1) {
            writeln!(out, "{}", line?)?;
        }
    }
    let (small, _, small_peak) = validate_file(&schema, quarter.path(), 0)?;
    if let (Some(peak), Some(small_peak)) = (peak, small_peak) {
        println!(
            "dq: peak resident memory of the process {peak:.1} MB validating {} rows, {small_peak:.1} MB validating {} rows",
            report.rows, small.rows
        );
    }

    if let Some(output) = peer(python, script, file) {
        println!("peer: {output}");
        if let Some(peer_rate) = number_before(&output, "rows/s") {
            let ours = rows / median.as_secs_f64();
            println!(
                "dq: pandera {:.2} M rows/s vs Charter {:.2} M rows/s (median): {:.1}x",
                peer_rate / 1e6,
                ours / 1e6,
                ours / peer_rate
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
