//! Fields a record's lifecycle owns. A dataset's scope moves only through
//! promotion and its schema only through a schema change; an agent enters
//! and leaves `paused` only through the kill switch. A generic write or an
//! import that would change such a field is refused (or, for an import of a
//! record that exists, the stored value is kept), naming the field and the
//! command that changes it.

use serde_json::Value;

use crate::record::RecordKind;

/// A field only a use case may change.
#[derive(Debug, Clone, Copy)]
pub struct GovernedField {
    /// The field's name in the record's JSON.
    pub field: &'static str,
    /// The command (and endpoint) that changes it.
    pub use_case: &'static str,
    /// Whether a change from the first value to the second is the use
    /// case's to make (`None`: every change is).
    only: Option<fn(&Value, &Value) -> bool>,
    /// The value a record created by a generic write must hold, when the
    /// field has one.
    initial: Option<&'static str>,
}

const PROMOTE: &str = "`charter dataset promote` (POST /v1/workspaces/{ws}/datasets/{id}/promote)";
const SCHEMA: &str =
    "`charter schema propose` and `schema apply` (POST /v1/workspaces/{ws}/datasets/{id}/schema-changes)";
const KILL_SWITCH: &str =
    "`charter agents pause|resume` (POST /v1/workspaces/{ws}/agents/{id}/pause and …/resume)";

fn into_or_out_of_paused(from: &Value, to: &Value) -> bool {
    let paused = |value: &Value| value.as_str().is_some_and(|status| status.eq_ignore_ascii_case("paused"));
    paused(from) || paused(to)
}

const DATASET: &[GovernedField] = &[
    GovernedField { field: "scope", use_case: PROMOTE, only: None, initial: Some("\"DRAFT\"") },
    GovernedField { field: "schema_version", use_case: SCHEMA, only: None, initial: Some("1") },
    GovernedField { field: "fields", use_case: SCHEMA, only: None, initial: None },
    GovernedField { field: "rules", use_case: SCHEMA, only: None, initial: None },
    GovernedField { field: "dependencies", use_case: SCHEMA, only: None, initial: None },
    GovernedField { field: "relationships", use_case: SCHEMA, only: None, initial: None },
];

const BUDGET_SET: &str =
    "`charter budget set` (PUT /v1/workspaces/{ws}/budgets/{id}/limit), and runs as they close";

const BUDGET: &[GovernedField] =
    &[GovernedField { field: "exhausted_in", use_case: BUDGET_SET, only: None, initial: None }];

const AGENT: &[GovernedField] = &[GovernedField {
    field: "status",
    use_case: KILL_SWITCH,
    only: Some(into_or_out_of_paused),
    initial: None,
}];

impl RecordKind {
    /// The fields of this kind's records that only their use cases change.
    pub fn governed_fields(self) -> &'static [GovernedField] {
        match self {
            RecordKind::Dataset => DATASET,
            RecordKind::Agent => AGENT,
            RecordKind::Budget => BUDGET,
            _ => &[],
        }
    }

    /// Whether records of this kind are written only by their use cases,
    /// never by a generic write or an import, and the command that writes them.
    pub fn written_by_use_case(self) -> Option<&'static str> {
        Some(match self {
            RecordKind::Operation => {
                "operations are declared with `charter op declare` or POST /v1/workspaces/{ws}/operations"
            }
            RecordKind::Change => {
                "changes are proposed with `charter schema propose` and move with `schema apply` / `schema rollback`"
            }
            RecordKind::Notification => "notifications are raised by schema changes",
            RecordKind::QualityRun => "data-quality runs are recorded by `charter dq validate`",
            RecordKind::Alert => {
                "alerts are raised from anomalies and move with `charter alerts ack|resolve`"
            }
            RecordKind::Incident => {
                "incidents are opened with `charter incident open` (or by a policy breach) and move with `charter incident ack|mitigate|resolve|postmortem`"
            }
            RecordKind::Run => {
                "runs are recorded from agent telemetry: POST /v1/traces (OTLP/HTTP), POST /v1/workspaces/{ws}/runs/ingest or `charter runs ingest`"
            }
            RecordKind::Grant => {
                "grants are created with `charter grant create` (POST /v1/workspaces/{ws}/grants) and revoked with `charter grant revoke`"
            }
            RecordKind::Drill => "drills are run with `charter drill rollback|incident`",
            RecordKind::Waiver => {
                "waivers are requested with `charter waiver request` and approved with `charter waiver approve`"
            }
            _ => return None,
        })
    }
}

fn field<'v>(record: &'v Value, name: &str) -> &'v Value {
    record.get(name).unwrap_or(&Value::Null)
}

/// The governed fields whose values differ between the stored record and
/// the one written over it (both as JSON).
pub fn governed_changes(kind: RecordKind, stored: &Value, written: &Value) -> Vec<GovernedField> {
    kind.governed_fields()
        .iter()
        .filter(|governed| {
            let (from, to) = (field(stored, governed.field), field(written, governed.field));
            from != to && governed.only.is_none_or(|only| only(from, to))
        })
        .copied()
        .collect()
}

/// The governed fields a record created by a generic write holds at other
/// than their initial values.
pub fn governed_at_creation(kind: RecordKind, written: &Value) -> Vec<GovernedField> {
    kind.governed_fields()
        .iter()
        .filter(|governed| {
            let value = field(written, governed.field);
            let initial_differs = governed.initial.is_some_and(|initial| {
                serde_json::from_str::<Value>(initial)
                    .is_ok_and(|initial| value != &Value::Null && value != &initial)
            });
            let paused = governed.only.is_some_and(|only| only(&Value::Null, value));
            initial_differs || paused
        })
        .copied()
        .collect()
}

/// Sets every governed field of `written` to its stored value where they
/// differ; returns the names of the fields kept.
pub fn keep_governed(kind: RecordKind, stored: &Value, written: &mut Value) -> Vec<&'static str> {
    let changes = governed_changes(kind, stored, written);
    let Some(object) = written.as_object_mut() else { return Vec::new() };
    changes
        .into_iter()
        .map(|governed| {
            match stored.get(governed.field) {
                Some(value) => object.insert(governed.field.to_owned(), value.clone()),
                None => object.remove(governed.field),
            };
            governed.field
        })
        .collect()
}

impl std::fmt::Display for GovernedField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: governed by its lifecycle; change it with {}", self.field, self.use_case)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dataset_keeps_its_scope_and_schema_and_an_agent_its_pause() {
        let stored =
            json!({"dataset_id": "D", "scope": "PUBLISHED", "schema_version": 3, "fields": [{"name": "a"}]});
        let mut written =
            json!({"dataset_id": "D", "scope": "DRAFT", "schema_version": 1, "fields": [], "owner": "o"});
        let changed: Vec<&str> =
            governed_changes(RecordKind::Dataset, &stored, &written).iter().map(|g| g.field).collect();
        assert_eq!(changed, ["scope", "schema_version", "fields"]);
        assert_eq!(
            keep_governed(RecordKind::Dataset, &stored, &mut written),
            ["scope", "schema_version", "fields"]
        );
        assert_eq!(
            written,
            json!({"dataset_id": "D", "scope": "PUBLISHED", "schema_version": 3, "fields": [{"name": "a"}], "owner": "o"})
        );

        let agent = |status: &str| json!({"agent_id": "agent_a_01", "status": status});
        assert!(governed_changes(RecordKind::Agent, &agent("pilot"), &agent("active")).is_empty());
        assert_eq!(governed_changes(RecordKind::Agent, &agent("paused"), &agent("active")).len(), 1);
        assert_eq!(governed_changes(RecordKind::Agent, &agent("active"), &agent("Paused")).len(), 1);
        assert_eq!(governed_at_creation(RecordKind::Agent, &agent("paused")).len(), 1);
        assert!(governed_at_creation(RecordKind::Agent, &agent("active")).is_empty());
        let published = json!({"dataset_id": "D", "scope": "PUBLISHED", "schema_version": 1});
        let fields: Vec<&str> =
            governed_at_creation(RecordKind::Dataset, &published).iter().map(|g| g.field).collect();
        assert_eq!(fields, ["scope"]);
        assert_eq!(
            governed_at_creation(RecordKind::Dataset, &published)[0].to_string(),
            format!("scope: governed by its lifecycle; change it with {PROMOTE}")
        );
    }
}
