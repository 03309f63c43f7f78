//! Policy lint: the rules POL-GOVERNANCE-MASTER sets for every governance
//! policy, checked on the record.
//!
//! * the id follows `POL-[DOMAIN]-[NAME]` (the record type already refuses
//!   any other; a file that breaks it fails to load, naming the value);
//! * under 500 words: title, purpose, scope and rules — the policy a person
//!   reads — count; Cedar text, which a machine reads, does not;
//! * exactly one owner: one name, not a list;
//! * a purpose of one or two sentences;
//! * numbered rules: every rule line starts `1.`, `2.`, … in order;
//! * a valid status (Active, Review or Retired; the record type refuses any
//!   other);
//! * Cedar text, when present, parses and validates against the schema.

use charter_model::registry::Policy;
use serde::Serialize;

use crate::compile::compile;

/// Most words a policy may have.
pub const MAX_WORDS: usize = 500;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// The policy.
    pub policy: String,
    /// The rule it breaks: `words`, `owner`, `purpose`, `rules`, `cedar`.
    pub rule: &'static str,
    /// What is wrong, naming the value.
    pub message: String,
}

/// Words: runs of text holding a letter (rule numbers are not words).
fn words(text: &str) -> usize {
    text.split_whitespace().filter(|word| word.chars().any(char::is_alphabetic)).count()
}

/// `line`, shortened for a message.
fn quote(line: &str) -> String {
    const MOST: usize = 40;
    if line.chars().count() <= MOST {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(MOST).collect::<String>())
    }
}

/// The sentences of `text`: runs ending in `.`, `!` or `?` followed by
/// white space or the end (so `v1.2` and `e.g.` inside a word do not
/// split), plus a trailing run without a full stop.
fn sentences(text: &str) -> usize {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut count = 0;
    let mut open = false;
    for (index, c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            open = true;
        }
        let ends = matches!(c, '.' | '!' | '?')
            && chars.get(index + 1).is_none_or(|next| next.is_whitespace())
            && chars.get(index + 2).is_none_or(|next| !next.is_lowercase());
        if ends && open {
            count += 1;
            open = false;
        }
    }
    count + usize::from(open)
}

/// Whether `owner` names more than one person or team.
fn several_owners(owner: &str) -> bool {
    let lower = owner.to_lowercase();
    [",", ";", "/", "&", "+", "|"].iter().any(|separator| owner.contains(separator))
        || lower.split_whitespace().any(|word| word == "and" || word == "or")
}

/// The problems of the numbering of `rules`.
fn numbering(rules: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = rules.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    if lines.is_empty() {
        problems.push("there are no rules".to_owned());
    }
    for (expected, line) in (1..).zip(&lines) {
        let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
        let marked = line[digits.len()..].starts_with(['.', ')']);
        match digits.parse::<usize>() {
            Ok(number) if marked && number == expected => {}
            Ok(number) if marked => {
                problems.push(format!("rule \"{}\" is numbered {number}, expected {expected}", quote(line)))
            }
            _ => problems
                .push(format!("rule \"{}\" is not numbered (expected \"{expected}. …\")", quote(line))),
        }
    }
    problems
}

/// Every rule `policy` breaks.
pub fn lint(policy: &Policy) -> Vec<LintFinding> {
    let id = policy.policy_id.to_string();
    let mut findings = Vec::new();
    let mut find = |rule: &'static str, message: String| {
        findings.push(LintFinding { policy: id.clone(), rule, message });
    };
    let total = words(&policy.title)
        + words(&policy.purpose)
        + policy.scope.as_deref().map_or(0, words)
        + words(&policy.rules);
    if total >= MAX_WORDS {
        find(
            "words",
            format!("{total} words; a policy stays under {MAX_WORDS} (title, purpose, scope and rules)"),
        );
    }
    let owner = policy.owner.trim();
    if owner.is_empty() {
        find("owner", "no owner; every policy has exactly one".to_owned());
    } else if several_owners(owner) {
        find("owner", format!("\"{owner}\" names several owners; every policy has exactly one"));
    }
    match sentences(&policy.purpose) {
        1 | 2 => {}
        0 => find("purpose", "the purpose is empty; state it in one or two sentences".to_owned()),
        n => find("purpose", format!("the purpose has {n} sentences; state it in one or two")),
    }
    for problem in numbering(&policy.rules) {
        find("rules", problem);
    }
    if let Some(text) = &policy.cedar
        && let Err(error) = compile(policy.policy_id.as_str(), text)
    {
        for diagnostic in error.diagnostics {
            find("cedar", diagnostic.to_string());
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_model::Record;
    use charter_model::RecordKind;

    /// A good policy with `fields` (a JSON object's members) replaced.
    fn policy(fields: &str) -> Policy {
        let mut value = serde_json::json!({
            "policy_id": "POL-OPS-TEST", "title": "Test", "purpose": "Keeps things tidy.",
            "rules": "1. One\n2. Two", "owner": "ops_lead", "status": "Active"
        });
        let changes: serde_json::Value =
            serde_json::from_str(&format!("{{{}}}", fields.trim_start_matches(','))).unwrap();
        for (key, field) in changes.as_object().unwrap() {
            value[key] = field.clone();
        }
        match RecordKind::Policy.from_value(value).unwrap() {
            Record::Policy(policy) => *policy,
            _ => unreachable!(),
        }
    }

    fn rules(findings: &[LintFinding]) -> Vec<(&str, &str)> {
        findings.iter().map(|f| (f.rule, f.message.as_str())).collect()
    }

    #[test]
    fn a_good_policy_passes() {
        assert_eq!(lint(&policy("")), []);
        let two = policy(r#","purpose":"Keeps v1.2 data tidy, e.g. the registry. Explains why.""#);
        assert_eq!(lint(&two), []);
    }

    #[test]
    fn every_broken_rule_is_named() {
        let long = "word ".repeat(500);
        let bad = policy(&format!(
            r#","purpose":"One. Two. Three.","owner":"alice and bob","rules":"1. First\n3. Third\nno number\n{long}""#
        ));
        let findings = lint(&bad);
        let got = rules(&findings);
        assert_eq!(got[0].0, "words");
        assert!(got[0].1.starts_with("508 words"), "{got:?}");
        assert_eq!(got[1], ("owner", "\"alice and bob\" names several owners; every policy has exactly one"));
        assert_eq!(got[2], ("purpose", "the purpose has 3 sentences; state it in one or two"));
        assert_eq!(got[3], ("rules", "rule \"3. Third\" is numbered 3, expected 2"));
        assert_eq!(got[4], ("rules", "rule \"no number\" is not numbered (expected \"3. …\")"));
        assert_eq!(got.len(), 6, "{got:?}");
    }

    #[test]
    fn owners_and_cedar() {
        for owner in ["a, b", "a/b", "a & b", "a or b"] {
            assert_eq!(lint(&policy(&format!(r#","owner":"{owner}""#))).len(), 1, "{owner}");
        }
        assert_eq!(lint(&policy(r#","owner":"Anderson""#)), [], "words containing 'and' are fine");
        let broken = lint(&policy(r#","cedar":"permit(principal, action, resource) when { nope };""#));
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].rule, "cedar");
        assert!(broken[0].message.starts_with("line 1, column "), "{}", broken[0].message);
    }
}
