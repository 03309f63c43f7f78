//! Current-state signals, historical memory and business intent: KPI and cost
//! records, risk signals and their history, snapshots, expected-vs-actual
//! value records and ownership reviews.
//!
//! Records without an id of their own in the seed data get one derived from
//! their natural key: a KPI record is keyed by its agent, a snapshot by agent
//! and date (`agent_sales_01@2024-12-20`), a value record by agent and period
//! start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::{ReviewOutcome, RiskStatus, Severity};
use crate::id::{AgentId, Key};
use crate::time::{Date, Timestamp};
use crate::validate::{Check, Checker, Ref};

/// The latest KPI and cost figures of one agent (`kpis_cost.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiRecord {
    /// The agent measured.
    pub agent_id: AgentId,
    /// The figures.
    pub kpis: Kpis,
}

/// KPI figures: cost and ROI by name, plus any other numeric measure. A
/// figure is a number, or — the portfolio seed's time-awareness shape — its
/// current value with the value one window before:
/// `"cost_usd_30d": {"current": 940, "prev_30d": 720}`. Stored in the shape
/// it came in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kpis {
    /// Cost over the last 30 days in USD.
    pub cost_usd_30d: Option<f64>,
    /// Estimated ROI in USD (negative when the agent loses money).
    pub roi_estimate_usd: Option<f64>,
    /// Other measures, e.g. `conversion_rate`, `emails_sent`, `error_rate`.
    pub other: BTreeMap<String, f64>,
    /// The figures given with a previous value, by name: the value one
    /// window before the current one.
    pub previous: BTreeMap<String, Previous>,
}

/// A figure's value one window before its current value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Previous {
    /// The value.
    pub value: f64,
    /// How many days before the current value it was measured (`prev_7d`: 7).
    pub days: u32,
}

impl Kpis {
    /// The current value of figure `name`.
    pub fn current(&self, name: &str) -> Option<f64> {
        match name {
            "cost_usd_30d" => self.cost_usd_30d,
            "roi_estimate_usd" => self.roi_estimate_usd,
            _ => self.other.get(name).copied(),
        }
    }
}

/// One figure as written: a number, or a current value and a previous one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Figure {
    Number(f64),
    Pair { current: f64, previous: Previous },
}

impl Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        match self {
            Figure::Number(value) => serializer.serialize_f64(*value),
            Figure::Pair { current, previous } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("current", current)?;
                map.serialize_entry(&format!("prev_{}d", previous.days), &previous.value)?;
                map.end()
            }
        }
    }
}

/// The window a `prev_<N>d` key names, in days.
fn window_days(key: &str) -> Option<u32> {
    key.strip_prefix("prev_")?.strip_suffix('d')?.parse().ok().filter(|days| *days > 0)
}

const FIGURE_EXPECTED: &str = "a number, or {\"current\": number, \"prev_<N>d\": number}";

impl<'de> Deserialize<'de> for Figure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Figure;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(FIGURE_EXPECTED)
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Figure, E> {
                Ok(Figure::Number(value))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Figure, E> {
                Ok(Figure::Number(value as f64))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Figure, E> {
                Ok(Figure::Number(value as f64))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Figure, A::Error> {
                use serde::de::Error as _;
                let (mut current, mut previous) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    if key == "current" {
                        if current.replace(map.next_value::<f64>()?).is_some() {
                            return Err(A::Error::custom("\"current\" given twice"));
                        }
                    } else if let Some(days) = window_days(&key) {
                        let value = map.next_value::<f64>()?;
                        if previous.replace(Previous { value, days }).is_some() {
                            return Err(A::Error::custom(format!(
                                "\"{key}\": one previous value only (prev_<N>d)"
                            )));
                        }
                    } else {
                        return Err(A::Error::custom(format!(
                            "unknown key \"{key}\": expected \"current\" and one \"prev_<N>d\" (N days, N ≥ 1)"
                        )));
                    }
                }
                match (current, previous) {
                    (Some(current), Some(previous)) => Ok(Figure::Pair { current, previous }),
                    (None, _) => Err(A::Error::custom("\"current\" is missing")),
                    (_, None) => Err(A::Error::custom("the previous value (\"prev_<N>d\") is missing")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Serialize for Kpis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut figures: BTreeMap<&str, Figure> = BTreeMap::new();
        let named = [("cost_usd_30d", self.cost_usd_30d), ("roi_estimate_usd", self.roi_estimate_usd)];
        let all = named.into_iter().filter_map(|(name, value)| value.map(|v| (name, v)));
        for (name, value) in all.chain(self.other.iter().map(|(name, value)| (name.as_str(), *value))) {
            let figure = match self.previous.get(name) {
                Some(previous) => Figure::Pair { current: value, previous: *previous },
                None => Figure::Number(value),
            };
            figures.insert(name, figure);
        }
        figures.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Kpis {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let figures = BTreeMap::<String, Figure>::deserialize(deserializer)?;
        let mut kpis = Kpis::default();
        for (name, figure) in figures {
            let current = match figure {
                Figure::Number(value) => value,
                Figure::Pair { current, previous } => {
                    kpis.previous.insert(name.clone(), previous);
                    current
                }
            };
            match name.as_str() {
                "cost_usd_30d" => kpis.cost_usd_30d = Some(current),
                "roi_estimate_usd" => kpis.roi_estimate_usd = Some(current),
                _ => {
                    kpis.other.insert(name, current);
                }
            }
        }
        Ok(kpis)
    }
}

impl utoipa::PartialSchema for Kpis {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let number = || ObjectBuilder::new().schema_type(Type::Number);
        let pair = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("current", number())
            .required("current")
            .additional_properties(Some(AdditionalProperties::RefOr(number().into())))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^(current|prev_[1-9][0-9]{0,8}d)$")),
            ))
            .min_properties(Some(2))
            .max_properties(Some(2))
            .description(Some("The current value and the value N days before, as \"prev_<N>d\""));
        let figure = OneOfBuilder::new().item(number()).item(pair);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(figure.into())))
            .description(Some(
                "Figures by name (cost_usd_30d and roi_estimate_usd are named): each a number, or \
                 {\"current\": n, \"prev_<N>d\": n}",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Kpis {}

impl Check for KpiRecord {
    fn check(&self, check: &mut Checker) {
        if let Some(cost) = self.kpis.cost_usd_30d {
            check.non_negative("kpis.cost_usd_30d", cost);
        }
        if let Some(previous) = self.kpis.previous.get("cost_usd_30d") {
            check.non_negative(&format!("kpis.cost_usd_30d.prev_{}d", previous.days), previous.value);
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// A risk signal open now (`risk_signals.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskSignal {
    /// Identifier, e.g. `risk_001`.
    pub risk_id: Key,
    /// The agent at risk.
    pub agent_id: AgentId,
    /// Kind of risk, e.g. `integration`, `operational`, `cost`.
    pub risk_type: String,
    /// Severity.
    pub severity: Severity,
    /// What was observed.
    pub signal: String,
    /// When it was observed.
    pub detected_at: Timestamp,
    /// Whether the risk is still open (default `open`).
    #[serde(default = "open")]
    pub status: RiskStatus,
    /// Workflows the risk affects, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_workflows: Vec<Key>,
}

fn open() -> RiskStatus {
    RiskStatus::Open
}

impl Check for RiskSignal {
    fn check(&self, check: &mut Checker) {
        check.text("risk_type", &self.risk_type);
        check.text("signal", &self.signal);
        check.unique("affected_workflows", &self.affected_workflows);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
        for (index, workflow) in self.affected_workflows.iter().enumerate() {
            refs.push(Ref::workflow(format!("affected_workflows[{index}]"), workflow));
        }
    }
}

/// One observation in the history of a risk (`risk_signal_history.json`).
///
/// Fields are declared in the byte order of their names, so serde's own
/// serialization is already the canonical encoding (checked by a test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskEvent {
    /// The agent at risk.
    pub agent_id: AgentId,
    /// When it was observed.
    pub detected_at: Timestamp,
    /// Identifier, e.g. `risk_evt_001`.
    pub risk_event_id: Key,
    /// The risk this event belongs to, e.g. `risk_sendgrid_latency`.
    pub risk_id: Key,
    /// Kind of risk.
    pub risk_type: String,
    /// Severity at the time.
    pub severity: Severity,
    /// What was observed.
    pub signal: String,
    /// Status after this event.
    pub status: RiskStatus,
}

impl Check for RiskEvent {
    fn check(&self, check: &mut Checker) {
        check.text("risk_type", &self.risk_type);
        check.text("signal", &self.signal);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// A periodic summary of an agent's health (`historical_snapshots.json`).
///
/// Fields are declared in the byte order of their names, so serde's own
/// serialization is already the canonical encoding (checked by a test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The agent summarised.
    pub agent_id: AgentId,
    /// Cost over the last 30 days in USD.
    pub cost_usd_30d: f64,
    /// Invocations per day when the snapshot was taken (a Charter
    /// addition: the seed's snapshots do not carry it; snapshots Charter
    /// saves copy the agent's `daily_invocations`). With manual minutes per
    /// run, it shows automation debt accumulating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_invocations: Option<u64>,
    /// Failure rate over the last 7 days, in percent.
    pub failure_rate_7d: f64,
    /// Integration score, 0-100 (higher is healthier).
    pub integration_score: f64,
    /// Minutes of manual work per run.
    pub manual_minutes_per_run: f64,
    /// Risk score, 0-100 (higher is riskier).
    pub risk_score: f64,
    /// Estimated ROI in USD.
    pub roi_estimate_usd: f64,
    /// Date of the snapshot.
    pub snapshot_date: Date,
    /// Value-leakage score, 0-100 (higher leaks more).
    pub value_leakage_score: f64,
}

impl Snapshot {
    /// The snapshot's key: `agent@date`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.agent_id, self.snapshot_date)
    }
}

impl Check for Snapshot {
    fn check(&self, check: &mut Checker) {
        check.range("integration_score", self.integration_score, 0.0, 100.0);
        check.range("risk_score", self.risk_score, 0.0, 100.0);
        check.range("value_leakage_score", self.value_leakage_score, 0.0, 100.0);
        check.range("failure_rate_7d", self.failure_rate_7d, 0.0, 100.0);
        check.non_negative("cost_usd_30d", self.cost_usd_30d);
        check.non_negative("manual_minutes_per_run", self.manual_minutes_per_run);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// What an agent was expected to deliver in a period and what it did
/// (`expected_vs_actual_value.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueRecord {
    /// First day of the period.
    pub period_start: Date,
    /// Last day of the period.
    pub period_end: Date,
    /// The agent.
    pub agent_id: AgentId,
    /// The figures expected.
    pub expected: ValueFigures,
    /// The figures achieved.
    pub actual: ValueFigures,
    /// Whether the owner signed the period off.
    pub owner_signoff: bool,
    /// The owner's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_notes: Option<String>,
}

impl ValueRecord {
    /// The record's key: `agent@period_start`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.agent_id, self.period_start)
    }
}

/// Value figures: ROI, cost and manual effort by name, plus any other measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValueFigures {
    /// ROI in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roi_usd: Option<f64>,
    /// Cost in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Minutes of manual work per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_minutes_per_run: Option<f64>,
    /// Other measures, e.g. `conversion_rate`, `error_rate`.
    #[serde(flatten)]
    pub other: BTreeMap<String, f64>,
}

impl Check for ValueRecord {
    fn check(&self, check: &mut Checker) {
        if self.period_end < self.period_start {
            check.fail(
                "period_end",
                &format!("must not be before period_start {}, got {}", self.period_start, self.period_end),
            );
        }
        for (side, figures) in [("expected", &self.expected), ("actual", &self.actual)] {
            if let Some(cost) = figures.cost_usd {
                check.non_negative(&format!("{side}.cost_usd"), cost);
            }
            if let Some(minutes) = figures.manual_minutes_per_run {
                check.non_negative(&format!("{side}.manual_minutes_per_run"), minutes);
            }
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// An owner's review of an agent (`ownership_review_history.json`).
///
/// Fields are declared in the byte order of their names, so serde's own
/// serialization is already the canonical encoding (checked by a test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnershipReview {
    /// The actions required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_items: Vec<String>,
    /// Whether actions are required.
    pub action_required: bool,
    /// The agent reviewed.
    pub agent_id: AgentId,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Date of the review.
    pub review_date: Date,
    /// Identifier, e.g. `rev_001`.
    pub review_id: Key,
    /// Outcome.
    pub review_outcome: ReviewOutcome,
    /// Kind of review, e.g. `monthly`, `exception`, `escalation`.
    pub review_type: String,
    /// Who reviewed.
    pub reviewer: String,
}

impl Check for OwnershipReview {
    fn check(&self, check: &mut Checker) {
        check.text("reviewer", &self.reviewer);
        check.text("review_type", &self.review_type);
        for (index, item) in self.action_items.iter().enumerate() {
            check.text(&format!("action_items[{index}]"), item);
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// A workspace's portfolio scoring configuration (`risk_settings.json`):
/// the weights and thresholds `charter assess` and the report use, with the
/// fields of `examples/risk.toml`; a field left out keeps its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    /// Always `default`: a workspace has one set.
    pub settings_id: Key,
    /// The configuration, field for field as in `risk.toml` (checked by the
    /// scoring engine when the record is written).
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
}

impl Check for RiskSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_figures_come_as_numbers_or_current_and_previous_and_print_back_the_same() {
        let text = r#"{"agent_id":"agent_sales_01","kpis":{"conversion_rate":0.042,"cost_usd_30d":{"current":940,"prev_30d":720},"failure_rate_7d":{"current":12.5,"prev_7d":8.1}}}"#;
        let record: KpiRecord = serde_json::from_str(text).unwrap();
        assert_eq!(record.kpis.cost_usd_30d, Some(940.0));
        assert_eq!(record.kpis.current("failure_rate_7d"), Some(12.5));
        assert_eq!(record.kpis.previous["cost_usd_30d"], Previous { value: 720.0, days: 30 });
        assert_eq!(record.kpis.previous["failure_rate_7d"], Previous { value: 8.1, days: 7 });
        assert!(!record.kpis.previous.contains_key("conversion_rate"));
        let printed = serde_json::to_value(&record).unwrap();
        assert_eq!(printed["kpis"]["cost_usd_30d"]["prev_30d"].as_f64(), Some(720.0));
        assert_eq!(printed["kpis"]["failure_rate_7d"]["current"].as_f64(), Some(12.5));
        assert_eq!(printed["kpis"]["conversion_rate"].as_f64(), Some(0.042));
        assert_eq!(serde_json::from_value::<KpiRecord>(printed).unwrap(), record);
    }

    #[test]
    fn a_figure_in_another_shape_is_refused_saying_which() {
        let refused = |kpis: &str| {
            let text = format!(r#"{{"agent_id":"agent_sales_01","kpis":{kpis}}}"#);
            serde_json::from_str::<KpiRecord>(&text).unwrap_err().to_string()
        };
        assert!(refused(r#"{"x":{"current":1}}"#).contains("the previous value (\"prev_<N>d\") is missing"));
        assert!(refused(r#"{"x":{"prev_7d":1}}"#).contains("\"current\" is missing"));
        assert!(refused(r#"{"x":{"current":1,"prev_0d":2}}"#).contains("unknown key \"prev_0d\""));
        assert!(
            refused(r#"{"x":{"current":1,"prev_7d":2,"prev_30d":3}}"#).contains("one previous value only")
        );
        assert!(refused(r#"{"x":"high"}"#).contains("a number, or {\"current\""));
    }
}
