//! The scoring configuration: weights and thresholds, with defaults in
//! code. Every field may be left out of a workspace's configuration; the
//! default is then used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Weights of the integration score's components (they sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntegrationWeights {
    /// Uptime of the weakest dependency.
    pub uptime: f64,
    /// p95 latency of the slowest dependency against the threshold.
    pub latency: f64,
    /// Credentials of the dependency closest to expiry.
    pub auth: f64,
    /// Dependencies whose schema version is not the expected one.
    pub schema_drift: f64,
    /// Dependencies no system record describes.
    pub undocumented: f64,
}

impl Default for IntegrationWeights {
    fn default() -> Self {
        IntegrationWeights { uptime: 0.25, latency: 0.25, auth: 0.25, schema_drift: 0.10, undocumented: 0.15 }
    }
}

/// Weights of the value-leakage score's components (they sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValueWeights {
    /// ROI below expectation, as a share of the expectation.
    pub roi_shortfall: f64,
    /// Cost above expectation, as a share of the expectation.
    pub cost_overrun: f64,
    /// Growth of manual minutes per run from the first period to the latest.
    pub manual_growth: f64,
}

impl Default for ValueWeights {
    fn default() -> Self {
        ValueWeights { roi_shortfall: 0.5, cost_overrun: 0.3, manual_growth: 0.2 }
    }
}

/// Weights of the risk score's components (they sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskWeights {
    /// Open risk signals: severity × blast radius × criticality.
    pub signals: f64,
    /// Failure rate of the agent's worst workflow, or its growth over the
    /// snapshots when that is worse.
    pub failure_rate: f64,
    /// Dependence on humans in the loop.
    pub hitl: f64,
    /// Days since the last owner review, open action items, escalations.
    pub ownership_friction: f64,
}

impl Default for RiskWeights {
    fn default() -> Self {
        RiskWeights { signals: 0.3, failure_rate: 0.3, hitl: 0.15, ownership_friction: 0.25 }
    }
}

/// The scoring configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Uptime (percent over 30 days) at or above which a system costs nothing.
    pub uptime_target: f64,
    /// Uptime at or below which a system costs the full uptime penalty.
    pub uptime_floor: f64,
    /// p95 latency (ms) above which a system is flagged and penalised.
    pub latency_threshold_ms: f64,
    /// Latency penalty points (of 100) per percent over the threshold.
    pub latency_points_per_percent: f64,
    /// Auth penalty (of 100) for credentials expiring soon.
    pub auth_expiring_points: f64,
    /// Auth penalty (of 100) for expired credentials.
    pub auth_expired_points: f64,
    /// Penalty (of 100) an undocumented dependency costs in uptime, latency
    /// and credentials: its health is unknown.
    pub undocumented_health_points: f64,
    /// The schema version each system is expected to be at; a system at
    /// another version has drifted. Systems not listed cannot drift.
    pub expected_schema_versions: BTreeMap<String, String>,
    /// Weights of the integration score.
    pub integration: IntegrationWeights,
    /// Weights of the value-leakage score.
    pub value: ValueWeights,
    /// Weights of the risk score.
    pub risk: RiskWeights,
    /// 7-day failure rate (percent) that costs the full failure penalty.
    pub failure_rate_full: f64,
    /// Manual minutes per run that cost the full human-in-the-loop penalty.
    pub hitl_minutes_full: f64,
    /// Days since the last owner review that cost the full friction penalty.
    pub owner_review_days_full: f64,
    /// Friction points per open action item of the last review.
    pub points_per_open_action: f64,
    /// Friction points per escalation on record.
    pub points_per_escalation: f64,
    /// Hourly rate (USD) of the people in the loop, for the HITL cost.
    pub hourly_rate_usd: f64,
    /// 7-day failure rate (percent) at which a workflow escalates.
    pub failure_rate_escalation: f64,
    /// Days without an owner review after which a degrading high-criticality agent escalates.
    pub owner_review_days_escalation: i64,
    /// Value leakage at or above which an agent with negative ROI and an
    /// escalation on record is recommended for shutdown.
    pub shutdown_leakage: f64,
    /// Risk score from which an agent is amber (below: green), in the charts.
    pub risk_amber_from: f64,
    /// Risk score from which an agent is red, in the charts.
    pub risk_red_from: f64,
    /// Snapshots a trend needs; with fewer, it is "insufficient history".
    pub trend_min_snapshots: usize,
    /// Change in a 0-100 score, first snapshot to last, that makes a trend
    /// improving or degrading rather than stable.
    pub trend_threshold_points: f64,
    /// Change in a KPI figure given with its previous value, as a percent of
    /// that value, that makes its trend improving or degrading.
    pub trend_threshold_percent: f64,
    /// Days a risk of the risk history may stay open before it escalates.
    pub risk_open_days_escalation: f64,
    /// Days of the window, ending on the day assessed, over which changes
    /// are stated ("risk has increased 22% over the last 30 days").
    pub trend_window_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            uptime_target: 99.5,
            uptime_floor: 95.0,
            latency_threshold_ms: 500.0,
            latency_points_per_percent: 0.5,
            auth_expiring_points: 50.0,
            auth_expired_points: 100.0,
            undocumented_health_points: 40.0,
            expected_schema_versions: BTreeMap::new(),
            integration: IntegrationWeights::default(),
            value: ValueWeights::default(),
            risk: RiskWeights::default(),
            failure_rate_full: 20.0,
            hitl_minutes_full: 5.0,
            owner_review_days_full: 45.0,
            points_per_open_action: 10.0,
            points_per_escalation: 25.0,
            hourly_rate_usd: 60.0,
            failure_rate_escalation: 10.0,
            owner_review_days_escalation: 45,
            shutdown_leakage: 80.0,
            risk_amber_from: 40.0,
            risk_red_from: 70.0,
            trend_min_snapshots: 3,
            trend_threshold_points: 10.0,
            trend_threshold_percent: 10.0,
            risk_open_days_escalation: 30.0,
            trend_window_days: 30,
        }
    }
}

impl Config {
    /// Reads a configuration from TOML text: fields left out keep their
    /// defaults; an unknown field, a value of the wrong type or a broken
    /// rule is an error that names it.
    pub fn from_toml(text: &str) -> Result<Config, Vec<String>> {
        let config: Config =
            toml::from_str(text).map_err(|error| vec![error.to_string().trim().to_owned()])?;
        let problems = config.problems();
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }

    /// Reads a configuration from a JSON object with the same fields (a
    /// workspace's `risk_settings` record): as [`Config::from_toml`], an
    /// error names the field.
    pub fn from_json(object: &serde_json::Map<String, serde_json::Value>) -> Result<Config, Vec<String>> {
        let value = serde_json::Value::Object(object.clone());
        let config: Config = serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            vec![if path == "." { inner } else { format!("{path}: {inner}") }]
        })?;
        let problems = config.problems();
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }

    /// Every rule the configuration breaks (weights that do not sum to 1,
    /// a floor above the target, negative values).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let w = &self.integration;
        let sum = w.uptime + w.latency + w.auth + w.schema_drift + w.undocumented;
        if (sum - 1.0).abs() > 1e-9 {
            problems.push(format!("integration: weights must sum to 1, got {}", shown(sum)));
        }
        let v = &self.value;
        let sum = v.roi_shortfall + v.cost_overrun + v.manual_growth;
        if (sum - 1.0).abs() > 1e-9 {
            problems.push(format!("value: weights must sum to 1, got {}", shown(sum)));
        }
        for (name, value) in [
            ("integration.uptime", w.uptime),
            ("integration.latency", w.latency),
            ("integration.auth", w.auth),
            ("integration.schema_drift", w.schema_drift),
            ("integration.undocumented", w.undocumented),
            ("latency_threshold_ms", self.latency_threshold_ms),
            ("trend_threshold_percent", self.trend_threshold_percent),
            ("risk_open_days_escalation", self.risk_open_days_escalation),
            ("latency_points_per_percent", self.latency_points_per_percent),
            ("undocumented_health_points", self.undocumented_health_points),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                problems.push(format!("{name}: must be a number of 0 or more, got {value}"));
            }
        }
        let r = &self.risk;
        let sum = r.signals + r.failure_rate + r.hitl + r.ownership_friction;
        if (sum - 1.0).abs() > 1e-9 {
            problems.push(format!("risk: weights must sum to 1, got {}", shown(sum)));
        }
        for (name, value) in [
            ("failure_rate_full", self.failure_rate_full),
            ("hitl_minutes_full", self.hitl_minutes_full),
            ("owner_review_days_full", self.owner_review_days_full),
        ] {
            if !(value.is_finite() && value > 0.0) {
                problems.push(format!("{name}: must be above 0, got {value}"));
            }
        }
        if !(0.0 < self.risk_amber_from
            && self.risk_amber_from < self.risk_red_from
            && self.risk_red_from <= 100.0)
        {
            problems.push(format!(
                "risk_amber_from ({}) and risk_red_from ({}) must be 0 < amber < red <= 100",
                self.risk_amber_from, self.risk_red_from
            ));
        }
        if self.uptime_floor >= self.uptime_target {
            problems.push(format!(
                "uptime_floor ({}) must be below uptime_target ({})",
                self.uptime_floor, self.uptime_target
            ));
        }
        problems
    }
}

/// `x` without the float noise of a sum (0.1 + 0.2 shows as 0.3).
fn shown(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_bad_files_name_the_field() {
        let config =
            Config::from_toml("latency_threshold_ms = 800\n[risk]\nsignals = 0.45\nfailure_rate = 0.15\n")
                .unwrap();
        assert_eq!(config.latency_threshold_ms, 800.0);
        assert_eq!(config.risk.signals, 0.45);
        assert_eq!(config.uptime_target, Config::default().uptime_target);
        let error = Config::from_toml("latency_treshold_ms = 800").unwrap_err();
        assert!(error[0].contains("latency_treshold_ms"), "{error:?}");
        let error = Config::from_toml("[value]\nroi_shortfall = 0.9").unwrap_err();
        assert_eq!(error, ["value: weights must sum to 1, got 1.4"]);
        let json =
            serde_json::json!({"latency_threshold_ms": 800, "risk": {"signals": 0.45, "failure_rate": 0.15}});
        let config = Config::from_json(json.as_object().unwrap()).unwrap();
        assert_eq!((config.latency_threshold_ms, config.risk.signals), (800.0, 0.45));
        let json = serde_json::json!({"risk": {"signals": "high"}});
        let error = Config::from_json(json.as_object().unwrap()).unwrap_err();
        assert!(error[0].starts_with("risk.signals: invalid type"), "{error:?}");
        let json = serde_json::json!({"uptime_floor": 99.9});
        let error = Config::from_json(json.as_object().unwrap()).unwrap_err();
        assert_eq!(error, ["uptime_floor (99.9) must be below uptime_target (99.5)"]);
        let error = Config::from_toml("risk_amber_from = 80").unwrap_err();
        assert_eq!(error, ["risk_amber_from (80) and risk_red_from (70) must be 0 < amber < red <= 100"]);
        let example = include_str!("../../../examples/risk.toml");
        assert_eq!(
            Config::from_toml(example).unwrap(),
            Config::default(),
            "the example file states the defaults"
        );
    }
}
