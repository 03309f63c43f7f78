"""Acceptance with a client nobody here wrote: the OpenTelemetry Python SDK
and its OTLP/HTTP exporters (protobuf, then JSON) send GenAI spans of the
example's agents to a running Charter; the runs, their tools and token
counts must appear, and a span of an unknown agent must be rejected. Then Charter's /metrics
is read with the Prometheus client's text-format parser.

Usage: otel_acceptance.py ADDRESS TOKEN (an operator's token of workspace ops)
"""
import json
import sys
import urllib.request

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

address, token = sys.argv[1], sys.argv[2]
headers = {"authorization": f"Bearer {token}"}


def send(exporter, tools):
    """One run of agent_finance_01 through `exporter`, child spans first
    (the simple processor exports each span as it ends); returns its trace id."""
    provider = TracerProvider(resource=Resource.create({"service.name": "finance-worker"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("charter-acceptance")
    with tracer.start_as_current_span("invoke_agent Finance Close Agent") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.id", "agent_finance_01")
        trace_id = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", 1000)
            chat.set_attribute("gen_ai.usage.output_tokens", 250)
            chat.set_attribute("gen_ai.input.messages", "reconcile the ledger for November")
        for tool in tools:
            with tracer.start_as_current_span(f"execute_tool {tool}") as call:
                call.set_attribute("gen_ai.operation.name", "execute_tool")
                call.set_attribute("gen_ai.tool.name", tool)
    # A span of an agent nobody registered: rejected and counted.
    with tracer.start_as_current_span("invoke_agent Ghost") as ghost:
        ghost.set_attribute("gen_ai.operation.name", "invoke_agent")
        ghost.set_attribute("gen_ai.agent.id", "agent_ghost_99")
    provider.shutdown()
    return trace_id


def get(path):
    request = urllib.request.Request(f"http://{address}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Protobuf
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as Json

failures = []
for name, exporter, tools in [
    ("protobuf", Protobuf(endpoint=f"http://{address}/v1/traces", headers=headers), ["erp_netsuite"]),
    (
        "json",
        Json(endpoint=f"http://{address}/v1/workspaces/ops/otlp/v1/traces", headers=headers),
        ["erp_netsuite", "ocr_service"],
    ),
]:
    trace_id = send(exporter, tools)
    run_id = f"RUN-{trace_id}-agent_finance_01"
    try:
        run = get(f"/v1/workspaces/ops/runs/{run_id}")["record"]
    except Exception as error:  # noqa: BLE001 - reported below
        failures.append(f"{name}: {run_id} not found: {error}")
        continue
    got = (run["spans"], run["input_tokens"], run["output_tokens"], sorted(run["tools"]), run["models"])
    want = (2 + len(tools), 1000, 250, sorted(tools), ["gpt-4o-mini"])
    if got != want:
        failures.append(f"{name}: {run_id} has (spans, tokens in, out, tools, models) {got}, expected {want}")
    if abs(run["cost_usd"] - (1000 * 0.15 + 250 * 0.6) / 1e6) > 1e-12:
        failures.append(f"{name}: cost {run['cost_usd']}")
    if len(run.get("content_hashes", [])) != 1:
        failures.append(f"{name}: the prompt's hash is missing: {run.get('content_hashes')}")
    if "reconcile" in json.dumps(run):
        failures.append(f"{name}: the prompt's content is stored")
    print(f"{name}: {run_id}: {got}")

runs = [item["record"] for item in get("/v1/workspaces/ops/runs?limit=1000")["items"]]
if sum(1 for run in runs if run["agent_id"] == "agent_finance_01") != 2:
    failures.append(f"expected 2 runs of agent_finance_01, found {[run['run_id'] for run in runs]}")
if any(run["agent_id"] == "agent_ghost_99" for run in runs):
    failures.append("a run of an unknown agent was recorded")
# Charter's own /metrics, read by the Prometheus text-format parser of the
# official Python client.
from prometheus_client.parser import text_string_to_metric_families

request = urllib.request.Request(f"http://{address}/metrics", headers=headers)
with urllib.request.urlopen(request, timeout=10) as response:
    content_type = response.headers.get("content-type", "")
    exposition = response.read().decode()
if not content_type.startswith("text/plain"):
    failures.append(f"/metrics answered {content_type}")
families = {family.name: family for family in text_string_to_metric_families(exposition)}
for name in [
    "charter_decisions",
    "charter_decision_seconds",
    "charter_ledger_append_batch_events",
    "charter_ingest_spans_accepted",
    "charter_ingest_spans_rejected",
    "charter_outbox_pending",
    "charter_alerts_open",
    "charter_ledger_entries",
]:
    if name not in families:
        failures.append(f"/metrics lacks {name}: {sorted(families)}")
def value(family, sample_name, **labels):
    return sum(s.value for s in families[family].samples if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()))
if families.get("charter_ingest_spans_accepted") and value("charter_ingest_spans_accepted", "charter_ingest_spans_accepted_total") < 7:
    failures.append("fewer accepted spans counted than sent")
if families.get("charter_ingest_spans_rejected") and value("charter_ingest_spans_rejected", "charter_ingest_spans_rejected_total") < 2:
    failures.append("the ghost spans are not counted as rejected")
if families.get("charter_decisions") and value("charter_decisions", "charter_decisions_total", outcome="allow") < 1:
    failures.append("no allowed decision counted")
if families.get("charter_decision_seconds"):
    count = value("charter_decision_seconds", "charter_decision_seconds_count")
    inf = value("charter_decision_seconds", "charter_decision_seconds_bucket", le="+Inf")
    if count != inf or count < 1:
        failures.append(f"decision latency histogram: count {count}, +Inf bucket {inf}")
print(f"/metrics: {len(families)} families parsed")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("OpenTelemetry Python SDK acceptance: both encodings recorded their runs")
