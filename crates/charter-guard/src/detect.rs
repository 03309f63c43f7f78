//! One pass over the text for every detector. A single multi-pattern
//! automaton (`regex-automata`'s meta regex: a lazy DFA over all patterns
//! at once) finds candidates; each candidate is then checked beyond its
//! shape (checksums, issuer ranges, number plans, decoding) and given a
//! confidence, which words before it may raise or lower.
//!
//! Overlaps: candidates never overlap. The earliest-starting candidate
//! wins, and at the same start the first pattern of [`PATTERNS`] (the most
//! specific). A keyword such as `password=` claims the value after it: the
//! value is a specific type when one matches exactly there (a JWT after
//! `token=`), otherwise a generic secret when it looks random enough.
//!
//! Time is linear in the text: the automaton reads each byte a bounded
//! number of times, candidates are bounded in length, and a rejected
//! candidate resumes the search after it.

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, PatternID};

use crate::context::ContextRules;
use charter_model::FindingType;

use crate::finding::Finding;
use crate::validate;

/// What a pattern proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    PemBegin,
    AwsSecretKeyword,
    SecretKeyword,
    BirthKeyword,
    Jwt,
    Github,
    Gitlab,
    Slack,
    Stripe,
    AwsKeyId,
    Email,
    Iban,
    Nino,
    Card,
    Ssn,
    PhoneInternational,
    PhoneNorthAmerican,
    Ipv4,
    Ipv6,
}

/// The patterns, most specific first. Bytes, ASCII classes, ASCII word
/// boundaries.
const PATTERNS: &[(Candidate, &str)] = &[
    (Candidate::PemBegin, r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----"),
    (Candidate::AwsSecretKeyword, r#"(?i)aws_?secret(?:_?access)?_?key["']?[ \t]{0,3}[:=][ \t]{0,3}["']?"#),
    (
        Candidate::SecretKeyword,
        r#"(?i)\b[a-z0-9_.-]{0,32}(?:password|passwd|passphrase|pwd|secret|token|api_?key|apikey|access_?key|private_?key|credentials?)[a-z0-9_]{0,16}["']?[ \t]{0,3}[:=][ \t]{0,3}["']?"#,
    ),
    (
        Candidate::BirthKeyword,
        r#"(?i)\b(?:dob|d\.o\.b\.?|date[ _-]of[ _-]birth|birth[ _-]?date|birthday|born(?: on)?)["']?[ \t]{0,3}[:=]?[ \t]{0,3}["']?"#,
    ),
    // Patterns match a bounded start; code reads on (a pattern that could
    // run on without bound would make the search quadratic).
    (Candidate::Jwt, r"\beyJ[A-Za-z0-9_-]{2}"),
    (Candidate::Github, r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b"),
    (Candidate::Gitlab, r"\bglpat-[A-Za-z0-9_-]{20}\b"),
    (Candidate::Slack, r"\bxox[abeprs]-[A-Za-z0-9]"),
    (Candidate::Stripe, r"\b[rs]k_(?:live|test)_[A-Za-z0-9]"),
    (Candidate::AwsKeyId, r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b"),
    (Candidate::Email, r"[A-Za-z0-9._%+-]@[A-Za-z0-9]"),
    (Candidate::Iban, r"\b[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}"),
    (Candidate::Nino, r"\b[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b"),
    (
        Candidate::Card,
        r"\b[0-9]{4}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{1,7}\b|\b3[47][0-9]{2}[ -]?[0-9]{6}[ -]?[0-9]{5}\b",
    ),
    (Candidate::Ssn, r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b"),
    (Candidate::PhoneInternational, r"\+[1-9](?:[ .-]?\(?[0-9]{1,6}\)?){1,8}\b"),
    (
        Candidate::PhoneNorthAmerican,
        r"(?:\(\b[2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[.-])[2-9][0-9]{2}[.-][0-9]{4}\b",
    ),
    (Candidate::Ipv4, r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b"),
    (
        Candidate::Ipv6,
        r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?",
    ),
];

/// Patterns that can match where an earlier one did: when the first is
/// rejected, the second is tried at the same start.
const FALLBACKS: &[(Candidate, Candidate)] = &[(Candidate::Iban, Candidate::Nino)];

/// The longest candidate a pattern may match (an email address is at most
/// 254 bytes; every other pattern is shorter).
const MAX_CANDIDATE: usize = 512;
/// The longest value a keyword claims.
const MAX_VALUE: usize = 512;
/// How far after `-----BEGIN … PRIVATE KEY-----` its END is looked for.
pub(crate) const MAX_PEM: usize = 16 * 1024;

/// The compiled detectors. Build once, share freely (`Sync`; a clone
/// shares the compiled automaton).
#[derive(Debug, Clone)]
pub struct Scanner {
    regex: Regex,
    context: ContextRules,
    min_confidence: f32,
}

impl Scanner {
    /// The detectors with the default context words, reporting findings
    /// of confidence 0.5 or more.
    pub fn new() -> Self {
        let patterns: Vec<&str> = PATTERNS.iter().map(|(_, pattern)| *pattern).collect();
        let regex = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .configure(Regex::config().utf8_empty(false))
            .build_many(&patterns)
            .expect("the built-in patterns compile");
        Scanner { regex, context: ContextRules::default(), min_confidence: 0.5 }
    }

    /// These detectors (shared, not compiled again) with `context` words,
    /// reporting findings whose confidence reaches `min_confidence`.
    pub fn with(&self, context: ContextRules, min_confidence: f32) -> Self {
        Scanner { regex: self.regex.clone(), context, min_confidence }
    }

    /// Every finding in `text`, in order.
    pub fn scan(&self, text: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.scan_into(text, &mut findings);
        findings
    }

    /// [`Scanner::scan`], appending to `findings`.
    pub fn scan_into(&self, text: &[u8], findings: &mut Vec<Finding>) {
        let mut at = 0;
        while at < text.len() {
            let Some(found) = self.regex.search(&Input::new(text).range(at..)) else {
                break;
            };
            let (start, end) = (found.start(), found.end());
            let pattern = found.pattern().as_usize();
            let (mut finding, mut next) = self.judge(text, at, PATTERNS[pattern].0, start, end);
            // Rejected: another pattern may still match at the same start
            // (`AB123456C` is no IBAN but a National Insurance number).
            if finding.is_none()
                && let Some(&(_, other)) = FALLBACKS.iter().find(|(first, _)| *first == PATTERNS[pattern].0)
            {
                let id = PATTERNS.iter().position(|(candidate, _)| *candidate == other).expect("a pattern");
                let input = Input::new(text)
                    .range(start..(start + MAX_CANDIDATE).min(text.len()))
                    .anchored(Anchored::Pattern(PatternID::must(id)));
                if let Some(found) = self.regex.search(&input) {
                    (finding, next) = self.judge(text, at, other, start, found.end());
                    next = next.max(end);
                }
            }
            if let Some(finding) = finding {
                let finding = self.context.adjust(text, finding);
                if finding.confidence >= self.min_confidence {
                    findings.push(finding);
                }
            }
            // Never stand still (an empty match of the IPv6 pattern cannot
            // happen, but the loop must not rely on it).
            at = next.max(end).max(start + 1);
        }
    }

    /// The finding a candidate makes, if it is one, and where to go on.
    fn judge(
        &self,
        text: &[u8],
        floor: usize,
        candidate: Candidate,
        start: usize,
        end: usize,
    ) -> (Option<Finding>, usize) {
        let found = |kind, end, confidence| Some(Finding { kind, start, end, confidence });
        let bytes = &text[start..end];
        match candidate {
            Candidate::PemBegin => {
                let block_end = pem_end(text, end);
                (found(FindingType::PemPrivateKey, block_end, 0.99), block_end)
            }
            Candidate::AwsSecretKeyword | Candidate::SecretKeyword => {
                self.keyword_value(text, candidate, end)
            }
            Candidate::BirthKeyword => match birth_date(&text[end..]) {
                Some(length) => {
                    let finding = Finding {
                        kind: FindingType::DateOfBirth,
                        start: end,
                        end: end + length,
                        confidence: 0.9,
                    };
                    (Some(finding), end + length)
                }
                None => (None, end),
            },
            Candidate::Jwt => match jwt_end(text, start) {
                Some(jwt_end) if validate::jwt(&text[start..jwt_end]) => {
                    (found(FindingType::Jwt, jwt_end, 0.97), jwt_end)
                }
                _ => (None, end),
            },
            Candidate::Github => (found(FindingType::GithubToken, end, 0.99), end),
            Candidate::Gitlab => (found(FindingType::GitlabToken, end, 0.99), end),
            Candidate::Slack => {
                let token_end = run(text, end, 250, |b| b.is_ascii_alphanumeric() || b == b'-');
                let whole = token_end - start >= 15 && !glued(text, token_end);
                (whole.then(|| found(FindingType::SlackToken, token_end, 0.98)).flatten(), token_end)
            }
            Candidate::Stripe => {
                let key_end = run(text, end, 99, |b| b.is_ascii_alphanumeric());
                let whole = key_end - end >= 15 && !glued(text, key_end);
                (whole.then(|| found(FindingType::StripeKey, key_end, 0.98)).flatten(), key_end)
            }
            Candidate::AwsKeyId => (found(FindingType::AwsAccessKeyId, end, 0.95), end),
            Candidate::Email => match email(text, floor, start + 1) {
                Some((local, domain_end)) => {
                    let finding =
                        Finding { kind: FindingType::Email, start: local, end: domain_end, confidence: 0.95 };
                    (Some(finding), domain_end)
                }
                None => (None, end),
            },
            Candidate::Iban => match validate::iban(&text[start..]) {
                Some(length) => (found(FindingType::Iban, start + length, 0.99), start + length),
                None => (None, end),
            },
            Candidate::Nino => {
                let compact: Vec<u8> = bytes.iter().copied().filter(|&b| b != b' ').collect();
                (validate::uk_nino(&compact).then(|| found(FindingType::UkNino, end, 0.85)).flatten(), end)
            }
            Candidate::Card => {
                let card = validate::digits(bytes).is_some_and(|d| validate::payment_card(&d));
                (card.then(|| found(FindingType::CreditCard, end, 0.99)).flatten(), end)
            }
            Candidate::Ssn => {
                let ssn = validate::digits(bytes).is_some_and(|d| validate::us_ssn(&d));
                (ssn.then(|| found(FindingType::UsSsn, end, 0.85)).flatten(), end)
            }
            Candidate::PhoneInternational => match crate::phone::international(bytes) {
                Some(length) => (found(FindingType::Phone, start + length, 0.85), start + length),
                None => (None, end),
            },
            Candidate::PhoneNorthAmerican => {
                let phone = validate::digits(bytes).is_some_and(|d| crate::phone::north_american(&d));
                (phone.then(|| found(FindingType::Phone, end, 0.75)).flatten(), end)
            }
            Candidate::Ipv4 => {
                // Not a part of a longer dotted number (a version 10.0.0.1.2).
                let before = start >= 2 && text[start - 1] == b'.' && text[start - 2].is_ascii_digit();
                let after = text.get(end) == Some(&b'.') && text.get(end + 1).is_some_and(u8::is_ascii_digit);
                let ip = !before && !after && validate::ipv4(bytes);
                (ip.then(|| found(FindingType::Ipv4, end, 0.85)).flatten(), end)
            }
            Candidate::Ipv6 => {
                (validate::ipv6(bytes).then(|| found(FindingType::Ipv6, end, 0.85)).flatten(), end)
            }
        }
    }

    /// The value after a secret keyword ending at `at`: a specific type
    /// when one matches exactly there, else a generic secret (or an AWS
    /// secret key after words naming one) when it looks random.
    fn keyword_value(&self, text: &[u8], keyword: Candidate, at: usize) -> (Option<Finding>, usize) {
        let length = text[at..]
            .iter()
            .take(MAX_VALUE)
            .position(|&b| {
                b.is_ascii_whitespace()
                    || matches!(
                        b,
                        b'"' | b'\'' | b',' | b';' | b'&' | b'<' | b'>' | b')' | b']' | b'}' | b'`'
                    )
            })
            .unwrap_or_else(|| (text.len() - at).min(MAX_VALUE));
        if length == 0 {
            return (None, at);
        }
        let value_end = at + length;
        if let Some(inner) = self.regex.search(&Input::new(text).range(at..value_end).anchored(Anchored::Yes))
        {
            let candidate = PATTERNS[inner.pattern().as_usize()].0;
            if !matches!(
                candidate,
                Candidate::SecretKeyword | Candidate::AwsSecretKeyword | Candidate::BirthKeyword
            ) {
                let (finding, next) = self.judge(text, at, candidate, inner.start(), inner.end());
                if let Some(finding) = finding.filter(|f| f.kind.family() == crate::Family::Secret) {
                    return (Some(finding), next.max(value_end));
                }
            }
        }
        let value = &text[at..value_end];
        let finding = |kind, confidence| Some(Finding { kind, start: at, end: value_end, confidence });
        if keyword == Candidate::AwsSecretKeyword
            && value.len() == 40
            && value.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        {
            return (finding(FindingType::AwsSecretAccessKey, 0.95), value_end);
        }
        (
            looks_secret(value).and_then(|confidence| finding(FindingType::GenericSecret, confidence)),
            value_end,
        )
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// Whether a value after a secret keyword looks like a secret, and how
/// surely: at least 8 bytes, not a placeholder or a reference to one
/// (`${VAR}`, `<redacted>`, `****`, `null`), at least two kinds of
/// character, and at least 2.5 bits of entropy per byte (3.5 or more: 0.85).
fn looks_secret(value: &[u8]) -> Option<f32> {
    if value.len() < 8 {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    let placeholder = matches!(value[0], b'$' | b'<' | b'{' | b'%' | b'*')
        || value.iter().all(|&b| b == value[0])
        || ["redacted", "changeme", "example", "password", "xxxxxxxx", "undefined", "placeholder"]
            .iter()
            .any(|word| lower.windows(word.len()).any(|w| w == word.as_bytes()));
    if placeholder {
        return None;
    }
    let kinds = [
        value.iter().any(u8::is_ascii_lowercase),
        value.iter().any(u8::is_ascii_uppercase),
        value.iter().any(u8::is_ascii_digit),
        value.iter().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|&&k| k)
    .count();
    let entropy = validate::entropy(value);
    (kinds >= 2 && entropy >= 2.5).then_some(if entropy >= 3.5 { 0.85 } else { 0.7 })
}

/// Where a run of bytes that `keep` accepts, starting at `from`, ends
/// (at most `max` bytes).
fn run(text: &[u8], from: usize, max: usize, keep: impl Fn(u8) -> bool) -> usize {
    let window = &text[from..(from + max).min(text.len())];
    from + window.iter().position(|&b| !keep(b)).unwrap_or(window.len())
}

/// Whether the byte at `at` would continue a value that ends there.
fn glued(text: &[u8], at: usize) -> bool {
    text.get(at).is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The email address around the `@` at `at`: its local part reaches back
/// at most 64 bytes (not before `floor`, where this search began) and
/// starts with a letter or digit, without two dots in a row or a dot
/// before the `@`; its domain is labels of letters, digits and inner
/// dashes ending in a top-level domain of 2 to 24 letters, 253 bytes at
/// most. Returns its start and end.
fn email(text: &[u8], floor: usize, at: usize) -> Option<(usize, usize)> {
    let local_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut start = at;
    while start > floor && at - start < 64 && local_byte(text[start - 1]) {
        start -= 1;
    }
    while start < at && !text[start].is_ascii_alphanumeric() {
        start += 1;
    }
    let local = &text[start..at];
    if local.is_empty() || local.ends_with(b".") || local.windows(2).any(|w| w == b"..") {
        return None;
    }
    // Labels: the last one all letters (2-24) is the top-level domain.
    let mut end = None;
    let mut label = at + 1;
    while label < text.len() && label - at <= 253 {
        let label_end = run(text, label, 63, |b| b.is_ascii_alphanumeric() || b == b'-');
        let word = &text[label..label_end];
        if word.is_empty() || word[0] == b'-' || word[word.len() - 1] == b'-' {
            break;
        }
        if label > at + 1 && (2..=24).contains(&word.len()) && word.iter().all(u8::is_ascii_alphabetic) {
            end = Some(label_end);
        }
        if text.get(label_end) != Some(&b'.')
            || !text.get(label_end + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            break;
        }
        label = label_end + 1;
    }
    let end = end?;
    (!glued(text, end) && text.get(end) != Some(&b'-') && text.get(end) != Some(&b'@'))
        .then_some((start, end))
}

/// The end of the JWT starting at `at`: three base64url parts (the first two
/// at least 4 bytes, each at most 8 KiB) joined by dots.
fn jwt_end(text: &[u8], at: usize) -> Option<usize> {
    let part =
        |from: usize| run(text, from, 8 * 1024, |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let header = part(at);
    if header - at < 4 || text.get(header) != Some(&b'.') {
        return None;
    }
    let payload = part(header + 1);
    if payload - header - 1 < 4 || text.get(payload) != Some(&b'.') {
        return None;
    }
    Some(part(payload + 1))
}

/// The end of a PEM private key block whose BEGIN line ends at `at`: after
/// its `-----END … PRIVATE KEY-----` when that comes within 16 KiB,
/// otherwise after the last line of base64 that follows (a truncated key
/// is still key material).
fn pem_end(text: &[u8], at: usize) -> usize {
    let window = &text[at..(at + MAX_PEM).min(text.len())];
    if let Some(end) = memchr::memmem::find(window, b"-----END ") {
        let rest = &window[end + 9..];
        if let Some(close) = memchr::memmem::find(rest, b"-----") {
            return at + end + 9 + close + 5;
        }
    }
    let mut end = at;
    // The first piece is the rest of the BEGIN line.
    for line in window.split_inclusive(|&b| b == b'\n').skip(1) {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.is_empty()
            || !body.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            break;
        }
        end = (line.as_ptr() as usize - text.as_ptr() as usize) + body.len();
    }
    end.max(at)
}

/// The length of a birth date at the start of `text`: `YYYY-MM-DD`,
/// `DD/MM/YYYY`, `MM/DD/YYYY`, `DD.MM.YYYY`, `D Month YYYY`,
/// `Month D, YYYY`, each a date that exists (1900-2099).
fn birth_date(text: &[u8]) -> Option<usize> {
    let text = &text[..text.len().min(24)];
    let number = |from: usize, len: usize| -> Option<u32> {
        let part = text.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0')))
    };
    let glued = |end: usize| text.get(end).is_some_and(u8::is_ascii_alphanumeric);
    // YYYY-MM-DD (also with / or .)
    if let (Some(y), Some(m), Some(d)) = (number(0, 4), number(5, 2), number(8, 2))
        && matches!(text[4], b'-' | b'/' | b'.')
        && text[7] == text[4]
        && validate::date(y, m, d)
        && !glued(10)
    {
        return Some(10);
    }
    // DD/MM/YYYY or MM/DD/YYYY (either reading must exist)
    if let (Some(a), Some(b), Some(y)) = (number(0, 2), number(3, 2), number(6, 4))
        && matches!(text[2], b'/' | b'-' | b'.')
        && text[5] == text[2]
        && (validate::date(y, b, a) || validate::date(y, a, b))
        && !glued(10)
    {
        return Some(10);
    }
    month_name_date(text)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `12 March 1985` or `March 12, 1985` (month names in English, full or
/// the first three letters).
fn month_name_date(text: &[u8]) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let words: Vec<(usize, &[u8])> = {
        let mut words = Vec::new();
        let mut i = 0;
        while i < lower.len() && words.len() < 3 {
            while i < lower.len() && matches!(lower[i], b' ' | b',') {
                i += 1;
            }
            let from = i;
            while i < lower.len() && lower[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if from == i {
                break;
            }
            words.push((i, &lower[from..i]));
        }
        words
    };
    let month = |word: &[u8]| {
        MONTHS.iter().position(|m| {
            word.len() >= 3 && m.as_bytes().starts_with(word) && (word.len() == 3 || word.len() == m.len())
        })
    };
    let number = |word: &[u8]| {
        (!word.is_empty() && word.len() <= 4 && word.iter().all(u8::is_ascii_digit))
            .then(|| word.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0')))
    };
    let [(_, first), (_, second), (end, third)] = words.as_slice() else { return None };
    let (day, month, year) = match (number(first), month(first)) {
        (Some(day), _) => (day, month(second)?, number(third)?),
        (None, Some(month)) => (number(second)?, month, number(third)?),
        _ => return None,
    };
    validate::date(year, month as u32 + 1, day).then_some(*end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(FindingType, &str)> {
        Scanner::new()
            .scan(text.as_bytes())
            .iter()
            .map(|f| (f.kind, std::str::from_utf8(f.value(text.as_bytes())).unwrap()))
            .collect()
    }

    #[test]
    fn each_detector_finds_its_own() {
        use FindingType::*;

        use crate::fake_secrets::*;
        let cases: &[(&str, FindingType, &str)] = &[
            ("mail alice.smith@example.com now", Email, "alice.smith@example.com"),
            ("call me at +44 7911 123456 after 5pm", Phone, "+44 7911 123456"),
            ("callback (415) 867-5309 stored", Phone, "(415) 867-5309"),
            ("card=4111 1111 1111 1111 exp=12/29", CreditCard, "4111 1111 1111 1111"),
            ("amex 3714-496353-98431 ok", CreditCard, "3714-496353-98431"),
            ("payout to DE89370400440532013000 verified", Iban, "DE89370400440532013000"),
            ("ssn=123-45-6788 result", UsSsn, "123-45-6788"),
            ("NINO AB 12 34 56 C ok", UkNino, "AB 12 34 56 C"),
            ("client_ip=203.0.113.9 agent", Ipv4, "203.0.113.9"),
            ("from 2001:db8::8a2e:370:7334 ok", Ipv6, "2001:db8::8a2e:370:7334"),
            ("date of birth: 12/03/1985.", DateOfBirth, "12/03/1985"),
            ("born on March 12, 1985 in", DateOfBirth, "March 12, 1985"),
            (&format!("key {AWS_ACCESS_KEY_ID} used"), AwsAccessKeyId, AWS_ACCESS_KEY_ID),
            (
                &format!("aws_secret_access_key = {AWS_SECRET_ACCESS_KEY}\n"),
                AwsSecretAccessKey,
                AWS_SECRET_ACCESS_KEY,
            ),
            (&format!("use {GITHUB_TOKEN} now"), GithubToken, GITHUB_TOKEN),
            (&format!("{GITLAB_TOKEN} end"), GitlabToken, GITLAB_TOKEN),
            (&format!("bot {SLACK_TOKEN} ok"), SlackToken, SLACK_TOKEN),
            (&format!("{STRIPE_KEY}!"), StripeKey, STRIPE_KEY),
            (&format!("Bearer {JWT} end"), Jwt, JWT),
            ("db_password=\"k9#Lm2!qZx8\" set", GenericSecret, "k9#Lm2!qZx8"),
        ];
        for (text, kind, value) in cases {
            assert_eq!(kinds(text), vec![(*kind, *value)], "{text}");
        }
    }

    #[test]
    fn look_alikes_are_not_findings() {
        for text in [
            "tracking number 4111 1111 1111 1112 created",
            "fixture 000-12-3456 and 666-12-3456 and 912-12-3456",
            "order ORD-1234-5678 shipped",
            "running build 10.0.0.1.2 and firmware 1.2.3.4.5.6",
            "payload dGhpcyBpcyBub3QgYSBzZWNyZXQgYXQgYWxsLCBqdXN0IGRhdGE=",
            "next run at 2024-05-03T12:34:56Z, last_seen=1600000000123, 20240503123456",
            "token=${API_TOKEN} password=<redacted> secret: changeme",
            "tokens prompt=1200 completion=300",
            "at 12:34:56 mac aa:bb:cc:dd:ee:ff",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn a_keyword_gives_its_value_the_specific_type() {
        let text = format!("token={}", crate::fake_secrets::JWT);
        assert_eq!(kinds(&text), vec![(FindingType::Jwt, &text[6..])]);
    }

    #[test]
    fn a_pem_block_is_one_finding_to_its_end_line() {
        use crate::fake_secrets::{PEM_BEGIN, RSA_PEM_BEGIN, RSA_PEM_END};
        let text = format!("key:\n{RSA_PEM_BEGIN}\nMIIEpAIBAAKCAQEA\nabc+/=\n{RSA_PEM_END}\nnext");
        let found = kinds(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, FindingType::PemPrivateKey);
        assert!(found[0].1.starts_with("-----BEGIN") && found[0].1.ends_with("KEY-----"));
        // Cut short, the block runs to its last line of base64.
        let cut = format!("{PEM_BEGIN}\nMIIEpAIBAAKCAQEA\nabcd\n\nafter");
        assert_eq!(kinds(&cut)[0].1, format!("{PEM_BEGIN}\nMIIEpAIBAAKCAQEA\nabcd"));
    }
}
