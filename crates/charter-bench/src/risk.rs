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

use crate::data::peak_mb;

/// The day of the generated portfolio's last snapshot.
const END_DATE: &str = "2024-12-20";

/// Runs this executable with `args` (a child process, so that what it
/// allocates is not in this one's peak memory); fails with its stderr.
fn this_executable(args: &[&str]) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the charter-bench executable")?;
    let output =
        Command::new(&exe).args(args).output().with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        bail!("charter-bench {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
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
    this_executable(&args).map(drop)
}

/// Above this many agents the phases are not timed one by one: the
/// whole assessment they hold would not fit the memory target.
const PHASES_UP_TO: usize = 30_000;

pub(crate) async fn report(
    agents: usize,
    seed: u64,
    rounds: usize,
    formats: &[ReportFormat],
) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let (files, data) = (scratch.path().join("portfolio"), scratch.path().join("data"));
    let started = Instant::now();
    prepare_in_child(agents, seed, &files, &data)?;
    println!(
        "report: {agents} agents with 52 weekly snapshots and a year of risk history each, generated and imported in {}",
        seconds(started.elapsed())
    );

    // The day of the last snapshot, so the window changes and the days
    // open risks have been open are those of a live portfolio.
    let as_of = END_DATE.parse()?;
    let config = charter_risk::Config::default();

    if agents <= PHASES_UP_TO {
        let app = App::new(charter_store::Store::open_data_dir(&data).await?);
        phases(&app, as_of, &config, scratch.path()).await?;
    } else {
        println!(
            "report: phases not timed one by one above {PHASES_UP_TO} agents (they hold the whole assessment)"
        );
    }

    // End to end, as `charter report` runs it (files written included),
    // each run in a process of its own: its peak is the report's alone.
    let out = scratch.path().join("out");
    for &format in formats {
        let (name, target) = match format {
            ReportFormat::Json => ("json", 1.0),
            ReportFormat::Html => ("html", 5.0),
            ReportFormat::Markdown => ("md", 5.0),
        };
        let (mut times, mut peaks, mut size) = (Vec::new(), Vec::new(), 0);
        for _ in 0..rounds.max(1) {
            let answer = this_executable(&[
                "report-once",
                "--data",
                &data.display().to_string(),
                "--format",
                name,
                "--out",
                &out.display().to_string(),
            ])?;
            let figures: Vec<f64> = answer.split_whitespace().filter_map(|f| f.parse().ok()).collect();
            let [seconds, peak, bytes] = figures[..] else { bail!("report-once answered {answer:?}") };
            times.push(Duration::from_secs_f64(seconds));
            peaks.push(peak);
            size = bytes as u64;
        }
        times.sort();
        println!(
            "report: --format {name}: median {} of {} run(s) (target {target:.0} s), {:.0} MB written, peak memory {} (target 1024 MB; the whole resident set of a process that only makes the report)",
            seconds(times[times.len() / 2]),
            times.len(),
            size as f64 / 1e6,
            megabytes(peaks.into_iter().reduce(f64::max)),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `charter-bench report-once`: the report of workspace `bench` in `data`
/// as of the portfolio's last day, written into `out` as `charter report`
/// writes it; prints the seconds it took, the process's peak resident
/// megabytes and the report's size in bytes.
pub(crate) async fn report_once(data: &Path, format: ReportFormat, out: &Path) -> Result<ExitCode> {
    let app = App::new(charter_store::Store::open_data_dir(data).await?);
    let (caller, workspace) = (Caller::local("bench"), WorkspaceName::new("bench")?);
    let started = Instant::now();
    let report = app.report(&caller, &workspace, END_DATE.parse()?, None, format).await?;
    let written = report.write_to_dir(out)?;
    let took = started.elapsed();
    let size = std::fs::metadata(&written)?.len();
    println!("{} {} {size}", took.as_secs_f64(), peak_mb().unwrap_or(f64::NAN));
    Ok(ExitCode::SUCCESS)
}

/// Times each phase of the report once, on the whole portfolio in memory:
/// reading the records, assessing, the JSON, the charts and the page.
async fn phases(
    app: &App,
    as_of: charter_model::Date,
    config: &charter_risk::Config,
    scratch: &Path,
) -> Result<()> {
    let (caller, workspace) = (Caller::local("bench"), WorkspaceName::new("bench")?);
    let t = Instant::now();
    let records = app.portfolio_records(&caller, &workspace).await?;
    let read = t.elapsed();
    let t = Instant::now();
    let assessment = charter_risk::assess(&records.portfolio(as_of), config);
    let assess = t.elapsed();
    let t = Instant::now();
    let json_path = scratch.join("phase.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&json_path)?);
    serde_json::to_writer(&mut file, &assessment)?;
    std::io::Write::flush(&mut file)?;
    drop(file);
    let to_json = t.elapsed();
    let json_bytes = std::fs::metadata(&json_path)?.len();
    let t = Instant::now();
    let charted: Vec<&str> =
        assessment.agents.iter().take(charter_risk::report::RISKIEST).map(|a| a.agent_id.as_str()).collect();
    let charts = charter_risk::charts::charts(&records.snapshots, &charted, as_of, config)
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
    Ok(())
}
