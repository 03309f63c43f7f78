//! Words before a finding that raise or lower its confidence: "call me at"
//! makes a number more likely a phone, "tracking" or "order" less.

use charter_model::{ContextRule, FindingType};

use crate::finding::Finding;

/// How far before a finding its context is read, on the same line.
const WINDOW: usize = 48;

/// Context rules, applied in order.
#[derive(Debug, Clone, PartialEq)]
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
    /// The built-in rules followed by `extra` (a workspace's own), their
    /// words lower-cased as the text before a finding is.
    pub fn with_extra(extra: &[ContextRule]) -> Self {
        let mut rules = ContextRules::default();
        rules.0.extend(extra.iter().map(|rule| ContextRule {
            words: rule.words.iter().map(|word| word.to_lowercase()).collect(),
            ..rule.clone()
        }));
        rules
    }

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
}
