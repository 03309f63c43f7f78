"""A minimal OTLP/HTTP trace receiver in Python, for scale beside Charter's
ingest (`charter-bench ingest --url 127.0.0.1:PORT`): it decodes each
export with the OpenTelemetry project's own protobuf types
(opentelemetry-proto) or json, counts the spans, and answers an empty
success. It stores nothing and checks nothing, so it is a lower bound on
what a Python receiver costs, not a peer that does Charter's work.

Usage: otlp_receiver.py PORT   (prints the spans received on SIGTERM/Ctrl-C)
"""
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

received = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global received
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-type", "").startswith("application/json"):
            document = json.loads(body)
            received += sum(
                len(scope.get("spans", []))
                for resource in document.get("resourceSpans", [])
                for scope in resource.get("scopeSpans", [])
            )
            answer, kind = b"{}", "application/json"
        else:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received += sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
            answer, kind = ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def stop(*_):
    print(f"received {received} spans", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
