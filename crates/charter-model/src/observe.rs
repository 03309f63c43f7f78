//! Runtime oversight records: an agent's runs as Charter recorded them from
//! its telemetry, and a workspace's oversight settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{AgentId, Key};
use crate::time::Timestamp;
use crate::validate::{Check, Checker, Ref};

/// Prefix of run ids.
pub const RUN_ID_PREFIX: &str = "RUN-";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// No span failed.
    Ok,
    /// A span failed.
    Error,
}

/// One agent invocation (the spans of one trace that belong to one agent),
/// closed when its root span arrived. Its spans are kept beside the
/// registry; `spans_sha256` binds them to this record, and so to the
/// ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// `RUN-<trace id>-<agent>` (see `charter_observe::run_id`).
    pub run_id: Key,
    /// The trace id, 32 hex digits.
    pub trace_id: String,
    /// The agent that ran.
    pub agent_id: AgentId,
    /// The workflow it ran for, when a span names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<Key>,
    /// Earliest start of its spans.
    pub started_at: Timestamp,
    /// Latest end of its spans.
    pub ended_at: Timestamp,
    /// `ended_at - started_at` in milliseconds.
    pub duration_ms: f64,
    /// How it ended.
    pub status: RunOutcome,
    /// The `error.type`s seen, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Tool calls in all.
    pub tool_calls: u64,
    /// Tool calls that failed.
    pub tool_failures: u64,
    /// The tools and systems it called.
    #[serde(default)]
    pub tools: Vec<String>,
    /// The datasets it touched.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// The models it asked (provenance: model versions as the spans name them).
    #[serde(default)]
    pub models: Vec<String>,
    /// Input tokens in all.
    pub input_tokens: u64,
    /// Output tokens in all.
    pub output_tokens: u64,
    /// Cost in USD of the tokens whose model has a price.
    pub cost_usd: f64,
    /// Tokens of models without a price: spend Charter cannot explain.
    pub unpriced_tokens: u64,
    /// Redactions the safety filter made.
    pub redactions: u64,
    /// Mean output-quality score of the spans that carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Decisions the decision point denied this agent while the run lasted
    /// (ids of the logged decisions, as `<ledger seq>`), with their reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrail_hits: Vec<GuardrailHit>,
    /// What went other than planned: failed spans, tools or datasets the
    /// agent is not declared to use, spans from the future.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<String>,
    /// SHA-256 of prompt and output contents (provenance, never content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_hashes: Vec<String>,
    /// Spans folded in.
    pub spans: u64,
    /// SHA-256 over the canonical JSON of its spans, in span-id order.
    pub spans_sha256: String,
}

/// A denied decision within a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailHit {
    /// Sequence number of the decision's ledger entry.
    pub seq: u64,
    /// When it was decided.
    pub at: Timestamp,
    /// The action denied.
    pub action: String,
    /// The resource, as `Type::"id"`.
    pub resource: String,
    /// The decision's reasons.
    pub reasons: Vec<String>,
}

impl Check for RunRecord {
    fn check(&self, check: &mut Checker) {
        if !self.run_id.as_str().starts_with(RUN_ID_PREFIX) {
            check.fail("run_id", &format!("must start with {RUN_ID_PREFIX}, got \"{}\"", self.run_id));
        }
        if self.ended_at < self.started_at {
            check.fail("ended_at", "must not be before started_at");
        }
        check.non_negative("cost_usd", self.cost_usd);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}

/// Price of a model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
}

/// Default width of a health window, in minutes.
pub const DEFAULT_WINDOW_MINUTES: u32 = 5;
/// Default clock skew tolerated for spans from the future, in seconds.
pub const DEFAULT_SKEW_SECONDS: u32 = 300;

/// A workspace's runtime-oversight settings (`observe_settings.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserveSettings {
    /// Always `default`: a workspace has one set.
    pub settings_id: Key,
    /// Width of a health window in minutes (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u32>,
    /// Seconds a span may end in the future before it is flagged (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew_seconds: Option<u32>,
    /// The span attribute holding an output-quality score, if spans carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_attribute: Option<String>,
    /// Prices per model name (as `gen_ai.request.model` / `gen_ai.response.model` give it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, ModelPrice>,
}

impl ObserveSettings {
    /// The settings a workspace without a record has.
    pub fn defaults() -> Self {
        Self {
            settings_id: Key::new("default").unwrap_or_else(|_| unreachable!("\"default\" is a valid key")),
            window_minutes: None,
            skew_seconds: None,
            quality_attribute: None,
            prices: BTreeMap::new(),
        }
    }

    /// Width of a health window in minutes.
    pub fn window_minutes(&self) -> u32 {
        self.window_minutes.unwrap_or(DEFAULT_WINDOW_MINUTES)
    }

    /// Clock skew tolerated, in seconds.
    pub fn skew_seconds(&self) -> u32 {
        self.skew_seconds.unwrap_or(DEFAULT_SKEW_SECONDS)
    }
}

impl Check for ObserveSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
        if let Some(minutes) = self.window_minutes
            && !(1..=1_440).contains(&minutes)
        {
            check.fail("window_minutes", &format!("must be between 1 and 1440, got {minutes}"));
        }
        if let Some(attribute) = &self.quality_attribute {
            check.text("quality_attribute", attribute);
        }
        for (model, price) in &self.prices {
            check.non_negative(&format!("prices.{model}.input_per_mtok"), price.input_per_mtok);
            check.non_negative(&format!("prices.{model}.output_per_mtok"), price.output_per_mtok);
        }
    }
}
