//! Runtime oversight of agents, as pure functions: no database, no clock,
//! no I/O. What agents did comes in as [`Span`]s (the ingest layer maps
//! OpenTelemetry's GenAI spans onto them); out come:
//!
//! - [`Run`]s: the spans of one agent invocation (one trace), with their
//!   duration, status, tools, data touched, tokens, cost and provenance
//!   ([`runs`]);
//! - health [`Signals`] per agent and time window: latency p50/p95, error
//!   rate, tool-call failure rate, guardrail hits, redactions, tokens, cost
//!   and output quality ([`health`]);
//! - a robust [`Baseline`] per agent and signal (median and MAD of the
//!   windows before, judged only after a minimum history) and the
//!   [`Anomaly`]s that page someone, each with a reason id and the evidence
//!   behind it ([`anomaly`]).
//!
//! [`otlp`] reads OpenTelemetry traces (OTLP/HTTP, protobuf or JSON) and
//! maps them onto spans. Times are microseconds since the Unix epoch
//! throughout.

pub mod anomaly;
pub mod health;
pub mod otlp;
pub mod runs;
pub mod span;

pub use anomaly::{Anomaly, AnomalyConfig, Evidence, detect, reason};
pub use health::{Baseline, DEFAULT_WINDOW_US, Signal, Signals, WindowInput, baseline, windows};
pub use runs::{PriceTable, Run, RunStatus, run_id, runs, spans_digest};
pub use span::{Span, SpanKind, SpanProblem, SpanStatus, check};
