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
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender};

use charter_model::{CheckClass, CheckOutcome, Dataset, DatasetField, FailureSample, FieldType};

use crate::csvread::{Batch, Record, Records};
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
    /// Threads checking a CSV file's rows, besides the one reading it; 0
    /// for one per core. The report is the same for any number.
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { sample_limit: 5, threads: 0 }
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
/// Integer keys are kept as they are (24 bytes a reference), others owned.
#[derive(Debug)]
struct Pending<K> {
    key: K,
    /// The row's line (which tells rows apart).
    line: u64,
    /// The reference (its index among the plan's own references), with
    /// [`ROW_FAILED`] set when the row had already failed a check.
    reference: u32,
}

/// Set in [`Pending::reference`] when the row had already failed.
const ROW_FAILED: u32 = 1 << 31;

/// A key of a pending reference.
trait PendingKey {
    fn typed(&self) -> Typed<'_>;
}

impl PendingKey for i64 {
    fn typed(&self) -> Typed<'_> {
        Typed::Int(*self)
    }
}

impl PendingKey for Owned {
    fn typed(&self) -> Typed<'_> {
        Owned::typed(self)
    }
}

/// Drops the pending references whose key has turned up.
fn resolve<K: PendingKey>(
    pending: &mut Vec<Pending<K>>,
    own_keys: &[Option<KeySet>],
    targets: &[OwnReference],
) {
    pending.retain(|p| {
        let own = targets[(p.reference & !ROW_FAILED) as usize].target;
        !own_keys[own].as_ref().is_some_and(|keys| keys.contains(p.key.typed()))
    });
}

/// Pending references held before the first pass that drops those whose
/// key has turned up since; each pass lets them grow to twice what it left,
/// so the passes cost a constant time per reference.
const RESOLVE_AT: usize = 1 << 16;

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

/// Reuses a vector's allocation for values of another lifetime (in-place
/// collection keeps the buffer: the element type's size does not change).
fn recycle<'a, 'b>(mut values: Vec<Typed<'a>>) -> Vec<Typed<'b>> {
    values.clear();
    values.into_iter().map(|_| Typed::Null).collect()
}

fn outcome(check: String, class: CheckClass) -> CheckOutcome {
    CheckOutcome { check, class, failed: 0, pass_rate: 100.0, samples: Vec::new() }
}

/// Failures counted per check, with the first few of each kept.
#[derive(Debug)]
struct Tally {
    checks: Vec<CheckOutcome>,
    sample_limit: usize,
    /// Rows that failed a check.
    failed: u64,
}

impl Tally {
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

    /// Moves in `later`'s failures, all from rows after this tally's.
    fn absorb(&mut self, later: &mut Tally) {
        for (mine, theirs) in self.checks.iter_mut().zip(&mut later.checks) {
            mine.failed += std::mem::take(&mut theirs.failed);
            let room = self.sample_limit.saturating_sub(mine.samples.len());
            mine.samples.extend(theirs.samples.drain(..).take(room));
            theirs.samples.clear();
        }
        self.failed += std::mem::take(&mut later.failed);
    }
}

/// A schema's checks, compiled once and shared by the threads applying them.
struct Plan<'k> {
    fields: Vec<FieldPlan<'k>>,
    /// Every check, none failed yet.
    checks: Vec<CheckOutcome>,
    sample_limit: usize,
    /// The `unique` check and the key fields, when the dataset has a key.
    unique: Option<(usize, Vec<usize>)>,
    /// The type of each field whose values are kept: the single key or the
    /// target of a reference into this dataset.
    kept: Vec<Option<FieldType>>,
    /// The fields the key checks read, in order.
    keyed: Vec<usize>,
    rules: Vec<(CompiledRule, usize)>,
}

impl<'k> Plan<'k> {
    fn new(dataset: &Dataset, keys: &'k KeySets, options: Options) -> Result<Plan<'k>, DqError> {
        let mut checks = vec![outcome("format".into(), CheckClass::Format)];
        let mut add = |name: String, class| {
            checks.push(outcome(name, class));
            checks.len() - 1
        };
        let mut missing = Vec::new();
        let mut kept: Vec<Option<FieldType>> = vec![None; dataset.fields.len()];
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
            kept[single] = Some(dataset.fields[single].field_type);
        }
        let mut keyed = key_fields;
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
                kept[own] = Some(dataset.fields[own].field_type);
                keyed.extend([own, index]);
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
        keyed.sort_unstable();
        keyed.dedup();
        Ok(Plan { fields, checks, sample_limit: options.sample_limit, unique, kept, keyed, rules })
    }

    fn tally(&self) -> Tally {
        Tally { checks: self.checks.clone(), sample_limit: self.sample_limit, failed: 0 }
    }
}

/// The checks a row passes or fails on its own: it is readable, mandatory
/// fields have a value, values have their types and allowed values,
/// references outside the dataset name a key, and the rules hold. Any
/// number of these run side by side, each on its own rows.
struct RowChecks<'p, 'k> {
    plan: &'p Plan<'k>,
    root: cel::Context<'static, 'static>,
    scratch: Vec<Typed<'static>>,
}

impl<'p, 'k> RowChecks<'p, 'k> {
    fn new(plan: &'p Plan<'k>) -> Self {
        RowChecks { plan, root: rules::root_context(), scratch: Vec::new() }
    }

    /// Checks one row into `tally`; true when the row failed.
    fn row<'r>(&mut self, tally: &mut Tally, line: u64, cells: &[Cell<'r>]) -> bool {
        let plan = self.plan;
        let mut failed = false;
        let mut typed: Vec<Typed<'r>> = recycle(std::mem::take(&mut self.scratch));
        for (field, cell) in plan.fields.iter().zip(cells) {
            if let Cell::Null = cell {
                if let Some(check) = field.mandatory {
                    tally.fail(check, line, None, || "no value".into());
                    failed = true;
                }
                typed.push(Typed::Null);
                continue;
            }
            match parse(*cell, field.field_type) {
                Ok(value) => {
                    typed.push(value);
                    if let Some((check, allowed)) = &field.allowed {
                        let text = cell_text(*cell);
                        if !allowed.iter().any(|a| *a == text) {
                            tally.fail(*check, line, Some(&text), || {
                                format!("\"{text}\" is not an allowed value")
                            });
                            failed = true;
                        }
                    }
                    if let Some((check, Target::External(keys))) = &field.reference
                        && !keys.contains(value)
                    {
                        let text = key_text(value);
                        tally.fail(*check, line, Some(&text), || format!("{text} matches no key"));
                        failed = true;
                    }
                }
                Err(message) => {
                    typed.push(Typed::Null);
                    let check = field.type_check.unwrap_or(0);
                    let text = cell_text(*cell);
                    tally.fail(check, line, Some(&text), || message);
                    failed = true;
                }
            }
        }
        for (rule, check) in &plan.rules {
            if let Verdict::Fails(message) = rule.check(&self.root, &typed) {
                tally.fail(*check, line, None, || message);
                failed = true;
            }
        }
        self.scratch = recycle(typed);
        failed
    }

    /// A row that could not be read.
    fn unreadable(&self, tally: &mut Tally, line: u64, message: String) {
        tally.fail(0, line, None, || message);
    }
}

/// A row's values as the key checks read them, one per field: the plan's
/// keyed fields as the row checks typed them (null when missing or not of
/// the field's type), null for the others. `cell(field)` gives a field's
/// cell; an unreadable row has only nulls.
fn keyed_values<'r>(plan: &Plan<'_>, cell: impl Fn(usize) -> Cell<'r>, values: &mut Vec<Typed<'r>>) {
    values.clear();
    values.resize(plan.fields.len(), Typed::Null);
    for &field in &plan.keyed {
        if let cell @ (Cell::Text(_) | Cell::Json(_)) = cell(field) {
            values[field] = parse(cell, plan.fields[field].field_type).unwrap_or(Typed::Null);
        }
    }
}

/// A reference from a field of the dataset to a field of the dataset.
#[derive(Debug, Clone, Copy)]
struct OwnReference {
    /// The referencing field.
    field: usize,
    /// Its `reference` check.
    check: usize,
    /// The field it references.
    target: usize,
}

/// The checks that depend on the rows before: unique keys and references
/// into the dataset itself. Rows come here one at a time, in file order.
struct KeyChecks<'p, 'k> {
    plan: &'p Plan<'k>,
    tally: Tally,
    composite_keys: HashSet<Box<str>, foldhash::fast::RandomState>,
    /// Key values seen so far, for the fields the plan keeps.
    own_keys: Vec<Option<KeySet>>,
    /// References into the dataset itself.
    targets: Vec<OwnReference>,
    pending_ints: Vec<Pending<i64>>,
    pending: Vec<Pending<Owned>>,
    /// Pending references at which the next pass runs.
    resolve_at: usize,
    rows: u64,
}

impl<'p, 'k> KeyChecks<'p, 'k> {
    fn new(plan: &'p Plan<'k>) -> Self {
        KeyChecks {
            plan,
            tally: plan.tally(),
            composite_keys: HashSet::default(),
            own_keys: plan.kept.iter().map(|kept| kept.map(KeySet::for_type)).collect(),
            targets: plan
                .fields
                .iter()
                .enumerate()
                .filter_map(|(field, plan)| match &plan.reference {
                    Some((check, Target::Own(target))) => {
                        Some(OwnReference { field, check: *check, target: *target })
                    }
                    _ => None,
                })
                .collect(),
            pending_ints: Vec::new(),
            pending: Vec::new(),
            resolve_at: RESOLVE_AT,
            rows: 0,
        }
    }

    /// The next row: its line, its values ([`keyed_values`]) and whether it
    /// already failed a check.
    fn row(&mut self, line: u64, typed: &[Typed<'_>], mut failed: bool) {
        let plan = self.plan;
        self.rows += 1;

        // Keys first, so a row may reference its own key.
        if let Some((check, key_fields)) = &plan.unique
            && key_fields.iter().all(|&i| typed[i] != Typed::Null)
        {
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
                self.tally.fail(*check, line, Some(&shown), || format!("duplicate key {shown}"));
                failed = true;
            }
        }
        let single_key = match plan.unique.as_ref().map(|u| &u.1[..]) {
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

        for (index, reference) in self.targets.iter().enumerate() {
            let value = typed[reference.field];
            if value == Typed::Null
                || self.own_keys[reference.target].as_ref().is_some_and(|keys| keys.contains(value))
            {
                continue;
            }
            let reference = index as u32 | if failed { ROW_FAILED } else { 0 };
            match value {
                Typed::Int(key) => self.pending_ints.push(Pending { key, line, reference }),
                _ => self.pending.push(Pending { key: Owned::of(value), line, reference }),
            }
        }
        if failed {
            self.tally.failed += 1;
        }
        if self.pending_ints.len() + self.pending.len() >= self.resolve_at {
            resolve(&mut self.pending_ints, &self.own_keys, &self.targets);
            resolve(&mut self.pending, &self.own_keys, &self.targets);
            self.resolve_at = RESOLVE_AT.max(2 * (self.pending_ints.len() + self.pending.len()));
        }
    }

    fn finish(mut self, unknown_columns: Vec<String>) -> QualityReport {
        // References into this dataset whose key came later, or never.
        let mut late_failures = HashSet::new();
        let mut unresolved = |key: Typed<'_>, line: u64, reference: u32, tally: &mut Tally| {
            let OwnReference { check, target, .. } = self.targets[(reference & !ROW_FAILED) as usize];
            if !self.own_keys[target].as_ref().is_some_and(|keys| keys.contains(key)) {
                let text = key_text(key).into_owned();
                tally.fail(check, line, Some(&text), || format!("{text} matches no key"));
                if reference & ROW_FAILED == 0 {
                    late_failures.insert(line);
                }
            }
        };
        for pending in std::mem::take(&mut self.pending_ints) {
            unresolved(pending.key.typed(), pending.line, pending.reference, &mut self.tally);
        }
        for pending in std::mem::take(&mut self.pending) {
            unresolved(pending.key.typed(), pending.line, pending.reference, &mut self.tally);
        }
        let mut tally = self.tally;
        tally.failed += late_failures.len() as u64;
        let rows = self.rows;
        let percent =
            |passed: u64| if rows == 0 { 100.0 } else { round(passed as f64 * 100.0 / rows as f64) };
        for check in &mut tally.checks {
            check.pass_rate = percent(rows - check.failed);
            check.samples.sort_by_key(|s| s.line);
        }
        let rows_passed = rows - tally.failed;
        QualityReport {
            rows,
            rows_passed,
            score: if rows == 0 { 0.0 } else { percent(rows_passed) },
            checks: tally.checks,
            unknown_columns,
        }
    }
}

/// Both kinds of checks on one thread, row after row.
struct Engine<'p, 'k> {
    row_checks: RowChecks<'p, 'k>,
    keys: KeyChecks<'p, 'k>,
    keyed: Vec<Typed<'static>>,
}

impl<'p, 'k> Engine<'p, 'k> {
    fn new(plan: &'p Plan<'k>) -> Self {
        Engine { row_checks: RowChecks::new(plan), keys: KeyChecks::new(plan), keyed: Vec::new() }
    }

    fn row(&mut self, line: u64, cells: &[Cell<'_>]) {
        let failed = self.row_checks.row(&mut self.keys.tally, line, cells);
        let mut keyed = recycle(std::mem::take(&mut self.keyed));
        keyed_values(self.keys.plan, |field| cells[field], &mut keyed);
        self.keys.row(line, &keyed, failed);
        self.keyed = recycle(keyed);
    }

    fn unreadable(&mut self, line: u64, message: String) {
        self.row_checks.unreadable(&mut self.keys.tally, line, message);
        let mut keyed = recycle(std::mem::take(&mut self.keyed));
        keyed_values(self.keys.plan, |_| Cell::Null, &mut keyed);
        self.keys.row(line, &keyed, true);
        self.keyed = recycle(keyed);
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

/// A decimal of at most 15 digits without exponent (`-12.50`), exactly as
/// `str::parse` reads it: the digits make an integer below 2^53 and the
/// power of ten is exact, so the one division is correctly rounded.
/// `None` for any other text, left to `str::parse`.
fn plain_decimal(text: &str) -> Option<f64> {
    const POWERS: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        bytes => (false, bytes),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[..0]),
    };
    if whole.is_empty()
        || (fraction.is_empty() && whole.len() < digits.len())
        || whole.len() + fraction.len() > 15
    {
        return None;
    }
    let mut mantissa = 0_u64;
    for &b in whole.iter().chain(fraction) {
        if !b.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(b - b'0');
    }
    let value = mantissa as f64 / POWERS[fraction.len()];
    Some(if negative { -value } else { value })
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
            return match plain_decimal(text).map_or_else(|| text.parse::<f64>(), Ok) {
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
    validate_in_batches(dataset, input, format, keys, options, BATCH, progress)
}

fn validate_in_batches(
    dataset: &Dataset,
    input: impl Read + Send,
    format: Format,
    keys: &KeySets,
    options: Options,
    batch_rows: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<QualityReport, DqError> {
    let plan = Plan::new(dataset, keys, options)?;
    match format {
        Format::Csv => {
            let threads = match options.threads {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                threads => threads,
            };
            let (checked, unknown) = csv_rows(&plan, dataset, input, threads, batch_rows.max(1), progress)?;
            Ok(checked.finish(unknown))
        }
        Format::JsonLines => {
            let mut engine = Engine::new(&plan);
            let unknown = json_rows(dataset, input, &mut engine, progress)?;
            Ok(engine.keys.finish(unknown))
        }
    }
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

/// Records a reading thread hands to the checking threads at a time.
const BATCH: usize = 4096;

/// Records read, numbered in file order.
struct Rows {
    seq: u64,
    records: Batch,
    /// Bytes read when the batch was full.
    position: u64,
}

/// A batch whose rows were checked on their own, waiting for its turn at
/// the key checks.
struct Checked {
    rows: Rows,
    /// Whether each row failed a check.
    failed: Vec<bool>,
    tally: Tally,
}

/// Checked batches waiting for their turn, and whose turn it is.
#[derive(Default)]
struct Turns {
    next: u64,
    ready: std::collections::BTreeMap<u64, Checked>,
}

/// What the checking threads share: the batches waiting and the key checks,
/// which take one batch after another in file order. No thread waits for
/// another: whichever holds the key checks hands over every batch whose turn
/// has come, and the others go on checking.
struct Handover<'p, 'k> {
    turns: Mutex<Turns>,
    keys: Mutex<KeyChecks<'p, 'k>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a checking thread reads a batch's records.
struct Layout<'a> {
    /// The column of each schema field.
    mapping: &'a [Option<usize>],
    /// Columns in the header.
    width: usize,
}

/// Reads CSV on a thread of its own and checks it on `threads` threads
/// (this one among them): each checks whole batches' rows on their own,
/// then leaves them for the key checks, which take the batches in file
/// order.
fn csv_rows<'p, 'k>(
    plan: &'p Plan<'k>,
    dataset: &Dataset,
    input: impl Read + Send,
    threads: usize,
    batch_rows: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<(KeyChecks<'p, 'k>, Vec<String>), DqError> {
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
    let layout = Layout { mapping: &mapping, width: header.len() };
    let threads = threads.max(1);
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Rows>(2 * threads);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
    let batches = Mutex::new(full_rx);
    let handover = Handover { turns: Mutex::default(), keys: Mutex::new(KeyChecks::new(plan)) };
    let failed_thread = || DqError::Read { line: 0, message: "a thread checking the file failed".into() };
    std::thread::scope(|scope| -> Result<(), DqError> {
        let reading = scope.spawn(move || -> Result<(), DqError> {
            for seq in 0.. {
                let mut records = empty_rx.try_recv().unwrap_or_default();
                let more =
                    reader.read_batch(&mut records, batch_rows).map_err(|e| read_error(reader.line(), e))?;
                let rows = Rows { seq, records, position: reader.position() };
                if full_tx.send(rows).is_err() || !more {
                    break;
                }
            }
            Ok(())
        });
        let checking: Vec<_> = (1..threads)
            .map(|_| {
                let (batches, handover, empty_tx, layout) = (&batches, &handover, empty_tx.clone(), &layout);
                scope.spawn(move || check_batches(plan, layout, batches, &empty_tx, handover, &mut |_| {}))
            })
            .collect();
        check_batches(plan, &layout, &batches, &empty_tx, &handover, progress);
        let mut outcome = reading.join().unwrap_or_else(|_| Err(failed_thread()));
        for thread in checking {
            if thread.join().is_err() {
                outcome = Err(failed_thread());
            }
        }
        outcome
    })?;
    // Every batch read was checked and handed over, unless a thread failed.
    let turns = handover.turns.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !turns.ready.is_empty() {
        return Err(failed_thread());
    }
    Ok((handover.keys.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()), unknown))
}

/// A checking thread: takes batches until the reader is done, checks each
/// row on its own, leaves the batch for the key checks and hands over the
/// batches whose turn has come when no other thread is doing so.
fn check_batches<'p, 'k>(
    plan: &'p Plan<'k>,
    layout: &Layout<'_>,
    batches: &Mutex<Receiver<Rows>>,
    empties: &Sender<Batch>,
    handover: &Handover<'p, 'k>,
    progress: &mut dyn FnMut(u64),
) {
    let mut checks = RowChecks::new(plan);
    let mut cells: Vec<Cell<'static>> = Vec::with_capacity(layout.mapping.len());
    loop {
        let received = lock(batches).recv();
        let Ok(rows) = received else { return };
        let mut tally = plan.tally();
        let mut failed = Vec::with_capacity(rows.records.len());
        for record in rows.records.iter() {
            let row_failed = if record.unclosed_quote {
                let message = "a quoted field opened here is never closed (a `\"` without its pair): \
                               the rest of the file was read as this one row";
                checks.unreadable(&mut tally, record.line, message.into());
                true
            } else if !record.utf8 {
                checks.unreadable(&mut tally, record.line, "a value is not valid UTF-8".into());
                true
            } else if record.len() != layout.width {
                let message = format!("{} column(s), the header has {}", record.len(), layout.width);
                checks.unreadable(&mut tally, record.line, message);
                true
            } else {
                let mut row: Vec<Cell<'_>> = recycle_cells(std::mem::take(&mut cells));
                for column in layout.mapping {
                    let value = column.and_then(|c| record.get(c)).unwrap_or("");
                    row.push(if value.is_empty() { Cell::Null } else { Cell::Text(value) });
                }
                let row_failed = checks.row(&mut tally, record.line, &row);
                cells = recycle_cells(row);
                row_failed
            };
            failed.push(row_failed);
        }
        let seq = rows.seq;
        lock(&handover.turns).ready.insert(seq, Checked { rows, failed, tally });
        hand_over(plan, layout, handover, empties, progress);
    }
}

/// Hands the batches whose turn has come to the key checks, unless another
/// thread holds them (it then hands them over itself).
fn hand_over<'p, 'k>(
    plan: &'p Plan<'k>,
    layout: &Layout<'_>,
    handover: &Handover<'p, 'k>,
    empties: &Sender<Batch>,
    progress: &mut dyn FnMut(u64),
) {
    let mut scratch: Vec<Typed<'static>> = Vec::with_capacity(plan.keyed.len());
    loop {
        let Ok(mut keys) = handover.keys.try_lock() else { return };
        loop {
            let next = {
                let mut turns = lock(&handover.turns);
                let next = turns.next;
                let checked = turns.ready.remove(&next);
                turns.next += u64::from(checked.is_some());
                checked
            };
            let Some(mut checked) = next else { break };
            keys.tally.absorb(&mut checked.tally);
            let mut values: Vec<Typed<'_>> = recycle(std::mem::take(&mut scratch));
            for (record, &row_failed) in checked.rows.records.iter().zip(&checked.failed) {
                let readable = !record.unclosed_quote && record.utf8 && record.len() == layout.width;
                let cell = |field: usize| match layout.mapping[field].and_then(|c| record.get(c)) {
                    Some(text) if readable && !text.is_empty() => Cell::Text(text),
                    _ => Cell::Null,
                };
                keyed_values(plan, cell, &mut values);
                keys.row(record.line, &values, row_failed);
            }
            scratch = recycle(values);
            progress(checked.rows.position);
            // The reader may have stopped; then the records are simply dropped.
            let _ = empties.send(checked.rows.records);
        }
        drop(keys);
        // A batch whose turn came while the key checks were held here was
        // left by a thread that found them taken: look again.
        let turns = lock(&handover.turns);
        if !turns.ready.contains_key(&turns.next) {
            return;
        }
    }
}

fn recycle_cells<'a, 'b>(mut cells: Vec<Cell<'a>>) -> Vec<Cell<'b>> {
    cells.clear();
    cells.into_iter().map(|_| Cell::Null).collect()
}

fn json_rows(
    dataset: &Dataset,
    input: impl Read,
    engine: &mut Engine<'_, '_>,
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
        if engine.keys.rows.is_multiple_of(PROGRESS_EVERY) {
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

    use super::{Format, IntKeys, KeySet, KeySets, Options, plain_decimal, validate_in_batches};

    proptest! {
        /// Plain decimals read as `str::parse` reads them, to the bit; any
        /// other text is left to it.
        #[test]
        fn plain_decimals_read_as_the_standard_parser_reads_them(
            text in prop_oneof![
                "-?[0-9]{1,18}(\\.[0-9]{0,18})?",
                "-?[0-9]{0,3}\\.?[0-9]{0,3}",
                any::<f64>().prop_map(|v| v.to_string()),
                "\\PC{0,12}",
            ],
        ) {
            if let Some(ours) = plain_decimal(&text) {
                let std = text.parse::<f64>();
                prop_assert!(std.is_ok(), "{text:?} is not a number to std");
                prop_assert_eq!(ours.to_bits(), std.unwrap_or_default().to_bits(), "{}", text);
            }
        }
    }

    /// Orders keyed by id, with a self reference, a reference to customers,
    /// an enumeration and two rules.
    fn orders() -> charter_model::Dataset {
        serde_json::from_value(serde_json::json!({
            "dataset_id": "Orders", "dataset_name": "Orders",
            "fields": [
                {"name": "id", "type": "integer", "key": true, "mandatory": true},
                {"name": "status", "type": "string", "mandatory": true, "allowed_values": ["open", "closed"]},
                {"name": "cost", "type": "number"},
                {"name": "day", "type": "date"},
                {"name": "parent_id", "type": "integer", "references": {"dataset": "Orders", "field": "id"}},
                {"name": "customer", "type": "string", "references": {"dataset": "Customers", "field": "id"}}
            ],
            "rules": [{"name": "cost_non_negative", "expression": "cost >= 0"}]
        }))
        .expect("the test schema reads")
    }

    /// One CSV line: each column drawn from good values, bad ones and
    /// nulls; ids and parents from a small range, so duplicates and
    /// references forward, backward and to nothing all occur.
    fn line() -> impl Strategy<Value = String> {
        let id = prop_oneof![6 => (0_i64..40).prop_map(|n| n.to_string()), 1 => Just("x".to_owned()), 1 => Just(String::new())];
        let status = prop_oneof![Just("open"), Just("closed"), Just("shut"), Just("")];
        let cost = prop_oneof![Just("1.5"), Just("-2"), Just("abc"), Just("")];
        let day = prop_oneof![Just("2026-01-02"), Just("2026-02-30"), Just("")];
        let parent =
            prop_oneof![(0_i64..50).prop_map(|n| n.to_string()), Just(String::new()), Just("?".to_owned())];
        let customer = prop_oneof![Just("c1"), Just("c9"), Just("")];
        let shape = prop_oneof![8 => Just(0_u8), 1 => Just(1), 1 => Just(2)];
        (id, status, cost, day, parent, customer, shape).prop_map(
            |(id, status, cost, day, parent, customer, shape)| match shape {
                0 => format!("{id},{status},{cost},{day},{parent},{customer}"),
                1 => format!("{id},{status}"),
                _ => format!("{id},\"{status}\",{cost},{day},{parent},\"{customer}\""),
            },
        )
    }

    proptest! {
        /// Any number of checking threads, in batches of any size, give
        /// the report one thread gives reading the file in one batch.
        #[test]
        fn threads_and_batches_do_not_change_the_report(
            lines in proptest::collection::vec(line(), 0..300),
            threads in 2_usize..5,
            batch in 1_usize..40,
            samples in 0_usize..4,
        ) {
            let text = format!("id,status,cost,day,parent_id,customer\n{}\n", lines.join("\n"));
            let mut keys = KeySets::new();
            keys.insert(("Customers".into(), "id".into()), KeySet::texts(["c1", "c2"]));
            let run = |threads, batch| {
                let options = Options { sample_limit: samples, threads };
                validate_in_batches(&orders(), text.as_bytes(), Format::Csv, &keys, options, batch, &mut |_| {})
                    .expect("the file validates")
            };
            let alone = run(1, 1 << 20);
            prop_assert_eq!(alone.rows, lines.len() as u64);
            prop_assert_eq!(run(threads, batch), alone);
        }
    }

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
