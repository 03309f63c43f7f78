//! Any input, however odd: the scanner never panics, its findings lie
//! within the text, in order, without overlap, each with a confidence in
//! 0..=1; and what it finds in a value it finds wherever the value stands
//! between spaces.

use charter_guard::{FindingType, Scanner};
use proptest::prelude::*;

fn scanner() -> &'static Scanner {
    static SCANNER: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();
    SCANNER.get_or_init(Scanner::new)
}

fn check(text: &[u8]) {
    let findings = scanner().scan(text);
    let mut last_end = 0;
    for finding in &findings {
        assert!(finding.start < finding.end && finding.end <= text.len(), "{finding:?}");
        assert!(finding.start >= last_end, "overlap or disorder: {findings:?}");
        assert!((0.0..=1.0).contains(&finding.confidence), "{finding:?}");
        last_end = finding.end;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_unicode_never_breaks_the_scanner(text in "\\PC{0,400}") {
        check(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_break_the_scanner(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes);
    }

    #[test]
    fn text_made_of_the_characters_of_values_never_breaks_it(
        text in "[0-9 +().@:=/_A-Za-z\\-\n]{0,300}"
    ) {
        check(text.as_bytes());
    }

    #[test]
    fn a_value_is_found_between_any_words(before in "[a-z]{0,12}", after in "[a-z]{0,12}") {
        let text = format!("{before} ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 {after}");
        let findings = scanner().scan(text.as_bytes());
        prop_assert_eq!(findings.len(), 1);
        prop_assert_eq!(findings[0].kind, FindingType::GithubToken);
        prop_assert_eq!(findings[0].start, before.len() + 1);
    }
}

/// Long runs of the characters patterns are made of: digits, `@`, base64,
/// dots between digits, `+` and separators, colons, keywords without
/// values. Each is scanned whole (the benchmark measures how fast).
#[test]
fn pathological_runs_are_scanned_whole() {
    let runs: Vec<Vec<u8>> = vec![
        b"1".repeat(200_000),
        b"@".repeat(200_000),
        b"aB3+".repeat(50_000),
        b"1.".repeat(100_000),
        b"+1 ".repeat(70_000),
        b"a:".repeat(100_000),
        b"password=".repeat(20_000),
        b"-----BEGIN PRIVATE KEY-----\n".repeat(5_000),
        b"eyJ".repeat(60_000),
        b"a@b.".repeat(50_000),
    ];
    for run in runs {
        check(&run);
    }
    // A real value after a pathological run is still found.
    let mut text = b"1".repeat(100_000);
    text.extend_from_slice(b" mail alice@example.com");
    let findings = scanner().scan(&text);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, FindingType::Email);
}
