//! The verdict: each claim graded from the observations, evidence counts
//! and drills of the period; the blockers that follow; the waivers that
//! hold some of them; GREEN only when every Tier 0 claim passes (or every
//! one of its failures is waived) and no blocker is active. Anything the
//! matrix names that was not measured fails closed. The same inputs give
//! the same verdict, byte for byte.

use std::collections::BTreeMap;

use charter_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::matrix::{Matrix, SEED_TIER0};
use crate::metric::{Direction, metric};

/// Most records a metric or blocker cites (their total is always given).
pub const MAX_CITED: usize = 25;

/// The seed's blocker taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BlockerId {
    /// Release-corridor governance gap.
    #[serde(rename = "OC-B1")]
    B1,
    /// Rollback governance or bounded-restore evidence gap.
    #[serde(rename = "OC-B2")]
    B2,
    /// Audit or provenance incompleteness.
    #[serde(rename = "OC-B3")]
    B3,
    /// Runbook or alert ownership or escalation gap.
    #[serde(rename = "OC-B4")]
    B4,
    /// Cost governance or attribution gap.
    #[serde(rename = "OC-B5")]
    B5,
    /// Non-deterministic rollup: the verdict computed twice differed.
    #[serde(rename = "OC-B6")]
    B6,
    /// A Tier 0 claim unresolved: not in the matrix, or not measured.
    #[serde(rename = "OC-B7")]
    B7,
}

impl BlockerId {
    /// Whether a waiver may hold it: a gap in evidence may be waived for a
    /// while; a verdict that cannot be reproduced or a claim that was never
    /// resolved may not (that would be GREEN by absence of a check).
    pub fn waivable(self) -> bool {
        !matches!(self, BlockerId::B6 | BlockerId::B7)
    }

    /// What it means.
    pub fn meaning(self) -> &'static str {
        match self {
            BlockerId::B1 => "release-corridor governance gap",
            BlockerId::B2 => "rollback governance or bounded-restore evidence gap",
            BlockerId::B3 => "audit/provenance incompleteness",
            BlockerId::B4 => "runbook/alert ownership or escalation gap",
            BlockerId::B5 => "cost governance/attribution gap",
            BlockerId::B6 => "non-deterministic rollup",
            BlockerId::B7 => "unresolved Tier 0 claim",
        }
    }
}

impl std::fmt::Display for BlockerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = *self as u8 + 1;
        write!(f, "OC-B{n}")
    }
}

impl std::str::FromStr for BlockerId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|_| format!("\"{text}\" is not a blocker (OC-B1 … OC-B7)"))
    }
}

/// A metric as measured by `charter-app`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The metric's id.
    pub metric: String,
    /// Its value; `None` when there was nothing to measure it on.
    pub value: Option<f64>,
    /// The records and ledger entries it read (`kind:id`, `DEC-…`).
    pub records: Vec<String>,
    /// How many records it read in all.
    pub records_total: u64,
    /// How it was measured, in one line.
    pub detail: String,
}

/// A drill in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillResult {
    /// Its record id.
    pub drill_id: String,
    /// `rollback` or `incident`.
    pub kind: String,
    /// When it ran.
    pub at: Timestamp,
    /// Whether it met its objective.
    pub passed: bool,
}

/// A waiver as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// `WVR-…`.
    pub waiver_id: String,
    /// A claim id or a blocker id.
    pub scope: String,
    /// Why.
    pub reason: String,
    /// Who owns the gap.
    pub owner: String,
    /// Who approved it (not the owner).
    pub approver: Option<String>,
    /// When it was approved.
    pub approved_at: Option<Timestamp>,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// The ledger checkpoint a verdict was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    /// The log's origin (`charter/<workspace>`).
    pub origin: String,
    /// Its size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The signed note, whole.
    pub note: String,
}

/// What a verdict is computed from.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The workspace.
    pub workspace: &'a str,
    /// The end of the period.
    pub as_of: Timestamp,
    /// The matrix.
    pub matrix: &'a Matrix,
    /// SHA-256 of the matrix's text.
    pub matrix_sha256: String,
    /// The metrics measured.
    pub observations: &'a [Observation],
    /// Records per evidence kind in the period.
    pub evidence: &'a BTreeMap<String, u64>,
    /// Drills in the period.
    pub drills: &'a [DrillResult],
    /// Every waiver recorded.
    pub waivers: &'a [Waiver],
    /// The latest signed checkpoint.
    pub checkpoint: Option<CheckpointRef>,
}

/// A claim's maturity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// No evidence at all.
    L0,
    /// Some evidence; the minimum bundle not met.
    L1,
    /// Bundle met; a metric failing or unmeasured.
    L2,
    /// Bundle met and every metric passing.
    L3,
    /// L3 and drilled in the period (or, without a drill, the ledger verifying).
    L4,
}

/// How a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Evidence-pass.
    Pass,
    /// Tier 0: every failure is held by an active waiver.
    Waived,
    /// Tier 0: not evidence-pass.
    Fail,
    /// Tier 1/2: some evidence, not pass.
    Partial,
    /// Tier 1/2: no evidence.
    NotProven,
}

/// How a metric stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    /// On the right side of its threshold.
    Pass,
    /// On the wrong side.
    Fail,
    /// Nothing to measure it on.
    NoEvidence,
    /// The matrix names it but it was not measured.
    NotMeasured,
}

/// A metric's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    /// Its id.
    pub id: String,
    /// Which side passes.
    pub direction: Direction,
    /// The threshold.
    pub threshold: f64,
    /// The value (absent when unmeasured, or for a volatile metric, whose
    /// value varies from one run to the next).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Pass, fail, no evidence or not measured.
    pub status: MetricStatus,
    /// The records it read (at most [`MAX_CITED`]).
    pub records: Vec<String>,
    /// How many it read.
    pub records_total: u64,
    /// How it was measured.
    pub detail: String,
}

/// One evidence rule against what the period holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceCount {
    /// The kind.
    pub kind: String,
    /// At least.
    pub min: u64,
    /// Found.
    pub found: u64,
}

/// A claim's grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Its id.
    pub id: String,
    /// Its tier.
    pub tier: u8,
    /// What it claims.
    pub title: String,
    /// Its level.
    pub level: Level,
    /// How it stands.
    pub status: ClaimStatus,
    /// Its metrics.
    pub metrics: Vec<MetricResult>,
    /// Its evidence bundle.
    pub evidence: Vec<EvidenceCount>,
    /// The drill it needs, and the latest one of the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillCheck>,
}

/// A claim's drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillCheck {
    /// `rollback` or `incident`.
    pub kind: String,
    /// The latest drill of that kind in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    /// Whether it met its objective.
    pub passed: bool,
}

/// Whether a blocker holds the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerState {
    /// It holds the verdict RED.
    Active,
    /// An active waiver holds it.
    Waived,
}

/// A blocker in the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    /// `OC-B1` … `OC-B7`.
    pub id: BlockerId,
    /// The claim.
    pub claim: String,
    /// The metric, evidence kind or drill concerned.
    pub subject: String,
    /// Why, in one line.
    pub reason: String,
    /// The records behind it (at most [`MAX_CITED`]).
    pub records: Vec<String>,
    /// Active or waived.
    pub state: BlockerState,
    /// The waiver holding it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
}

/// A waiver as the verdict sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverState {
    /// `WVR-…`.
    pub waiver_id: String,
    /// Its scope.
    pub scope: String,
    /// Its owner.
    pub owner: String,
    /// Its approver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// When it ends.
    pub expires_at: Timestamp,
    /// `active`, `expiring` (active, ending within the matrix's notice),
    /// `expired`, `unapproved`, `too_long` or `not_waivable`.
    pub state: String,
    /// The blockers it holds.
    pub holds: Vec<String>,
}

/// GREEN or RED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every Tier 0 claim passes or is waived, and no blocker is active.
    #[serde(rename = "GREEN")]
    Green,
    /// Otherwise.
    #[serde(rename = "RED")]
    Red,
}

/// The certification verdict: the claim matrix with levels, the blocker
/// register, the waivers and the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The workspace.
    pub workspace: String,
    /// The end of the period.
    pub as_of: Timestamp,
    /// The start of the period.
    pub period_from: Timestamp,
    /// SHA-256 of the claim matrix's text.
    pub matrix_sha256: String,
    /// The ledger checkpoint it was computed at.
    pub checkpoint: Option<CheckpointRef>,
    /// GREEN or RED.
    pub outcome: Outcome,
    /// Why, one line each (empty when GREEN without waivers).
    pub reasons: Vec<String>,
    /// Each claim's grade.
    pub claims: Vec<ClaimResult>,
    /// The blocker register.
    pub blockers: Vec<Blocker>,
    /// Every waiver recorded, with its state.
    pub waivers: Vec<WaiverState>,
}

fn cite(records: &[String]) -> Vec<String> {
    let mut cited: Vec<String> = records.to_vec();
    cited.sort();
    cited.dedup();
    cited.truncate(MAX_CITED);
    cited
}

/// A value as people read it: an integer as such, else at most four
/// decimals without trailing zeros.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Grades every claim and rolls the verdict up.
pub fn evaluate(inputs: &Inputs<'_>) -> Verdict {
    let matrix = inputs.matrix;
    let period = charter_model::Span::from_secs(u64::from(matrix.period_days) * 86_400);
    let period_from = inputs.as_of.minus(period).unwrap_or(inputs.as_of);
    let observed: BTreeMap<&str, &Observation> =
        inputs.observations.iter().map(|o| (o.metric.as_str(), o)).collect();
    let ledger_verified = observed.get("ledger_verified").and_then(|o| o.value).is_some_and(|v| v >= 1.0);
    let mut claims = Vec::new();
    let mut blockers = Vec::new();
    for claim in &matrix.claims {
        let mut metrics = Vec::new();
        for rule in &claim.metrics {
            let (direction, threshold) = rule.threshold();
            let volatile = metric(&rule.id).is_some_and(|def| def.volatile);
            let (status, value, records, total, detail) = match observed.get(rule.id.as_str()) {
                None => (MetricStatus::NotMeasured, None, Vec::new(), 0, "not measured".to_owned()),
                Some(o) => {
                    let status = match o.value {
                        None => MetricStatus::NoEvidence,
                        Some(value) if value.is_finite() && rule.passes(value) => MetricStatus::Pass,
                        Some(_) => MetricStatus::Fail,
                    };
                    (
                        status,
                        o.value.filter(|_| !volatile),
                        cite(&o.records),
                        o.records_total,
                        o.detail.clone(),
                    )
                }
            };
            if claim.tier == 0 && status != MetricStatus::Pass {
                let side = match direction {
                    Direction::AtLeast => "at least",
                    Direction::AtMost => "at most",
                };
                let (id, reason) = match status {
                    MetricStatus::NotMeasured => {
                        (crate::BlockerId::B7, format!("{} is in the matrix but was not measured", rule.id))
                    }
                    MetricStatus::NoEvidence => (
                        rule.blocker(),
                        format!(
                            "{}: no evidence in the period ({detail}); needs {side} {}",
                            rule.id,
                            format_value(threshold)
                        ),
                    ),
                    _ => (
                        rule.blocker(),
                        match (volatile, observed.get(rule.id.as_str()).and_then(|o| o.value)) {
                            (false, Some(value)) => format!(
                                "{} is {}, needs {side} {}",
                                rule.id,
                                format_value(value),
                                format_value(threshold)
                            ),
                            _ => format!("{} is not {side} {}", rule.id, format_value(threshold)),
                        },
                    ),
                };
                blockers.push(Blocker {
                    id,
                    claim: claim.id.clone(),
                    subject: rule.id.clone(),
                    reason,
                    records: records.clone(),
                    state: BlockerState::Active,
                    waiver: None,
                });
            }
            metrics.push(MetricResult {
                id: rule.id.clone(),
                direction,
                threshold,
                value,
                status,
                records,
                records_total: total,
                detail,
            });
        }
        let evidence: Vec<EvidenceCount> = claim
            .evidence
            .iter()
            .map(|rule| EvidenceCount {
                kind: rule.kind.clone(),
                min: rule.min,
                found: inputs.evidence.get(&rule.kind).copied().unwrap_or(0),
            })
            .collect();
        let claim_blocker = claim
            .blocker
            .unwrap_or_else(|| claim.metrics.first().map_or(crate::BlockerId::B7, |rule| rule.blocker()));
        for count in evidence.iter().filter(|count| count.found < count.min) {
            if claim.tier == 0 {
                blockers.push(Blocker {
                    id: claim_blocker,
                    claim: claim.id.clone(),
                    subject: format!("evidence:{}", count.kind),
                    reason: format!(
                        "minimum evidence bundle: {} {} record(s) in the period, at least {}",
                        count.found, count.kind, count.min
                    ),
                    records: Vec::new(),
                    state: BlockerState::Active,
                    waiver: None,
                });
            }
        }
        let drill = claim.drill.as_ref().map(|kind| {
            let latest = inputs
                .drills
                .iter()
                .filter(|drill| &drill.kind == kind && drill.at > period_from && drill.at <= inputs.as_of)
                .max_by(|a, b| (a.at, &a.drill_id).cmp(&(b.at, &b.drill_id)));
            DrillCheck {
                kind: kind.clone(),
                latest: latest.map(|drill| drill.drill_id.clone()),
                passed: latest.is_some_and(|drill| drill.passed),
            }
        });
        if let Some(check) = &drill
            && !check.passed
            && claim.tier == 0
        {
            let id = match check.kind.as_str() {
                "rollback" => crate::BlockerId::B2,
                "incident" => crate::BlockerId::B4,
                _ => claim_blocker,
            };
            blockers.push(Blocker {
                id,
                claim: claim.id.clone(),
                subject: format!("drill:{}", check.kind),
                reason: match &check.latest {
                    Some(drill) => format!(
                        "the latest {} drill of the period, {drill}, did not meet its objective",
                        check.kind
                    ),
                    None => format!("no {} drill in the period", check.kind),
                },
                records: check.latest.iter().cloned().collect(),
                state: BlockerState::Active,
                waiver: None,
            });
        }
        let any_evidence = evidence.iter().any(|count| count.found > 0)
            || metrics.iter().any(|metric| matches!(metric.status, MetricStatus::Pass | MetricStatus::Fail));
        let bundle_met = evidence.iter().all(|count| count.found >= count.min);
        let all_pass = metrics.iter().all(|metric| metric.status == MetricStatus::Pass);
        let level = if !any_evidence {
            Level::L0
        } else if !bundle_met {
            Level::L1
        } else if !all_pass {
            Level::L2
        } else if drill.as_ref().map_or(ledger_verified, |check| check.passed) {
            Level::L4
        } else {
            Level::L3
        };
        let pass = level == Level::L4 || (level == Level::L3 && drill.is_none());
        let status = match (claim.tier, pass, level) {
            (_, true, _) => ClaimStatus::Pass,
            (0, false, _) => ClaimStatus::Fail,
            (_, false, Level::L0) => ClaimStatus::NotProven,
            _ => ClaimStatus::Partial,
        };
        claims.push(ClaimResult {
            id: claim.id.clone(),
            tier: claim.tier,
            title: claim.title.clone(),
            level,
            status,
            metrics,
            evidence,
            drill,
        });
    }
    for id in SEED_TIER0 {
        if !matrix.claims.iter().any(|claim| claim.id == id && claim.tier == 0) {
            blockers.push(Blocker {
                id: crate::BlockerId::B7,
                claim: id.to_owned(),
                subject: "matrix".to_owned(),
                reason: format!("the seed's Tier 0 claim {id} is not in the claim matrix"),
                records: Vec::new(),
                state: BlockerState::Active,
                waiver: None,
            });
        }
    }

    // Waivers hold the blockers of their scope while active.
    let notice = charter_model::Span::from_secs(u64::from(matrix.waivers.expiring_within_days) * 86_400);
    let longest = i64::from(matrix.waivers.max_days) * 86_400;
    let mut waivers: Vec<WaiverState> = Vec::new();
    let mut sorted: Vec<&Waiver> = inputs.waivers.iter().collect();
    sorted.sort_by(|a, b| a.waiver_id.cmp(&b.waiver_id));
    for waiver in sorted {
        let scope_blocker = waiver.scope.parse::<BlockerId>().ok();
        let state = match waiver.approved_at {
            None => "unapproved",
            Some(_) if waiver.approver.is_none() => "unapproved",
            Some(approved) if approved > inputs.as_of => "unapproved",
            Some(_) if inputs.as_of >= waiver.expires_at => "expired",
            Some(approved)
                if waiver.expires_at.unix_micros() - approved.unix_micros() > longest * 1_000_000 =>
            {
                "too_long"
            }
            _ if scope_blocker.is_some_and(|id| !id.waivable()) => "not_waivable",
            _ if inputs.as_of.plus(notice).is_none_or(|soon| soon >= waiver.expires_at) => "expiring",
            _ => "active",
        };
        let mut holds = Vec::new();
        if matches!(state, "active" | "expiring") {
            for blocker in blockers.iter_mut().filter(|b| b.state == BlockerState::Active && b.id.waivable())
            {
                if scope_blocker == Some(blocker.id) || blocker.claim == waiver.scope {
                    blocker.state = BlockerState::Waived;
                    blocker.waiver = Some(waiver.waiver_id.clone());
                    holds.push(format!("{} {} {}", blocker.id, blocker.claim, blocker.subject));
                }
            }
        }
        waivers.push(WaiverState {
            waiver_id: waiver.waiver_id.clone(),
            scope: waiver.scope.clone(),
            owner: waiver.owner.clone(),
            approver: waiver.approver.clone(),
            expires_at: waiver.expires_at,
            state: state.to_owned(),
            holds,
        });
    }
    for claim in claims.iter_mut().filter(|claim| claim.status == ClaimStatus::Fail) {
        let mine: Vec<&Blocker> = blockers.iter().filter(|b| b.claim == claim.id).collect();
        if !mine.is_empty() && mine.iter().all(|b| b.state == BlockerState::Waived) {
            claim.status = ClaimStatus::Waived;
        }
    }
    blockers.sort_by(|a, b| (a.id, &a.claim, &a.subject).cmp(&(b.id, &b.claim, &b.subject)));
    let mut verdict = Verdict {
        workspace: inputs.workspace.to_owned(),
        as_of: inputs.as_of,
        period_from,
        matrix_sha256: inputs.matrix_sha256.clone(),
        checkpoint: inputs.checkpoint.clone(),
        outcome: Outcome::Red,
        reasons: Vec::new(),
        claims,
        blockers,
        waivers,
    };
    verdict.roll_up();
    verdict
}

impl Verdict {
    /// The outcome and its reasons from the claims and blockers.
    fn roll_up(&mut self) {
        let mut reasons = Vec::new();
        for blocker in self.blockers.iter().filter(|b| b.state == BlockerState::Active) {
            reasons.push(format!(
                "{} ({}) on {}: {}",
                blocker.id,
                blocker.id.meaning(),
                blocker.claim,
                blocker.reason
            ));
        }
        for claim in self.claims.iter().filter(|c| c.tier == 0 && c.status == ClaimStatus::Fail) {
            if !self.blockers.iter().any(|b| b.claim == claim.id && b.state == BlockerState::Active) {
                reasons.push(format!("{} is not evidence-pass (level {:?})", claim.id, claim.level));
            }
        }
        let green = reasons.is_empty();
        for blocker in self.blockers.iter().filter(|b| b.state == BlockerState::Waived) {
            reasons.push(format!(
                "waived: {} on {} {} by {}",
                blocker.id,
                blocker.claim,
                blocker.subject,
                blocker.waiver.as_deref().unwrap_or("?")
            ));
        }
        self.outcome = if green { Outcome::Green } else { Outcome::Red };
        self.reasons = reasons;
    }

    /// Marks the verdict non-deterministic (OC-B6): computed twice from the
    /// same state, it came out different; `detail` says where.
    pub fn nondeterministic(&mut self, detail: &str) {
        self.blockers.push(Blocker {
            id: BlockerId::B6,
            claim: "rollup".to_owned(),
            subject: "verdict".to_owned(),
            reason: format!("the verdict computed twice from the same state differed: {detail}"),
            records: Vec::new(),
            state: BlockerState::Active,
            waiver: None,
        });
        self.roll_up();
    }

    /// The verdict's canonical JSON: the same verdict, the same bytes.
    pub fn canonical_json(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        charter_model::canonical::to_string(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn observations(overrides: &[(&str, Option<f64>)]) -> Vec<Observation> {
        crate::METRICS
            .iter()
            .map(|def| {
                let good = match (def.direction, def.unit) {
                    (Direction::AtMost, "ms") => 10.0,
                    (Direction::AtMost, "s") => 60.0,
                    (Direction::AtMost, _) => 0.0,
                    _ => 1.0,
                };
                let value = overrides.iter().find(|(id, _)| *id == def.id).map_or(Some(good), |(_, v)| *v);
                Observation {
                    metric: def.id.to_owned(),
                    value,
                    records: vec![format!("record-of-{}", def.id)],
                    records_total: 1,
                    detail: "test".to_owned(),
                }
            })
            .collect()
    }

    fn evidence() -> BTreeMap<String, u64> {
        crate::matrix::EVIDENCE_KINDS.iter().map(|kind| ((*kind).to_owned(), 5)).collect()
    }

    fn drills() -> Vec<DrillResult> {
        ["rollback", "incident"]
            .iter()
            .map(|kind| DrillResult {
                drill_id: format!("DRL-{kind}"),
                kind: (*kind).to_owned(),
                at: at("2027-01-10T00:00:00Z"),
                passed: true,
            })
            .collect()
    }

    fn judge(
        observations: &[Observation],
        drills: &[DrillResult],
        waivers: &[Waiver],
        as_of: &str,
    ) -> Verdict {
        let matrix = Matrix::default_matrix();
        let evidence = evidence();
        evaluate(&Inputs {
            workspace: "ops",
            as_of: at(as_of),
            matrix: &matrix,
            matrix_sha256: "m".into(),
            observations,
            evidence: &evidence,
            drills,
            waivers,
            checkpoint: None,
        })
    }

    fn active(verdict: &Verdict) -> Vec<(BlockerId, &str, &str)> {
        verdict
            .blockers
            .iter()
            .filter(|b| b.state == BlockerState::Active)
            .map(|b| (b.id, b.claim.as_str(), b.subject.as_str()))
            .collect()
    }

    #[test]
    fn everything_evidenced_and_drilled_is_green_at_l4() {
        let verdict = judge(&observations(&[]), &drills(), &[], "2027-01-15T00:00:00Z");
        assert_eq!(verdict.outcome, Outcome::Green, "{:?}", verdict.reasons);
        assert!(verdict.claims.iter().all(|c| c.level == Level::L4 && c.status == ClaimStatus::Pass));
        assert!(verdict.blockers.is_empty());
    }

    #[test]
    fn each_missing_piece_raises_exactly_its_blocker() {
        type Case<'a> = (Vec<(&'a str, Option<f64>)>, bool, (BlockerId, &'a str, &'a str));
        let cases: Vec<Case<'_>> = vec![
            (vec![("corridor_share", Some(0.5))], true, (BlockerId::B1, "T0.1", "corridor_share")),
            (
                vec![("rollback_recovery_seconds", Some(900.0))],
                true,
                (BlockerId::B2, "T0.1", "rollback_recovery_seconds"),
            ),
            (vec![("ledger_verified", Some(0.0))], true, (BlockerId::B3, "T0.5", "ledger_verified")),
            (vec![("alert_ownership", Some(0.5))], true, (BlockerId::B4, "T0.4", "alert_ownership")),
            (vec![("unexplained_spend", Some(3.5))], true, (BlockerId::B5, "T0.6", "unexplained_spend")),
            (vec![("budget_coverage", None)], true, (BlockerId::B5, "T0.6", "budget_coverage")),
            (vec![], false, (BlockerId::B2, "T0.1", "drill:rollback")),
        ];
        for (overrides, with_drills, expected) in cases {
            let drills = if with_drills { drills() } else { drills().split_off(1) };
            let verdict = judge(&observations(&overrides), &drills, &[], "2027-01-15T00:00:00Z");
            assert_eq!(verdict.outcome, Outcome::Red);
            assert_eq!(active(&verdict), vec![expected], "{overrides:?}");
        }
        // Tier 1 and 2 failures are graded, never blockers.
        let verdict = judge(
            &observations(&[("quality_at_schema", None), ("policies_reviewed", Some(0.2))]),
            &drills(),
            &[],
            "2027-01-15T00:00:00Z",
        );
        assert_eq!(verdict.outcome, Outcome::Green);
        let t13 = verdict.claims.iter().find(|c| c.id == "T1.3").unwrap();
        assert_eq!((t13.level, t13.status), (Level::L2, ClaimStatus::Partial));
        // A metric the matrix names that was not measured fails closed.
        let mut unmeasured = observations(&[]);
        unmeasured.retain(|o| o.metric != "trace_chain_complete");
        let verdict = judge(&unmeasured, &drills(), &[], "2027-01-15T00:00:00Z");
        assert_eq!(active(&verdict), vec![(BlockerId::B7, "T0.5", "trace_chain_complete")]);
    }

    #[test]
    fn a_waiver_holds_its_blocker_until_it_expires_and_never_an_unwaivable_one() {
        let failing = observations(&[("unexplained_spend", Some(3.5))]);
        let waiver = |id: &str, scope: &str, expires: &str| Waiver {
            waiver_id: id.into(),
            scope: scope.into(),
            reason: "vendor invoice late".into(),
            owner: "finops".into(),
            approver: Some("cfo".into()),
            approved_at: Some(at("2027-01-10T00:00:00Z")),
            expires_at: at(expires),
        };
        let held = judge(
            &failing,
            &drills(),
            &[waiver("WVR-1", "OC-B5", "2027-02-01T00:00:00Z")],
            "2027-01-15T00:00:00Z",
        );
        assert_eq!(held.outcome, Outcome::Green, "{:?}", held.reasons);
        assert_eq!(held.blockers[0].state, BlockerState::Waived);
        assert_eq!(held.waivers[0].state, "active");
        assert!(held.reasons.iter().any(|r| r.contains("waived: OC-B5 on T0.6")), "{:?}", held.reasons);
        assert_eq!(held.claims.iter().find(|c| c.id == "T0.6").unwrap().status, ClaimStatus::Waived);
        // Within the notice it is listed as expiring; after it, RED again.
        let soon = judge(
            &failing,
            &drills(),
            &[waiver("WVR-1", "T0.6", "2027-01-20T00:00:00Z")],
            "2027-01-15T00:00:00Z",
        );
        assert_eq!((soon.outcome, soon.waivers[0].state.as_str()), (Outcome::Green, "expiring"));
        let later = judge(
            &failing,
            &drills(),
            &[waiver("WVR-1", "OC-B5", "2027-01-20T00:00:00Z")],
            "2027-01-21T00:00:00Z",
        );
        assert_eq!(later.outcome, Outcome::Red);
        assert_eq!(later.waivers[0].state, "expired");
        // Longer than the matrix allows, unapproved, or an unwaivable blocker: nothing held.
        let long = judge(
            &failing,
            &drills(),
            &[waiver("WVR-1", "OC-B5", "2027-06-01T00:00:00Z")],
            "2027-01-15T00:00:00Z",
        );
        assert_eq!((long.outcome, long.waivers[0].state.as_str()), (Outcome::Red, "too_long"));
        let mut unapproved = waiver("WVR-1", "OC-B5", "2027-02-01T00:00:00Z");
        unapproved.approver = None;
        assert_eq!(judge(&failing, &drills(), &[unapproved], "2027-01-15T00:00:00Z").outcome, Outcome::Red);
        let mut unmeasured = observations(&[]);
        unmeasured.retain(|o| o.metric != "trace_chain_complete");
        let b7 = judge(
            &unmeasured,
            &drills(),
            &[waiver("WVR-1", "T0.5", "2027-02-01T00:00:00Z")],
            "2027-01-15T00:00:00Z",
        );
        assert_eq!(b7.outcome, Outcome::Red, "OC-B7 is never waived");
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes_and_nondeterminism_is_red() {
        let a = judge(&observations(&[]), &drills(), &[], "2027-01-15T00:00:00Z");
        let b = judge(&observations(&[]), &drills(), &[], "2027-01-15T00:00:00Z");
        assert_eq!(a.canonical_json(), b.canonical_json());
        let mut c = a.clone();
        c.nondeterministic("claims[0]");
        assert_eq!(c.outcome, Outcome::Red);
        assert_eq!(active(&c), vec![(BlockerId::B6, "rollup", "verdict")]);
    }

    #[test]
    fn nothing_at_all_is_red_at_l0_for_every_claim() {
        let none: Vec<Observation> = crate::METRICS
            .iter()
            .map(|def| Observation {
                metric: def.id.into(),
                value: None,
                records: vec![],
                records_total: 0,
                detail: "nothing".into(),
            })
            .collect();
        let matrix = Matrix::default_matrix();
        let empty = BTreeMap::new();
        let verdict = evaluate(&Inputs {
            workspace: "ops",
            as_of: at("2027-01-15T00:00:00Z"),
            matrix: &matrix,
            matrix_sha256: "m".into(),
            observations: &none,
            evidence: &empty,
            drills: &[],
            waivers: &[],
            checkpoint: None,
        });
        assert_eq!(verdict.outcome, Outcome::Red);
        assert!(verdict.claims.iter().all(|c| c.level == Level::L0));
        let tier1 = verdict.claims.iter().find(|c| c.id == "T1.1").unwrap();
        assert_eq!(tier1.status, ClaimStatus::NotProven);
        let ids: std::collections::BTreeSet<BlockerId> = verdict.blockers.iter().map(|b| b.id).collect();
        assert_eq!(ids, [BlockerId::B1, BlockerId::B2, BlockerId::B3, BlockerId::B4, BlockerId::B5].into());
    }
}
