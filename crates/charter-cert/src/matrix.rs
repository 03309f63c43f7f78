//! The claim matrix: which claims are certified, by which metrics with
//! which thresholds, with which minimum evidence and drill, raising which
//! blocker. A TOML file (`examples/certification.toml` is the default and
//! documents every field), checked on load: every problem names its field
//! and value.

use serde::{Deserialize, Serialize};

use crate::metric::{Direction, metric};
use crate::verdict::BlockerId;

/// The default matrix, as shipped in `examples/certification.toml`.
pub const DEFAULT_MATRIX: &str = include_str!("../../../examples/certification.toml");

/// The Tier 0 claims of the seed: a matrix without one of them cannot give
/// GREEN (the verdict raises OC-B7 for it).
pub const SEED_TIER0: [&str; 4] = ["T0.1", "T0.4", "T0.5", "T0.6"];

/// Evidence kinds a bundle rule may count.
pub const EVIDENCE_KINDS: &[&str] = &[
    "operation_run",
    "decision",
    "run",
    "incident",
    "postmortem",
    "alert",
    "budget",
    "quality_run",
    "checkpoint",
    "drill_rollback",
    "drill_incident",
    "policy",
    "alert_class",
];

/// Drills a claim may need.
pub const DRILLS: &[&str] = &["rollback", "incident"];

/// A claim matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    /// The evidence period, in days, ending at the as-of time.
    pub period_days: u32,
    /// What waivers may be.
    #[serde(default)]
    pub waivers: WaiverRules,
    /// The claims.
    pub claims: Vec<Claim>,
}

/// What waivers may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverRules {
    /// The longest a waiver may last, in days.
    pub max_days: u32,
    /// Waivers expiring within this many days are listed as expiring.
    pub expiring_within_days: u32,
}

impl Default for WaiverRules {
    fn default() -> Self {
        WaiverRules { max_days: 30, expiring_within_days: 14 }
    }
}

/// One claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// `T0.1` … `T2.1`.
    pub id: String,
    /// 0, 1 or 2.
    pub tier: u8,
    /// What it claims.
    pub title: String,
    /// The drill it needs within the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<String>,
    /// The blocker an unmet bundle or drill raises (Tier 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocker: Option<BlockerId>,
    /// The minimum evidence bundle.
    #[serde(default)]
    pub evidence: Vec<EvidenceRule>,
    /// Its metrics.
    pub metrics: Vec<MetricRule>,
}

/// At least `min` records of `kind` in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRule {
    /// The kind of record.
    pub kind: String,
    /// How many at least.
    pub min: u64,
}

/// A metric with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRule {
    /// The metric's id.
    pub id: String,
    /// Passes at or above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// Passes at or below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// The blocker a failure raises (default: the metric's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocker: Option<BlockerId>,
}

impl MetricRule {
    /// The threshold and its side.
    pub fn threshold(&self) -> (Direction, f64) {
        match (self.at_least, self.at_most) {
            (Some(value), _) => (Direction::AtLeast, value),
            (None, Some(value)) => (Direction::AtMost, value),
            (None, None) => (Direction::AtLeast, f64::INFINITY),
        }
    }

    /// Whether `value` passes.
    pub fn passes(&self, value: f64) -> bool {
        match self.threshold() {
            (Direction::AtLeast, threshold) => value >= threshold,
            (Direction::AtMost, threshold) => value <= threshold,
        }
    }

    /// The blocker its failure raises.
    pub fn blocker(&self) -> BlockerId {
        self.blocker.or_else(|| metric(&self.id).map(|def| def.blocker)).unwrap_or(BlockerId::B7)
    }
}

impl Matrix {
    /// Reads and checks a matrix; `name` (a file name) prefixes every problem.
    pub fn from_toml(name: &str, text: &str) -> Result<Matrix, Vec<String>> {
        let matrix: Matrix =
            toml::from_str(text).map_err(|error| vec![format!("{name}: {}", error.to_string().trim())])?;
        let problems: Vec<String> = matrix.problems().into_iter().map(|p| format!("{name}: {p}")).collect();
        if problems.is_empty() { Ok(matrix) } else { Err(problems) }
    }

    /// The shipped default.
    pub fn default_matrix() -> Matrix {
        match Matrix::from_toml("examples/certification.toml", DEFAULT_MATRIX) {
            Ok(matrix) => matrix,
            // A test reads the shipped file: it is always valid.
            Err(problems) => unreachable!("the default matrix is invalid: {problems:?}"),
        }
    }

    /// Every rule the matrix breaks, each naming the field and the value.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.period_days == 0 || self.period_days > 3_660 {
            problems.push(format!("period_days: {} is not between 1 and 3660", self.period_days));
        }
        if self.waivers.max_days == 0 {
            problems.push("waivers.max_days: must be at least 1".to_owned());
        }
        for (n, claim) in self.claims.iter().enumerate() {
            let at = format!("claims[{n}]");
            if self.claims[..n].iter().any(|earlier| earlier.id == claim.id) {
                problems.push(format!("{at}.id: \"{}\" is named twice", claim.id));
            }
            if !is_claim_id(&claim.id) {
                problems.push(format!("{at}.id: \"{}\" is not of the form T<tier>.<n>", claim.id));
            } else if !claim.id.starts_with(&format!("T{}.", claim.tier)) {
                problems.push(format!("{at}.tier: {} does not match the id \"{}\"", claim.tier, claim.id));
            }
            if claim.tier > 2 {
                problems.push(format!("{at}.tier: {} is not 0, 1 or 2", claim.tier));
            }
            if claim.title.trim().is_empty() {
                problems.push(format!("{at}.title: must not be empty"));
            }
            if let Some(drill) = &claim.drill
                && !DRILLS.contains(&drill.as_str())
            {
                problems.push(format!("{at}.drill: \"{drill}\" is not one of {}", DRILLS.join(", ")));
            }
            if let Some(blocker) = claim.blocker
                && !blocker.waivable()
            {
                problems
                    .push(format!("{at}.blocker: {blocker} is raised by the verdict itself, not by a claim"));
            }
            for (k, rule) in claim.evidence.iter().enumerate() {
                if !EVIDENCE_KINDS.contains(&rule.kind.as_str()) {
                    problems.push(format!(
                        "{at}.evidence[{k}].kind: \"{}\" is not one of {}",
                        rule.kind,
                        EVIDENCE_KINDS.join(", ")
                    ));
                }
            }
            if claim.metrics.is_empty() {
                problems.push(format!("{at}.metrics: a claim needs at least one metric"));
            }
            for (k, rule) in claim.metrics.iter().enumerate() {
                let at = format!("{at}.metrics[{k}]");
                let Some(def) = metric(&rule.id) else {
                    problems.push(format!("{at}.id: \"{}\" is no metric Charter computes", rule.id));
                    continue;
                };
                if def.claim != claim.id {
                    problems.push(format!(
                        "{at}.id: \"{}\" is a metric of {}, not of {}",
                        rule.id, def.claim, claim.id
                    ));
                }
                if claim.metrics[..k].iter().any(|earlier| earlier.id == rule.id) {
                    problems.push(format!("{at}.id: \"{}\" is named twice", rule.id));
                }
                let (side, value, name) = match (rule.at_least, rule.at_most) {
                    (Some(value), None) => (Direction::AtLeast, value, "at_least"),
                    (None, Some(value)) => (Direction::AtMost, value, "at_most"),
                    _ => {
                        problems.push(format!("{at}: give exactly one of at_least and at_most"));
                        continue;
                    }
                };
                if side != def.direction {
                    let expected = match def.direction {
                        Direction::AtLeast => "at_least",
                        Direction::AtMost => "at_most",
                    };
                    problems.push(format!("{at}.{name}: {} is measured against {expected}", rule.id));
                }
                if !value.is_finite() || value < 0.0 || (def.unit == "share" && value > 1.0) {
                    problems.push(format!(
                        "{at}.{name}: {value} is not a {}",
                        if def.unit == "share" { "share between 0 and 1" } else { "non-negative number" }
                    ));
                }
                if let Some(blocker) = rule.blocker
                    && !blocker.waivable()
                {
                    problems.push(format!("{at}.blocker: {blocker} is raised by the verdict itself"));
                }
            }
        }
        problems
    }
}

/// Whether `id` is a claim id: `T<tier>.<n>` (`T0.1`, `T2.1`).
pub fn is_claim_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('T') else { return false };
    let Some((tier, n)) = rest.split_once('.') else { return false };
    tier.len() == 1
        && tier.bytes().all(|b| b.is_ascii_digit())
        && !n.is_empty()
        && n.len() <= 3
        && n.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_matrix_is_valid_and_holds_every_seed_claim() {
        let matrix = Matrix::from_toml("certification.toml", DEFAULT_MATRIX).unwrap();
        for id in SEED_TIER0 {
            assert!(matrix.claims.iter().any(|claim| claim.id == id && claim.tier == 0), "{id}");
        }
        for tier in [1, 2] {
            assert!(matrix.claims.iter().any(|claim| claim.tier == tier));
        }
        let metrics: usize = matrix.claims.iter().map(|claim| claim.metrics.len()).sum();
        assert_eq!(metrics, crate::METRICS.len(), "every metric Charter computes is in the default");
    }

    #[test]
    fn every_problem_names_its_field_and_value() {
        let text = DEFAULT_MATRIX
            .replace("period_days = 90", "period_days = 0")
            .replace(
                "{ id = \"corridor_share\", at_least = 1.0 }",
                "{ id = \"corridor_share\", at_most = 1.5 }",
            )
            .replace("kind = \"budget\"", "kind = \"budgets\"")
            .replace("drill = \"incident\"", "drill = \"fire\"")
            .replace("{ id = \"dlp_lint_clean\", at_least = 1 }", "{ id = \"cost_receipts\", at_least = 1 }");
        let problems = Matrix::from_toml("m.toml", &text).unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "m.toml: period_days: 0 is not between 1 and 3660",
            "m.toml: claims[0].metrics[0].at_most: corridor_share is measured against at_least",
            "m.toml: claims[0].metrics[0].at_most: 1.5 is not a share between 0 and 1",
            "m.toml: claims[2].evidence[0].kind: \"budgets\" is not one of",
            "m.toml: claims[3].drill: \"fire\" is not one of rollback, incident",
            "m.toml: claims[7].metrics[1].id: \"cost_receipts\" is a metric of T0.6, not of T2.1",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
        let bad = Matrix::from_toml("m.toml", "period_days = \"ninety\"\nclaims = []").unwrap_err();
        assert!(bad[0].starts_with("m.toml: ") && bad[0].contains("period_days"), "{bad:?}");
        let unknown = Matrix::from_toml("m.toml", "period_days = 9\nclaims = []\nsurprise = 1").unwrap_err();
        assert!(unknown[0].contains("surprise"), "{unknown:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(512))]

        /// Any text, however odd, is read or refused with problems; never a panic.
        #[test]
        fn any_text_is_read_or_refused(text in "\\PC*") {
            if let Err(problems) = Matrix::from_toml("m.toml", &text) {
                proptest::prop_assert!(problems.iter().all(|p| p.starts_with("m.toml: ")));
            }
        }

        /// The default with one value replaced by arbitrary Unicode stays a
        /// clean refusal or a valid matrix.
        #[test]
        fn the_default_with_an_odd_value_is_read_or_refused(value in "\\PC{0,12}") {
            let text = DEFAULT_MATRIX.replacen("\"T0.1\"", &format!("{value:?}"), 1);
            let _ = Matrix::from_toml("m.toml", &text);
            let _ = value.parse::<crate::BlockerId>();
        }
    }
}
