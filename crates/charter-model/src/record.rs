//! Every kind of registry record, and [`Record`], the one value that holds any
//! of them. The table in [`RecordKind`] is the single place that names a
//! kind's singular and plural, its import file and the role that may write it.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::canonical;
use crate::cert::{CertSettings, Drill, Waiver};
use crate::data::{Change, DataSettings, Notification, QualityRun};
use crate::enums::{Role, UnknownValue};
use crate::grant::Grant;
use crate::guard::{DlpRule, GuardSettings};
use crate::observe::{Alert, AlertClass, Budget, Incident, ObserveSettings, RunRecord};
use crate::operation::{Operation, OpsSettings};
use crate::parse::ParseError;
use crate::raida::RaidaItem;
use crate::registry::{Agent, Dataset, Person, Policy, Procedure, System, Team, Workflow};
use crate::signals::{
    KpiRecord, OwnershipReview, RiskEvent, RiskSettings, RiskSignal, Snapshot, ValueRecord,
};
use crate::validate::{Check, Checker, FieldError, Ref};

macro_rules! canonical_with {
    (direct, $record:expr) => {
        serde_json::to_string($record)
    };
    (value, $record:expr) => {
        serde_json::to_value($record).map(|value| canonical::to_string(&value))
    };
}

macro_rules! record_kinds {
    ( $( $variant:ident($ty:ty as $stored:ty) {
        name: $name:literal,
        plural: $plural:literal,
        file: $file:literal,
        id_field: $id_field:literal,
        writer: $writer:ident,
        canonical: $canonical:ident $(,)?
    } ),+ $(,)? ) => {
        /// The kinds of registry records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RecordKind {
            $(
                #[doc = concat!("`", $name, "` records (`", $file, "`).")]
                $variant,
            )+
        }

        impl RecordKind {
            /// Every kind, in import order: a kind comes after the kinds it refers to.
            pub const ALL: &'static [RecordKind] = &[$(RecordKind::$variant),+];

            /// Singular name, as the audit trail and the CLI use it (`risk_signal`).
            pub fn name(self) -> &'static str {
                match self { $(RecordKind::$variant => $name,)+ }
            }

            /// Plural name, as the HTTP API uses it in paths (`risk-signals`).
            pub fn plural(self) -> &'static str {
                match self { $(RecordKind::$variant => $plural,)+ }
            }

            /// The file `charter import` reads records of this kind from.
            pub fn file_name(self) -> &'static str {
                match self { $(RecordKind::$variant => $file,)+ }
            }

            /// The field that holds the record's id (or, for records keyed by
            /// agent and date, the field that holds the agent).
            pub fn id_field(self) -> &'static str {
                match self { $(RecordKind::$variant => $id_field,)+ }
            }

            /// The role that may create and update records of this kind
            /// (besides `admin`, which may write everything).
            pub fn writer(self) -> Role {
                match self { $(RecordKind::$variant => Role::$writer,)+ }
            }

            /// Parses one record from JSON text.
            pub fn parse_json(self, json: &str) -> Result<Record, ParseError> {
                let mut deserializer = serde_json::Deserializer::from_str(json);
                let record = match self {
                    $(RecordKind::$variant => Record::$variant(
                        <$stored>::from(serde_path_to_error::deserialize::<_, $ty>(&mut deserializer).map_err(ParseError::from_path)?),
                    ),)+
                };
                deserializer.end().map_err(ParseError::from_json)?;
                Ok(record)
            }

            /// Parses a JSON array of records, stopping at the first error.
            pub fn parse_json_array(self, json: &[u8]) -> Result<Vec<Record>, ParseError> {
                match self {
                    $(RecordKind::$variant => {
                        // Parse without tracking paths (faster); only a
                        // document known to be bad is read again to find
                        // the path of its first error.
                        match serde_json::from_slice::<Vec<$ty>>(json) {
                            Ok(records) => Ok(records.into_iter().map(|record| Record::$variant(<$stored>::from(record))).collect()),
                            Err(_) => {
                                let mut deserializer = serde_json::Deserializer::from_slice(json);
                                let result: Result<Vec<$ty>, _> = serde_path_to_error::deserialize(&mut deserializer);
                                result.map_err(ParseError::from_path)?;
                                Err(deserializer.end().map_err(ParseError::from_json).err().unwrap_or_else(|| {
                                    ParseError::at("", "the document could not be read")
                                }))
                            }
                        }
                    })+
                }
            }

            /// Reads a JSON array of records of this kind and hands them to
            /// `sink` in batches of `batch`, never holding the whole list.
            /// Stops at the first error; [`RecordKind::from_value`] on each
            /// element names every bad one.
            pub fn stream_json_array(
                self,
                json: &[u8],
                batch: usize,
                sink: &mut dyn FnMut(Vec<Record>),
            ) -> Result<(), ParseError> {
                match self {
                    $(RecordKind::$variant => crate::parse::stream_array::<$ty, Record>(
                        json,
                        batch,
                        |record| Record::$variant(<$stored>::from(record)),
                        sink,
                    ),)+
                }
            }

            /// Converts a JSON value into a record of this kind.
            pub fn from_value(self, value: serde_json::Value) -> Result<Record, ParseError> {
                Ok(match self {
                    $(RecordKind::$variant => Record::$variant(
                        <$stored>::from(serde_path_to_error::deserialize::<_, $ty>(value).map_err(ParseError::from_path)?),
                    ),)+
                })
            }

            /// The OpenAPI schema of records of this kind.
            pub fn schema(self) -> (String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) {
                match self {
                    $(RecordKind::$variant => (<$ty as utoipa::ToSchema>::name().into_owned(), <$ty as utoipa::PartialSchema>::schema()),)+
                }
            }

            /// Adds the schemas of every record type (and the types they use)
            /// to `schemas`.
            pub fn all_schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                use utoipa::ToSchema;
                $( <$ty>::schemas(schemas); schemas.push((<$ty>::name().into_owned(), <$ty as utoipa::PartialSchema>::schema())); )+
            }
        }

        /// A registry record of any kind. Variants larger than a snapshot are
        /// boxed, so a list of half a million snapshots is not padded to the
        /// size of the largest record.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Record {
            $(
                #[doc = concat!("A `", $name, "` record.")]
                $variant($stored),
            )+
        }

        impl Record {
            /// The record's kind.
            pub fn kind(&self) -> RecordKind {
                match self { $(Record::$variant(_) => RecordKind::$variant,)+ }
            }

            fn as_check(&self) -> &dyn Check {
                match self { $(Record::$variant(record) => record,)+ }
            }

            fn to_value(&self) -> serde_json::Result<serde_json::Value> {
                match self { $(Record::$variant(record) => serde_json::to_value(record),)+ }
            }

            /// The canonical encoding: serde's own output for types whose
            /// fields are declared in sorted order (`canonical: direct`),
            /// otherwise through a JSON value with sorted keys.
            fn encode_canonical(&self) -> serde_json::Result<String> {
                match self {
                    $(Record::$variant(record) => canonical_with!($canonical, record),)+
                }
            }
        }

        $(
            impl From<$ty> for Record {
                fn from(record: $ty) -> Record {
                    Record::$variant(<$stored>::from(record))
                }
            }

            impl RecordValue for $ty {
                const KIND: RecordKind = RecordKind::$variant;
            }
        )+
    };
}

/// The type of one kind's records, so a reader can ask for `Vec<Agent>`
/// and get the records of kind `agent`, decoded straight into their type.
pub trait RecordValue: serde::de::DeserializeOwned + Into<Record> {
    /// The kind whose records have this type.
    const KIND: RecordKind;
}

record_kinds!(
    Team(Team as Box<Team>) { name: "team", plural: "teams", file: "teams.json", id_field: "team_id", writer: Admin , canonical: value },
    Person(Person as Box<Person>) { name: "person", plural: "people", file: "people.json", id_field: "person_id", writer: Admin , canonical: value },
    System(System as Box<System>) { name: "system", plural: "systems", file: "system_integrations.json", id_field: "system_id", writer: Owner , canonical: value },
    Agent(Agent as Box<Agent>) { name: "agent", plural: "agents", file: "agents.json", id_field: "agent_id", writer: Owner , canonical: value },
    Dataset(Dataset as Box<Dataset>) { name: "dataset", plural: "datasets", file: "datasets.json", id_field: "dataset_id", writer: Steward , canonical: value },
    Workflow(Workflow as Box<Workflow>) { name: "workflow", plural: "workflows", file: "workflows.json", id_field: "workflow_id", writer: Owner , canonical: direct },
    Policy(Policy as Box<Policy>) { name: "policy", plural: "policies", file: "policies.json", id_field: "policy_id", writer: Steward , canonical: value },
    Procedure(Procedure as Box<Procedure>) { name: "procedure", plural: "procedures", file: "procedures.json", id_field: "procedure_id", writer: Steward , canonical: value },
    Kpi(KpiRecord as Box<KpiRecord>) { name: "kpi", plural: "kpis", file: "kpis_cost.json", id_field: "agent_id", writer: Operator , canonical: value },
    RiskSignal(RiskSignal as Box<RiskSignal>) { name: "risk_signal", plural: "risk-signals", file: "risk_signals.json", id_field: "risk_id", writer: Operator , canonical: value },
    RiskEvent(RiskEvent as Box<RiskEvent>) { name: "risk_event", plural: "risk-events", file: "risk_signal_history.json", id_field: "risk_event_id", writer: Operator , canonical: direct },
    Snapshot(Snapshot as Snapshot) { name: "snapshot", plural: "snapshots", file: "historical_snapshots.json", id_field: "agent_id", writer: Operator , canonical: direct },
    ValueRecord(ValueRecord as Box<ValueRecord>) { name: "value_record", plural: "value-records", file: "expected_vs_actual_value.json", id_field: "agent_id", writer: Operator , canonical: value },
    OwnershipReview(OwnershipReview as Box<OwnershipReview>) { name: "ownership_review", plural: "ownership-reviews", file: "ownership_review_history.json", id_field: "review_id", writer: Owner , canonical: direct },
    Grant(Grant as Box<Grant>) { name: "grant", plural: "grants", file: "grants.json", id_field: "grant_id", writer: Approver , canonical: value },
    OpsSettings(OpsSettings as Box<OpsSettings>) { name: "ops_settings", plural: "ops-settings", file: "ops_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
    Operation(Operation as Box<Operation>) { name: "operation", plural: "operations", file: "operations.json", id_field: "operation_id", writer: Operator , canonical: value },
    DataSettings(DataSettings as Box<DataSettings>) { name: "data_settings", plural: "data-settings", file: "data_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
    Change(Change as Box<Change>) { name: "change", plural: "changes", file: "changes.json", id_field: "change_id", writer: Steward , canonical: value },
    Notification(Notification as Box<Notification>) { name: "notification", plural: "notifications", file: "notifications.json", id_field: "notification_id", writer: Steward , canonical: value },
    QualityRun(QualityRun as Box<QualityRun>) { name: "dq_run", plural: "dq-runs", file: "dq_runs.json", id_field: "run_id", writer: Steward , canonical: value },
    Raida(RaidaItem as Box<RaidaItem>) { name: "raida", plural: "raida", file: "raida.json", id_field: "raida_id", writer: Steward , canonical: value },
    RiskSettings(RiskSettings as Box<RiskSettings>) { name: "risk_settings", plural: "risk-settings", file: "risk_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
    ObserveSettings(ObserveSettings as Box<ObserveSettings>) { name: "observe_settings", plural: "observe-settings", file: "observe_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
    Run(RunRecord as Box<RunRecord>) { name: "run", plural: "runs", file: "runs.json", id_field: "run_id", writer: Operator , canonical: value },
    AlertClass(AlertClass as Box<AlertClass>) { name: "alert_class", plural: "alert-classes", file: "alert_classes.json", id_field: "class_id", writer: Steward , canonical: value },
    Alert(Alert as Box<Alert>) { name: "alert", plural: "alerts", file: "alerts.json", id_field: "alert_id", writer: Operator , canonical: value },
    Incident(Incident as Box<Incident>) { name: "incident", plural: "incidents", file: "incidents.json", id_field: "incident_id", writer: IncidentCommander , canonical: value },
    Budget(Budget as Box<Budget>) { name: "budget", plural: "budgets", file: "budgets.json", id_field: "budget_id", writer: Admin , canonical: value },
    DlpRule(DlpRule as Box<DlpRule>) { name: "dlp_rule", plural: "dlp-rules", file: "dlp_rules.json", id_field: "rule_id", writer: Steward , canonical: value },
    GuardSettings(GuardSettings as Box<GuardSettings>) { name: "guard_settings", plural: "guard-settings", file: "guard_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
    Drill(Drill as Box<Drill>) { name: "drill", plural: "drills", file: "drills.json", id_field: "drill_id", writer: Operator , canonical: value },
    Waiver(Waiver as Box<Waiver>) { name: "waiver", plural: "waivers", file: "waivers.json", id_field: "waiver_id", writer: Steward , canonical: value },
    CertSettings(CertSettings as Box<CertSettings>) { name: "cert_settings", plural: "cert-settings", file: "cert_settings.json", id_field: "settings_id", writer: Admin , canonical: value },
);

/// Agents may also come from this file, with the identity fields of the
/// governance plan (AI_Agent_Identity_Ops).
pub const AGENT_IDENTITIES_FILE: &str = "agent_identities.json";

impl RecordKind {
    /// Looks a kind up by its singular or plural name (`risk_signal`,
    /// `risk-signals`, `risk_signals`).
    pub fn from_name(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.iter().copied().find(|kind| {
            kind.name() == name || kind.plural() == name || kind.plural().replace('-', "_") == name
        })
    }
}

impl FromStr for RecordKind {
    type Err = UnknownValue;
    fn from_str(value: &str) -> Result<Self, UnknownValue> {
        RecordKind::from_name(value).ok_or_else(|| UnknownValue {
            value: value.to_owned(),
            expected: RecordKind::ALL.iter().map(|kind| kind.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for RecordKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl Record {
    /// The record's id within its kind. Records the seed data gives no id
    /// of their own are keyed by agent (KPI records) or by agent and date
    /// (`agent_sales_01@2024-12-20` for snapshots and value records).
    pub fn id(&self) -> String {
        match self {
            Record::Team(r) => r.team_id.to_string(),
            Record::Person(r) => r.person_id.to_string(),
            Record::System(r) => r.system_id.to_string(),
            Record::Agent(r) => r.agent_id.to_string(),
            Record::Dataset(r) => r.dataset_id.to_string(),
            Record::Workflow(r) => r.workflow_id.to_string(),
            Record::Policy(r) => r.policy_id.to_string(),
            Record::Procedure(r) => r.procedure_id.to_string(),
            Record::Kpi(r) => r.agent_id.to_string(),
            Record::RiskSignal(r) => r.risk_id.to_string(),
            Record::RiskEvent(r) => r.risk_event_id.to_string(),
            Record::Snapshot(r) => r.key(),
            Record::ValueRecord(r) => r.key(),
            Record::OwnershipReview(r) => r.review_id.to_string(),
            Record::Raida(r) => r.raida_id.to_string(),
            Record::Grant(r) => r.grant_id.to_string(),
            Record::Operation(r) => r.operation_id.to_string(),
            Record::OpsSettings(r) => r.settings_id.to_string(),
            Record::DataSettings(r) => r.settings_id.to_string(),
            Record::RiskSettings(r) => r.settings_id.to_string(),
            Record::ObserveSettings(r) => r.settings_id.to_string(),
            Record::Run(r) => r.run_id.to_string(),
            Record::AlertClass(r) => r.class_id.to_string(),
            Record::Alert(r) => r.alert_id.to_string(),
            Record::Incident(r) => r.incident_id.to_string(),
            Record::Budget(r) => r.budget_id.to_string(),
            Record::DlpRule(r) => r.rule_id.to_string(),
            Record::GuardSettings(r) => r.settings_id.to_string(),
            Record::Change(r) => r.change_id.to_string(),
            Record::Notification(r) => r.notification_id.to_string(),
            Record::QualityRun(r) => r.run_id.to_string(),
            Record::Drill(r) => r.drill_id.to_string(),
            Record::Waiver(r) => r.waiver_id.to_string(),
            Record::CertSettings(r) => r.settings_id.to_string(),
        }
    }

    /// Every rule the record breaks, beyond its shape.
    pub fn check(&self) -> Vec<FieldError> {
        let mut checker = Checker::default();
        self.as_check().check(&mut checker);
        checker.finish()
    }

    /// The records this one refers to.
    pub fn references(&self) -> Vec<Ref> {
        let mut refs = Vec::new();
        self.as_check().references(&mut refs);
        refs
    }

    /// The record's canonical JSON encoding (see [`canonical`]): the bytes
    /// the store keeps and the audit trail records.
    pub fn to_canonical_json(&self) -> String {
        match self.encode_canonical() {
            Ok(text) => text,
            // INVARIANT: records hold only strings, finite numbers, booleans,
            // lists and maps with string keys, all of which serialize.
            Err(error) => unreachable!("record failed to serialize: {error}"),
        }
    }

    /// The record as a JSON value.
    pub fn to_json_value(&self) -> serde_json::Value {
        self.to_value().unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in RecordKind::ALL {
            assert!(seen.insert(kind.name()));
            assert!(seen.insert(kind.file_name()));
            assert_eq!(RecordKind::from_name(kind.name()), Some(*kind));
            assert_eq!(RecordKind::from_name(kind.plural()), Some(*kind));
        }
        assert_eq!("risk_signals".parse::<RecordKind>().unwrap(), RecordKind::RiskSignal);
        assert!("agentz".parse::<RecordKind>().is_err());
    }

    #[test]
    fn snapshot_id_is_agent_and_date() {
        let record = RecordKind::Snapshot
            .parse_json(
                r#"{"snapshot_date":"2024-11-15","agent_id":"agent_sales_01","integration_score":88,
                "risk_score":32,"value_leakage_score":18,"failure_rate_7d":1.4,"cost_usd_30d":1250,
                "roi_estimate_usd":14200,"manual_minutes_per_run":0}"#,
            )
            .unwrap();
        assert_eq!(record.id(), "agent_sales_01@2024-11-15");
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_absent_fields() {
        let record = RecordKind::System
            .parse_json(r#"{"uptime_30d": 99.2, "type": "external_api", "system_id": "crm_salesforce"}"#)
            .unwrap();
        assert_eq!(
            record.to_canonical_json(),
            r#"{"system_id":"crm_salesforce","type":"external_api","uptime_30d":99.2}"#
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let error = RecordKind::Agent
            .parse_json(r#"{"agent_id":"agent_sales_01","name":"x","status":"active","criticallity":"high"}"#)
            .unwrap_err();
        assert_eq!(error.path, "criticallity");
    }
}
