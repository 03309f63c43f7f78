//! A span as Charter reads it: the fields of an OpenTelemetry span under the
//! GenAI semantic conventions that oversight needs, already mapped to the
//! registry (which agent, which tool) by the ingest layer. Content never
//! arrives here: prompts and outputs are reduced to their hashes first.

use serde::{Deserialize, Serialize};

/// What a span records, from `gen_ai.operation.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// `invoke_agent`: the agent's invocation (the run's root).
    InvokeAgent,
    /// `execute_tool`: a tool call.
    ExecuteTool,
    /// `chat`, `text_completion`, `generate_content`, `embeddings`: a model call.
    Model,
    /// Anything else.
    Other,
}

impl SpanKind {
    /// The kind of a `gen_ai.operation.name` value.
    pub fn of_operation(name: &str) -> Self {
        match name {
            "invoke_agent" | "create_agent" => SpanKind::InvokeAgent,
            "execute_tool" => SpanKind::ExecuteTool,
            "chat" | "text_completion" | "generate_content" | "embeddings" => SpanKind::Model,
            _ => SpanKind::Other,
        }
    }
}

/// A span's status (OpenTelemetry's `Status.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpanStatus {
    /// Not set.
    Unset,
    /// Completed without error.
    Ok,
    /// Failed.
    Error,
}

/// One span, mapped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Span {
    /// Trace id, 32 lowercase hex digits: the run it belongs to.
    pub trace_id: String,
    /// Span id, 16 lowercase hex digits.
    pub span_id: String,
    /// The parent span's id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    /// The span's name.
    pub name: String,
    /// What it records.
    pub kind: SpanKind,
    /// The registered agent it belongs to.
    pub agent_id: String,
    /// Start, in microseconds since the epoch.
    pub start_us: i64,
    /// End, in microseconds since the epoch.
    pub end_us: i64,
    /// Its status.
    pub status: SpanStatus,
    /// `error.type`, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The registered tool or system it called (`gen_ai.tool.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Datasets it read or wrote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// The model asked (`gen_ai.request.model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `gen_ai.usage.input_tokens`.
    #[serde(default)]
    pub input_tokens: u64,
    /// `gen_ai.usage.output_tokens`.
    #[serde(default)]
    pub output_tokens: u64,
    /// The output-quality score the configuration names, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<f64>,
    /// Redactions the safety filter made in this span.
    #[serde(default)]
    pub redactions: u64,
    /// SHA-256 of the prompt content, when the span carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
    /// SHA-256 of the output content, when the span carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_sha256: Option<String>,
    /// The workflow it ran for, when the span names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Output files its run declares for a safety check
    /// (`charter.validate.files`): filtered when the run's outputs are
    /// validated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validate_files: Vec<String>,
    /// Finding types or families that fail that check
    /// (`charter.validate.block`; without any, `secret`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validate_block: Vec<String>,
}

/// The most tokens or redactions one span may count (a trillion): sums over
/// a month of spans stay far inside a signed 64-bit integer.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// Why a span is refused (or, for [`SpanProblem::FromTheFuture`], flagged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanProblem {
    /// The trace or span id is not hex of the right length, or all zeros.
    #[error("{field} \"{value}\" is not {digits} hex digits (and not all zeros)")]
    BadId {
        /// `trace_id` or `span_id`.
        field: &'static str,
        /// The value.
        value: String,
        /// Digits expected.
        digits: usize,
    },
    /// The span ends before it starts.
    #[error("the span ends ({end_us} µs) before it starts ({start_us} µs)")]
    EndsBeforeStart {
        /// Start.
        start_us: i64,
        /// End.
        end_us: i64,
    },
    /// A count no span can carry (more than [`MAX_COUNT`] tokens or
    /// redactions).
    #[error("{field} is {value}, more than any span carries ({MAX_COUNT} at most)")]
    Implausible {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The span ends later than now plus the tolerated clock skew.
    #[error("the span ends {ahead_us} µs in the future, beyond the tolerated skew")]
    FromTheFuture {
        /// How far ahead of now.
        ahead_us: i64,
    },
}

/// The problems of `span` received at `now_us`, tolerating `skew_us` of
/// clock skew: empty when it is fine.
pub fn check(span: &Span, now_us: i64, skew_us: i64) -> Vec<SpanProblem> {
    let mut problems = Vec::new();
    for (field, value, digits) in [("trace_id", &span.trace_id, 32), ("span_id", &span.span_id, 16)] {
        let hex =
            value.len() == digits && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex || value.bytes().all(|b| b == b'0') {
            problems.push(SpanProblem::BadId { field, value: value.clone(), digits });
        }
    }
    for (field, value) in [
        ("input_tokens", span.input_tokens),
        ("output_tokens", span.output_tokens),
        ("redactions", span.redactions),
    ] {
        if value > MAX_COUNT {
            problems.push(SpanProblem::Implausible { field, value });
        }
    }
    if span.end_us < span.start_us {
        problems.push(SpanProblem::EndsBeforeStart { start_us: span.start_us, end_us: span.end_us });
    }
    let ahead_us = span.end_us.saturating_sub(now_us);
    if ahead_us > skew_us {
        problems.push(SpanProblem::FromTheFuture { ahead_us });
    }
    problems
}

#[cfg(test)]
pub(crate) fn span(trace: u32, id: u32, agent: &str, start_us: i64, end_us: i64) -> Span {
    Span {
        trace_id: format!("{trace:032x}"),
        span_id: format!("{id:016x}"),
        parent_span_id: None,
        name: "invoke_agent".into(),
        kind: SpanKind::InvokeAgent,
        agent_id: agent.into(),
        start_us,
        end_us,
        status: SpanStatus::Ok,
        error_type: None,
        tool: None,
        datasets: Vec::new(),
        model: None,
        input_tokens: 0,
        output_tokens: 0,
        quality: None,
        redactions: 0,
        prompt_sha256: None,
        output_sha256: None,
        workflow: None,
        validate_files: Vec::new(),
        validate_block: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_span_has_no_problem_and_each_flaw_is_named() {
        assert!(check(&span(1, 1, "agent_a", 10, 20), 100, 0).is_empty());
        let mut bad = span(0, 1, "agent_a", 20, 10);
        bad.span_id = "XYZ".into();
        let problems = check(&bad, 15, 0);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].to_string().contains("trace_id \"00000000000000000000000000000000\""));
        assert!(problems[1].to_string().contains("span_id \"XYZ\" is not 16 hex digits"));
        assert!(matches!(problems[2], SpanProblem::EndsBeforeStart { start_us: 20, end_us: 10 }));
        assert!(check(&span(1, 1, "a", 0, 110), 100, 10).is_empty());
        assert_eq!(
            check(&span(1, 1, "a", 0, 111), 100, 10),
            vec![SpanProblem::FromTheFuture { ahead_us: 11 }]
        );
        let mut greedy = span(1, 1, "a", 0, 10);
        greedy.output_tokens = MAX_COUNT + 1;
        let problems = check(&greedy, 100, 0);
        assert_eq!(problems, vec![SpanProblem::Implausible { field: "output_tokens", value: MAX_COUNT + 1 }]);
        assert!(problems[0].to_string().contains("more than any span carries"));
    }

    #[test]
    fn operation_names_map_to_kinds() {
        assert_eq!(SpanKind::of_operation("invoke_agent"), SpanKind::InvokeAgent);
        assert_eq!(SpanKind::of_operation("execute_tool"), SpanKind::ExecuteTool);
        assert_eq!(SpanKind::of_operation("chat"), SpanKind::Model);
        assert_eq!(SpanKind::of_operation("something_new"), SpanKind::Other);
    }
}
