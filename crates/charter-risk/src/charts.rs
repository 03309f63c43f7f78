//! The report's four charts, drawn with plotters as SVG: risk score over
//! time per agent with green/amber/red bands (the configuration's); portfolio cost against ROI;
//! failure rate against manual minutes per run; and a heatmap of agents by
//! snapshot date coloured by risk. Same snapshots, same bytes.

use std::collections::{BTreeMap, BTreeSet};

use charter_model::{Date, Snapshot};

use crate::config::Config;
use plotters::prelude::*;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 360;

/// The green, amber and red bands of the risk score.
#[derive(Debug, Clone, Copy)]
struct Bands {
    amber_from: f64,
    red_from: f64,
}

impl Bands {
    fn color(self, risk: f64) -> RGBColor {
        if risk >= self.red_from {
            RGBColor(214, 69, 65)
        } else if risk >= self.amber_from {
            RGBColor(240, 173, 78)
        } else {
            RGBColor(92, 184, 92)
        }
    }
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// The snapshot dates up to `as_of` and, per agent, its snapshots by date.
fn by_agent<'a>(
    snapshots: &'a [Snapshot],
    agents: &[&str],
    as_of: Date,
) -> (Vec<Date>, BTreeMap<&'a str, BTreeMap<Date, &'a Snapshot>>) {
    let wanted: BTreeSet<&str> = agents.iter().copied().collect();
    let mut dates = BTreeSet::new();
    let mut series: BTreeMap<&str, BTreeMap<Date, &Snapshot>> = BTreeMap::new();
    for s in snapshots.iter().filter(|s| s.snapshot_date <= as_of && wanted.contains(s.agent_id.as_str())) {
        dates.insert(s.snapshot_date);
        series.entry(s.agent_id.as_str()).or_default().insert(s.snapshot_date, s);
    }
    (dates.into_iter().collect(), series)
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn x_label(dates: &[Date]) -> impl Fn(&f64) -> String + '_ {
    move |x: &f64| dates.get(x.round() as usize).map(|d| d.to_string()).unwrap_or_default()
}

/// Chart 1: risk score over time per agent, over the threshold bands.
fn risk_over_time(
    svg: &mut String,
    dates: &[Date],
    series: &BTreeMap<&str, BTreeMap<Date, &Snapshot>>,
    order: &[&str],
    bands: Bands,
) -> Drawn {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let last = dates.len().saturating_sub(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("Risk score over time", ("sans-serif", 18))
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..last, 0f64..100f64)?;
    for (low, high) in [(0.0, bands.amber_from), (bands.amber_from, bands.red_from), (bands.red_from, 100.0)]
    {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, low), (last, high)],
            bands.color(low).mix(0.15).filled(),
        )))?;
    }
    let label = x_label(dates);
    chart.configure_mesh().x_labels(dates.len().min(8)).x_label_formatter(&label).y_desc("risk").draw()?;
    for (index, agent) in order.iter().enumerate() {
        let Some(points) = series.get(agent) else { continue };
        let color = PALETTE[index % PALETTE.len()];
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|(date, s)| dates.iter().position(|d| d == date).map(|x| (x as f64, s.risk_score)))
            .collect();
        chart
            .draw_series(LineSeries::new(line, color.stroke_width(2)))?
            .label(agent.to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

/// Two portfolio lines per snapshot date (sums or means of `a` and `b`).
fn two_lines(
    svg: &mut String,
    title: &str,
    dates: &[Date],
    series: &BTreeMap<&str, BTreeMap<Date, &Snapshot>>,
    (a_name, a): (&str, fn(&Snapshot) -> f64),
    (b_name, b): (&str, fn(&Snapshot) -> f64),
    mean: bool,
) -> Drawn {
    let per_date = |f: fn(&Snapshot) -> f64| -> Vec<(f64, f64)> {
        dates
            .iter()
            .enumerate()
            .map(|(x, date)| {
                let values: Vec<f64> = series.values().filter_map(|s| s.get(date)).map(|s| f(s)).collect();
                let sum: f64 = values.iter().sum();
                (x as f64, if mean && !values.is_empty() { sum / values.len() as f64 } else { sum })
            })
            .collect()
    };
    let (first, second) = (per_date(a), per_date(b));
    let values = first.iter().chain(&second).map(|p| p.1);
    let (low, high) = values.fold((0.0_f64, 1.0_f64), |(l, h), v| (l.min(v), h.max(v)));
    let pad = (high - low) * 0.05;
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let last = dates.len().saturating_sub(1).max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..last, (low - pad)..(high + pad))?;
    let label = x_label(dates);
    chart.configure_mesh().x_labels(dates.len().min(8)).x_label_formatter(&label).draw()?;
    for (name, points, color) in [(a_name, first, PALETTE[0]), (b_name, second, PALETTE[1])] {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

/// Chart 4: agents (with snapshots) by snapshot date, coloured by risk band.
fn heatmap(
    svg: &mut String,
    dates: &[Date],
    series: &BTreeMap<&str, BTreeMap<Date, &Snapshot>>,
    order: &[&str],
    bands: Bands,
) -> Drawn {
    let shown: Vec<&str> = order.iter().copied().filter(|a| series.contains_key(a)).collect();
    let rows = shown.len().max(1) as i32;
    let height = (70 + 22 * rows as u32).max(120);
    let root = SVGBackend::with_string(svg, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let columns = dates.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("Portfolio risk heatmap", ("sans-serif", 18))
        .margin(10)
        .margin_right(40)
        .x_label_area_size(30)
        .y_label_area_size(160)
        .build_cartesian_2d(0f64..columns, (0..rows - 1).into_segmented())?;
    let label = |x: &f64| dates.get(x.floor() as usize).map(|d| d.to_string()).unwrap_or_default();
    // Row 0 is at the bottom: the riskiest agent is drawn on top.
    let agent_label = |y: &SegmentValue<i32>| match y {
        SegmentValue::CenterOf(row) => {
            shown.get((rows - 1 - row) as usize).map(|a| a.to_string()).unwrap_or_default()
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 12))
        .x_labels(dates.len().min(8))
        .x_label_formatter(&label)
        .y_labels(rows as usize)
        .y_label_formatter(&agent_label)
        .draw()?;
    for (index, agent) in shown.iter().enumerate() {
        let row = rows - 1 - index as i32;
        let Some(points) = series.get(agent) else { continue };
        for (x, date) in dates.iter().enumerate() {
            if let Some(s) = points.get(date) {
                let x = x as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, SegmentValue::Exact(row)), (x + 1.0, SegmentValue::Exact(row + 1))],
                    bands.color(s.risk_score).filled(),
                )))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

/// The charts over the snapshots up to `as_of` of `agents`, as (file name,
/// SVG): risk over time, cost against ROI and failure rate against manual
/// minutes (their titles from `titles`), and with `heatmap_too` the risk heatmap.
fn drawn(
    snapshots: &[Snapshot],
    agents: &[&str],
    as_of: Date,
    config: &Config,
    titles: [&str; 2],
    heatmap_too: bool,
) -> Result<Vec<(&'static str, String)>, String> {
    let bands = Bands { amber_from: config.risk_amber_from, red_from: config.risk_red_from };
    let (dates, series) = by_agent(snapshots, agents, as_of);
    let mut out = Vec::new();
    let mut svg = String::new();
    risk_over_time(&mut svg, &dates, &series, agents, bands).map_err(|e| e.to_string())?;
    out.push(("risk-over-time.svg", std::mem::take(&mut svg)));
    two_lines(
        &mut svg,
        titles[0],
        &dates,
        &series,
        ("cost_usd_30d", |s| s.cost_usd_30d),
        ("roi_estimate_usd", |s| s.roi_estimate_usd),
        false,
    )
    .map_err(|e| e.to_string())?;
    out.push(("cost-vs-roi.svg", std::mem::take(&mut svg)));
    two_lines(
        &mut svg,
        titles[1],
        &dates,
        &series,
        ("failure_rate_7d", |s| s.failure_rate_7d),
        ("manual_minutes_per_run", |s| s.manual_minutes_per_run),
        true,
    )
    .map_err(|e| e.to_string())?;
    out.push(("failure-vs-manual.svg", std::mem::take(&mut svg)));
    if heatmap_too {
        heatmap(&mut svg, &dates, &series, agents, bands).map_err(|e| e.to_string())?;
        out.push(("risk-heatmap.svg", svg));
    }
    Ok(out)
}

/// The four charts over the snapshots up to `as_of`, as (file name, SVG), for
/// `agents` in report order, with the risk bands of `config`.
pub fn charts(
    snapshots: &[Snapshot],
    agents: &[&str],
    as_of: Date,
    config: &Config,
) -> Result<Vec<(&'static str, String)>, String> {
    let titles =
        ["Cost vs ROI (portfolio, USD)", "Failure rate (%) vs manual minutes per run (portfolio mean)"];
    drawn(snapshots, agents, as_of, config, titles, true)
}

/// One agent's charts over its snapshots up to `as_of`, as (file name, SVG):
/// its risk score over the bands of `config`, its cost against its ROI, and
/// its failure rate against its manual minutes per run. The report's
/// charts, drawn for the agent alone.
pub fn agent_charts(
    snapshots: &[Snapshot],
    agent: &str,
    as_of: Date,
    config: &Config,
) -> Result<Vec<(&'static str, String)>, String> {
    let cost = format!("Cost vs ROI of {agent} (USD)");
    let failure = format!("Failure rate (%) vs manual minutes per run of {agent}");
    drawn(snapshots, &[agent], as_of, config, [&cost, &failure], false)
}
