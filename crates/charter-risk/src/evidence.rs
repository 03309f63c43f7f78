//! Scores as sums of explained components, each naming the records it
//! was computed from.

use charter_model::RecordKind;
use serde::Serialize;

/// A record a conclusion rests on: its kind, id and the field read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    /// Record kind, e.g. `system`.
    pub kind: RecordKind,
    /// Record id, e.g. `email_sendgrid`.
    pub id: String,
    /// The field read, e.g. `latency_ms_p95`.
    pub field: &'static str,
    /// The value read, as text (`absent` when the record is missing).
    pub value: String,
}

impl Evidence {
    /// Evidence that `kind/id` has `field` = `value`.
    pub fn new(kind: RecordKind, id: impl Into<String>, field: &'static str, value: impl ToString) -> Self {
        Evidence { kind, id: id.into(), field, value: value.to_string() }
    }
}

/// One component of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// Its name, e.g. `latency`.
    pub name: &'static str,
    /// Its weight in the score.
    pub weight: f64,
    /// Its penalty, 0 (nothing wrong) to 100.
    pub penalty: f64,
    /// Points it takes off the score: weight × penalty.
    pub points: f64,
    /// How the penalty was found.
    pub detail: String,
    /// The records it was computed from.
    pub evidence: Vec<Evidence>,
}

impl Component {
    /// A component before scoring: its points are set by [`Score`].
    pub fn new(
        name: &'static str,
        weight: f64,
        penalty: f64,
        detail: String,
        evidence: Vec<Evidence>,
    ) -> Self {
        Component { name, weight, penalty, points: 0.0, detail, evidence }
    }
}

/// A score from 0 to 100 and its components.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The score, rounded to one decimal.
    pub value: f64,
    /// The components, in a fixed order.
    pub components: Vec<Component>,
}

/// Clamps every penalty to 0..=100 (a non-finite one counts as 100) and
/// sets the points to weight × penalty.
fn clamp_points(components: &mut [Component]) {
    for component in components {
        let penalty = if component.penalty.is_finite() { component.penalty.clamp(0.0, 100.0) } else { 100.0 };
        component.penalty = round1(penalty);
        component.points = round2(component.weight * component.penalty);
    }
}

/// Rounds to two decimals.
pub(crate) fn round2(value: f64) -> f64 {
    // `+ 0.0` turns −0 into 0, so no score prints as `-0.0`.
    (value * 100.0).round() / 100.0 + 0.0
}

/// Rounds to one decimal.
pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0 + 0.0
}

impl Score {
    /// `Σ points` of `components` (to one decimal), clamped to 0..=100: the
    /// form of scores where higher is worse (risk, value leakage).
    pub fn sum(mut components: Vec<Component>) -> Score {
        clamp_points(&mut components);
        let total: f64 = components.iter().map(|c| c.points).sum();
        Score { value: round1(total.clamp(0.0, 100.0)), components }
    }

    /// `100 − Σ points` of `components` (to one decimal), clamped to
    /// 0..=100, where each component's points are its weight times its
    /// printed penalty (to two decimals), so a reader can redo the sum from
    /// the printed figures. Every penalty is clamped to 0..=100 and a non-finite
    /// one counts as 100, so no input makes the score NaN.
    pub fn from_penalties(mut components: Vec<Component>) -> Score {
        for component in &mut components {
            let penalty =
                if component.penalty.is_finite() { component.penalty.clamp(0.0, 100.0) } else { 100.0 };
            component.penalty = round1(penalty);
            component.points = round2(component.weight * component.penalty);
        }
        let taken: f64 = components.iter().map(|c| c.points).sum();
        Score { value: round1((100.0 - taken).clamp(0.0, 100.0)), components }
    }
}
