//! The difference between a dataset's schema and a proposed one
//! (PROC-ANALYZE-SCHEMA-CHANGE step 1), each change marked breaking or not.
//!
//! A change is breaking when data or code that worked with the old schema
//! may stop working: a field removed, renamed or retyped (except integer to
//! number), made mandatory or part of the key, a new mandatory field,
//! allowed values narrowed, a reference added or moved, a rule added or
//! tightened. Renames are declared, never guessed: a removed field and an
//! added one with the same type may well be two different things.

use std::collections::{BTreeMap, BTreeSet};

use charter_model::{ChangeType, DataRule, Dataset, DatasetField, DatasetSchema, FieldType, Key};
use serde::{Deserialize, Serialize};

/// A proposed schema, as `charter schema propose --schema FILE` reads it.
/// Rules, dependencies and relationships left out stay as they are.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The fields of the new schema, in order.
    pub fields: Vec<DatasetField>,
    /// The business rules of the new schema.
    #[serde(default)]
    pub rules: Option<Vec<DataRule>>,
    /// The datasets the dataset will depend on.
    #[serde(default)]
    pub dependencies: Option<Vec<Key>>,
    /// The datasets it will be related to.
    #[serde(default)]
    pub relationships: Option<Vec<Key>>,
    /// Renamed fields, old name to new name.
    #[serde(default)]
    pub renamed: BTreeMap<String, String>,
    /// Why the change is made.
    #[serde(default)]
    pub description: Option<String>,
}

impl Proposal {
    /// The schema the proposal puts in place of `current`'s.
    pub fn schema(&self, current: &Dataset) -> DatasetSchema {
        DatasetSchema {
            fields: self.fields.clone(),
            rules: self.rules.clone().unwrap_or_else(|| current.rules.clone()),
            dependencies: self.dependencies.clone().unwrap_or_else(|| current.dependencies.clone()),
            relationships: self.relationships.clone().unwrap_or_else(|| current.relationships.clone()),
        }
    }
}

/// What happened to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldChangeKind {
    /// A new field.
    Added,
    /// A field that is gone.
    Removed,
    /// A field under a new name (declared in `renamed`).
    Renamed,
    /// A field of a new type.
    Retyped,
    /// A field that must now have a value.
    MadeMandatory,
    /// A field that may now be empty.
    MadeOptional,
    /// A field that joined or left the key.
    KeyChanged,
    /// Allowed values that lost members (or a field that gained a list).
    AllowedValuesNarrowed,
    /// Allowed values that gained members (or lost their list).
    AllowedValuesWidened,
    /// A reference to another dataset that was added, moved or dropped.
    ReferenceChanged,
}

/// One change to one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field's name in the old schema (the new one for added fields).
    pub field: String,
    /// What happened.
    pub change: FieldChangeKind,
    /// Whether it can break existing data or readers.
    pub breaking: bool,
    /// The change in words, e.g. `integer -> string`.
    pub detail: String,
}

/// What happened to one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    /// The rule's name.
    pub rule: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Added and changed rules may reject rows that passed before.
    pub breaking: bool,
    /// The new expression (the old one for removed rules).
    pub expression: String,
}

/// A dependency or relationship added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeChange {
    /// `dependency` or `relationship`.
    pub edge: &'static str,
    /// `added` or `removed`.
    pub change: &'static str,
    /// The other dataset.
    pub dataset: String,
}

/// Every difference between two schemas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Field changes, in the order of the old schema, then added fields.
    pub fields: Vec<FieldChange>,
    /// Rule changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleChange>,
    /// Edge changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeChange>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.rules.is_empty() && self.edges.is_empty()
    }

    /// Whether any change is breaking.
    pub fn breaking(&self) -> bool {
        self.fields.iter().any(|c| c.breaking) || self.rules.iter().any(|c| c.breaking)
    }

    /// Schema when fields change, else Relationship when edges do, else Validation.
    pub fn change_type(&self) -> ChangeType {
        if !self.fields.is_empty() {
            ChangeType::Schema
        } else if !self.edges.is_empty() {
            ChangeType::Relationship
        } else {
            ChangeType::Validation
        }
    }

    /// Names (in the old schema) of the fields whose meaning changed: every
    /// changed field but added ones. Fields elsewhere that reference one of
    /// these are affected.
    pub fn changed_fields(&self) -> BTreeSet<&str> {
        self.fields.iter().filter(|c| c.change != FieldChangeKind::Added).map(|c| c.field.as_str()).collect()
    }

    /// A one-line summary, e.g. `2 fields changed (1 breaking), 1 rule added`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.fields.is_empty() {
            let breaking = self.fields.iter().filter(|c| c.breaking).count();
            parts.push(format!("{} field change(s) ({breaking} breaking)", self.fields.len()));
        }
        if !self.rules.is_empty() {
            parts.push(format!("{} rule change(s)", self.rules.len()));
        }
        if !self.edges.is_empty() {
            parts.push(format!("{} dependency/relationship change(s)", self.edges.len()));
        }
        parts.join(", ")
    }
}

/// The difference from `old` to `new`, with `renamed` mapping old field
/// names to new ones. Fails, listing every problem, when a rename names a
/// field that is not there or is not renamed.
pub fn diff(
    old: &DatasetSchema,
    new: &DatasetSchema,
    renamed: &BTreeMap<String, String>,
) -> Result<Diff, Vec<String>> {
    let old_names: BTreeSet<&str> = old.fields.iter().map(|f| f.name.as_str()).collect();
    let new_names: BTreeSet<&str> = new.fields.iter().map(|f| f.name.as_str()).collect();
    let mut problems = Vec::new();
    for (from, to) in renamed {
        if !old_names.contains(from.as_str()) {
            problems.push(format!("renamed: \"{from}\" is not a field of the current schema"));
        }
        if !new_names.contains(to.as_str()) {
            problems
                .push(format!("renamed: \"{to}\" (from \"{from}\") is not a field of the proposed schema"));
        }
        if new_names.contains(from.as_str()) {
            problems.push(format!("renamed: \"{from}\" is still a field of the proposed schema"));
        }
        if old_names.contains(to.as_str()) {
            problems.push(format!("renamed: \"{to}\" is already a field of the current schema"));
        }
    }
    let targets: Vec<&String> = renamed.values().collect();
    if targets.len() != targets.iter().collect::<BTreeSet<_>>().len() {
        problems.push("renamed: two fields are renamed to the same name".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut result = Diff::default();
    let mut matched = BTreeSet::new();
    for field in &old.fields {
        let new_name = renamed.get(&field.name).unwrap_or(&field.name);
        let Some(next) = new.fields.iter().find(|f| &f.name == new_name) else {
            result.fields.push(change(
                field,
                FieldChangeKind::Removed,
                true,
                format!("{} removed", field.field_type),
            ));
            continue;
        };
        matched.insert(next.name.as_str());
        if next.name != field.name {
            result.fields.push(change(
                field,
                FieldChangeKind::Renamed,
                true,
                format!("{} -> {}", field.name, next.name),
            ));
        }
        compare(field, next, &mut result.fields);
    }
    for field in new.fields.iter().filter(|f| !matched.contains(f.name.as_str())) {
        let breaking = field.mandatory || field.key;
        let detail = format!("{}{}", field.field_type, if field.mandatory { ", mandatory" } else { "" });
        result.fields.push(change(field, FieldChangeKind::Added, breaking, detail));
    }

    for rule in &new.rules {
        match old.rules.iter().find(|r| r.name == rule.name) {
            None => result.rules.push(rule_change(rule, "added", true)),
            Some(before) if before.expression != rule.expression => {
                result.rules.push(rule_change(rule, "changed", true));
            }
            Some(_) => {}
        }
    }
    for rule in old.rules.iter().filter(|r| !new.rules.iter().any(|n| n.name == r.name)) {
        result.rules.push(rule_change(rule, "removed", false));
    }

    edges(&old.dependencies, &new.dependencies, "dependency", &mut result.edges);
    edges(&old.relationships, &new.relationships, "relationship", &mut result.edges);
    Ok(result)
}

fn change(field: &DatasetField, kind: FieldChangeKind, breaking: bool, detail: String) -> FieldChange {
    FieldChange { field: field.name.clone(), change: kind, breaking, detail }
}

fn rule_change(rule: &DataRule, what: &'static str, breaking: bool) -> RuleChange {
    RuleChange { rule: rule.name.clone(), change: what, breaking, expression: rule.expression.clone() }
}

fn edges(old: &[Key], new: &[Key], edge: &'static str, out: &mut Vec<EdgeChange>) {
    for key in new.iter().filter(|k| !old.contains(k)) {
        out.push(EdgeChange { edge, change: "added", dataset: key.to_string() });
    }
    for key in old.iter().filter(|k| !new.contains(k)) {
        out.push(EdgeChange { edge, change: "removed", dataset: key.to_string() });
    }
}

/// The changes between two versions of one field.
fn compare(old: &DatasetField, new: &DatasetField, out: &mut Vec<FieldChange>) {
    if old.field_type != new.field_type {
        let widening = old.field_type == FieldType::Integer && new.field_type == FieldType::Number;
        out.push(change(
            old,
            FieldChangeKind::Retyped,
            !widening,
            format!("{} -> {}", old.field_type, new.field_type),
        ));
    }
    if old.mandatory != new.mandatory {
        if new.mandatory {
            out.push(change(old, FieldChangeKind::MadeMandatory, true, "optional -> mandatory".into()));
        } else {
            out.push(change(old, FieldChangeKind::MadeOptional, false, "mandatory -> optional".into()));
        }
    }
    if old.key != new.key {
        let detail = if new.key { "joined the key" } else { "left the key" };
        out.push(change(old, FieldChangeKind::KeyChanged, true, detail.into()));
    }
    if old.allowed_values != new.allowed_values {
        let before: BTreeSet<&String> = old.allowed_values.iter().collect();
        let after: BTreeSet<&String> = new.allowed_values.iter().collect();
        let lost: Vec<&str> = before.difference(&after).map(|v| v.as_str()).collect();
        if (before.is_empty() && !after.is_empty()) || (!after.is_empty() && !lost.is_empty()) {
            let detail = if before.is_empty() {
                format!("now limited to {}", join(&after))
            } else {
                format!("no longer allows {}", lost.join(", "))
            };
            out.push(change(old, FieldChangeKind::AllowedValuesNarrowed, true, detail));
        } else if before != after {
            let detail = if after.is_empty() {
                "no longer limited".to_owned()
            } else {
                format!("now also allows {}", join(&after.difference(&before).copied().collect()))
            };
            out.push(change(old, FieldChangeKind::AllowedValuesWidened, false, detail));
        }
    }
    if old.references != new.references {
        let show = |r: &Option<charter_model::FieldReference>| match r {
            Some(r) => format!("{}.{}", r.dataset, r.field),
            None => "none".to_owned(),
        };
        let breaking = new.references.is_some();
        let detail = format!("references {} -> {}", show(&old.references), show(&new.references));
        out.push(change(old, FieldChangeKind::ReferenceChanged, breaking, detail));
    }
}

fn join(values: &BTreeSet<&String>) -> String {
    values.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str) -> DatasetField {
        serde_json::from_str(json).unwrap()
    }

    fn schema(fields: &[&str]) -> DatasetSchema {
        DatasetSchema { fields: fields.iter().map(|f| field(f)).collect(), ..DatasetSchema::default() }
    }

    fn kinds(diff: &Diff) -> Vec<(String, FieldChangeKind, bool)> {
        diff.fields.iter().map(|c| (c.field.clone(), c.change, c.breaking)).collect()
    }

    const ID: &str = r#"{"name":"id","type":"integer","key":true,"mandatory":true}"#;

    /// Old fields, new fields, renames, and the expected (field, change, breaking).
    type Case<'a> =
        (&'a [&'a str], &'a [&'a str], &'a [(&'a str, &'a str)], &'a [(&'a str, FieldChangeKind, bool)]);

    #[test]
    fn classifies_every_kind_of_field_change() {
        use FieldChangeKind::*;
        let cases: &[Case] = &[
            // added optional: not breaking; added mandatory: breaking
            (&[ID], &[ID, r#"{"name":"note","type":"string"}"#], &[], &[("note", Added, false)]),
            (
                &[ID],
                &[ID, r#"{"name":"owner","type":"string","mandatory":true}"#],
                &[],
                &[("owner", Added, true)],
            ),
            // removed
            (&[ID, r#"{"name":"note","type":"string"}"#], &[ID], &[], &[("note", Removed, true)]),
            // renamed (declared), and renamed plus retyped
            (
                &[ID, r#"{"name":"cost","type":"number"}"#],
                &[ID, r#"{"name":"cost_usd","type":"number"}"#],
                &[("cost", "cost_usd")],
                &[("cost", Renamed, true)],
            ),
            (
                &[ID, r#"{"name":"cost","type":"integer"}"#],
                &[ID, r#"{"name":"cost_usd","type":"string"}"#],
                &[("cost", "cost_usd")],
                &[("cost", Renamed, true), ("cost", Retyped, true)],
            ),
            // without a declared rename: removed + added
            (
                &[ID, r#"{"name":"cost","type":"number"}"#],
                &[ID, r#"{"name":"cost_usd","type":"number"}"#],
                &[],
                &[("cost", Removed, true), ("cost_usd", Added, false)],
            ),
            // retyped: widening integer -> number is not breaking
            (
                &[ID, r#"{"name":"n","type":"integer"}"#],
                &[ID, r#"{"name":"n","type":"number"}"#],
                &[],
                &[("n", Retyped, false)],
            ),
            (
                &[ID, r#"{"name":"n","type":"number"}"#],
                &[ID, r#"{"name":"n","type":"integer"}"#],
                &[],
                &[("n", Retyped, true)],
            ),
            // mandatory both ways
            (
                &[ID, r#"{"name":"n","type":"string"}"#],
                &[ID, r#"{"name":"n","type":"string","mandatory":true}"#],
                &[],
                &[("n", MadeMandatory, true)],
            ),
            (
                &[ID, r#"{"name":"n","type":"string","mandatory":true}"#],
                &[ID, r#"{"name":"n","type":"string"}"#],
                &[],
                &[("n", MadeOptional, false)],
            ),
            // key
            (
                &[ID, r#"{"name":"n","type":"string"}"#],
                &[ID, r#"{"name":"n","type":"string","key":true}"#],
                &[],
                &[("n", KeyChanged, true)],
            ),
            // allowed values
            (
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a","b"]}"#],
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a"]}"#],
                &[],
                &[("s", AllowedValuesNarrowed, true)],
            ),
            (
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a"]}"#],
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a","b"]}"#],
                &[],
                &[("s", AllowedValuesWidened, false)],
            ),
            (
                &[ID, r#"{"name":"s","type":"string"}"#],
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a"]}"#],
                &[],
                &[("s", AllowedValuesNarrowed, true)],
            ),
            (
                &[ID, r#"{"name":"s","type":"string","allowed_values":["a"]}"#],
                &[ID, r#"{"name":"s","type":"string"}"#],
                &[],
                &[("s", AllowedValuesWidened, false)],
            ),
            // references
            (
                &[ID, r#"{"name":"p","type":"integer"}"#],
                &[ID, r#"{"name":"p","type":"integer","references":{"dataset":"D","field":"id"}}"#],
                &[],
                &[("p", ReferenceChanged, true)],
            ),
            (
                &[ID, r#"{"name":"p","type":"integer","references":{"dataset":"D","field":"id"}}"#],
                &[ID, r#"{"name":"p","type":"integer"}"#],
                &[],
                &[("p", ReferenceChanged, false)],
            ),
            // description only: no change
            (
                &[ID, r#"{"name":"n","type":"string"}"#],
                &[ID, r#"{"name":"n","type":"string","description":"x"}"#],
                &[],
                &[],
            ),
        ];
        for (index, (old, new, renamed, expected)) in cases.iter().enumerate() {
            let renamed = renamed.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
            let diff = diff(&schema(old), &schema(new), &renamed).unwrap();
            let expected: Vec<_> = expected.iter().map(|(f, k, b)| ((*f).to_owned(), *k, *b)).collect();
            assert_eq!(kinds(&diff), expected, "case {index}");
        }
    }

    #[test]
    fn bad_renames_are_all_listed() {
        let old = schema(&[ID, r#"{"name":"a","type":"string"}"#]);
        let new = schema(&[ID, r#"{"name":"a","type":"string"}"#]);
        let renamed = [("a".to_owned(), "b".to_owned()), ("zz".to_owned(), "id".to_owned())].into();
        let problems = diff(&old, &new, &renamed).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("\"zz\" is not a field of the current schema")));
    }

    #[test]
    fn rules_and_edges_change_the_change_type() {
        let old = schema(&[ID]);
        let mut new = old.clone();
        new.rules.push(DataRule { name: "positive".into(), expression: "id > 0".into(), description: None });
        let d = diff(&old, &new, &BTreeMap::new()).unwrap();
        assert_eq!(d.change_type(), ChangeType::Validation);
        assert!(d.breaking());
        new.dependencies.push(Key::new("Other".to_owned()).unwrap());
        let d = diff(&old, &new, &BTreeMap::new()).unwrap();
        assert_eq!(d.change_type(), ChangeType::Relationship);
        assert!(diff(&old, &old, &BTreeMap::new()).unwrap().is_empty());
    }
}
