//! Policy tests, like `opa test`: a case is a request and the decision (and
//! optionally the reasons) it must get. Cases live in JSON files, an array
//! per file:
//!
//! ```json
//! [{"name": "sales may use the CRM",
//!   "principal": {"type": "Agent", "id": "agent_sales_01"},
//!   "action": "invoke_tool",
//!   "resource": {"type": "Tool", "id": "crm_salesforce"},
//!   "expect": "allow",
//!   "reasons": ["POL-AGENT-ACCESS/own-tools"]}]
//! ```
//!
//! `context` and `at` (the time of the decision) are optional.

use std::collections::BTreeSet;

use charter_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::{Decision, DecisionRequest, Effect, Engine, EntityRef};

/// One policy test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCase {
    /// What the case shows.
    pub name: String,
    /// Who acts.
    pub principal: EntityRef,
    /// The action.
    pub action: String,
    /// What is acted on.
    pub resource: EntityRef,
    /// The request's context.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    /// When the decision is made (default: the time of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The decision the case expects.
    pub expect: Effect,
    /// The reasons the case expects, in any order (not checked when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
}

impl PolicyCase {
    /// The case's request.
    pub fn request(&self) -> DecisionRequest {
        DecisionRequest {
            principal: self.principal.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self.context.clone(),
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Whether the decision (and the reasons, when given) were as expected.
    pub passed: bool,
    /// The expected decision.
    pub expected: Effect,
    /// The expected reasons, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_reasons: Option<Vec<String>>,
    /// What the engine decided.
    pub got: Decision,
}

/// Runs `cases` against `engine`; a case without `at` is decided at `now`.
pub fn run_cases(engine: &Engine, cases: &[PolicyCase], now: Timestamp) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|case| {
            let got = engine.decide(&case.request(), case.at.unwrap_or(now));
            let reasons_match = case.reasons.as_ref().is_none_or(|expected| {
                expected.iter().collect::<BTreeSet<_>>() == got.reasons.iter().collect::<BTreeSet<_>>()
            });
            CaseResult {
                name: case.name.clone(),
                passed: got.decision == case.expect && reasons_match,
                expected: case.expect,
                expected_reasons: case.reasons.clone(),
                got,
            }
        })
        .collect()
}
