//! The closed vocabularies of the seeds: roles, statuses, severities, scopes.
//!
//! Each is a string enum. Input is matched without regard to case (`Active`
//! and `active` are the same status); output always uses the seed's own
//! spelling. An unknown value is rejected with the list of accepted ones.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

/// A value outside a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value \"{value}\", expected one of {expected}")]
pub struct UnknownValue {
    /// The rejected input.
    pub value: String,
    /// The accepted values, comma separated.
    pub expected: String,
}

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(value: &str) -> Result<Self, UnknownValue> {
                $(
                    if value.eq_ignore_ascii_case($text) {
                        return Ok($name::$variant);
                    }
                )+
                Err(UnknownValue {
                    value: value.to_owned(),
                    expected: [$($text),+].join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                value.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

string_enum!(
    /// A role a person or an API token holds in a workspace (agent operations
    /// framework).
    Role {
        /// Accountable for an agent's outcomes; writes agents, systems, workflows.
        Owner = "owner",
        /// Executes runs and records measurements.
        Operator = "operator",
        /// Grants approval for Tier 3+ scopes.
        Approver = "approver",
        /// Governance steward: policies, procedures, datasets, RAIDA.
        Steward = "steward",
        /// Leads incident response.
        IncidentCommander = "incident_commander",
        /// Read-only access to everything in the workspace.
        Auditor = "auditor",
        /// Everything, including people, teams and tokens.
        Admin = "admin",
    }
);

string_enum!(
    /// Where an agent is in its life.
    AgentStatus {
        /// In production.
        Active = "active",
        /// Running in a limited pilot.
        Pilot = "pilot",
        /// Stopped by the kill switch; denied everything.
        Paused = "paused",
        /// Decommissioned; denied everything.
        Retired = "retired",
    }
);

string_enum!(
    /// How much the business depends on an agent or a system.
    Criticality {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
);

string_enum!(
    /// Severity of a risk signal or a RAIDA item.
    Severity {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
);

string_enum!(
    /// State of a system's credentials.
    AuthStatus {
        /// Valid.
        Valid = "valid",
        /// Valid but about to expire.
        ExpiringSoon = "expiring_soon",
        /// Expired.
        Expired = "expired",
    }
);

string_enum!(
    /// Whether a risk signal still needs attention.
    RiskStatus {
        /// Still open.
        Open = "open",
        /// Being mitigated.
        Mitigating = "mitigating",
        /// Resolved.
        Resolved = "resolved",
    }
);

string_enum!(
    /// Promotion scope of a dataset: DRAFT → STAGE → PUBLISHED.
    DatasetScope {
        /// Being defined.
        Draft = "DRAFT",
        /// Under test.
        Stage = "STAGE",
        /// In use.
        Published = "PUBLISHED",
    }
);

string_enum!(
    /// Type of a dataset field.
    FieldType {
        /// Text.
        String = "string",
        /// Whole number.
        Integer = "integer",
        /// Any number.
        Number = "number",
        /// true or false.
        Boolean = "boolean",
        /// Calendar date.
        Date = "date",
        /// Date and time.
        Datetime = "datetime",
        /// Any JSON value.
        Json = "json",
    }
);

string_enum!(
    /// Status of a policy (POL-GOVERNANCE-MASTER): only `Active` policies are enforced.
    PolicyStatus {
        /// Enforced.
        Active = "Active",
        /// Under review.
        Review = "Review",
        /// No longer in force.
        Retired = "Retired",
    }
);

string_enum!(
    /// Status of a procedure.
    ProcedureStatus {
        /// Being written.
        Draft = "Draft",
        /// In use.
        Active = "Active",
        /// Under review.
        Review = "Review",
        /// No longer used.
        Retired = "Retired",
    }
);

string_enum!(
    /// Outcome of an owner review.
    ReviewOutcome {
        /// Approved as is.
        Approved = "approved",
        /// Approved with actions to take.
        ActionRequired = "action_required",
        /// Escalated to a higher level.
        Escalated = "escalated",
        /// Rejected.
        Rejected = "rejected",
    }
);

string_enum!(
    /// What a time-bound grant is for.
    GrantKind {
        /// Permission to take the action, for a while.
        Access = "access",
        /// The approval a Tier 3+ action needs.
        Approval = "approval",
        /// A documented exception to data residency.
        ResidencyException = "residency_exception",
    }
);

string_enum!(
    /// The five kinds of RAIDA items.
    RaidaKind {
        /// Something that may happen.
        Risk = "risk",
        /// Something taken as true.
        Assumption = "assumption",
        /// Something that has happened.
        Issue = "issue",
        /// Something relied upon.
        Dependency = "dependency",
        /// Something to do.
        Action = "action",
    }
);

string_enum!(
    /// Progress of a RAIDA item.
    RaidaStatus {
        /// Raised, not yet worked on.
        Open = "open",
        /// Being worked on.
        InProgress = "in_progress",
        /// Done or no longer relevant.
        Closed = "closed",
    }
);

string_enum!(
    /// Status of a data-model change (AI_Model_Change_Log).
    ChangeStatus {
        /// Analysed and logged, not yet applied.
        Planned = "Planned",
        /// Being applied.
        Executing = "Executing",
        /// Applied: the dataset is at the new schema version.
        Complete = "Complete",
        /// Abandoned, or undone after it was applied.
        RolledBack = "Rolled Back",
    }
);

string_enum!(
    /// What a data-model change changes.
    ChangeType {
        /// Fields of the schema.
        Schema = "Schema",
        /// Relationships or dependencies between datasets.
        Relationship = "Relationship",
        /// Validation rules.
        Validation = "Validation",
    }
);

string_enum!(
    /// What an operation may do (Ops Governor), from least to most risky.
    RiskClass {
        /// Inspection only.
        ReadOnly = "READ_ONLY",
        /// A low-risk configuration change.
        LowRiskConfig = "LOW_RISK_CONFIG",
        /// Restarts or reloads services.
        ServiceRestart = "SERVICE_RESTART",
        /// Writes files.
        FilesystemWrite = "FILESYSTEM_WRITE",
    }
);

string_enum!(
    /// Where an operation is in its lifecycle (agent operations framework):
    /// Request → Plan → Approval → Execute → Validate → Publish → Retire,
    /// with Rejected, Halted and RolledBack.
    OperationStatus {
        /// Declared, not yet checked.
        Requested = "Requested",
        /// Declaration and scope contract checked; awaiting approval when its tier needs one.
        Planned = "Planned",
        /// Approved for this exact plan.
        Approved = "Approved",
        /// Steps running.
        Executing = "Executing",
        /// Every step and verification passed.
        Validated = "Validated",
        /// Results promoted.
        Published = "Published",
        /// Closed and archived.
        Retired = "Retired",
        /// Refused by an approver.
        Rejected = "Rejected",
        /// Stopped by a failure or a halt.
        Halted = "Halted",
        /// Halted and rolled back.
        RolledBack = "RolledBack",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ignores_case_and_prints_canonically() {
        assert_eq!("ACTIVE".parse::<PolicyStatus>().unwrap().as_str(), "Active");
        assert_eq!("draft".parse::<DatasetScope>().unwrap().as_str(), "DRAFT");
        assert_eq!("Expiring_Soon".parse::<AuthStatus>().unwrap(), AuthStatus::ExpiringSoon);
    }

    #[test]
    fn unknown_value_lists_expected() {
        let err = "urgent".parse::<Criticality>().unwrap_err();
        assert_eq!(err.to_string(), "unknown value \"urgent\", expected one of low, medium, high, critical");
    }

    #[test]
    fn serde_uses_canonical_spelling() {
        let status: PolicyStatus = serde_json::from_str("\"retired\"").unwrap();
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"Retired\"");
    }
}

string_enum!(
    /// Where an alert is.
    AlertStatus {
        /// Raised and not yet acknowledged.
        Open = "open",
        /// Someone is on it.
        Acknowledged = "acknowledged",
        /// Over: the anomaly is gone or someone resolved it.
        Resolved = "resolved",
    }
);

string_enum!(
    /// How severe an incident is (agent incident response).
    IncidentSeverity {
        /// Critical: customers or money harmed now.
        Sev1 = "SEV1",
        /// Major.
        Sev2 = "SEV2",
        /// Minor.
        Sev3 = "SEV3",
        /// Low.
        Sev4 = "SEV4",
    }
);

string_enum!(
    /// Where an incident is: Open → Acknowledged → Mitigated → Resolved →
    /// Postmortem done.
    IncidentStatus {
        /// Declared.
        Open = "Open",
        /// The commander has it.
        Acknowledged = "Acknowledged",
        /// The harm is contained.
        Mitigated = "Mitigated",
        /// The cause is fixed.
        Resolved = "Resolved",
        /// The postmortem is written and passes its check.
        PostmortemDone = "Postmortem done",
    }
);
