//! Rules a record must satisfy beyond its shape (which serde checks), and the
//! references it makes to other records.

use std::collections::BTreeSet;
use std::fmt;

use crate::id::{AgentId, Key};
use crate::record::RecordKind;

/// One rule a record breaks: the field (a path such as `fields[2].name`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field inside the record.
    pub field: String,
    /// What is wrong, naming the offending value.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects the rules a record breaks.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records a broken rule.
    pub fn fail(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError { field: field.to_owned(), message: message.to_owned() });
    }

    /// Required text must not be blank.
    pub fn text(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        }
    }

    /// Optional text, when present, must not be blank.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(field, value);
        }
    }

    /// A number within `[low, high]`.
    pub fn range(&mut self, field: &str, value: f64, low: f64, high: f64) {
        if !(low..=high).contains(&value) {
            self.fail(field, &format!("must be between {low} and {high}, got {value}"));
        }
    }

    /// A number that is zero or more.
    pub fn non_negative(&mut self, field: &str, value: f64) {
        if value < 0.0 {
            self.fail(field, &format!("must not be negative, got {value}"));
        }
    }

    /// A list without repeated entries.
    pub fn unique<T: Ord + fmt::Display>(&mut self, field: &str, values: &[T]) {
        let mut seen = BTreeSet::new();
        for (index, value) in values.iter().enumerate() {
            if !seen.insert(value) {
                self.fail(&format!("{field}[{index}]"), &format!("duplicate entry \"{value}\""));
            }
        }
    }

    /// The broken rules, in the order they were found.
    pub fn finish(self) -> Vec<FieldError> {
        self.errors
    }
}

/// A reference from one record to another, by kind and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// Path of the referring field.
    pub field: String,
    /// Kind of the referenced record.
    pub kind: RecordKind,
    /// Id of the referenced record.
    pub id: String,
}

impl Ref {
    pub(crate) fn agent(field: String, id: &AgentId) -> Self {
        Self { field, kind: RecordKind::Agent, id: id.to_string() }
    }

    pub(crate) fn system(field: String, id: &Key) -> Self {
        Self { field, kind: RecordKind::System, id: id.to_string() }
    }

    pub(crate) fn dataset(field: String, id: &Key) -> Self {
        Self { field, kind: RecordKind::Dataset, id: id.to_string() }
    }

    pub(crate) fn workflow(field: String, id: &Key) -> Self {
        Self { field, kind: RecordKind::Workflow, id: id.to_string() }
    }

    pub(crate) fn team(field: String, id: &Key) -> Self {
        Self { field, kind: RecordKind::Team, id: id.to_string() }
    }

    pub(crate) fn person(field: String, id: &Key) -> Self {
        Self { field, kind: RecordKind::Person, id: id.to_string() }
    }
}

/// Rules and references of one record type.
pub trait Check {
    /// Reports every rule the record breaks.
    fn check(&self, check: &mut Checker);

    /// Lists the records this one refers to.
    fn references(&self, refs: &mut Vec<Ref>) {
        let _ = refs;
    }
}

impl<T: Check + ?Sized> Check for Box<T> {
    fn check(&self, check: &mut Checker) {
        (**self).check(check);
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        (**self).references(refs);
    }
}
