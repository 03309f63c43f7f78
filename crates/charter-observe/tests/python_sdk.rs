//! What a real client sends: request bodies captured from the OpenTelemetry
//! Python SDK's OTLP/HTTP exporters (see `fixtures/python-sdk/README.md`).

use charter_observe::otlp::{Encoding, MapOptions, decode, map};
use charter_observe::{PriceTable, RunStatus, SpanKind, runs};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/python-sdk/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn agent(name: &str) -> Option<String> {
    (name == "agent_finance_01").then(|| name.to_owned())
}

fn options() -> MapOptions {
    MapOptions { quality_attribute: None, now_us: i64::MAX / 2, skew_us: 0 }
}

/// The three requests of one encoding, decoded.
fn requests(encoding: Encoding) -> Vec<ExportTraceServiceRequest> {
    let files = match encoding {
        Encoding::Protobuf => ["python-sdk-0.pb", "python-sdk-1.pb", "python-sdk-2.pb"],
        Encoding::Json => ["python-sdk-3.json", "python-sdk-4.json", "python-sdk-5.json"],
    };
    files.iter().map(|file| decode(&fixture(file), encoding).unwrap()).collect()
}

#[test]
fn both_encodings_of_the_python_sdk_make_the_same_run() {
    for encoding in [Encoding::Protobuf, Encoding::Json] {
        // As a batching exporter sends them: the whole trace in one request.
        let mut batch = ExportTraceServiceRequest::default();
        for request in requests(encoding) {
            batch.resource_spans.extend(request.resource_spans);
        }
        let mapped = map(&batch, agent, |_| None, |_| None, &options());
        assert!(mapped.rejected.is_empty(), "{encoding:?}: {:?}", mapped.rejected);
        let kinds: Vec<SpanKind> = mapped.spans.iter().map(|span| span.kind).collect();
        assert_eq!(kinds, [SpanKind::Model, SpanKind::ExecuteTool, SpanKind::InvokeAgent], "{encoding:?}");
        let runs = runs(&mapped.spans, &PriceTable::default());
        assert_eq!(runs.len(), 1, "{encoding:?}");
        let run = &runs[0];
        assert_eq!(run.agent_id, "agent_finance_01");
        assert_eq!((run.input_tokens, run.output_tokens), (1200, 300), "{encoding:?}");
        assert_eq!((run.status, run.tool_calls, run.tool_failures), (RunStatus::Error, 1, 1));
        assert_eq!(run.errors, vec!["timeout".to_owned()]);
        assert!(run.tools.contains("erp_netsuite"));
        assert_eq!(run.models.iter().collect::<Vec<_>>(), ["gpt-x"]);
        assert!(run.duration_us() > 0);
    }
}

#[test]
fn a_child_span_sent_before_its_root_waits_for_the_span_that_names_its_agent() {
    // The SDK's simple processor sends the chat span alone, before the
    // root, with only its resource's service name, which is not a
    // registered agent: it is accepted and waits (no agent yet), unless an
    // earlier request of its trace named the agent.
    for encoding in [Encoding::Protobuf, Encoding::Json] {
        let first = &requests(encoding)[0];
        assert_eq!(charter_observe::otlp::traces_without_agent(first).len(), 1);
        let mapped = map(first, agent, |_| None, |_| None, &options());
        assert!(mapped.rejected.is_empty(), "{:?}", mapped.rejected);
        assert_eq!(mapped.spans.len(), 1);
        assert_eq!(mapped.spans[0].agent_id, "");
        let known = |_: &str| Some("agent_finance_01".to_owned());
        let mapped = map(first, agent, |_| None, known, &options());
        assert_eq!(mapped.spans[0].agent_id, "agent_finance_01");
        // The root names its agent itself.
        let root = &requests(encoding)[2];
        assert!(charter_observe::otlp::traces_without_agent(root).is_empty());
    }
}
