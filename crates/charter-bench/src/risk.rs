//! `charter-bench report`: the executive report on a generated portfolio
//! (`charter gen portfolio`, 52 weekly snapshots per agent), imported into
//! a scratch SQLite data directory by child processes so that this process
//! measures only the reports: each phase once (read the nine layers, assess,
//! JSON, charts and page), then each format end to end as `charter report`
//! runs it, with the median time and the peak resident memory.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use charter_app::{App, Caller, ReportFormat};
use charter_model::WorkspaceName;

use charter_app::ImportSource;
use charter_bench::portfolio::PortfolioSpec;

use crate::data::{peak_mb, reset_peak};

/// The day of the generated portfolio's last snapshot.
const END_DATE: &str = "2024-12-20";

/// Runs this executable with `args` (a child process, so that what it
/// allocates is not in this one's peak memory); fails with its stderr.
fn this_executable(args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the charter-bench executable")?;
    let output =
        Command::new(&exe).args(args).output().with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        bail!("charter-bench {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// `charter-bench prepare-portfolio`: the portfolio `charter gen portfolio`
/// writes, generated into `files` and imported into workspace `bench` of a
/// new SQLite data directory `data`, as `charter init`, `charter workspace
/// create` and `charter import` would.
pub(crate) async fn prepare(
    agents: usize,
    seed: u64,
    files: &Path,
    data: &Path,
    extra: Option<&Path>,
) -> Result<ExitCode> {
    let end_date = END_DATE.parse()?;
    charter_bench::portfolio::portfolio(PortfolioSpec { agents, seed, end_date }, files)
        .with_context(|| format!("cannot write the portfolio to {}", files.display()))?;
    if let Some(extra) = extra {
        merge_extra(extra, files)?;
    }
    charter_store::create_private_dir(data).with_context(|| format!("cannot create {}", data.display()))?;
    let app = App::new(charter_store::Store::open_data_dir(data).await?);
    let (caller, workspace) = (Caller::local("bench"), WorkspaceName::new("bench")?);
    app.create_workspace(&caller, &workspace).await?;
    app.import(&caller, &workspace, ImportSource::from_dir(files)?, true).await?;
    Ok(ExitCode::SUCCESS)
}

/// Adds the records of the files in `extra` to the generated ones: a file
/// of the same name gets the extra records appended.
fn merge_extra(extra: &Path, files: &Path) -> Result<()> {
    for entry in std::fs::read_dir(extra).with_context(|| format!("cannot read {}", extra.display()))? {
        let path = entry?.path();
        let name = path.file_name().context("a file without a name")?;
        let read = |path: &Path| -> Result<Vec<serde_json::Value>> {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a JSON array", path.display()))
        };
        let target = files.join(name);
        let mut records = if target.exists() { read(&target)? } else { Vec::new() };
        records.extend(read(&path)?);
        std::fs::write(&target, serde_json::to_vec_pretty(&records)?)?;
    }
    Ok(())
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn megabytes(peak: Option<f64>) -> String {
    peak.map_or_else(|| "unknown".into(), |mb| format!("{mb:.0} MB"))
}

/// Generates and imports the portfolio in a child process (see [`prepare`]).
pub(crate) fn prepare_in_child(agents: usize, seed: u64, files: &Path, data: &Path) -> Result<()> {
    prepare_with_extra(agents, seed, files, data, None)
}

/// [`prepare_in_child`], with the records of the JSON files in `extra`
/// imported too (appended to the generated file of the same name).
pub(crate) fn prepare_with_extra(
    agents: usize,
    seed: u64,
    files: &Path,
    data: &Path,
    extra: Option<&Path>,
) -> Result<()> {
    let path = |p: &Path| p.display().to_string();
    let (agents, seed, files, data) = (agents.to_string(), seed.to_string(), path(files), path(data));
    let mut args =
        vec!["prepare-portfolio", "--agents", &agents, "--seed", &seed, "--files", &files, "--data", &data];
    let extra = extra.map(path);
    if let Some(extra) = &extra {
        args.extend(["--extra", extra.as_str()]);
    }
    this_executable(&args)
}

pub(crate) async fn report(agents: usize, seed: u64, rounds: usize) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let (files, data) = (scratch.path().join("portfolio"), scratch.path().join("data"));
    let started = Instant::now();
    prepare_in_child(agents, seed, &files, &data)?;
    println!(
        "report: {agents} agents with 52 weekly snapshots and a year of risk history each, generated and imported in {}",
        seconds(started.elapsed())
    );

    let app = App::new(charter_store::Store::open_data_dir(&data).await?);
    let (caller, workspace) = (Caller::local("bench"), WorkspaceName::new("bench")?);
    // The day of the last snapshot, so the window changes and the days
    // open risks have been open are those of a live portfolio.
    let as_of = END_DATE.parse()?;
    let config = charter_risk::Config::default();

    // Phases, once.
    let t = Instant::now();
    let records = app.portfolio_records(&caller, &workspace).await?;
    let read = t.elapsed();
    let t = Instant::now();
    let assessment = charter_risk::assess(&records.portfolio(as_of), &config);
    let assess = t.elapsed();
    let t = Instant::now();
    let json_path = scratch.path().join("phase.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&json_path)?);
    serde_json::to_writer(&mut file, &assessment)?;
    std::io::Write::flush(&mut file)?;
    drop(file);
    let to_json = t.elapsed();
    let json_bytes = std::fs::metadata(&json_path)?.len();
    let t = Instant::now();
    let charted: Vec<&str> =
        assessment.agents.iter().take(charter_risk::report::RISKIEST).map(|a| a.agent_id.as_str()).collect();
    let charts = charter_risk::charts::charts(&records.snapshots, &charted, as_of, &config)
        .map_err(anyhow::Error::msg)?;
    let charts_time = t.elapsed();
    let t = Instant::now();
    let page = charter_risk::report::html("bench", &assessment, &charts);
    let page_time = t.elapsed();
    println!(
        "report: phases: read {} records in {}; assess in {}; JSON ({:.0} MB) written in {}; {} charts of {} agents in {}; HTML page ({:.0} MB) in {}",
        records.agents.len()
            + records.systems.len()
            + records.workflows.len()
            + records.kpis.len()
            + records.signals.len()
            + records.snapshots.len()
            + records.values.len()
            + records.reviews.len()
            + records.risk_events.len(),
        seconds(read),
        seconds(assess),
        json_bytes as f64 / 1e6,
        seconds(to_json),
        charts.len(),
        charted.len(),
        seconds(charts_time),
        page.len() as f64 / 1e6,
        seconds(page_time),
    );
    drop((page, charts, assessment, records));

    // End to end, as `charter report` runs it (files written included).
    let out = scratch.path().join("out");
    for (format, name, target) in [(ReportFormat::Json, "json", 2.0), (ReportFormat::Html, "html", 5.0)] {
        let mut times = Vec::new();
        let mut peak = None;
        for _ in 0..rounds.max(1) {
            reset_peak();
            let t = Instant::now();
            let report = app.report(&caller, &workspace, as_of, None, format).await?;
            report.write_to_dir(&out)?;
            times.push(t.elapsed());
            drop(report);
            if let Some(mb) = peak_mb() {
                peak = Some(peak.map_or(mb, |p: f64| p.max(mb)));
            }
        }
        times.sort();
        println!(
            "report: --format {name}: median {} of {} run(s) (target {target:.0} s), peak memory {} (target 1024 MB; the process's whole resident set)",
            seconds(times[times.len() / 2]),
            times.len(),
            megabytes(peak),
        );
    }
    Ok(ExitCode::SUCCESS)
}
