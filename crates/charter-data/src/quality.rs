//! Data-quality validation (PROC-VALIDATE-DATA-QUALITY steps 1-5): a CSV
//! or JSON Lines file checked row by row against a dataset's schema, in one
//! streaming pass.
//!
//! Checks, each counted per row: the row is readable (`format`), mandatory
//! fields have a value (`mandatory:F`), values have their field's type
//! (`type:F`), enumerations hold (`allowed:F`), keys are unique
//! (`unique:K`), references name an existing key (`reference:F`; a null
//! reference is not a violation, as in SQL), and the schema's business
//! rules hold (`rule:NAME`). The score is the share of rows that pass every
//! check. Each check keeps a bounded sample of failing rows.
//!
//! Memory does not grow with the file, except for key values: uniqueness
//! and a reference into the same dataset need every key seen so far (eight
//! bytes per integer key), as any exact check of them must.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use charter_model::{CheckClass, CheckOutcome, Dataset, DatasetField, FailureSample, FieldType};

use crate::csvread::{Record, Records};
use crate::rules::{self, CompiledRule, Typed, Verdict};

/// Longest value a failure sample quotes, in characters.
const SAMPLE_VALUE_CHARS: usize = 120;

/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// The format of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file name's extension implies: `.csv`, or `.jsonl` /
    /// `.ndjson`.
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }
}

/// Why a file could not be validated at all (a failing row is not an error:
/// it is counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DqError {
    /// The header cannot be used: a mandatory column is missing, or a
    /// column is repeated.
    Header(Vec<String>),
    /// The file could not be read at `line`.
    Read {
        /// Line of the file.
        line: u64,
        /// What went wrong.
        message: String,
    },
    /// The schema's rules do not compile.
    Rules(Vec<String>),
    /// Fields reference datasets whose key values were not given.
    MissingKeys(Vec<String>),
}

impl std::fmt::Display for DqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DqError::Header(problems) => write!(f, "header: {}", problems.join("; ")),
            DqError::Read { line, message } => write!(f, "line {line}: {message}"),
            DqError::Rules(problems) => f.write_str(&problems.join("; ")),
            DqError::MissingKeys(problems) => f.write_str(&problems.join("; ")),
        }
    }
}

impl std::error::Error for DqError {}

/// The key values of one field of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySet {
    /// Integer keys.
    Ints(IntKeys),
    /// Any other keys, by their text.
    Texts(HashSet<Box<str>, foldhash::fast::RandomState>),
}

/// Bits a set of integer keys may always use for its bitmap.
const DENSE_BITS: u64 = 1 << 20;

/// A set of integer keys: a bitmap over a range starting at the first key
/// (keys are usually dense, so a million keys take 125 KB), growing while
/// it uses at most 64 bits per key, and a hash set for the keys outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntKeys {
    base: i64,
    bits: Vec<u64>,
    spill: HashSet<i64, foldhash::fast::RandomState>,
    len: usize,
}

impl IntKeys {
    fn offset(&self, value: i64) -> Option<u64> {
        value.checked_sub(self.base).and_then(|offset| u64::try_from(offset).ok())
    }

    fn insert(&mut self, value: i64) -> bool {
        if self.len == 0 && self.bits.is_empty() {
            self.base = value;
        }
        if let Some(offset) = self.offset(value) {
            let word = (offset / 64) as usize;
            let allowed = (DENSE_BITS.max(64 * (self.len as u64 + 1)) / 64) as usize;
            if word >= self.bits.len() && word < allowed {
                let grown = (self.bits.len() * 2).max(word + 1).max(1024).min(allowed);
                self.bits.resize(grown, 0);
            }
            if let Some(bits) = self.bits.get_mut(word) {
                let mask = 1_u64 << (offset % 64);
                if *bits & mask != 0 || (!self.spill.is_empty() && self.spill.contains(&value)) {
                    return false;
                }
                *bits |= mask;
                self.len += 1;
                return true;
            }
        }
        let fresh = self.spill.insert(value);
        self.len += usize::from(fresh);
        fresh
    }

    fn contains(&self, value: i64) -> bool {
        let in_bitmap = self.offset(value).is_some_and(|offset| {
            self.bits.get((offset / 64) as usize).is_some_and(|bits| bits & (1_u64 << (offset % 64)) != 0)
        });
        in_bitmap || (!self.spill.is_empty() && self.spill.contains(&value))
    }
}

impl KeySet {
    /// An empty set for keys of type `field_type`.
    pub fn for_type(field_type: FieldType) -> KeySet {
        match field_type {
            FieldType::Integer => KeySet::Ints(IntKeys::default()),
            _ => KeySet::Texts(HashSet::default()),
        }
    }

    /// A set of text keys.
    pub fn texts<'t>(keys: impl IntoIterator<Item = &'t str>) -> KeySet {
        KeySet::Texts(keys.into_iter().map(Into::into).collect())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        match self {
            KeySet::Ints(set) => set.len,
            KeySet::Texts(set) => set.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a key; false when it was there already. Null is never added.
    fn insert(&mut self, value: Typed<'_>) -> bool {
        match (self, value) {
            (_, Typed::Null) => true,
            (KeySet::Ints(set), Typed::Int(v)) => set.insert(v),
            (KeySet::Ints(set), Typed::Num(v)) if v.fract() == 0.0 => set.insert(v as i64),
            (KeySet::Ints(_), _) => true,
            (KeySet::Texts(set), value) => {
                let text = key_text(value);
                if set.contains(text.as_ref()) { false } else { set.insert(text.into()) }
            }
        }
    }

    fn contains(&self, value: Typed<'_>) -> bool {
        match (self, value) {
            (_, Typed::Null) => true,
            (KeySet::Ints(set), Typed::Int(v)) => set.contains(v),
            (KeySet::Ints(set), Typed::Num(v)) => v.fract() == 0.0 && set.contains(v as i64),
            (KeySet::Ints(_), _) => false,
            (KeySet::Texts(set), value) => set.contains(key_text(value).as_ref()),
        }
    }
}

fn key_text<'v>(value: Typed<'v>) -> std::borrow::Cow<'v, str> {
    match value {
        Typed::Text(text) => text.into(),
        Typed::Int(v) => v.to_string().into(),
        Typed::Num(v) => v.to_string().into(),
        Typed::Bool(v) => v.to_string().into(),
        Typed::Null => "".into(),
    }
}

/// Key values of referenced datasets, by `(dataset, field)`.
pub type KeySets = HashMap<(String, String), KeySet>;

/// The `(dataset, field)` pairs outside `dataset` that its fields reference:
/// the key sets [`validate`] needs.
pub fn external_references(dataset: &Dataset) -> Vec<(String, String)> {
    let mut needed: Vec<(String, String)> = dataset
        .fields
        .iter()
        .filter_map(|f| f.references.as_ref())
        .filter(|r| r.dataset != dataset.dataset_id)
        .map(|r| (r.dataset.to_string(), r.field.clone()))
        .collect();
    needed.sort();
    needed.dedup();
    needed
}

/// Validation settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Failing rows kept per check.
    pub sample_limit: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { sample_limit: 5 }
    }
}

/// The outcome of validating one file.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    /// Rows read (a CSV header is not a row).
    pub rows: u64,
    /// Rows that passed every check.
    pub rows_passed: u64,
    /// Percent of rows that passed every check; 0 for a file without rows
    /// (nothing was shown to be good).
    pub score: f64,
    /// Every check, format first, then by field, keys, references and rules.
    pub checks: Vec<CheckOutcome>,
    /// Columns (or JSON keys) the schema does not know, at most 20.
    pub unknown_columns: Vec<String>,
}

/// One value as read, before its type is checked.
#[derive(Debug, Clone, Copy)]
enum Cell<'r> {
    Null,
    Text(&'r str),
    Json(&'r serde_json::Value),
}

/// Where a reference's key values are.
#[derive(Debug)]
enum Target<'k> {
    External(&'k KeySet),
    /// A field of the dataset being validated.
    Own(usize),
}

#[derive(Debug)]
struct FieldPlan<'k> {
    field_type: FieldType,
    mandatory: Option<usize>,
    type_check: Option<usize>,
    allowed: Option<(usize, Vec<String>)>,
    reference: Option<(usize, Target<'k>)>,
}

/// A reference into the dataset itself whose key had not been seen yet.
#[derive(Debug)]
struct Pending {
    key: Owned,
    line: u64,
    row: u64,
    field: u32,
    check: u32,
    row_failed: bool,
}

/// Rows between two passes that drop the pending references whose key has
/// turned up since.
const RESOLVE_EVERY: u64 = 1 << 16;

#[derive(Debug)]
enum Owned {
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(Box<str>),
}

impl Owned {
    fn of(value: Typed<'_>) -> Owned {
        match value {
            Typed::Int(v) => Owned::Int(v),
            Typed::Num(v) => Owned::Num(v),
            Typed::Bool(v) => Owned::Bool(v),
            Typed::Text(v) => Owned::Text(v.into()),
            Typed::Null => Owned::Text("".into()),
        }
    }

    fn typed(&self) -> Typed<'_> {
        match self {
            Owned::Int(v) => Typed::Int(*v),
            Owned::Num(v) => Typed::Num(*v),
            Owned::Bool(v) => Typed::Bool(*v),
            Owned::Text(v) => Typed::Text(v),
        }
    }
}

/// The checks of one schema, applied row by row.
struct Engine<'k> {
    fields: Vec<FieldPlan<'k>>,
    checks: Vec<CheckOutcome>,
    sample_limit: usize,
    /// Key fields and the `unique` check, when the dataset has a key.
    unique: Option<(usize, Vec<usize>)>,
    composite_keys: HashSet<Box<str>, foldhash::fast::RandomState>,
    /// Key values seen so far, for fields that are the single key or the
    /// target of a reference into this dataset.
    own_keys: Vec<Option<KeySet>>,
    rules: Vec<(CompiledRule, usize)>,
    root: cel::Context<'static, 'static>,
    pending: Vec<Pending>,
    rows: u64,
    failed: u64,
    scratch: Vec<Typed<'static>>,
}

/// Reuses a vector's allocation for values of another lifetime (in-place
/// collection keeps the buffer: the element type's size does not change).
fn recycle<'a, 'b>(mut values: Vec<Typed<'a>>) -> Vec<Typed<'b>> {
    values.clear();
    values.into_iter().map(|_| Typed::Null).collect()
}

fn outcome(check: String, class: CheckClass) -> CheckOutcome {
    CheckOutcome { check, class, failed: 0, pass_rate: 100.0, samples: Vec::new() }
}

impl<'k> Engine<'k> {
    fn new(dataset: &Dataset, keys: &'k KeySets, options: Options) -> Result<Engine<'k>, DqError> {
        let mut checks = vec![outcome("format".into(), CheckClass::Format)];
        let mut add = |name: String, class| {
            checks.push(outcome(name, class));
            checks.len() - 1
        };
        let mut missing = Vec::new();
        let mut own_keys: Vec<Option<KeySet>> = vec![None; dataset.fields.len()];
        let mut fields = Vec::new();
        for field in &dataset.fields {
            let mandatory =
                field.mandatory.then(|| add(format!("mandatory:{}", field.name), CheckClass::Mandatory));
            let type_check = (field.field_type != FieldType::String)
                .then(|| add(format!("type:{}", field.name), CheckClass::Type));
            let allowed = (!field.allowed_values.is_empty()).then(|| {
                (add(format!("allowed:{}", field.name), CheckClass::Allowed), field.allowed_values.clone())
            });
            fields.push(FieldPlan {
                field_type: field.field_type,
                mandatory,
                type_check,
                allowed,
                reference: None,
            });
        }
        let key_fields: Vec<usize> =
            dataset.fields.iter().enumerate().filter(|(_, f)| f.key).map(|(i, _)| i).collect();
        let unique = (!key_fields.is_empty()).then(|| {
            let names: Vec<&str> = key_fields.iter().map(|&i| dataset.fields[i].name.as_str()).collect();
            (add(format!("unique:{}", names.join("+")), CheckClass::Unique), key_fields.clone())
        });
        if let [single] = key_fields[..] {
            own_keys[single] = Some(KeySet::for_type(dataset.fields[single].field_type));
        }
        for (index, field) in dataset.fields.iter().enumerate() {
            let Some(reference) = &field.references else { continue };
            let target = if reference.dataset == dataset.dataset_id {
                let Some(own) = dataset.fields.iter().position(|f| f.name == reference.field) else {
                    missing.push(format!(
                        "{}: references {}.{}, which is not a field",
                        field.name, reference.dataset, reference.field
                    ));
                    continue;
                };
                if own_keys[own].is_none() {
                    own_keys[own] = Some(KeySet::for_type(dataset.fields[own].field_type));
                }
                Target::Own(own)
            } else {
                match keys.get(&(reference.dataset.to_string(), reference.field.clone())) {
                    Some(set) => Target::External(set),
                    None => {
                        missing.push(format!(
                            "{} references {}.{}: its key values were not given",
                            field.name, reference.dataset, reference.field
                        ));
                        continue;
                    }
                }
            };
            fields[index].reference =
                Some((add(format!("reference:{}", field.name), CheckClass::Reference), target));
        }
        if !missing.is_empty() {
            return Err(DqError::MissingKeys(missing));
        }
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for rule in &dataset.rules {
            match rules::compile(dataset, rule) {
                Ok(compiled) => rules.push((compiled, add(format!("rule:{}", rule.name), CheckClass::Rule))),
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(DqError::Rules(problems));
        }
        Ok(Engine {
            fields,
            checks,
            sample_limit: options.sample_limit,
            unique,
            composite_keys: HashSet::default(),
            own_keys,
            rules,
            root: rules::root_context(),
            pending: Vec::new(),
            rows: 0,
            failed: 0,
            scratch: Vec::new(),
        })
    }

    fn fail(&mut self, check: usize, line: u64, value: Option<&str>, message: impl FnOnce() -> String) {
        let outcome = &mut self.checks[check];
        outcome.failed += 1;
        if outcome.samples.len() < self.sample_limit {
            let value = value.map(|v| {
                if v.chars().count() > SAMPLE_VALUE_CHARS {
                    format!("{}…", v.chars().take(SAMPLE_VALUE_CHARS).collect::<String>())
                } else {
                    v.to_owned()
                }
            });
            outcome.samples.push(FailureSample { line, value, message: message() });
        }
    }

    /// A row that could not be read.
    fn unreadable(&mut self, line: u64, message: String) {
        self.rows += 1;
        self.failed += 1;
        self.fail(0, line, None, || message);
    }

    fn row(&mut self, line: u64, cells: &[Cell<'_>]) {
        let row = self.rows;
        self.rows += 1;
        let mut failed = false;
        let mut typed: Vec<Typed<'_>> = recycle(std::mem::take(&mut self.scratch));
        for (index, cell) in cells.iter().enumerate() {
            let plan = &self.fields[index];
            if let Cell::Null = cell {
                if let Some(check) = plan.mandatory {
                    self.fail(check, line, None, || "no value".into());
                    failed = true;
                }
                typed.push(Typed::Null);
                continue;
            }
            match parse(*cell, plan.field_type) {
                Ok(value) => {
                    typed.push(value);
                    if let Some((check, allowed)) = &plan.allowed {
                        let text = cell_text(*cell);
                        if !allowed.iter().any(|a| *a == text) {
                            let check = *check;
                            self.fail(check, line, Some(&text), || {
                                format!("\"{text}\" is not an allowed value")
                            });
                            failed = true;
                        }
                    }
                }
                Err(message) => {
                    typed.push(Typed::Null);
                    let check = plan.type_check.unwrap_or(0);
                    let text = cell_text(*cell);
                    self.fail(check, line, Some(&text), || message);
                    failed = true;
                }
            }
        }

        // Keys first, so a row may reference its own key.
        if let Some((check, key_fields)) = &self.unique
            && key_fields.iter().all(|&i| typed[i] != Typed::Null)
        {
            let check = *check;
            let fresh = match key_fields[..] {
                [single] => self.own_keys[single].as_mut().is_none_or(|set| set.insert(typed[single])),
                _ => {
                    let joined: String =
                        key_fields.iter().map(|&i| key_text(typed[i])).collect::<Vec<_>>().join("\u{1f}");
                    self.composite_keys.insert(joined.into())
                }
            };
            if !fresh {
                let shown: Vec<_> = key_fields.iter().map(|&i| key_text(typed[i])).collect();
                let shown = shown.join(", ");
                self.fail(check, line, Some(&shown), || format!("duplicate key {shown}"));
                failed = true;
            }
        }
        let single_key = match self.unique.as_ref().map(|u| &u.1[..]) {
            Some([single]) => Some(*single),
            _ => None,
        };
        for (index, keys) in self.own_keys.iter_mut().enumerate() {
            if let Some(keys) = keys
                && Some(index) != single_key
            {
                keys.insert(typed[index]);
            }
        }

        let pending_from = self.pending.len();
        for (index, &value) in typed.iter().enumerate() {
            let Some((check, target)) = &self.fields[index].reference else { continue };
            if value == Typed::Null {
                continue;
            }
            let check = *check;
            match target {
                Target::External(keys) => {
                    if !keys.contains(value) {
                        let text = key_text(value);
                        self.fail(check, line, Some(&text), || format!("{text} matches no key"));
                        failed = true;
                    }
                }
                Target::Own(own) => {
                    let own = *own;
                    if !self.own_keys[own].as_ref().is_some_and(|keys| keys.contains(value)) {
                        self.pending.push(Pending {
                            key: Owned::of(value),
                            field: own as u32,
                            check: check as u32,
                            line,
                            row,
                            row_failed: false,
                        });
                    }
                }
            }
        }

        for rule in 0..self.rules.len() {
            if let Verdict::Fails(message) = self.rules[rule].0.check(&self.root, &typed) {
                let check = self.rules[rule].1;
                self.fail(check, line, None, || message);
                failed = true;
            }
        }
        for pending in &mut self.pending[pending_from..] {
            pending.row_failed = failed;
        }
        if failed {
            self.failed += 1;
        }
        self.scratch = recycle(typed);
        if self.rows.is_multiple_of(RESOLVE_EVERY) && !self.pending.is_empty() {
            let own_keys = &self.own_keys;
            self.pending.retain(|p| {
                !own_keys[p.field as usize].as_ref().is_some_and(|keys| keys.contains(p.key.typed()))
            });
        }
    }

    fn finish(mut self, unknown_columns: Vec<String>) -> QualityReport {
        // References into this dataset whose key came later, or never.
        let mut late_failures = HashSet::new();
        for pending in std::mem::take(&mut self.pending) {
            let found = self.own_keys[pending.field as usize]
                .as_ref()
                .is_some_and(|keys| keys.contains(pending.key.typed()));
            if !found {
                let text = key_text(pending.key.typed()).into_owned();
                self.fail(pending.check as usize, pending.line, Some(&text), || {
                    format!("{text} matches no key")
                });
                if !pending.row_failed {
                    late_failures.insert(pending.row);
                }
            }
        }
        self.failed += late_failures.len() as u64;
        let rows = self.rows;
        let percent =
            |passed: u64| if rows == 0 { 100.0 } else { round(passed as f64 * 100.0 / rows as f64) };
        for check in &mut self.checks {
            check.pass_rate = percent(rows - check.failed);
            check.samples.sort_by_key(|s| s.line);
        }
        let rows_passed = rows - self.failed;
        QualityReport {
            rows,
            rows_passed,
            score: if rows == 0 { 0.0 } else { percent(rows_passed) },
            checks: self.checks,
            unknown_columns,
        }
    }
}

fn round(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn cell_text<'r>(cell: Cell<'r>) -> std::borrow::Cow<'r, str> {
    match cell {
        Cell::Null => "".into(),
        Cell::Text(text) => text.into(),
        Cell::Json(serde_json::Value::String(text)) => text.as_str().into(),
        Cell::Json(value) => value.to_string().into(),
    }
}

/// Whether `text` is a calendar date `YYYY-MM-DD`.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0_u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn type_error(cell: Cell<'_>, field_type: FieldType) -> String {
    match cell {
        Cell::Json(value) if !value.is_string() => format!("expected {field_type}, got JSON {value}"),
        _ => format!("\"{}\" is not a valid {field_type}", cell_text(cell)),
    }
}

/// The typed value of a non-null cell, or why it does not have the type.
fn parse<'r>(cell: Cell<'r>, field_type: FieldType) -> Result<Typed<'r>, String> {
    let text = match cell {
        Cell::Null => return Ok(Typed::Null),
        Cell::Text(text) => text,
        Cell::Json(value) => match (field_type, value) {
            (FieldType::Json, _) => return Ok(Typed::Null),
            (FieldType::Integer, serde_json::Value::Number(n)) => {
                return n.as_i64().map(Typed::Int).ok_or_else(|| type_error(cell, field_type));
            }
            (FieldType::Number, serde_json::Value::Number(n)) => {
                return n.as_f64().map(Typed::Num).ok_or_else(|| type_error(cell, field_type));
            }
            (FieldType::Boolean, serde_json::Value::Bool(b)) => return Ok(Typed::Bool(*b)),
            (FieldType::String | FieldType::Date | FieldType::Datetime, serde_json::Value::String(s)) => s,
            _ => return Err(type_error(cell, field_type)),
        },
    };
    let ok = match field_type {
        FieldType::String => return Ok(Typed::Text(text)),
        FieldType::Integer => return text.parse().map(Typed::Int).map_err(|_| type_error(cell, field_type)),
        FieldType::Number => {
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Typed::Num(v)),
                _ => Err(type_error(cell, field_type)),
            };
        }
        FieldType::Boolean => {
            return if text.eq_ignore_ascii_case("true") {
                Ok(Typed::Bool(true))
            } else if text.eq_ignore_ascii_case("false") {
                Ok(Typed::Bool(false))
            } else {
                Err(type_error(cell, field_type))
            };
        }
        FieldType::Date => is_date(text),
        FieldType::Datetime => text.parse::<charter_model::Timestamp>().is_ok(),
        FieldType::Json => serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
    };
    if ok { Ok(Typed::Text(text)) } else { Err(type_error(cell, field_type)) }
}

/// Validates `input` against `dataset`'s schema. `keys` holds the key
/// values of the datasets its fields reference (see
/// [`external_references`]); `progress` is called now and then with the
/// bytes read so far.
pub fn validate(
    dataset: &Dataset,
    input: impl Read + Send,
    format: Format,
    keys: &KeySets,
    options: Options,
    progress: &mut dyn FnMut(u64),
) -> Result<QualityReport, DqError> {
    let mut engine = Engine::new(dataset, keys, options)?;
    let unknown = match format {
        Format::Csv => csv_rows(dataset, input, &mut engine, progress)?,
        Format::JsonLines => json_rows(dataset, input, &mut engine, progress)?,
    };
    Ok(engine.finish(unknown))
}

fn csv_reader(input: impl Read) -> csv::Reader<impl Read> {
    csv::ReaderBuilder::new().flexible(true).buffer_capacity(1 << 16).from_reader(input)
}

/// Maps each schema field to its column; fails when a mandatory column is
/// missing or a column is repeated.
fn columns(fields: &[DatasetField], header: &[String]) -> Result<(Vec<Option<usize>>, Vec<String>), DqError> {
    let names: Vec<String> = header.iter().map(|name| name.trim().to_owned()).collect();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(name.as_str()) {
            problems.push(format!("column \"{name}\" appears twice"));
        }
    }
    let mut mapping = Vec::new();
    for field in fields {
        let column = names.iter().position(|n| *n == field.name);
        if column.is_none() && field.mandatory {
            problems.push(format!("no column \"{}\", which the schema makes mandatory", field.name));
        }
        mapping.push(column);
    }
    if !problems.is_empty() {
        return Err(DqError::Header(problems));
    }
    let unknown = names.iter().filter(|n| !fields.iter().any(|f| f.name == **n)).take(20).cloned().collect();
    Ok((mapping, unknown))
}

/// Records a reading thread hands to the checking thread at a time.
const BATCH: usize = 4096;

/// Reads CSV on a thread of its own and checks on this one: splitting
/// records and validating UTF-8 overlap with the checks.
fn csv_rows(
    dataset: &Dataset,
    input: impl Read + Send,
    engine: &mut Engine<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<String>, DqError> {
    let read_error = |line: u64, error: std::io::Error| DqError::Read { line, message: error.to_string() };
    let mut reader = Records::new(input);
    let mut first = Record::default();
    if !reader.read(&mut first).map_err(|e| read_error(1, e))? {
        return Err(DqError::Header(vec!["the file is empty: no header".into()]));
    }
    if !first.utf8 {
        return Err(DqError::Header(vec!["the header is not valid UTF-8".into()]));
    }
    let header: Vec<String> = (0..first.len()).map(|i| first.get(i).unwrap_or_default().to_owned()).collect();
    let (mapping, unknown) = columns(&dataset.fields, &header)?;
    let width = header.len();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<Record>, usize, u64)>(4);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<Record>>();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || -> Result<(), DqError> {
            loop {
                let mut batch =
                    empty_rx.try_recv().unwrap_or_else(|_| (0..BATCH).map(|_| Record::default()).collect());
                let mut filled = 0;
                let mut done = false;
                while filled < batch.len() {
                    let line = reader_line(&batch, filled);
                    if !reader.read(&mut batch[filled]).map_err(|e| read_error(line, e))? {
                        done = true;
                        break;
                    }
                    filled += 1;
                }
                if full_tx.send((batch, filled, reader.position())).is_err() || done {
                    return Ok(());
                }
            }
        });
        let mut cells: Vec<Cell<'static>> = Vec::with_capacity(mapping.len());
        for (batch, filled, position) in full_rx {
            for record in &batch[..filled] {
                if record.unclosed_quote {
                    engine.unreadable(
                        record.line,
                        "a quoted field opened here is never closed (a `\"` without its pair): \
                         the rest of the file was read as this one row"
                            .into(),
                    );
                } else if !record.utf8 {
                    engine.unreadable(record.line, "a value is not valid UTF-8".into());
                } else if record.len() != width {
                    engine.unreadable(
                        record.line,
                        format!("{} column(s), the header has {width}", record.len()),
                    );
                } else {
                    let mut row: Vec<Cell<'_>> = recycle_cells(std::mem::take(&mut cells));
                    for column in &mapping {
                        let value = column.and_then(|c| record.get(c)).unwrap_or("");
                        row.push(if value.is_empty() { Cell::Null } else { Cell::Text(value) });
                    }
                    engine.row(record.line, &row);
                    cells = recycle_cells(row);
                }
            }
            progress(position);
            // The reader may have stopped; then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        reading
            .join()
            .unwrap_or_else(|_| Err(DqError::Read { line: 0, message: "the reading thread failed".into() }))
    })?;
    Ok(unknown)
}

/// The line after the last record read into `batch` (for read errors).
fn reader_line(batch: &[Record], filled: usize) -> u64 {
    filled.checked_sub(1).and_then(|i| batch.get(i)).map_or(0, |r| r.line + 1)
}

fn recycle_cells<'a, 'b>(mut cells: Vec<Cell<'a>>) -> Vec<Cell<'b>> {
    cells.clear();
    cells.into_iter().map(|_| Cell::Null).collect()
}

fn json_rows(
    dataset: &Dataset,
    input: impl Read,
    engine: &mut Engine<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<String>, DqError> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut text = String::new();
    let mut line = 0_u64;
    let mut read = 0_u64;
    let mut unknown: Vec<String> = Vec::new();
    loop {
        text.clear();
        let n = match reader.read_line(&mut text) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) => return Err(DqError::Read { line: line + 1, message: error.to_string() }),
        };
        line += 1;
        read += n as u64;
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(object)) => {
                let row: Vec<Cell<'_>> = dataset
                    .fields
                    .iter()
                    .map(|field| match object.get(&field.name) {
                        None | Some(serde_json::Value::Null) => Cell::Null,
                        Some(value) => Cell::Json(value),
                    })
                    .collect();
                if unknown.len() < 20 {
                    for key in object.keys() {
                        if unknown.len() < 20
                            && !dataset.fields.iter().any(|f| f.name == *key)
                            && !unknown.contains(key)
                        {
                            unknown.push(key.clone());
                        }
                    }
                }
                engine.row(line, &row);
            }
            Ok(_) => engine.unreadable(line, "not a JSON object".into()),
            Err(error) => engine.unreadable(line, format!("not JSON: {error}")),
        }
        if engine.rows.is_multiple_of(PROGRESS_EVERY) {
            progress(read);
        }
    }
    Ok(unknown)
}

/// Reads the key values of `field` from a data file of the referenced
/// dataset (its other columns are ignored). Null values are skipped; a
/// value of the wrong type is an error naming its line.
pub fn load_keys(input: impl Read, format: Format, field: &DatasetField) -> Result<KeySet, DqError> {
    let mut keys = KeySet::for_type(field.field_type);
    let bad = |line: u64, cell: Cell<'_>| DqError::Read {
        line,
        message: format!("{}: {}", field.name, type_error(cell, field.field_type)),
    };
    match format {
        Format::Csv => {
            let mut reader = csv_reader(input);
            let header =
                reader.byte_headers().map_err(|e| DqError::Read { line: 1, message: e.to_string() })?;
            let Some(column) = header.iter().position(|name| name == field.name.as_bytes()) else {
                return Err(DqError::Header(vec![format!("no column \"{}\"", field.name)]));
            };
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).map_err(|e| DqError::Read {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })? {
                let line = record.position().map_or(0, |p| p.line());
                let raw = record.get(column).unwrap_or_default();
                if raw.is_empty() {
                    continue;
                }
                let text = std::str::from_utf8(raw)
                    .map_err(|_| DqError::Read { line, message: "a value is not valid UTF-8".into() })?;
                let cell = Cell::Text(text);
                let value = parse(cell, field.field_type).map_err(|_| bad(line, cell))?;
                keys.insert(value);
            }
        }
        Format::JsonLines => {
            let reader = BufReader::new(input);
            for (index, text) in reader.lines().enumerate() {
                let line = index as u64 + 1;
                let text = text.map_err(|e| DqError::Read { line, message: e.to_string() })?;
                if text.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| DqError::Read { line, message: format!("not JSON: {e}") })?;
                match value.get(&field.name) {
                    None | Some(serde_json::Value::Null) => {}
                    Some(value) => {
                        let cell = Cell::Json(value);
                        keys.insert(parse(cell, field.field_type).map_err(|_| bad(line, cell))?);
                    }
                }
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::IntKeys;

    proptest! {
        /// The bitmap-and-spill set answers as a hash set does, for dense,
        /// sparse, negative and extreme keys in any order.
        #[test]
        fn int_keys_behave_as_a_set(
            keys in proptest::collection::vec(
                prop_oneof![0_i64..5_000, -100_i64..100, any::<i64>(), (0_i64..100).prop_map(|k| k * 1_000_000)],
                0..2_000,
            ),
            probes in proptest::collection::vec(-200_i64..6_000, 0..200),
        ) {
            let mut ours = IntKeys::default();
            let mut oracle = HashSet::new();
            for key in keys {
                prop_assert_eq!(ours.insert(key), oracle.insert(key), "insert {}", key);
            }
            prop_assert_eq!(ours.len, oracle.len());
            for probe in probes.iter().chain(oracle.iter()) {
                prop_assert_eq!(ours.contains(*probe), oracle.contains(probe), "contains {}", probe);
            }
        }
    }
}
