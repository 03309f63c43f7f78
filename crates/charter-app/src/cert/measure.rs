//! Each metric of the certification catalogue measured from the store over
//! the period ending at `as_of`: records as they are, events up to
//! `as_of`, every metric listing the records it read. `None` where there
//! was nothing to measure on: the verdict fails that closed.

use std::collections::{BTreeMap, BTreeSet};

use charter_cert::{CheckpointRef, DrillResult, Matrix, Observation, Waiver};
use charter_model::{
    Agent, AgentStatus, Alert, AlertClass, AlertStatus, Budget, Dataset, DatasetScope, Drill, DrillKind,
    Incident, IncidentSeverity, KpiRecord, Operation, Person, Policy, Procedure, QualityRun, Role, RunRecord,
    Severity, Timestamp, ValueRecord,
};
use charter_store::WorkspaceRow;

use super::ledger::LedgerReading;
use crate::{App, Caller, Result};

/// Everything a verdict is computed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    pub(crate) observations: Vec<Observation>,
    pub(crate) evidence: BTreeMap<String, u64>,
    pub(crate) drills: Vec<DrillResult>,
    pub(crate) waivers: Vec<Waiver>,
    pub(crate) checkpoint: Option<CheckpointRef>,
    pub(crate) measurements: BTreeMap<String, f64>,
    /// What the ledger showed, for a second reading of the same log.
    pub(crate) cache: Option<LedgerCache>,
}

/// What a reading took from the ledger that a second reading of the same
/// append-only log would compute again to the same result.
#[derive(Debug, Clone)]
pub(crate) struct LedgerCache {
    reading: LedgerReading,
}

/// How many records a metric cites at most (the verdict cuts again).
const CITE: usize = charter_cert::MAX_CITED;
/// Operation runs whose trace chain is checked.
const CHAIN_SAMPLE: usize = 20;

/// A share with the records behind it; failing records are cited first.
#[derive(Debug, Clone, Default)]
struct Share {
    good: u64,
    total: u64,
    bad: Vec<String>,
    seen: Vec<String>,
}

impl Share {
    fn add(&mut self, id: impl Into<String>, ok: bool) {
        let id = id.into();
        self.total += 1;
        if ok {
            self.good += 1;
            if self.seen.len() < CITE {
                self.seen.push(id);
            }
        } else if self.bad.len() < CITE {
            self.bad.push(id);
        }
    }

    fn observe(self, metric: &str, detail: String) -> Observation {
        let mut records = self.bad;
        records.extend(self.seen);
        records.truncate(CITE);
        Observation {
            metric: metric.to_owned(),
            value: (self.total > 0).then(|| self.good as f64 / self.total as f64),
            records,
            records_total: self.total,
            detail: if self.total == 0 {
                format!("none in the period: {detail}")
            } else {
                format!("{} of {}: {detail}", self.good, self.total)
            },
        }
    }
}

fn flag(metric: &str, ok: bool, records: Vec<String>, detail: String) -> Observation {
    Observation {
        metric: metric.to_owned(),
        value: Some(if ok { 1.0 } else { 0.0 }),
        records_total: records.len() as u64,
        records,
        detail,
    }
}

fn within(at: Timestamp, from: Timestamp, to: Timestamp) -> bool {
    at > from && at <= to
}

impl App {
    /// Reads the store and measures every metric.
    pub(crate) async fn measure(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        matrix: &Matrix,
        as_of: Timestamp,
        cache: Option<LedgerCache>,
    ) -> Result<Measured> {
        let period = charter_model::Span::from_secs(u64::from(matrix.period_days) * 86_400);
        let from = as_of.minus(period).unwrap_or(as_of);
        let mut measured = Measured::default();
        let mut evidence: BTreeMap<String, u64> =
            charter_cert::EVIDENCE_KINDS.iter().map(|kind| ((*kind).to_owned(), 0)).collect();
        let mut count = |kind: &str, n: u64| *evidence.entry(kind.to_owned()).or_default() += n;

        // How long each phase takes (kept with the timings, out of the verdict).
        let mut since = std::time::Instant::now();
        let mut lap = |measurements: &mut BTreeMap<String, f64>, phase: &str| {
            measurements.insert(format!("phase.{phase}_ms"), since.elapsed().as_secs_f64() * 1_000.0);
            since = std::time::Instant::now();
        };
        // The ledger, verified, and the period's decisions in it (the second
        // reading of a certification takes the first one's: the log is
        // append-only).
        let reading = match cache {
            Some(cache) => cache.reading,
            None => self.read_ledger(row, from, as_of).await?,
        };
        measured.measurements.insert("ledger.segments_read".into(), reading.segments_read as f64);
        measured.measurements.insert("ledger.segments_sealed".into(), reading.segments_sealed as f64);
        let scan = &reading.decisions;
        let decided = Share {
            good: scan.good,
            total: scan.total,
            bad: scan.bad.iter().map(|seq| charter_policy::decision_id(*seq)).collect(),
            seen: scan.seen.iter().map(|seq| charter_policy::decision_id(*seq)).collect(),
        };
        let (operation_decisions, promoted) = (&scan.operations, &scan.promoted);
        count("decision", decided.total);

        lap(&mut measured.measurements, "ledger");
        // Operations: the corridor, success, dry runs, per-step evidence, the
        // chain; a rollback drill's operation fails on purpose and is the
        // drill's evidence, not a change.
        let drills: Vec<Drill> = self.read_values(row).await?;
        let incidents: Vec<Incident> = self.read_values(row).await?;
        let drilled: BTreeSet<&str> = drills.iter().filter_map(|d| d.operation_id.as_deref()).collect();
        let rules = self.ops_rules(row).await?;
        let operations: Vec<Operation> = self.read_values(row).await?;
        let operations: Vec<&Operation> =
            operations.iter().filter(|o| !drilled.contains(o.operation_id.as_str())).collect();
        let mut corridor = Share::default();
        let mut success = Share::default();
        let mut dry_first = Share::default();
        let mut op_evidence = Share::default();
        let mut runs_in_period: Vec<(Timestamp, &Operation, usize)> = Vec::new();
        for operation in operations.iter().copied() {
            for (n, run) in operation.runs.iter().enumerate() {
                if run.dry_run || !within(run.started_at, from, as_of) {
                    continue;
                }
                runs_in_period.push((run.started_at, operation, n));
                let id = format!("{}#run{}", operation.operation_id, n + 1);
                let needed = rules.approvals_needed(operation.tier);
                let bound = operation
                    .approvals
                    .iter()
                    .filter(|approval| {
                        approval.declaration_hash == run.declaration_hash && approval.at <= run.started_at
                    })
                    .count();
                let proven = operation.runs[..n].iter().any(|earlier| {
                    earlier.dry_run
                        && earlier.declaration_hash == run.declaration_hash
                        && earlier.outcome == Some(charter_model::operation::RunOutcome::Success)
                });
                corridor.add(id.clone(), bound >= needed && (operation.tier < 3 || proven));
                dry_first.add(id.clone(), proven);
                if let Some(outcome) = run.outcome {
                    success.add(id.clone(), outcome == charter_model::operation::RunOutcome::Success);
                }
                let evidenced = run.outcome.is_some()
                    && !run.steps.is_empty()
                    && run.steps.iter().all(|step| step.command.is_some() || step.failure.is_some());
                op_evidence.add(id, evidenced);
            }
        }
        count("operation_run", runs_in_period.len() as u64);
        runs_in_period.sort_by(|a, b| (b.0, &b.1.operation_id).cmp(&(a.0, &a.1.operation_id)));
        let mut chain = Share::default();
        for (_, operation, n) in runs_in_period.iter().take(CHAIN_SAMPLE) {
            let run = &operation.runs[*n];
            let id = format!("{}#run{}", operation.operation_id, n + 1);
            let in_ledger = self
                .store
                .record(row.id, charter_model::RecordKind::Operation, operation.operation_id.as_str())
                .await?
                .is_some();
            let bound =
                operation.approvals.iter().filter(|a| a.declaration_hash == run.declaration_hash).count()
                    >= rules.approvals_needed(operation.tier);
            let decided = operation_decisions.contains_key(operation.operation_id.as_str());
            let evidenced = run.outcome.is_some() && !run.steps.is_empty();
            chain.add(id, in_ledger && bound && decided && evidenced);
        }

        lap(&mut measured.measurements, "operations");
        // Runs of agents (telemetry).
        let runs: Vec<RunRecord> = self.read_values(row).await?;
        let period_runs: Vec<&RunRecord> =
            runs.iter().filter(|run| within(run.ended_at, from, as_of)).collect();
        count("run", period_runs.len() as u64);
        let mut provenance = Share::default();
        for run in &period_runs {
            provenance.add(run.run_id.to_string(), !run.models.is_empty() && !run.content_hashes.is_empty());
        }
        let Share { good, total, bad, seen } = decided;
        provenance.good += good + op_evidence.good;
        provenance.total += total + op_evidence.total;
        provenance.bad.extend(bad.into_iter().chain(op_evidence.bad.iter().cloned()));
        provenance.seen.extend(seen);
        provenance.bad.truncate(CITE);

        // Drills: rollback drills carry their result; an incident drill
        // passes once its incident is closed by a checked postmortem.
        let period_drills: Vec<&Drill> =
            drills.iter().filter(|d| within(d.started_at, from, as_of)).collect();
        let rollbacks: Vec<&&Drill> =
            period_drills.iter().filter(|d| d.kind == DrillKind::Rollback).collect();
        count("drill_rollback", rollbacks.len() as u64);
        count("drill_incident", period_drills.len() as u64 - rollbacks.len() as u64);
        for drill in &period_drills {
            let passed = match drill.kind {
                DrillKind::Rollback => drill.passed,
                DrillKind::Incident => drill.incident_id.as_ref().is_some_and(|id| {
                    incidents
                        .iter()
                        .any(|i| &i.incident_id == id && i.postmortem_at.is_some_and(|at| at <= as_of))
                }),
            };
            measured.drills.push(DrillResult {
                drill_id: drill.drill_id.to_string(),
                kind: drill.kind.name().to_owned(),
                at: drill.started_at,
                passed,
            });
        }
        let slowest = rollbacks
            .iter()
            .filter_map(|d| d.recovery_seconds)
            .fold(None, |max: Option<f64>, s| Some(max.map_or(s, |m| m.max(s))));
        let mut observations = vec![
            Observation {
                metric: "rollback_recovery_seconds".into(),
                value: slowest,
                records: rollbacks.iter().take(CITE).map(|d| d.drill_id.to_string()).collect(),
                records_total: rollbacks.len() as u64,
                detail: if rollbacks.is_empty() {
                    "no rollback drill in the period".into()
                } else {
                    format!("the slowest recovery of {} rollback drills", rollbacks.len())
                },
            },
            corridor.observe(
                "corridor_share",
                "real runs with every approval their tier needs bound to the plan that ran, and a passing dry run of it at Tier 3+".into(),
            ),
            success.observe("change_success_rate", "real runs that ended SUCCESS".into()),
            dry_first.observe("dry_run_first", "real runs preceded by a passing dry run of the same plan".into()),
            provenance.observe(
                "provenance_completeness",
                "decisions with principal, reasons and registry version; runs with models and content hashes; operation runs with per-step evidence".into(),
            ),
            chain.observe(
                "trace_chain_complete",
                format!("the latest {CHAIN_SAMPLE} real runs: operation in the ledger, approvals bound, a logged decision, step evidence"),
            ),
        ];

        lap(&mut measured.measurements, "runs");
        // The ledger: verified end to end, and the checkpoint of the as-of time.
        let checkpoints = self.store.checkpoints(row.id).await?;
        count("checkpoint", checkpoints.iter().filter(|c| within(c.created_at, from, as_of)).count() as u64);
        let at_as_of = checkpoints.iter().filter(|c| c.created_at <= as_of).max_by_key(|c| c.size);
        measured.checkpoint = at_as_of.map(|checkpoint| CheckpointRef {
            origin: self.ledger.origin(&row.name),
            size: checkpoint.size,
            root: checkpoint.root.to_base64(),
            note: checkpoint.note.clone(),
        });
        let cited = at_as_of.map(|c| format!("checkpoint:{}", c.size)).into_iter().collect();
        observations.push(match (&self.ledger.signer, &reading.failure, at_as_of) {
            (None, _, _) => flag(
                "ledger_verified",
                false,
                Vec::new(),
                "no signing key: checkpoints are not signed".into(),
            ),
            (_, Some(failure), _) => {
                flag("ledger_verified", false, cited, format!("the log does not verify: {failure}"))
            }
            (_, None, None) => {
                flag("ledger_verified", false, cited, "no signed checkpoint at the as-of time".into())
            }
            (_, None, Some(c)) => flag(
                "ledger_verified",
                true,
                cited,
                format!(
                    "{} entries, each checked against the tree within the last {} days; every checkpoint signed; checkpoint at size {}",
                    reading.entries,
                    super::ledger::RESEAL_DAYS,
                    c.size
                ),
            ),
        });
        measured.cache = Some(LedgerCache { reading: reading.clone() });
        observations.push(self.audit_query_time(caller, row, &mut measured.measurements).await?);

        lap(&mut measured.measurements, "audit_queries");
        // Alerts, runbooks, escalation, incidents.
        let people: Vec<Person> = self.read_values(row).await?;
        let procedures: Vec<Procedure> = self.read_values(row).await?;
        let classes: Vec<AlertClass> = self.read_values(row).await?;
        count("alert_class", classes.len() as u64);
        let mut owned = Share::default();
        for class in classes.iter().filter(|c| matches!(c.severity, Severity::Critical | Severity::High)) {
            let owner = class.owner.as_ref().is_some_and(|o| people.iter().any(|p| &p.person_id == o));
            let runbook = class
                .runbook
                .as_ref()
                .is_some_and(|r| procedures.iter().any(|p| p.procedure_id.as_str() == r));
            owned.add(class.class_id.to_string(), owner && runbook);
        }
        observations.push(owned.observe(
            "alert_ownership",
            "critical and high alert classes with a registered owner and a registered runbook".into(),
        ));
        let settings = self.observe_settings(row).await?;
        let holds = |role: Role| people.iter().any(|p| p.roles.contains(&role));
        let mut escalation = Share::default();
        for severity in
            [IncidentSeverity::Sev1, IncidentSeverity::Sev2, IncidentSeverity::Sev3, IncidentSeverity::Sev4]
        {
            escalation.add(
                severity.to_string(),
                settings.ack_minutes(severity) > 0 && holds(Role::IncidentCommander) && holds(Role::Steward),
            );
        }
        observations.push(
            escalation.observe(
                "escalation_policy",
                "severities with an acknowledgement time, an incident commander and a steward to escalate to"
                    .into(),
            ),
        );
        count("incident", incidents.iter().filter(|i| within(i.opened_at, from, as_of)).count() as u64);
        count(
            "postmortem",
            incidents.iter().filter(|i| i.postmortem_at.is_some_and(|at| within(at, from, as_of))).count()
                as u64,
        );
        let mut postmortems = Share::default();
        for incident in incidents.iter().filter(|i| i.resolved_at.is_some_and(|at| within(at, from, as_of))) {
            postmortems
                .add(incident.incident_id.to_string(), incident.postmortem_at.is_some_and(|at| at <= as_of));
        }
        observations.push(postmortems.observe(
            "postmortem_quality",
            "incidents resolved in the period closed by a postmortem that passed its check".into(),
        ));
        let alerts: Vec<Alert> = self.read_values(row).await?;
        let period_alerts: Vec<&Alert> = alerts.iter().filter(|a| within(a.opened_at, from, as_of)).collect();
        count("alert", period_alerts.len() as u64);
        let mut handled = Share::default();
        for alert in period_alerts.iter().filter(|a| a.reason.starts_with("anomaly:")) {
            handled.add(alert.alert_id.to_string(), alert.status != AlertStatus::Open);
        }
        observations
            .push(handled.observe("drift_alerts_handled", "anomaly alerts acknowledged or resolved".into()));

        lap(&mut measured.measurements, "alerts_incidents");
        // Cost governance.
        let agents: Vec<Agent> = self.read_values(row).await?;
        let budgets: Vec<Budget> = self.read_values(row).await?;
        count("budget", budgets.len() as u64);
        let mut covered = Share::default();
        for agent in agents.iter().filter(|a| matches!(a.status, AgentStatus::Active | AgentStatus::Pilot)) {
            let under = budgets.iter().any(|budget| {
                budget.agent_id.as_ref() == Some(&agent.agent_id)
                    || (budget.team.is_some() && budget.team == agent.owner_team)
            });
            covered.add(agent.agent_id.to_string(), under);
        }
        observations.push(covered.observe(
            "budget_coverage",
            "active and pilot agents under a budget of their own or their team's".into(),
        ));
        let mut tokens = Share::default();
        let (mut priced, mut all) = (0_u64, 0_u64);
        for run in &period_runs {
            let run_tokens = run.input_tokens.saturating_add(run.output_tokens);
            all = all.saturating_add(run_tokens);
            priced = priced.saturating_add(run_tokens.saturating_sub(run.unpriced_tokens));
            if run_tokens > 0 {
                tokens.add(run.run_id.to_string(), run.unpriced_tokens == 0);
            }
        }
        let attributed = Observation {
            metric: "attributed_spend".into(),
            value: (all > 0).then(|| priced as f64 / all as f64),
            records: tokens.bad.iter().chain(&tokens.seen).take(CITE).cloned().collect(),
            records_total: tokens.total,
            detail: format!("{priced} of {all} tokens of the period's runs have a price"),
        };
        observations.push(attributed);
        let month =
            format!("{:04}-{:02}", as_of.date().inner().year(), u8::from(as_of.date().inner().month()));
        let started = std::time::Instant::now();
        let report = self.budget_report(caller, &row.name, Some(month.clone())).await?;
        measured
            .measurements
            .insert("phase.cost.budget_report_ms".into(), started.elapsed().as_secs_f64() * 1_000.0);
        let unexplained = report.unexplained.unpriced_tokens
            + report.unexplained.unattributed_spans
            + report.unexplained.waiting_spans;
        observations.push(Observation {
            metric: "unexplained_spend".into(),
            value: Some(unexplained as f64),
            records: vec![format!("budget-report:{month}")],
            records_total: 1,
            detail: format!(
                "{month}: {} unpriced tokens, {} spans of no agent, {} spans waiting",
                report.unexplained.unpriced_tokens,
                report.unexplained.unattributed_spans,
                report.unexplained.waiting_spans
            ),
        });
        let values: Vec<ValueRecord> = self.read_values(row).await?;
        let kpis: Vec<KpiRecord> = self.read_values(row).await?;
        let spenders: BTreeSet<&str> = period_runs
            .iter()
            .filter(|r| r.cost_usd > 0.0 || r.unpriced_tokens > 0)
            .map(|r| r.agent_id.as_str())
            .collect();
        let mut receipts = Share::default();
        for agent in spenders {
            let receipt = values.iter().any(|v| v.agent_id.as_str() == agent)
                || kpis.iter().any(|k| k.agent_id.as_str() == agent);
            receipts.add(agent, receipt);
        }
        observations.push(receipts.observe(
            "cost_receipts",
            "agents with spend in the period that have a value or KPI record".into(),
        ));

        lap(&mut measured.measurements, "cost");
        // Data: promotions and quality at the current schema.
        let datasets: Vec<Dataset> = self.read_values(row).await?;
        let quality: Vec<QualityRun> = self.read_values(row).await?;
        count("quality_run", quality.iter().filter(|q| within(q.run_at, from, as_of)).count() as u64);
        let mut gated = Share::default();
        let mut consistent = Share::default();
        for dataset in datasets.iter().filter(|d| d.scope != DatasetScope::Draft) {
            let id = dataset.dataset_id.to_string();
            gated.add(id.clone(), promoted.contains(&id));
            let passing = quality.iter().any(|q| {
                q.dataset_id == dataset.dataset_id
                    && q.schema_version == dataset.schema_version
                    && within(q.run_at, from, as_of)
                    && q.rows_passed == q.rows
            });
            consistent.add(id, passing);
        }
        observations.push(gated.observe(
            "gated_promotions",
            "datasets out of DRAFT with an allowed promote_dataset decision in the period".into(),
        ));
        observations.push(consistent.observe(
            "quality_at_schema",
            "datasets out of DRAFT with a fully passing quality run at their current schema version in the period".into(),
        ));

        lap(&mut measured.measurements, "data");
        // Policies and DLP rules.
        let policies: Vec<Policy> = self.read_values(row).await?;
        count("policy", policies.len() as u64);
        let mut reviewed = Share::default();
        for policy in &policies {
            let recent = policy.last_review.is_some_and(|date| as_of.date().days_since(date) <= 92);
            reviewed.add(policy.policy_id.to_string(), recent);
        }
        observations.push(
            reviewed
                .observe("policies_reviewed", "policies reviewed within the last quarter (92 days)".into()),
        );
        let lint = self.guard_lint(caller, &row.name).await?;
        let errors: Vec<String> = lint
            .iter()
            .filter(|l| l.level == charter_guard::Level::Error)
            .map(|l| l.subject.clone())
            .collect();
        observations.push(flag(
            "dlp_lint_clean",
            errors.is_empty(),
            errors.clone(),
            format!("{} lint errors in the DLP rules and guard settings", errors.len()),
        ));

        lap(&mut measured.measurements, "policies");
        let waivers: Vec<charter_model::Waiver> = self.read_values(row).await?;
        measured.waivers = waivers
            .into_iter()
            .map(|w| Waiver {
                waiver_id: w.waiver_id.to_string(),
                scope: w.scope,
                reason: w.reason,
                owner: w.owner,
                approver: w.approver,
                approved_at: w.approved_at,
                expires_at: w.expires_at,
            })
            .collect();
        measured.observations = observations;
        measured.evidence = evidence;
        Ok(measured)
    }

    /// Runs the audit queries people run and times the slowest: a subject's
    /// history, the decisions about one principal in the period, and an
    /// inclusion proof of the latest entry.
    async fn audit_query_time(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        measurements: &mut BTreeMap<String, f64>,
    ) -> Result<Observation> {
        let size = self.store.event_count(row.id).await?;
        if size == 0 {
            return Ok(Observation {
                metric: "audit_query_ms".into(),
                value: None,
                records: Vec::new(),
                records_total: 0,
                detail: "the ledger is empty".into(),
            });
        }
        let latest = self.store.events(row.id, size, size).await?;
        let subject = latest.first().map(|event| event.subject.clone()).unwrap_or_default();
        let mut slowest: f64 = 0.0;
        let now = self.clock.now();
        let since = now.minus(charter_model::Span::from_secs(90 * 86_400)).unwrap_or(now);
        for query in ["history", "decisions", "proof"] {
            let started = std::time::Instant::now();
            match query {
                "history" => {
                    let filter = charter_store::EventFilter {
                        subject: Some(subject.clone()),
                        ..charter_store::EventFilter::default()
                    };
                    self.audit_log(caller, &row.name, &filter, 0, 1_000).await?;
                }
                "decisions" => {
                    self.store
                        .events_between(row.id, charter_policy::DECISION, Some(&subject), since, now)
                        .await?;
                }
                _ => {
                    self.inclusion_proof(caller, &row.name, size - 1, Some(size)).await?;
                }
            }
            let ms = started.elapsed().as_secs_f64() * 1_000.0;
            measurements.insert(format!("audit_query_ms.{query}"), ms);
            slowest = slowest.max(ms);
        }
        Ok(Observation {
            metric: "audit_query_ms".into(),
            value: Some(slowest),
            records: vec![format!("entry:{size}")],
            records_total: 1,
            detail: "the slowest of a subject's history, its decisions in the period and an inclusion proof"
                .into(),
        })
    }
}
