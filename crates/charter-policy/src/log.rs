//! Decisions as the ledger holds them, and as the decision API answers.
//!
//! Every decision is an audit event (action [`DECIDE`], kind [`DECISION`],
//! subject the principal's id) whose value is a [`LoggedDecision`]: the
//! request, the answer, and the version of the registry it was made on. The
//! decision's id is `DEC-` followed by the event's sequence number, so
//! `charter audit prove` proves a decision by its id.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::engine::{Decision, DecisionRequest, Effect, EntityRef};

/// The audit action of a decision.
pub const DECIDE: &str = "decide";
/// The audit kind of a decision.
pub const DECISION: &str = "decision";
/// Prefix of decision ids.
pub const DECISION_ID_PREFIX: &str = "DEC-";

/// The id of the decision logged as event `seq`.
pub fn decision_id(seq: u64) -> String {
    format!("{DECISION_ID_PREFIX}{seq}")
}

/// The sequence number of the event that logged decision `id`.
pub fn decision_seq(id: &str) -> Option<u64> {
    id.strip_prefix(DECISION_ID_PREFIX)?.parse().ok().filter(|seq| *seq > 0)
}

/// A decision as the ledger records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedDecision {
    /// Who acted.
    pub principal: EntityRef,
    /// The action.
    pub action: String,
    /// What was acted on.
    pub resource: EntityRef,
    /// The context as the client sent it.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// Allow or deny.
    pub decision: Effect,
    /// Why.
    pub reasons: Vec<String>,
    /// What went wrong.
    #[serde(default)]
    pub errors: Vec<String>,
    /// The version of the registry and policies the decision was made on.
    pub registry_version: u64,
    /// For a decision about an operation: the operation as it was decided
    /// on (operations are not part of the registry), so replay can judge it
    /// again exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Box<charter_model::Operation>>,
}

impl LoggedDecision {
    /// The record of `decision`, made for `request` on `registry_version`.
    pub fn new(request: &DecisionRequest, decision: &Decision, registry_version: u64) -> Self {
        Self {
            principal: request.principal.clone(),
            action: request.action.clone(),
            resource: request.resource.clone(),
            context: request.context.clone(),
            decision: decision.decision,
            reasons: decision.reasons.clone(),
            errors: decision.errors.clone(),
            registry_version,
            operation: None,
        }
    }

    /// The request it answered.
    pub fn request(&self) -> DecisionRequest {
        DecisionRequest {
            principal: self.principal.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            context: self.context.clone(),
        }
    }

    /// The answer it recorded.
    pub fn decision(&self) -> Decision {
        Decision { decision: self.decision, reasons: self.reasons.clone(), errors: self.errors.clone() }
    }
}

/// The answer of the decision API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecisionAnswer {
    /// Allow or deny.
    pub decision: Effect,
    /// The decision's id in the workspace ledger (`DEC-<sequence number>`);
    /// absent only when the decision could not be logged (and so denies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// Policy ids (`POL-…/N`), guardrail ids (`guardrail:…`), a grant
    /// (`grant:GRANT-…`) or `default-deny`.
    pub reasons: Vec<String>,
    /// What went wrong, when something did.
    pub errors: Vec<String>,
}

impl DecisionAnswer {
    /// The answer for `decision`, logged as event `seq`.
    pub fn logged(decision: Decision, seq: u64) -> Self {
        Self {
            decision: decision.decision,
            decision_id: Some(decision_id(seq)),
            reasons: decision.reasons,
            errors: decision.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(decision_id(42), "DEC-42");
        assert_eq!(decision_seq("DEC-42"), Some(42));
        for bad in ["DEC-0", "DEC-", "DEC-x", "42", "dec-42"] {
            assert_eq!(decision_seq(bad), None, "{bad}");
        }
    }
}
