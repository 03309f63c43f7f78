//! Charter's policy decision point, on Cedar.
//!
//! Pure: the registry, the policies, the grants and the time come in as
//! values, and a decision with its reasons comes out. [`Engine::new`] turns
//! a [`Registry`] into Cedar entities and sliced policy sets once;
//! [`Engine::decide`] runs the built-in guardrails and then Cedar.
//!
//! Governance policies (`POL-…`) carry Cedar text; [`compile`] validates it
//! against the [`schema`](schema::SCHEMA) and reports Cedar's diagnostics
//! with line and column.

mod cases;
mod compile;
mod engine;
mod entities;
mod inputs;
mod lint;
mod log;
pub mod schema;
mod slice;

pub use cases::{CaseResult, PolicyCase, run_cases};
pub use compile::{CedarDiagnostic, PolicyError, compile};
pub use engine::{
    APPROVAL_TIER, Decision, DecisionRequest, Effect, Engine, EntityRef, cedar_datetime, reason,
};
pub use entities::{Registry, RegistryError};
pub use inputs::{Affected, Input, record_inputs};
pub use lint::{LintFinding, MAX_WORDS, lint};
pub use log::{
    DECIDE, DECISION, DECISION_ID_PREFIX, DecisionAnswer, LoggedDecision, decision_id, decision_seq,
};
pub use slice::Outcome;
