//! Words before a finding that raise or lower its confidence: "call me at"
//! makes a number more likely a phone, "tracking" or "order" less.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, FindingType};

/// How far before a finding its context is read, on the same line.
const WINDOW: usize = 48;

/// One rule: words that, found shortly before a finding of `types`, add
/// `delta` to its confidence (negative to lower it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    /// The types it applies to.
    pub types: Vec<FindingType>,
    /// Lower-case words or phrases.
    pub words: Vec<String>,
    /// Added to the confidence, which stays within 0 and 1.
    pub delta: f32,
}

/// Context rules, applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextRules(pub Vec<ContextRule>);

impl Default for ContextRules {
    /// Words of common usage around phone numbers, national identifiers,
    /// AWS key ids and IP addresses, and words that mark a number as an
    /// identifier of something else.
    fn default() -> Self {
        let rule = |types: &[FindingType], words: &[&str], delta| ContextRule {
            types: types.to_vec(),
            words: words.iter().map(|w| (*w).to_owned()).collect(),
            delta,
        };
        use FindingType::*;
        ContextRules(vec![
            rule(
                &[Phone],
                &[
                    "phone",
                    "call",
                    "tel",
                    "mobile",
                    "cell",
                    "sms",
                    "dial",
                    "number",
                    "fax",
                    "whatsapp",
                    "téléphone",
                    "telefon",
                    "número",
                    "电话",
                    "電話",
                ],
                0.1,
            ),
            rule(&[UsSsn], &["ssn", "social security", "social-security"], 0.14),
            rule(&[UkNino], &["national insurance", "nino", "ni number", "ni_number", "ni no"], 0.14),
            rule(&[AwsAccessKeyId], &["aws", "access key", "key id", "key_id", "keyid"], 0.04),
            rule(
                &[Phone, UsSsn, CreditCard, Ipv4],
                &[
                    "order",
                    "tracking",
                    "invoice no",
                    "ref ",
                    "reference",
                    "version",
                    "build",
                    "firmware",
                    "sku",
                    "isbn",
                ],
                -0.3,
            ),
        ])
    }
}

impl ContextRules {
    /// `finding` with its confidence moved by the rules whose words stand
    /// before it.
    pub(crate) fn adjust(&self, text: &[u8], mut finding: Finding) -> Finding {
        let rules: Vec<&ContextRule> =
            self.0.iter().filter(|rule| rule.types.contains(&finding.kind)).collect();
        if rules.is_empty() {
            return finding;
        }
        let from = finding.start.saturating_sub(WINDOW);
        let before = &text[from..finding.start];
        let line = before.iter().rposition(|&b| b == b'\n').map_or(before, |n| &before[n + 1..]);
        let line = line.to_ascii_lowercase();
        for rule in rules {
            if rule.words.iter().any(|word| memchr::memmem::find(&line, word.as_bytes()).is_some()) {
                finding.confidence = (finding.confidence + rule.delta).clamp(0.0, 1.0);
            }
        }
        finding
    }

    /// The problems of these rules: empty word lists, deltas outside -1..1.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, rule) in self.0.iter().enumerate() {
            if rule.words.is_empty() || rule.words.iter().any(String::is_empty) {
                problems.push(format!("context[{i}].words: empty"));
            }
            if !(-1.0..=1.0).contains(&rule.delta) || rule.delta.is_nan() {
                problems.push(format!("context[{i}].delta: {} is not within -1 and 1", rule.delta));
            }
            if rule.types.is_empty() {
                problems.push(format!("context[{i}].types: empty"));
            }
        }
        problems
    }
}
