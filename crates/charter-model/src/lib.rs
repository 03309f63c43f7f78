//! Charter's domain model: identifiers, vocabularies, registry records and
//! audit events, with their validation rules. No I/O, no clock: every value
//! here is built from its inputs alone, so engines and tests can use them
//! directly.

#![deny(missing_docs)]

pub mod audit;
pub mod canonical;
pub mod cert;
pub mod data;
#[macro_use]
pub mod enums;
pub mod governed;
pub mod grant;
pub mod guard;
pub mod id;
pub mod observe;
pub mod operation;
pub mod parse;
pub mod raida;
pub mod record;
pub mod registry;
pub mod signals;
pub mod time;
pub mod validate;

pub use audit::AuditEvent;
pub use cert::{CertSettings, Drill, DrillKind, Waiver};
pub use data::{
    Change, CheckClass, CheckOutcome, DataSettings, DatasetSchema, FailureSample, Notification, QualityRun,
};
pub use enums::*;
pub use grant::{GRANT_ID_PREFIX, Grant};
pub use guard::{
    ClassRule, ContextRule, DataClass, Direction, DlpRule, Family, FindingMatch, FindingType, GuardAction,
    GuardSettings, RedactionMode,
};
pub use id::{AgentId, ChangeId, IdError, Key, OperationId, PolicyId, ProcedureId, WorkspaceName};
pub use observe::{
    Alert, AlertClass, Budget, Escalation, GuardrailHit, Incident, IncidentEvent, ModelPrice,
    ObserveSettings, Postmortem, PostmortemAction, RUN_ID_PREFIX, Receiver, ReceiverKind, RunOutcome,
    RunRecord, RunValidation, ValidatedFile, ValidationResult,
};
pub use operation::{Declaration, Operation, OperationStep};
pub use parse::ParseError;
pub use raida::RaidaItem;
pub use record::{Record, RecordKind, RecordValue};
pub use registry::{
    Agent, DataRule, Dataset, DatasetField, FieldReference, Person, Policy, Procedure, System, Team, Workflow,
};
pub use signals::{
    KpiRecord, Kpis, OwnershipReview, Previous, RiskEvent, RiskSettings, RiskSignal, Snapshot, ValueRecord,
};
pub use time::{Date, Span, Timestamp};
pub use validate::{FieldError, Ref};
