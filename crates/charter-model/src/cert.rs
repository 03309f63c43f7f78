//! Certification records: drills (a rollback drill through the real
//! runner, an incident drill through the real incident flow) and waivers
//! of certification blockers, each written only by its use case.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::Key;
use crate::time::Timestamp;
use crate::validate::{Check, Checker, Ref};

/// A workspace's certification claim matrix (record id `default`): the
/// TOML text `charter certify` grades against, in the form of
/// `examples/certification.toml`; checked on every save and import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertSettings {
    /// Always `default`: a workspace has one matrix.
    pub settings_id: Key,
    /// The claim matrix, as TOML.
    pub matrix: String,
}

impl Check for CertSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
        check.text("matrix", &self.matrix);
    }

    fn references(&self, _refs: &mut Vec<Ref>) {}
}

/// Prefix of drill ids (`DRL-YYYY-MM-DD-NNN`).
pub const DRILL_ID_PREFIX: &str = "DRL-";
/// Prefix of waiver ids (`WVR-YYYY-MM-DD-NNN`).
pub const WAIVER_ID_PREFIX: &str = "WVR-";

/// What a drill exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    /// A governed operation made to fail, rolled back and restored.
    Rollback,
    /// An incident opened, handled and closed by a postmortem.
    Incident,
}

impl DrillKind {
    /// Its name in the claim matrix.
    pub fn name(self) -> &'static str {
        match self {
            DrillKind::Rollback => "rollback",
            DrillKind::Incident => "incident",
        }
    }
}

/// A drill and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    /// `DRL-YYYY-MM-DD-NNN`.
    pub drill_id: Key,
    /// Rollback or incident.
    pub kind: DrillKind,
    /// Who ran it.
    pub by: String,
    /// When it began.
    pub started_at: Timestamp,
    /// When it ended (a rollback drill: when the restore ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// The recovery objective, in seconds (rollback drills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_seconds: Option<f64>,
    /// The recovery measured: from the failing step's end to the restore's
    /// end, in seconds (rollback drills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_seconds: Option<f64>,
    /// Whether a rollback drill ended in ROLLBACK with every file restored
    /// byte for byte within the objective. An incident drill passes when
    /// its incident is closed by a checked postmortem, which the
    /// certification reads from the incident.
    pub passed: bool,
    /// The operation a rollback drill ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The incident an incident drill opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<Key>,
    /// What was checked, one line each.
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl Check for Drill {
    fn check(&self, check: &mut Checker) {
        if !self.drill_id.as_str().starts_with(DRILL_ID_PREFIX) {
            check.fail("drill_id", &format!("must start with {DRILL_ID_PREFIX}, got \"{}\"", self.drill_id));
        }
        if let Some(objective) = self.objective_seconds {
            check.non_negative("objective_seconds", objective);
        }
        if let Some(recovery) = self.recovery_seconds {
            check.non_negative("recovery_seconds", recovery);
        }
    }

    fn references(&self, _refs: &mut Vec<Ref>) {}
}

/// A waiver of a certification blocker or claim, for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// `WVR-YYYY-MM-DD-NNN`.
    pub waiver_id: Key,
    /// A blocker (`OC-B1` … `OC-B5`) or a claim (`T0.1` …).
    pub scope: String,
    /// Why the gap is accepted for now.
    pub reason: String,
    /// Who owns the gap (a registered person).
    pub owner: String,
    /// Who asked for it.
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
    /// Who approved it (a registered person other than the owner and the
    /// requester), once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// When it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<Timestamp>,
    /// The decision that allowed the approval (`DEC-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl Check for Waiver {
    fn check(&self, check: &mut Checker) {
        if !self.waiver_id.as_str().starts_with(WAIVER_ID_PREFIX) {
            check.fail(
                "waiver_id",
                &format!("must start with {WAIVER_ID_PREFIX}, got \"{}\"", self.waiver_id),
            );
        }
        check.text("scope", &self.scope);
        check.text("reason", &self.reason);
        check.text("owner", &self.owner);
        if self.expires_at <= self.requested_at {
            check.fail("expires_at", "must be after requested_at");
        }
    }

    fn references(&self, _refs: &mut Vec<Ref>) {}
}
