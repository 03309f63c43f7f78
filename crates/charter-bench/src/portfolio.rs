//! `charter gen portfolio`: a deterministic synthetic agent portfolio in the
//! nine-file format of `integration-risk-orchestrator-data.md`, for
//! benchmarks and load tests.
//!
//! The same `agents`, `seed` and `end_date` always give byte-identical
//! files. The portfolio is shaped like a real one: systems whose popularity
//! is skewed (a few are used by many agents), agents in every status and
//! criticality, some dependencies on systems nobody documented, workflows
//! with and without a human in the loop, 52 weekly snapshots per agent that
//! drift with a per-agent trend, a year of risk history (risks that
//! escalate, persist, get resolved and come back), owner reviews and three
//! months of expected-vs-actual value.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use charter_model::signals::{Kpis, ValueFigures};
use charter_model::{
    Agent, AgentId, AgentStatus, AuthStatus, Criticality, Date, Key, KpiRecord, OwnershipReview,
    ReviewOutcome, RiskEvent, RiskSignal, RiskStatus, Severity, Snapshot, System, Timestamp, ValueRecord,
    Workflow,
};
use serde::Serialize;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct PortfolioSpec {
    /// Number of agents.
    pub agents: usize,
    /// Seed of the random sequence.
    pub seed: u64,
    /// Date of the last weekly snapshot.
    pub end_date: Date,
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortfolioCounts {
    /// Agents.
    pub agents: usize,
    /// Systems.
    pub systems: usize,
    /// Workflows.
    pub workflows: usize,
    /// Snapshots.
    pub snapshots: usize,
    /// Open risk signals.
    pub risk_signals: usize,
    /// Risk history events.
    pub risk_events: usize,
    /// Owner reviews.
    pub reviews: usize,
    /// Expected-vs-actual value records.
    pub value_records: usize,
}

/// SplitMix64: a small, fast generator whose sequence never changes across
/// versions, which keeps generated files reproducible forever.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[low, high)`.
    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FUNCTIONS: [(&str, &str); 10] = [
    ("sales", "Revenue Ops"),
    ("support", "Support"),
    ("finance", "Finance"),
    ("hr", "People Ops"),
    ("marketing", "Marketing"),
    ("legal", "Legal"),
    ("it", "IT"),
    ("data", "Data Platform"),
    ("security", "Security"),
    ("procurement", "Procurement"),
];

const VENDORS: [(&str, &str); 16] = [
    ("crm", "external_api"),
    ("email", "external_api"),
    ("erp", "internal_system"),
    ("ocr", "external_api"),
    ("ticketing", "external_api"),
    ("kb", "internal_system"),
    ("warehouse", "database"),
    ("payments", "external_api"),
    ("hris", "saas"),
    ("chat", "saas"),
    ("search", "internal_system"),
    ("storage", "internal_system"),
    ("llm", "external_api"),
    ("identity", "internal_system"),
    ("billing", "saas"),
    ("analytics", "database"),
];

const STEPS: [&str; 12] = [
    "fetch_input",
    "classify",
    "enrich",
    "score",
    "draft",
    "validate_fields",
    "human_review",
    "post_to_system",
    "notify",
    "reconcile",
    "archive",
    "summarise",
];

fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10_f64.powi(decimals);
    (value * factor).round() / factor
}

fn key(value: String) -> Key {
    // INVARIANT: generated keys use only letters, digits and '_'.
    Key::new(value).unwrap_or_else(|error| unreachable!("{error}"))
}

fn date_plus(date: Date, days: i64) -> Date {
    date.plus_days(days).unwrap_or(date)
}

fn at_noon(date: Date, minutes: i64) -> Timestamp {
    let micros =
        date.inner().midnight().assume_utc().unix_timestamp() * 1_000_000 + (12 * 60 + minutes) * 60_000_000;
    Timestamp::from_unix_micros(micros).unwrap_or_else(|| unreachable!("generated dates are in range"))
}

const RISK_TYPES: [&str; 4] = ["integration", "operational", "cost", "security"];
const SEVERITIES: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

/// Up to three past risks of agent `index` over the year ending on `end`:
/// each starts in a random week, is seen again every one to three weeks
/// with its severity moving a step at most, and is resolved after two to
/// eight sightings (seventeen times in twenty; the others are still open); one
/// resolved risk in six comes back a few weeks later.
fn risk_year(
    rng: &mut Rng,
    index: usize,
    agent: &AgentId,
    end: Date,
    out: &mut ArrayWriter,
) -> std::io::Result<()> {
    for risk in 0..rng.below(4) {
        let risk_id: Key = key(format!("risk_{index:06}_{risk}"));
        let risk_type = *rng.pick(&RISK_TYPES);
        let mut week = rng.below(48) as i64;
        let mut severity = rng.below(3);
        let sightings = 2 + rng.below(7);
        let resolves = rng.chance(0.85);
        let recurs = resolves && rng.chance(1.0 / 6.0);
        let mut event = 0;
        let mut push = |week: i64, severity: usize, status: RiskStatus, event: &mut usize| {
            let at = at_noon(date_plus(end, 7 * (week - 52)), (*event as i64 * 37) % 600);
            *event += 1;
            out.push(&RiskEvent {
                risk_event_id: key(format!("risk_evt_{index:06}_{risk}_{event}")),
                risk_id: risk_id.clone(),
                agent_id: agent.clone(),
                risk_type: risk_type.to_owned(),
                severity: SEVERITIES[severity],
                signal: format!("{risk_type} signal {event} for {agent}"),
                detected_at: at,
                status,
            })
        };
        for sighting in 0..sightings {
            if week > 52 {
                break;
            }
            let resolved = resolves && sighting + 1 == sightings;
            push(week, severity, if resolved { RiskStatus::Resolved } else { RiskStatus::Open }, &mut event)?;
            week += 1 + rng.below(3) as i64;
            severity = match rng.below(4) {
                0 => severity.saturating_sub(1),
                1 => (severity + 1).min(3),
                _ => severity,
            };
        }
        if recurs {
            week += 2 + rng.below(5) as i64;
            for _ in 0..1 + rng.below(3) {
                if week > 52 {
                    break;
                }
                push(week, severity, RiskStatus::Open, &mut event)?;
                week += 1 + rng.below(3) as i64;
            }
        }
    }
    Ok(())
}

/// Writes a JSON array one element at a time, so memory stays flat.
struct ArrayWriter {
    out: BufWriter<File>,
    count: usize,
}

impl ArrayWriter {
    fn create(dir: &Path, name: &str) -> std::io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
        out.write_all(b"[")?;
        Ok(Self { out, count: 0 })
    }

    fn push<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        self.out.write_all(if self.count == 0 { b"\n  " } else { b",\n  " })?;
        serde_json::to_writer(&mut self.out, value)?;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<usize> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(self.count)
    }
}

/// Writes the nine files of a generated portfolio into `dir` (created if
/// needed).
pub fn portfolio(spec: PortfolioSpec, dir: &Path) -> std::io::Result<PortfolioCounts> {
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(spec.seed ^ 0x6368_6172_7465_7221);
    let system_count = (spec.agents / 20).max(8);

    let mut systems = ArrayWriter::create(dir, "system_integrations.json")?;
    let mut system_ids = Vec::with_capacity(system_count);
    for index in 0..system_count {
        let (vendor, system_type) = VENDORS[index % VENDORS.len()];
        let id = key(format!("{vendor}_{index:05}"));
        let auth = rng.unit();
        systems.push(&System {
            system_id: id.clone(),
            system_type: system_type.to_owned(),
            name: Some(format!("{} {index}", vendor.to_uppercase())),
            schema_version: Some(format!("v{}", 1 + rng.below(5))),
            uptime_30d: Some(round(100.0 - rng.unit().powi(3) * 5.0, 2)),
            latency_ms_p95: Some(round(60.0 + rng.unit().powi(2) * 1_500.0, 0)),
            auth_status: Some(if auth < 0.85 {
                AuthStatus::Valid
            } else if auth < 0.97 {
                AuthStatus::ExpiringSoon
            } else {
                AuthStatus::Expired
            }),
            owner_team: Some(FUNCTIONS[index % FUNCTIONS.len()].1.to_owned()),
            tier: None,
        })?;
        system_ids.push(id);
    }
    let mut counts = PortfolioCounts { systems: systems.finish()?, ..PortfolioCounts::default() };

    let mut agents = ArrayWriter::create(dir, "agents.json")?;
    let mut workflows = ArrayWriter::create(dir, "workflows.json")?;
    let mut kpis = ArrayWriter::create(dir, "kpis_cost.json")?;
    let mut risks = ArrayWriter::create(dir, "risk_signals.json")?;
    let mut risk_history = ArrayWriter::create(dir, "risk_signal_history.json")?;
    let mut snapshots = ArrayWriter::create(dir, "historical_snapshots.json")?;
    let mut reviews = ArrayWriter::create(dir, "ownership_review_history.json")?;
    let mut values = ArrayWriter::create(dir, "expected_vs_actual_value.json")?;
    let first_snapshot = date_plus(spec.end_date, -7 * 51);

    for index in 0..spec.agents {
        let (function, team) = FUNCTIONS[index % FUNCTIONS.len()];
        let agent_id = AgentId::new(format!("agent_{function}_{index:05}"))
            .unwrap_or_else(|error| unreachable!("{error}"));
        let status = match rng.unit() {
            u if u < 0.80 => AgentStatus::Active,
            u if u < 0.92 => AgentStatus::Pilot,
            u if u < 0.97 => AgentStatus::Paused,
            _ => AgentStatus::Retired,
        };
        let criticality = *rng.pick(&[
            Criticality::Low,
            Criticality::Medium,
            Criticality::Medium,
            Criticality::High,
            Criticality::Critical,
        ]);
        let mut dependencies: Vec<Key> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            // Skewed popularity: low indexes are picked far more often.
            let system =
                &system_ids[(rng.unit().powi(3) * system_ids.len() as f64) as usize % system_ids.len()];
            if !dependencies.contains(system) {
                dependencies.push(system.clone());
            }
        }
        if rng.chance(0.02) {
            dependencies.push(key(format!("undocumented_tool_{:02}", rng.below(20))));
        }
        let invocations = 10 + (rng.unit().powi(2) * 20_000.0) as u64;
        agents.push(&Agent {
            agent_id: agent_id.clone(),
            name: format!("{} Agent {index}", capitalise(function)),
            owner_team: Some(team.to_owned()),
            status,
            criticality: Some(criticality),
            daily_invocations: Some(invocations),
            dependencies,
            specialization: None,
            primary_dataset: None,
            tool_permissions: Vec::new(),
            coordination_role: None,
            allowed_regions: Vec::new(),
        })?;

        let human_in_the_loop = rng.chance(0.3);
        let mut workflow_ids = Vec::new();
        for step in 0..1 + rng.below(2) {
            let workflow_id = key(format!("wf_{function}_{index:05}_{step}"));
            let steps = (0..3 + rng.below(4)).map(|_| rng.pick(&STEPS).to_string()).collect();
            workflows.push(&Workflow {
                workflow_id: workflow_id.clone(),
                agent_id: agent_id.clone(),
                name: None,
                steps,
                human_in_the_loop,
                failure_rate_7d: round(rng.unit().powi(2) * 20.0, 1),
                manual_minutes_per_run: human_in_the_loop.then(|| round(rng.range(1.0, 12.0), 0)),
            })?;
            workflow_ids.push(workflow_id);
        }

        // Weekly snapshots drifting with a per-agent trend.
        let trend = rng.range(-0.6, 0.9);
        let mut risk = rng.range(15.0, 60.0);
        let mut cost = rng.range(200.0, 3_000.0);
        let roi_base = rng.range(-1_000.0, 15_000.0);
        let mut manual = if human_in_the_loop { rng.range(1.0, 5.0) } else { 0.0 };
        let mut volume = invocations as f64 * rng.range(0.5, 1.0);
        let mut last = None;
        for week in 0..52 {
            risk = (risk + trend + rng.range(-2.0, 2.0)).clamp(0.0, 100.0);
            cost = (cost * (1.0 + trend / 100.0 + rng.range(-0.02, 0.02))).max(0.0);
            if human_in_the_loop {
                manual = (manual + trend / 20.0 + rng.range(-0.2, 0.2)).clamp(0.0, 30.0);
            }
            volume = (volume * (1.0 + trend / 50.0 + rng.range(-0.03, 0.03))).max(1.0);
            let roi = roi_base * (1.0 - risk / 150.0) - cost * 0.5;
            let snapshot = Snapshot {
                snapshot_date: date_plus(first_snapshot, 7 * week),
                agent_id: agent_id.clone(),
                integration_score: round((100.0 - risk * 0.6 + rng.range(-3.0, 3.0)).clamp(0.0, 100.0), 0),
                risk_score: round(risk, 0),
                value_leakage_score: round((risk * 0.8 + rng.range(-5.0, 5.0)).clamp(0.0, 100.0), 0),
                failure_rate_7d: round((risk / 6.0 + rng.range(-1.0, 1.0)).clamp(0.0, 100.0), 1),
                cost_usd_30d: round(cost, 0),
                daily_invocations: Some(volume.round() as u64),
                roi_estimate_usd: round(roi, 0),
                manual_minutes_per_run: round(manual, 0),
            };
            snapshots.push(&snapshot)?;
            last = Some(snapshot);
        }
        let Some(last) = last else { continue };
        kpis.push(&KpiRecord {
            agent_id: agent_id.clone(),
            kpis: Kpis {
                cost_usd_30d: Some(last.cost_usd_30d),
                roi_estimate_usd: Some(last.roi_estimate_usd),
                other: [("error_rate".to_owned(), round(last.failure_rate_7d / 100.0, 3))].into(),
                previous: Default::default(),
            },
        })?;

        // A year of risk history: risks that came and went before today's.
        risk_year(&mut rng, index, &agent_id, spec.end_date, &mut risk_history)?;
        if rng.chance(0.25) {
            let risk_id = key(format!("risk_{index:06}"));
            let risk_type = rng.pick(&RISK_TYPES).to_string();
            let events = 2 + rng.below(3);
            let mut severity = rng.below(2);
            for event in 0..events {
                severity = (severity + rng.below(2)).min(3);
                risk_history.push(&RiskEvent {
                    risk_event_id: key(format!("risk_evt_{index:06}_{event}")),
                    risk_id: risk_id.clone(),
                    agent_id: agent_id.clone(),
                    risk_type: risk_type.clone(),
                    severity: SEVERITIES[severity],
                    signal: format!("{risk_type} signal {} for {agent_id}", event + 1),
                    detected_at: at_noon(
                        date_plus(spec.end_date, -7 * (events - event) as i64),
                        event as i64 * 17,
                    ),
                    status: RiskStatus::Open,
                })?;
            }
            risks.push(&RiskSignal {
                risk_id,
                agent_id: agent_id.clone(),
                risk_type: risk_type.clone(),
                severity: SEVERITIES[severity],
                signal: format!("{risk_type} risk on {agent_id}"),
                detected_at: at_noon(spec.end_date, 0),
                status: RiskStatus::Open,
                affected_workflows: workflow_ids
                    .iter()
                    .take(1 + rng.below(workflow_ids.len()))
                    .cloned()
                    .collect(),
            })?;
        }

        for review in 0..2 + rng.below(3) {
            let outcome = *rng.pick(&[
                ReviewOutcome::Approved,
                ReviewOutcome::Approved,
                ReviewOutcome::ActionRequired,
                ReviewOutcome::Escalated,
            ]);
            let action_required = outcome != ReviewOutcome::Approved;
            reviews.push(&OwnershipReview {
                review_id: key(format!("rev_{index:06}_{review}")),
                agent_id: agent_id.clone(),
                review_date: date_plus(spec.end_date, -(30 * review as i64 + rng.below(30) as i64)),
                reviewer: format!("{team} Lead"),
                review_type: if outcome == ReviewOutcome::Escalated { "escalation" } else { "monthly" }
                    .to_owned(),
                review_outcome: outcome,
                action_required,
                action_items: if action_required {
                    vec!["Provide a remediation plan".to_owned()]
                } else {
                    Vec::new()
                },
                notes: None,
            })?;
        }

        let expected_roi = round(roi_base.max(500.0), -2);
        for month in 0..3 {
            let end = date_plus(spec.end_date, -30 * month);
            let start = date_plus(end, -29);
            let actual_roi = round(expected_roi * rng.range(0.4, 1.1) - rng.range(0.0, 800.0), 0);
            values.push(&ValueRecord {
                period_start: start,
                period_end: end,
                agent_id: agent_id.clone(),
                expected: ValueFigures {
                    roi_usd: Some(expected_roi),
                    cost_usd: Some(round(cost * 0.9, -1)),
                    manual_minutes_per_run: Some(if human_in_the_loop { 2.0 } else { 0.0 }),
                    other: Default::default(),
                },
                actual: ValueFigures {
                    roi_usd: Some(actual_roi),
                    cost_usd: Some(round(cost * rng.range(0.9, 1.3), 0)),
                    manual_minutes_per_run: Some(round(manual, 0)),
                    other: Default::default(),
                },
                owner_signoff: actual_roi >= expected_roi * 0.8,
                review_notes: None,
            })?;
        }
    }
    counts.agents = agents.finish()?;
    counts.workflows = workflows.finish()?;
    kpis.finish()?;
    counts.risk_signals = risks.finish()?;
    counts.risk_events = risk_history.finish()?;
    counts.snapshots = snapshots.finish()?;
    counts.reviews = reviews.finish()?;
    counts.value_records = values.finish()?;
    Ok(counts)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let spec = PortfolioSpec { agents: 30, seed: 7, end_date: "2024-12-20".parse().unwrap() };
        let (a, b, c) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let counts = portfolio(spec, a.path()).unwrap();
        portfolio(spec, b.path()).unwrap();
        portfolio(PortfolioSpec { seed: 8, ..spec }, c.path()).unwrap();
        assert_eq!(counts.agents, 30);
        assert_eq!(counts.snapshots, 30 * 52);
        for name in ["agents.json", "historical_snapshots.json", "risk_signal_history.json"] {
            let read = |dir: &tempfile::TempDir| std::fs::read(dir.path().join(name)).unwrap();
            assert_eq!(read(&a), read(&b), "{name}");
            assert_ne!(read(&a), read(&c), "{name}");
        }
    }
}
