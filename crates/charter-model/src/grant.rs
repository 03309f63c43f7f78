//! Time-bound grants: an approver lets one agent take one action on one
//! resource until a moment, for a stated reason. Policies cannot express
//! "until" (Cedar has no notion of now), so grants carry it; the decision
//! point checks them against the time of each decision.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::GrantKind;
use crate::id::{AgentId, Key};
use crate::time::Timestamp;
use crate::validate::{Check, Checker, Ref};

/// Prefix of allocated grant ids: `GRANT-0001`.
pub const GRANT_ID_PREFIX: &str = "GRANT-";

/// A time-bound grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Identifier, `GRANT-NNNN`.
    pub grant_id: Key,
    /// What the grant is for.
    pub kind: GrantKind,
    /// The agent it lets act.
    pub agent_id: AgentId,
    /// The action (`invoke_tool`, `read_dataset`, …).
    pub action: String,
    /// Type of the resource (`Tool`, `Dataset`, …).
    pub resource_type: String,
    /// Id of the resource.
    pub resource_id: String,
    /// Why.
    pub reason: String,
    /// Who asked for it.
    pub requested_by: String,
    /// Who approved it (never the requester).
    pub approved_by: String,
    /// From when it holds.
    pub granted_at: Timestamp,
    /// Until when it holds (excluded).
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl Grant {
    /// Whether the grant holds at `now`.
    pub fn holds_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none_or(|revoked| now < revoked) && self.granted_at <= now && now < self.expires_at
    }

    /// Whether the grant covers this agent, action and resource.
    pub fn covers(&self, agent: &str, action: &str, resource_type: &str, resource_id: &str) -> bool {
        self.agent_id.as_str() == agent
            && self.action == action
            && self.resource_type == resource_type
            && self.resource_id == resource_id
    }
}

impl Check for Grant {
    fn check(&self, check: &mut Checker) {
        check.text("action", &self.action);
        check.text("resource_type", &self.resource_type);
        check.text("resource_id", &self.resource_id);
        check.text("reason", &self.reason);
        check.text("requested_by", &self.requested_by);
        check.text("approved_by", &self.approved_by);
        if self.approved_by.trim() == self.requested_by.trim() {
            check.fail(
                "approved_by",
                &format!("the approver \"{}\" may not be the requester", self.approved_by),
            );
        }
        if self.expires_at <= self.granted_at {
            check.fail(
                "expires_at",
                &format!("must be after granted_at {}, got {}", self.granted_at, self.expires_at),
            );
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::agent("agent_id".into(), &self.agent_id));
    }
}
