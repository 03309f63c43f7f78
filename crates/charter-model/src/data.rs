//! Data-model governance records: the change log (AI_Model_Change_Log),
//! data-quality runs, the notifications sent to owners about changes, and a
//! workspace's data settings.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::enums::{ChangeStatus, ChangeType};
use crate::id::{AgentId, ChangeId, Key};
use crate::registry::{DataRule, DatasetField};
use crate::time::{Date, Timestamp};
use crate::validate::{Check, Checker, Ref};

/// Quality score (percent of rows passing every check) a dataset needs for
/// promotion when the workspace sets none (the seed's "above 95%").
pub const DEFAULT_QUALITY_THRESHOLD: f64 = 95.0;

/// Prefix of notification ids: `NTF-0001`.
pub const NOTIFICATION_ID_PREFIX: &str = "NTF-";

/// Prefix of data-quality run ids: `DQ-0001`.
pub const QUALITY_RUN_ID_PREFIX: &str = "DQ-";

/// Everything a schema change can change: fields, rules and the dataset's
/// edges to other datasets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSchema {
    /// Fields.
    #[serde(default)]
    pub fields: Vec<DatasetField>,
    /// Business rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DataRule>,
    /// Datasets this dataset depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Key>,
    /// Related datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationships: Vec<Key>,
}

/// One entry of the change log (AI_Model_Change_Log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// `CHG-YYYY-MM-DD-###`.
    pub change_id: ChangeId,
    /// The dataset whose schema changes.
    pub dataset_affected: Key,
    /// Schema, Relationship or Validation.
    pub change_type: ChangeType,
    /// What changes, in a sentence.
    pub change_description: String,
    /// The impact analysis: the diff and everything downstream, as JSON.
    #[schema(value_type = Object)]
    pub impact_analysis: serde_json::Value,
    /// Planned, Executing, Complete or Rolled Back.
    pub status: ChangeStatus,
    /// When the change was applied or rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_date: Option<Date>,
    /// Who applied or rolled back the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_by: Option<String>,
    /// Who proposed the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The dataset's schema version the change was analysed against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u32>,
    /// The schema version the change produced, once applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<u32>,
    /// The schema the change puts in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed: Option<DatasetSchema>,
    /// The schema it replaced, kept once applied so it can be rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<DatasetSchema>,
}

impl Check for Change {
    fn check(&self, check: &mut Checker) {
        check.text("change_description", &self.change_description);
        check.optional_text("executed_by", self.executed_by.as_deref());
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::dataset("dataset_affected".into(), &self.dataset_affected));
    }
}

/// Whether a webhook delivery is still to be made, made, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; attempts remain.
    Pending,
    /// The webhook answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// The webhook delivery of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Where it is posted.
    pub url: String,
    /// Its state.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the last attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// What went wrong on the last failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A notice to the owner of agents a change affects (PROC-ANALYZE-SCHEMA-CHANGE
/// step 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// `NTF-NNNN`.
    pub notification_id: Key,
    /// The owner notified: a person, or a team without a lead.
    pub recipient: String,
    /// The record the notice is about, as `kind/id`.
    pub about: String,
    /// The recipient's agents that the change affects.
    pub agents: Vec<AgentId>,
    /// The notice.
    pub message: String,
    /// When it was raised.
    pub created_at: Timestamp,
    /// The webhook delivery, when the workspace has a webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

impl Check for Notification {
    fn check(&self, check: &mut Checker) {
        check.text("recipient", &self.recipient);
        check.text("message", &self.message);
    }
}

/// The class of a data-quality check (PROC-VALIDATE-DATA-QUALITY steps 1-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckClass {
    /// The row could be read: well-formed, with the header's number of columns.
    Format,
    /// A mandatory field has a value.
    Mandatory,
    /// A value has its field's type.
    Type,
    /// A value is one of the field's allowed values.
    Allowed,
    /// Key values are unique.
    Unique,
    /// A reference names an existing key of the referenced dataset.
    Reference,
    /// A business rule of the schema holds.
    Rule,
}

/// One failing row, as a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureSample {
    /// Line of the file (1 is the first line, the header of a CSV file).
    pub line: u64,
    /// The offending value, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The outcome of one check over a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckOutcome {
    /// Stable name, e.g. `mandatory:owner` or `rule:cost_non_negative`.
    pub check: String,
    /// Its class.
    pub class: CheckClass,
    /// Rows that failed it.
    pub failed: u64,
    /// Percent of rows that passed it.
    pub pass_rate: f64,
    /// The first failing rows (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<FailureSample>,
}

/// A recorded data-quality validation of one file against a dataset's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityRun {
    /// `DQ-NNNN`.
    pub run_id: Key,
    /// The dataset validated.
    pub dataset_id: Key,
    /// The schema version the file was checked against.
    pub schema_version: u32,
    /// The file's name.
    pub source: String,
    /// SHA-256 of the file's bytes, hex.
    pub source_sha256: String,
    /// Rows read (the header not counted).
    pub rows: u64,
    /// Rows that passed every check.
    pub rows_passed: u64,
    /// Percent of rows that passed every check (100 for an empty file).
    pub score: f64,
    /// Every check, in schema order.
    pub checks: Vec<CheckOutcome>,
    /// When the run was recorded.
    pub run_at: Timestamp,
    /// Who ran it.
    pub run_by: String,
    /// RAIDA issues open for failing checks after this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raida: Vec<Key>,
}

impl Check for QualityRun {
    fn check(&self, check: &mut Checker) {
        check.range("score", self.score, 0.0, 100.0);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        refs.push(Ref::dataset("dataset_id".into(), &self.dataset_id));
    }
}

/// A workspace's data-governance settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    /// Always `default`: a workspace has one set.
    pub settings_id: Key,
    /// Quality score a dataset needs for promotion, in percent (default 95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_threshold: Option<f64>,
    /// Where notifications are posted as JSON (http:// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

impl DataSettings {
    /// The promotion threshold in percent.
    pub fn threshold(&self) -> f64 {
        self.quality_threshold.unwrap_or(DEFAULT_QUALITY_THRESHOLD)
    }
}

impl Check for DataSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail("settings_id", &format!("must be \"default\", got \"{}\"", self.settings_id));
        }
        if let Some(threshold) = self.quality_threshold {
            check.range("quality_threshold", threshold, 0.0, 100.0);
        }
        if let Some(url) = &self.webhook_url
            && !url.starts_with("http://")
        {
            check.fail("webhook_url", &format!("must be an http:// URL, got \"{url}\""));
        }
    }
}

/// The id of the `number`th notification in a workspace.
pub fn notification_id(number: u64) -> Key {
    // INVARIANT: a prefix of letters and `-` followed by digits is a valid key.
    Key::new(format!("{NOTIFICATION_ID_PREFIX}{number:04}")).unwrap_or_else(|_| unreachable!())
}

/// The id of the `number`th data-quality run in a workspace.
pub fn quality_run_id(number: u64) -> Key {
    // INVARIANT: as for notification ids.
    Key::new(format!("{QUALITY_RUN_ID_PREFIX}{number:04}")).unwrap_or_else(|_| unreachable!())
}
