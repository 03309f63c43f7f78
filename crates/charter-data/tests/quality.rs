//! Data-quality validation, one case per check class, on CSV and JSON Lines.

use std::collections::HashSet;

use charter_data::quality::{DqError, Format, KeySet, KeySets, Options, QualityReport, load_keys, validate};
use charter_model::{CheckClass, Dataset};

/// Orders with an owner, a status enumeration, a cost rule, a date-range
/// rule, a self reference (parent) and a reference to customers.
fn orders() -> Dataset {
    serde_json::from_str(
        r#"{"dataset_id":"Orders","dataset_name":"Orders","fields":[
            {"name":"id","type":"integer","key":true,"mandatory":true},
            {"name":"owner","type":"string","mandatory":true},
            {"name":"status","type":"string","mandatory":true,"allowed_values":["open","closed"]},
            {"name":"cost_usd","type":"number"},
            {"name":"start_date","type":"date"},
            {"name":"end_date","type":"date"},
            {"name":"parent_id","type":"integer","references":{"dataset":"Orders","field":"id"}},
            {"name":"customer","type":"string","references":{"dataset":"Customers","field":"customer_id"}}
          ],
          "rules":[
            {"name":"cost_non_negative","expression":"cost_usd >= 0"},
            {"name":"dates_in_order","expression":"end_date >= start_date"}
          ]}"#,
    )
    .unwrap()
}

fn customers() -> KeySets {
    let mut keys = KeySets::new();
    keys.insert(("Customers".into(), "customer_id".into()), KeySet::texts(["c1", "c2"]));
    keys
}

fn run(format: Format, text: &str) -> Result<QualityReport, DqError> {
    validate(&orders(), text.as_bytes(), format, &customers(), Options::default(), &mut |_| {})
}

fn failed(report: &QualityReport, check: &str) -> (u64, Vec<u64>) {
    let outcome =
        report.checks.iter().find(|c| c.check == check).unwrap_or_else(|| panic!("no check {check}"));
    (outcome.failed, outcome.samples.iter().map(|s| s.line).collect())
}

const HEADER: &str = "id,owner,status,cost_usd,start_date,end_date,parent_id,customer\n";

#[test]
fn every_check_class_on_csv() {
    let body = [
        "1,ann,open,10.5,2026-01-01,2026-01-02,,c1", // line 2: good, null references pass
        "2,,open,1,,,1,c2",                          // 3: mandatory owner
        "3,bob,opened,1,,,,",                        // 4: allowed status
        "x,bob,open,1,,,,",                          // 5: type id
        "5,bob,open,abc,2026-02-30,,,",              // 6: type cost, type start_date
        "6,bob,open,-1,,,,",                         // 7: rule cost
        "7,bob,open,1,2026-03-02,2026-03-01,,",      // 8: rule dates
        "1,bob,open,1,,,,",                          // 9: unique id
        "9,bob,open,1,,,99,",                        // 10: own reference never met
        "10,bob,open,1,,,11,c9",                     // 11: external reference; parent 11 comes later
        "11,bob,closed,1,,,11,",                     // 12: references itself: fine
    ];
    let text = format!("{HEADER}{}\n", body.join("\n"));
    let report = run(Format::Csv, &text).unwrap();
    assert_eq!(report.rows, 11);
    assert_eq!(failed(&report, "mandatory:owner"), (1, vec![3]));
    assert_eq!(failed(&report, "allowed:status"), (1, vec![4]));
    assert_eq!(failed(&report, "type:id"), (1, vec![5]));
    assert_eq!(failed(&report, "type:cost_usd"), (1, vec![6]));
    assert_eq!(failed(&report, "type:start_date"), (1, vec![6]));
    assert_eq!(failed(&report, "rule:cost_non_negative"), (1, vec![7]));
    assert_eq!(failed(&report, "rule:dates_in_order"), (1, vec![8]));
    assert_eq!(failed(&report, "unique:id"), (1, vec![9]));
    assert_eq!(failed(&report, "reference:parent_id"), (1, vec![10]));
    assert_eq!(failed(&report, "reference:customer"), (1, vec![11]));
    assert_eq!(failed(&report, "format"), (0, vec![]));
    // Rows 2 and 12 pass; every other row fails exactly one way or two.
    assert_eq!(report.rows_passed, 2);
    assert_eq!(report.score, 18.1818);
    let classes: HashSet<CheckClass> = report.checks.iter().map(|c| c.class).collect();
    assert_eq!(classes.len(), 7, "every class is present");
    let sample = &report.checks.iter().find(|c| c.check == "allowed:status").unwrap().samples[0];
    assert_eq!(sample.value.as_deref(), Some("opened"));
}

#[test]
fn null_foreign_keys_are_not_violations() {
    let text = format!("{HEADER}1,ann,open,1,,,,\n2,ann,open,1,,,,\n");
    let report = run(Format::Csv, &text).unwrap();
    assert_eq!((report.rows, report.rows_passed, report.score), (2, 2, 100.0));
}

#[test]
fn a_header_without_a_mandatory_column_is_refused() {
    let error = run(Format::Csv, "id,status\n1,open\n").unwrap_err();
    assert_eq!(error.to_string(), "header: no column \"owner\", which the schema makes mandatory");
}

#[test]
fn malformed_rows_are_counted_with_their_line() {
    // Line 3 has a column too many; the quoted value on line 4 spans two
    // lines, so the next row starts on line 6.
    let text = format!(
        "{HEADER}1,ann,open,1,,,,\n2,ann,open,1,,,,,extra\n3,\"multi\nline\",open,1,,,,\n4,ann,open\n"
    );
    let report = run(Format::Csv, &text).unwrap();
    assert_eq!(report.rows, 4);
    assert_eq!(failed(&report, "format"), (2, vec![3, 6]));
    let sample = &report.checks[0].samples[0];
    assert_eq!(sample.message, "9 column(s), the header has 8");
    assert_eq!(report.rows_passed, 2);
}

#[test]
fn json_lines_are_typed_strictly_and_bad_lines_counted() {
    let text = [
        r#"{"id":1,"owner":"ann","status":"open","cost_usd":2.5,"customer":"c1"}"#,
        r#"{"id":"2","owner":"ann","status":"open"}"#,
        "",
        r#"{"id":3,"owner":"ann","status":"open","cost_usd":-2}"#,
        "not json",
        r#"[1,2]"#,
        r#"{"id":7,"owner":null,"status":"open","extra":true}"#,
    ]
    .join("\n");
    let report = run(Format::JsonLines, &text).unwrap();
    assert_eq!(report.rows, 6, "the blank line is not a row");
    assert_eq!(failed(&report, "type:id"), (1, vec![2]));
    assert_eq!(failed(&report, "rule:cost_non_negative"), (1, vec![4]));
    assert_eq!(failed(&report, "format"), (2, vec![5, 6]));
    assert_eq!(failed(&report, "mandatory:owner"), (1, vec![7]));
    assert_eq!(report.unknown_columns, ["extra"]);
    assert_eq!(report.rows_passed, 1);
}

#[test]
fn samples_are_bounded_and_counts_exact() {
    let mut text = String::from(HEADER);
    for id in 0..10_000 {
        text.push_str(&format!("{id},ann,bogus,1,,,,\n"));
    }
    let report = run(Format::Csv, &text).unwrap();
    let (count, lines) = failed(&report, "allowed:status");
    assert_eq!(count, 10_000);
    assert_eq!(lines, [2, 3, 4, 5, 6]);
    assert_eq!(report.score, 0.0);
}

#[test]
fn missing_reference_keys_and_bad_rules_are_refused_up_front() {
    let error =
        validate(&orders(), HEADER.as_bytes(), Format::Csv, &KeySets::new(), Options::default(), &mut |_| {})
            .unwrap_err();
    assert!(
        matches!(error, DqError::MissingKeys(ref p) if p[0].contains("Customers.customer_id")),
        "{error}"
    );
    let mut bad = orders();
    bad.rules[0].expression = "cost_usd >=".into();
    let error = validate(&bad, HEADER.as_bytes(), Format::Csv, &customers(), Options::default(), &mut |_| {})
        .unwrap_err();
    assert!(error.to_string().starts_with("rule \"cost_non_negative\": "), "{error}");
}

#[test]
fn an_empty_file_scores_zero() {
    let report = run(Format::Csv, HEADER).unwrap();
    assert_eq!((report.rows, report.score), (0, 0.0));
}

#[test]
fn keys_load_from_a_file_of_the_referenced_dataset() {
    let field = serde_json::from_str(r#"{"name":"customer_id","type":"string","key":true}"#).unwrap();
    let keys = load_keys("name,customer_id\nA,c1\nB,\nC,c3\n".as_bytes(), Format::Csv, &field).unwrap();
    assert_eq!(keys.len(), 2);
    let field = serde_json::from_str(r#"{"name":"id","type":"integer","key":true}"#).unwrap();
    let error = load_keys("{\"id\":1}\n{\"id\":\"x\"}\n".as_bytes(), Format::JsonLines, &field).unwrap_err();
    assert_eq!(error.to_string(), "line 2: id: \"x\" is not a valid integer");
}

/// The seed's five governance datasets validate at 100% against the
/// example workspace's schemas, references resolved across files.
#[test]
fn the_governance_datasets_validate() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ops-workspace");
    let datasets: Vec<Dataset> =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/datasets.json")).unwrap()).unwrap();
    let file_of = |id: &str| {
        ["csv", "jsonl"]
            .iter()
            .map(|ext| format!("{root}/data/{id}.{ext}"))
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| panic!("no data file for {id}"))
    };
    for dataset in &datasets {
        let mut keys = KeySets::new();
        for (other, field) in charter_data::external_references(dataset) {
            let target = datasets.iter().find(|d| d.dataset_id.as_str() == other).unwrap();
            let field_def = target.fields.iter().find(|f| f.name == field).unwrap();
            let path = file_of(&other);
            let set =
                load_keys(std::fs::File::open(&path).unwrap(), Format::from_name(&path).unwrap(), field_def)
                    .unwrap();
            keys.insert((other, field), set);
        }
        let path = file_of(dataset.dataset_id.as_str());
        let report = validate(
            dataset,
            std::fs::File::open(&path).unwrap(),
            Format::from_name(&path).unwrap(),
            &keys,
            Options::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(report.rows > 0, "{path}");
        assert_eq!(report.score, 100.0, "{path}: {:#?}", report.checks);
    }
}
