//! Runs: the spans of one agent invocation (one trace id) folded into one
//! record, with what it cost at the configured prices.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::span::{Span, SpanKind, SpanStatus};

/// Prices per model, in USD per million tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Model name → (input, output) USD per million tokens.
    pub models: BTreeMap<String, (f64, f64)>,
}

impl PriceTable {
    /// The cost of `input` and `output` tokens on `model`; `None` when the
    /// model has no price (its spend cannot be explained).
    pub fn cost(&self, model: &str, input: u64, output: u64) -> Option<f64> {
        let (per_input, per_output) = self.models.get(model)?;
        Some((input as f64 * per_input + output as f64 * per_output) / 1_000_000.0)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// No span failed.
    Ok,
    /// Its root span, or any span, failed.
    Error,
}

/// One agent invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The trace id the spans share.
    pub trace_id: String,
    /// The agent.
    pub agent_id: String,
    /// The workflow it ran for, when a span names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Earliest start of its spans.
    pub start_us: i64,
    /// Latest end of its spans.
    pub end_us: i64,
    /// How it ended.
    pub status: RunStatus,
    /// The `error.type`s seen, in order of first appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Tool calls in all.
    pub tool_calls: u64,
    /// Tool calls that failed.
    pub tool_failures: u64,
    /// The tools and systems called.
    pub tools: BTreeSet<String>,
    /// Datasets touched.
    pub datasets: BTreeSet<String>,
    /// Models asked.
    pub models: BTreeSet<String>,
    /// Input tokens in all.
    pub input_tokens: u64,
    /// Output tokens in all.
    pub output_tokens: u64,
    /// Cost in USD of the tokens whose model has a price.
    pub cost_usd: f64,
    /// Tokens of models without a price (their cost is unexplained).
    pub unpriced_tokens: u64,
    /// Redactions the safety filter made.
    pub redactions: u64,
    /// Mean output-quality score of the spans that carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Hashes of prompt and output contents (provenance, never content).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_hashes: Vec<String>,
    /// Spans folded in.
    pub spans: u64,
    /// Output files its spans declare for a safety check.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub validate_files: BTreeSet<String>,
    /// Finding types or families that fail that check.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub validate_block: BTreeSet<String>,
}

impl Run {
    /// Its duration in microseconds.
    pub fn duration_us(&self) -> i64 {
        self.end_us.saturating_sub(self.start_us)
    }
}

/// The longest id a record may have.
const MAX_ID_LEN: usize = 128;

/// The id of the run of `agent` in the trace `trace_id` (32 hex digits):
/// `RUN-<trace>-<agent>`, or, when that would be longer than an id may be,
/// `RUN-<trace>-<first 16 hex digits of the SHA-256 of the agent id>`. The
/// same trace and agent always give the same id, so a run cannot be
/// recorded twice.
pub fn run_id(trace_id: &str, agent: &str) -> String {
    let id = format!("RUN-{trace_id}-{agent}");
    if id.len() <= MAX_ID_LEN {
        return id;
    }
    let digest = Sha256::digest(agent.as_bytes());
    let short: String = digest[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("RUN-{trace_id}-{short}")
}

/// The SHA-256 (hex) that binds a run to its spans: over each span's JSON
/// (as stored), in span-id order, each followed by a line feed. A stranger
/// with the spans recomputes it.
pub fn spans_digest<'a>(spans: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = spans.into_iter().collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for (_, json) in sorted {
        hasher.update(json.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Folds `spans` into runs, one per (trace id, agent), in order of start.
/// A span seen twice (same trace and span id) counts once, so a client that
/// retries an export changes nothing.
pub fn runs(spans: &[Span], prices: &PriceTable) -> Vec<Run> {
    let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(spans.len());
    let mut by_trace: HashMap<(&str, &str), Run> = HashMap::new();
    let mut quality: HashMap<(&str, &str), (f64, u64)> = HashMap::new();
    for span in spans {
        if !seen.insert((&span.trace_id, &span.span_id)) {
            continue;
        }
        let key = (span.trace_id.as_str(), span.agent_id.as_str());
        let run = by_trace.entry(key).or_insert_with(|| Run {
            trace_id: span.trace_id.clone(),
            agent_id: span.agent_id.clone(),
            workflow: None,
            start_us: span.start_us,
            end_us: span.end_us,
            status: RunStatus::Ok,
            errors: Vec::new(),
            tool_calls: 0,
            tool_failures: 0,
            tools: BTreeSet::new(),
            datasets: BTreeSet::new(),
            models: BTreeSet::new(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            unpriced_tokens: 0,
            redactions: 0,
            quality: None,
            content_hashes: Vec::new(),
            spans: 0,
            validate_files: BTreeSet::new(),
            validate_block: BTreeSet::new(),
        });
        run.spans += 1;
        run.start_us = run.start_us.min(span.start_us);
        run.end_us = run.end_us.max(span.end_us);
        if run.workflow.is_none() {
            run.workflow.clone_from(&span.workflow);
        }
        if span.status == SpanStatus::Error {
            run.status = RunStatus::Error;
            let error = span.error_type.clone().unwrap_or_else(|| "error".to_owned());
            if !run.errors.contains(&error) {
                run.errors.push(error);
            }
        }
        if span.kind == SpanKind::ExecuteTool {
            run.tool_calls += 1;
            if span.status == SpanStatus::Error {
                run.tool_failures += 1;
            }
        }
        if let Some(tool) = &span.tool {
            run.tools.insert(tool.clone());
        }
        run.datasets.extend(span.datasets.iter().cloned());
        run.validate_files.extend(span.validate_files.iter().cloned());
        run.validate_block.extend(span.validate_block.iter().cloned());
        // Counts saturate: a client can send any number.
        run.input_tokens = run.input_tokens.saturating_add(span.input_tokens);
        run.output_tokens = run.output_tokens.saturating_add(span.output_tokens);
        let tokens = span.input_tokens.saturating_add(span.output_tokens);
        if tokens > 0 {
            let model = span.model.as_deref().unwrap_or("");
            match prices.cost(model, span.input_tokens, span.output_tokens) {
                Some(cost) => run.cost_usd += cost,
                None => run.unpriced_tokens = run.unpriced_tokens.saturating_add(tokens),
            }
        }
        if let Some(model) = &span.model {
            run.models.insert(model.clone());
        }
        run.redactions = run.redactions.saturating_add(span.redactions);
        if let Some(score) = span.quality {
            let sum = quality.entry(key).or_default();
            sum.0 += score;
            sum.1 += 1;
        }
        for hash in [&span.prompt_sha256, &span.output_sha256].into_iter().flatten() {
            run.content_hashes.push(hash.clone());
        }
    }
    let mut runs: Vec<Run> = by_trace
        .into_iter()
        .map(|(key, mut run)| {
            run.quality = quality.get(&key).map(|(sum, n)| sum / *n as f64);
            run
        })
        .collect();
    runs.sort_by(|a, b| (a.start_us, &a.trace_id, &a.agent_id).cmp(&(b.start_us, &b.trace_id, &b.agent_id)));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::span;

    #[test]
    fn the_spans_of_a_trace_fold_into_one_run_with_its_cost() {
        let mut root = span(7, 1, "agent_a", 1_000, 9_000);
        root.workflow = Some("wf_close".into());
        let mut chat = span(7, 2, "agent_a", 1_500, 3_000);
        chat.kind = SpanKind::Model;
        chat.model = Some("gpt-x".into());
        chat.input_tokens = 1_000;
        chat.output_tokens = 500;
        chat.prompt_sha256 = Some("ab".repeat(32));
        let mut tool = span(7, 3, "agent_a", 3_000, 8_000);
        tool.kind = SpanKind::ExecuteTool;
        tool.tool = Some("erp_netsuite".into());
        tool.datasets = vec!["Finance_Ledger".into()];
        tool.status = SpanStatus::Error;
        tool.error_type = Some("timeout".into());
        let mut unpriced = span(7, 4, "agent_a", 8_000, 8_500);
        unpriced.model = Some("unknown-model".into());
        unpriced.output_tokens = 40;
        let prices = PriceTable { models: [("gpt-x".to_owned(), (2.0, 8.0))].into() };
        // The tool span arrives twice (a retried export): it counts once.
        let runs = runs(&[root, chat, tool.clone(), tool, unpriced], &prices);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!((run.start_us, run.end_us, run.duration_us()), (1_000, 9_000, 8_000));
        assert_eq!(run.status, RunStatus::Error);
        assert_eq!(run.errors, vec!["timeout".to_owned()]);
        assert_eq!((run.tool_calls, run.tool_failures, run.spans), (1, 1, 4));
        assert!(run.tools.contains("erp_netsuite") && run.datasets.contains("Finance_Ledger"));
        assert_eq!((run.input_tokens, run.output_tokens, run.unpriced_tokens), (1_000, 540, 40));
        assert!((run.cost_usd - (1_000.0 * 2.0 + 500.0 * 8.0) / 1e6).abs() < 1e-12);
        assert_eq!(run.workflow.as_deref(), Some("wf_close"));
        assert_eq!(run.content_hashes.len(), 1);
    }

    #[test]
    fn traces_and_agents_make_separate_runs_in_order_of_start() {
        let spans =
            [span(2, 1, "agent_b", 500, 600), span(1, 1, "agent_a", 100, 200), span(1, 2, "agent_c", 50, 90)];
        let runs = runs(&spans, &PriceTable::default());
        let order: Vec<(&str, i64)> = runs.iter().map(|r| (r.agent_id.as_str(), r.start_us)).collect();
        assert_eq!(order, vec![("agent_c", 50), ("agent_a", 100), ("agent_b", 500)]);
    }

    #[test]
    fn a_run_id_is_its_trace_and_agent_and_never_longer_than_an_id() {
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(run_id(trace, "agent_finance_01"), format!("RUN-{trace}-agent_finance_01"));
        let long = format!("AGENT-{}", "X".repeat(120));
        let id = run_id(trace, &long);
        assert_eq!(id.len(), 4 + 32 + 1 + 16);
        assert_eq!(id, run_id(trace, &long));
        assert_ne!(id, run_id(trace, &format!("{long}Y")));
    }

    #[test]
    fn the_spans_digest_does_not_depend_on_their_order_but_on_every_byte() {
        let a = spans_digest([("01", "{\"a\":1}"), ("02", "{\"b\":2}")]);
        assert_eq!(a, spans_digest([("02", "{\"b\":2}"), ("01", "{\"a\":1}")]));
        assert_ne!(a, spans_digest([("01", "{\"a\":1}"), ("02", "{\"b\":3}")]));
        assert_eq!(a.len(), 64);
    }
}
