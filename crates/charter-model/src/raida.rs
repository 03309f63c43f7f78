//! The RAIDA log: risks, assumptions, issues, dependencies and actions.
//! Agents escalate through it (POL-AGENT-COORDINATION rule 3) and Charter
//! raises items itself, for example for a dependency no record describes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::{RaidaKind, RaidaStatus, Severity};
use crate::id::Key;
use crate::time::Date;
use crate::validate::{Check, Checker};

/// Prefix of allocated RAIDA ids: `RAIDA-0001`.
pub const RAIDA_ID_PREFIX: &str = "RAIDA-";

/// One RAIDA item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaidaItem {
    /// Identifier; Charter allocates `RAIDA-NNNN` for items it raises.
    pub raida_id: Key,
    /// Risk, assumption, issue, dependency or action.
    #[serde(rename = "type")]
    pub item_type: RaidaKind,
    /// One-line summary.
    pub title: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who must act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Severity.
    pub severity: Severity,
    /// Progress.
    pub status: RaidaStatus,
    /// The record that raised the item, as `kind/id` (e.g. `agent/agent_support_02`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For items Charter raises itself: a stable key that identifies the
    /// finding, so raising it again updates this item instead of adding one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_key: Option<String>,
    /// When the item is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Date>,
}

/// The id of the `number`th RAIDA item Charter allocates in a workspace.
pub fn raida_id(number: u64) -> Key {
    // INVARIANT: "RAIDA-" followed by digits is always a valid key.
    Key::new(format!("{RAIDA_ID_PREFIX}{number:04}")).unwrap_or_else(|_| unreachable!())
}

impl Check for RaidaItem {
    fn check(&self, check: &mut Checker) {
        check.text("title", &self.title);
        check.optional_text("owner", self.owner.as_deref());
    }
}
