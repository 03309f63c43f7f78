//! OpenTelemetry traces as agents send them (OTLP/HTTP, protobuf or JSON),
//! mapped onto [`Span`]s under the GenAI semantic conventions.
//!
//! Which agent a span belongs to: its `gen_ai.agent.id`, else its
//! `gen_ai.agent.name`, else the one another span of its trace names in the
//! same request (tool and model spans often carry no agent attribute), else
//! the resource's `service.name`, looked up in the registry by the caller's
//! `agent` function. A span whose agent is not registered, or whose
//! ids or times are malformed, is rejected with its reason and counted:
//! never silently dropped. Prompt and output contents are reduced to their
//! SHA-256 here and go no further.

use std::collections::{HashMap, HashSet};

/// An OTLP trace export, as `opentelemetry-proto` defines it.
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::span::{Span, SpanKind, SpanStatus, check};

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (the OTLP/JSON mapping: hex ids, 64-bit integers
    /// as strings).
    Json,
}

/// Reads an `ExportTraceServiceRequest`; the error says what was wrong.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, String> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|error| format!("not an OTLP protobuf request: {error}")),
        Encoding::Json => serde_json::from_slice(body).or_else(|first| {
            // Exporters write an empty list attribute as `{"arrayValue":{}}`,
            // which the types crate refuses ("missing field `values`").
            let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
                format!("not JSON: line {}, column {}: {error}", error.line(), error.column())
            })?;
            if !fill_empty_lists(&mut value) {
                return Err(format!("not an OTLP JSON request: {first}"));
            }
            serde_json::from_value(value).map_err(|error| format!("not an OTLP JSON request: {error}"))
        }),
    }
}

/// The body of the answer to an export: an `ExportTraceServiceResponse`
/// in the request's encoding, with a partial success when spans were
/// rejected (`rejected` of them, `message` saying why), else empty.
pub fn response(rejected: u64, message: &str, encoding: Encoding) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.to_owned(),
    });
    match encoding {
        Encoding::Protobuf => ExportTraceServiceResponse { partial_success: partial }.encode_to_vec(),
        // The OTLP/JSON mapping: lowerCamelCase, 64-bit integers as strings.
        Encoding::Json => match partial {
            None => b"{}".to_vec(),
            Some(partial) => serde_json::json!({
                "partialSuccess": {
                    "rejectedSpans": partial.rejected_spans.to_string(),
                    "errorMessage": partial.error_message,
                }
            })
            .to_string()
            .into_bytes(),
        },
    }
}

/// Adds `"values": []` to every `arrayValue` and `kvlistValue` without one;
/// whether it added any.
fn fill_empty_lists(value: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if (key == "arrayValue" || key == "kvlistValue")
                    && let serde_json::Value::Object(list) = inner
                    && !list.contains_key("values")
                {
                    list.insert("values".into(), serde_json::Value::Array(Vec::new()));
                    changed = true;
                }
                changed |= fill_empty_lists(inner);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                changed |= fill_empty_lists(item);
            }
        }
        _ => {}
    }
    changed
}

/// What mapping needs besides the request.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// The span attribute that holds an output-quality score, if any.
    pub quality_attribute: Option<String>,
    /// Now, in microseconds since the epoch.
    pub now_us: i64,
    /// Clock skew tolerated for spans that end in the future.
    pub skew_us: i64,
}

/// A span that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// Its trace id (hex, as sent).
    pub trace_id: String,
    /// Its span id (hex, as sent).
    pub span_id: String,
    /// Why.
    pub reason: String,
}

/// The spans of a request: those accepted, those rejected, and those
/// flagged (accepted, but from the future beyond the tolerated skew).
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// Accepted spans. A child span whose agent nothing names yet (the
    /// OpenTelemetry SDK exports a child before its root, in a request of
    /// its own) is accepted with an empty `agent_id`: it waits for a span
    /// of its trace that names the agent.
    pub spans: Vec<Span>,
    /// Rejected spans, each with its reason.
    pub rejected: Vec<Rejection>,
    /// Accepted spans that end in the future beyond the skew.
    pub flagged: Vec<Rejection>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.as_ref())
}

fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attribute(attributes, key)? {
        any_value::Value::StringValue(value) if !value.is_empty() => Some(value),
        _ => None,
    }
}

fn number(attributes: &[KeyValue], key: &str) -> Option<f64> {
    match attribute(attributes, key)? {
        any_value::Value::IntValue(value) => Some(*value as f64),
        any_value::Value::DoubleValue(value) => Some(*value),
        any_value::Value::StringValue(value) => value.parse().ok(),
        _ => None,
    }
}

fn count(attributes: &[KeyValue], key: &str) -> u64 {
    number(attributes, key).filter(|n| n.is_finite() && *n > 0.0).map_or(0, |n| n as u64)
}

fn texts(attributes: &[KeyValue], key: &str) -> Vec<String> {
    match attribute(attributes, key) {
        Some(any_value::Value::StringValue(value)) if !value.is_empty() => vec![value.clone()],
        Some(any_value::Value::ArrayValue(list)) => list
            .values
            .iter()
            .filter_map(|v: &AnyValue| match &v.value {
                Some(any_value::Value::StringValue(value)) if !value.is_empty() => Some(value.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The SHA-256 of an attribute's content (a string, or any value's protobuf
/// bytes), if the span carries it.
fn content_hash(attributes: &[KeyValue], keys: &[&str]) -> Option<String> {
    let value = keys.iter().find_map(|key| attribute(attributes, key))?;
    let digest = match value {
        any_value::Value::StringValue(text) => Sha256::digest(text.as_bytes()),
        other => Sha256::digest(AnyValue { value: Some(other.clone()) }.encode_to_vec()),
    };
    Some(hex(&digest))
}

/// Who a span says it belongs to, before the registry is asked.
fn agent_hint(span: &OtlpSpan) -> Option<&str> {
    text(&span.attributes, "gen_ai.agent.id").or_else(|| text(&span.attributes, "gen_ai.agent.name"))
}

/// The trace ids (hex) of `request` whose spans name no agent anywhere in
/// it: the ingest asks the store whether earlier requests named one.
pub fn traces_without_agent(request: &ExportTraceServiceRequest) -> Vec<String> {
    let mut named: HashSet<&[u8]> = HashSet::new();
    let mut all: Vec<&[u8]> = Vec::new();
    for span in request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
        if agent_hint(span).is_some() {
            named.insert(&span.trace_id);
        }
        all.push(&span.trace_id);
    }
    all.sort_unstable();
    all.dedup();
    all.into_iter().filter(|trace| !named.contains(trace)).map(hex).collect()
}

/// Maps `request` onto spans. `agent` answers the registered agent id for
/// an id or a name, `tool` the registered tool or system for a tool name
/// (an unregistered tool is kept under its own name), `trace_agent` the
/// agent an earlier request named for a trace (hex id).
///
/// A span's agent is the one its own attributes name, else the one another
/// span of its trace names (in this request, then earlier ones), else the
/// resource's `service.name` when that is a registered agent. A child span
/// with none of these waits (empty `agent_id`); a root span with none is
/// rejected, as is a span whose own attribute names an unknown agent.
pub fn map<'a>(
    request: &'a ExportTraceServiceRequest,
    agent: impl Fn(&str) -> Option<String>,
    tool: impl Fn(&str) -> Option<String>,
    trace_agent: impl Fn(&str) -> Option<String>,
    options: &MapOptions,
) -> Mapped {
    // First pass: the agent each trace's spans name anywhere in the request.
    let mut trace_agents: HashMap<&[u8], &str> = HashMap::new();
    for resource_spans in &request.resource_spans {
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                if let Some(hint) = agent_hint(span) {
                    trace_agents.entry(span.trace_id.as_slice()).or_insert(hint);
                }
            }
        }
    }
    let mut mapped = Mapped::default();
    let mut resolved: HashMap<&str, Option<String>> = HashMap::new();
    for resource_spans in &request.resource_spans {
        let service = resource_spans.resource.as_ref().and_then(|r| text(&r.attributes, "service.name"));
        for scope in &resource_spans.scope_spans {
            for otlp in &scope.spans {
                let (trace_id, span_id) = (hex(&otlp.trace_id), hex(&otlp.span_id));
                let reject = |reason: String| Rejection {
                    trace_id: trace_id.clone(),
                    span_id: span_id.clone(),
                    reason,
                };
                let mut lookup = |hint: &'a str| resolved.entry(hint).or_insert_with(|| agent(hint)).clone();
                let named = agent_hint(otlp).or_else(|| trace_agents.get(otlp.trace_id.as_slice()).copied());
                let agent_id = match named {
                    Some(hint) => match lookup(hint) {
                        Some(id) => id,
                        None => {
                            mapped.rejected.push(reject(format!(
                                "unknown agent \"{hint}\": no registered agent has that id or name"
                            )));
                            continue;
                        }
                    },
                    None => match trace_agent(&trace_id).or_else(|| service.and_then(&mut lookup)) {
                        Some(id) => id,
                        None if !otlp.parent_span_id.is_empty() => String::new(),
                        None => {
                            mapped.rejected.push(reject(match service {
                                Some(service) => format!(
                                    "unknown agent: the span names none (gen_ai.agent.id, gen_ai.agent.name) and its resource's service.name \"{service}\" is no registered agent"
                                ),
                                None => "no agent: the span has no gen_ai.agent.id, gen_ai.agent.name or resource service.name".into(),
                            }));
                            continue;
                        }
                    },
                };
                let attributes = &otlp.attributes;
                let operation = text(attributes, "gen_ai.operation.name").unwrap_or("");
                let status = match otlp.status.as_ref().map_or(0, |s| s.code) {
                    1 => SpanStatus::Ok,
                    2 => SpanStatus::Error,
                    _ if text(attributes, "error.type").is_some() => SpanStatus::Error,
                    _ => SpanStatus::Unset,
                };
                let tool_name = text(attributes, "gen_ai.tool.name");
                let mut datasets = texts(attributes, "charter.datasets");
                datasets.extend(texts(attributes, "db.collection.name"));
                let span = Span {
                    trace_id: trace_id.clone(),
                    span_id: span_id.clone(),
                    parent_span_id: (!otlp.parent_span_id.is_empty()).then(|| hex(&otlp.parent_span_id)),
                    name: otlp.name.clone(),
                    kind: SpanKind::of_operation(operation),
                    agent_id,
                    start_us: i64::try_from(otlp.start_time_unix_nano / 1_000).unwrap_or(i64::MAX),
                    end_us: i64::try_from(otlp.end_time_unix_nano / 1_000).unwrap_or(i64::MAX),
                    status,
                    error_type: text(attributes, "error.type").map(str::to_owned),
                    tool: tool_name.map(|name| tool(name).unwrap_or_else(|| name.to_owned())),
                    datasets,
                    model: text(attributes, "gen_ai.response.model")
                        .or_else(|| text(attributes, "gen_ai.request.model"))
                        .map(str::to_owned),
                    input_tokens: count(attributes, "gen_ai.usage.input_tokens"),
                    output_tokens: count(attributes, "gen_ai.usage.output_tokens"),
                    quality: options
                        .quality_attribute
                        .as_deref()
                        .and_then(|key| number(attributes, key))
                        .filter(|q| q.is_finite()),
                    redactions: count(attributes, "charter.redactions"),
                    prompt_sha256: content_hash(attributes, &["gen_ai.input.messages", "gen_ai.prompt"]),
                    output_sha256: content_hash(attributes, &["gen_ai.output.messages", "gen_ai.completion"]),
                    workflow: text(attributes, "charter.workflow").map(str::to_owned),
                    validate_files: texts(attributes, "charter.validate.files"),
                    validate_block: texts(attributes, "charter.validate.block"),
                };
                let problems = check(&span, options.now_us, options.skew_us);
                let (future, fatal): (Vec<_>, Vec<_>) = problems
                    .into_iter()
                    .partition(|problem| matches!(problem, crate::span::SpanProblem::FromTheFuture { .. }));
                if let Some(problem) = fatal.first() {
                    mapped.rejected.push(reject(problem.to_string()));
                    continue;
                }
                if let Some(problem) = future.first() {
                    mapped.flagged.push(reject(problem.to_string()));
                }
                mapped.spans.push(span);
            }
        }
    }
    mapped
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::ArrayValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    use super::*;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn s(value: &str) -> any_value::Value {
        any_value::Value::StringValue(value.into())
    }

    fn otlp_span(trace: u8, id: u8, attributes: Vec<KeyValue>, status: i32) -> OtlpSpan {
        OtlpSpan {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            name: "span".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_250_000_000,
            attributes,
            status: Some(Status { code: status, message: String::new() }),
            ..Default::default()
        }
    }

    fn request(service: &str, spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s(service))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn registry(name: &str) -> Option<String> {
        match name {
            "agent_finance_01" | "Finance Close Agent" => Some("agent_finance_01".into()),
            _ => None,
        }
    }

    fn options() -> MapOptions {
        MapOptions {
            quality_attribute: Some("charter.quality".into()),
            now_us: 1_700_000_001_000_000,
            skew_us: 0,
        }
    }

    #[test]
    fn genai_spans_map_to_the_registered_agent_and_tool() {
        let root = otlp_span(
            1,
            1,
            vec![
                kv("gen_ai.operation.name", s("invoke_agent")),
                kv("gen_ai.agent.name", s("Finance Close Agent")),
                kv("charter.quality", any_value::Value::DoubleValue(0.8)),
                kv(
                    "charter.validate.files",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue { value: Some(s("out/summary.md")) },
                            AnyValue { value: Some(s("out/ledger.csv")) },
                        ],
                    }),
                ),
                kv("charter.validate.block", s("personal")),
            ],
            1,
        );
        let tool = otlp_span(
            1,
            2,
            vec![
                kv("gen_ai.operation.name", s("execute_tool")),
                kv("gen_ai.tool.name", s("NetSuite")),
                kv("error.type", s("timeout")),
                kv("db.collection.name", s("Finance_Ledger")),
            ],
            0,
        );
        let chat = otlp_span(
            1,
            3,
            vec![
                kv("gen_ai.operation.name", s("chat")),
                kv("gen_ai.request.model", s("gpt-x")),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(1200)),
                kv("gen_ai.usage.output_tokens", any_value::Value::StringValue("300".into())),
                kv("gen_ai.prompt", s("secret prompt")),
            ],
            1,
        );
        let tools = |name: &str| (name == "NetSuite").then(|| "erp_netsuite".to_owned());
        // The service name is not an agent: the trace's own agent attribute wins.
        let mapped =
            map(&request("finance-worker", vec![root, tool, chat]), registry, tools, |_| None, &options());
        assert!(mapped.rejected.is_empty(), "{:?}", mapped.rejected);
        assert_eq!(mapped.spans.len(), 3);
        let [root, tool, chat] = [&mapped.spans[0], &mapped.spans[1], &mapped.spans[2]];
        assert!(mapped.spans.iter().all(|span| span.agent_id == "agent_finance_01"));
        assert_eq!(root.trace_id, "01".repeat(16));
        assert_eq!(root.span_id, "01".repeat(8));
        assert_eq!((root.kind, root.quality), (SpanKind::InvokeAgent, Some(0.8)));
        assert_eq!(root.validate_files, ["out/summary.md", "out/ledger.csv"]);
        assert_eq!(root.validate_block, ["personal"]);
        assert_eq!((root.start_us, root.end_us), (1_700_000_000_000_000, 1_700_000_000_250_000));
        assert_eq!((tool.kind, tool.status), (SpanKind::ExecuteTool, SpanStatus::Error));
        assert_eq!(tool.tool.as_deref(), Some("erp_netsuite"));
        assert_eq!(tool.datasets, vec!["Finance_Ledger".to_owned()]);
        assert_eq!((chat.input_tokens, chat.output_tokens), (1200, 300));
        assert_eq!(chat.model.as_deref(), Some("gpt-x"));
        let hash = chat.prompt_sha256.as_deref().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!format!("{chat:?}").contains("secret prompt"));
    }

    #[test]
    fn unknown_agents_and_bad_spans_are_rejected_with_a_reason_and_the_future_is_flagged() {
        let unknown = otlp_span(2, 1, vec![kv("gen_ai.agent.id", s("agent_ghost"))], 1);
        let mut backwards = otlp_span(3, 1, vec![kv("gen_ai.agent.id", s("agent_finance_01"))], 1);
        backwards.end_time_unix_nano = backwards.start_time_unix_nano - 1_000;
        let mut short_id = otlp_span(4, 1, vec![kv("gen_ai.agent.id", s("agent_finance_01"))], 1);
        short_id.span_id = vec![1, 2];
        let mut future = otlp_span(5, 1, vec![kv("gen_ai.agent.id", s("agent_finance_01"))], 1);
        future.end_time_unix_nano = 1_800_000_000_000_000_000;
        let mut nobody = request("x", vec![otlp_span(6, 1, Vec::new(), 1)]);
        nobody.resource_spans[0].resource = None;
        let mut all = request("unregistered-service", vec![unknown, backwards, short_id, future]);
        all.resource_spans.extend(nobody.resource_spans);
        let mapped = map(&all, registry, |_| None, |_| None, &options());
        let reasons: Vec<&str> = mapped.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("unknown agent \"agent_ghost\""));
        assert!(reasons[1].contains("ends") && reasons[1].contains("before it starts"));
        assert!(reasons[2].contains("span_id \"0102\" is not 16 hex digits"));
        assert!(reasons[3].starts_with("no agent"));
        assert_eq!(mapped.spans.len(), 1);
        assert_eq!(mapped.flagged.len(), 1);
        assert!(mapped.flagged[0].reason.contains("in the future"));
    }

    #[test]
    fn both_encodings_decode_the_same_request() {
        let span = otlp_span(
            7,
            9,
            vec![
                kv("gen_ai.agent.id", s("agent_finance_01")),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(5)),
                kv("tags", any_value::Value::ArrayValue(ArrayValue { values: Vec::new() })),
            ],
            2,
        );
        let original = request("svc", vec![span]);
        let protobuf = decode(&original.encode_to_vec(), Encoding::Protobuf).unwrap();
        assert_eq!(protobuf, original);
        // The OTLP/JSON mapping as the spec writes it: hex ids, 64-bit
        // integers as strings, enums as numbers, and an empty list as `{}`.
        let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
            "scopeSpans":[{"spans":[{"traceId":"07070707070707070707070707070707","spanId":"0909090909090909",
            "name":"span","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
            "attributes":[{"key":"gen_ai.agent.id","value":{"stringValue":"agent_finance_01"}},
            {"key":"gen_ai.usage.input_tokens","value":{"intValue":"5"}},{"key":"tags","value":{"arrayValue":{}}}],
            "status":{"code":2},"unknownField":true}]}]}]}"#;
        let from_json = decode(json.as_bytes(), Encoding::Json).unwrap();
        assert_eq!(from_json, original);
        let error = decode(b"{\"resourceSpans\": 3}", Encoding::Json).unwrap_err();
        assert!(error.starts_with("not an OTLP JSON request"), "{error}");
        let error = decode(b"{oops", Encoding::Json).unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        assert!(
            decode(&[0xff, 0xff, 0xff], Encoding::Protobuf).unwrap_err().starts_with("not an OTLP protobuf")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_body_decodes_or_is_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
                                          text in "\\PC*") {
            let _ = decode(&body, Encoding::Protobuf);
            let _ = decode(&body, Encoding::Json);
            let _ = decode(text.as_bytes(), Encoding::Json);
        }

        /// Charter's own span JSON with arbitrary Unicode in every text
        /// field and extreme times: read or refused, then checked and folded
        /// without a panic.
        #[test]
        fn native_spans_with_arbitrary_values_are_read_checked_and_folded(
            text in "\\PC{0,40}",
            start in proptest::prelude::any::<i64>(),
            end in proptest::prelude::any::<i64>(),
            tokens in proptest::prelude::any::<u64>(),
        ) {
            let json = serde_json::json!([{
                "trace_id": text, "span_id": text, "parent_span_id": text, "name": text, "kind": "execute_tool",
                "agent_id": text, "start_us": start, "end_us": end, "status": "error", "error_type": text,
                "tool": text, "datasets": [text], "model": text, "input_tokens": tokens, "output_tokens": tokens,
                "redactions": tokens, "workflow": text,
            }]);
            if let Ok(spans) = serde_json::from_value::<Vec<Span>>(json) {
                for span in &spans {
                    let _ = check(span, start, 300_000_000);
                }
                let prices = crate::PriceTable { models: [(text.clone(), (1e300, 1e300))].into_iter().collect() };
                let _ = crate::runs(&spans, &prices);
                let _ = crate::run_id(&text, &text);
            }
        }
    }
}
