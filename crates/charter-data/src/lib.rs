//! Data-model governance (`ops-data-governance-plan.md`): what a schema
//! change changes and what it affects downstream, how good a data file is
//! against its schema, whether a dataset may be promoted, and the daily
//! governance check.
//!
//! Pure: records and readers in, reports out. Persistence, notifications
//! and the decision point belong to `charter-app`.

pub mod check;
mod csvread;
pub mod diff;
mod fast;
pub mod gates;
pub mod graph;
pub mod impact;
pub mod quality;
pub mod rules;

pub use diff::{Diff, FieldChange, FieldChangeKind, Proposal, diff};
pub use gates::{Gate, Promotion, promotion_gates};
pub use graph::{Catalog, EdgeKinds, Walker};
pub use impact::{Impact, ImpactRecords, Index};
pub use quality::{
    DqError, Format, KeySet, KeySets, Options, QualityReport, external_references, load_keys, validate,
};
pub use rules::compile_rule;
