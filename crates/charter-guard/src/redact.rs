//! Redaction: each finding to redact replaced by a mask, a placeholder
//! numbered per value within the content (`<EMAIL_1>`), or a keyed hash
//! of the value (`<EMAIL:9f86d081884c>`, HMAC-SHA256 under the workspace's
//! key, the first 12 hex digits), the rest of the content untouched.

use std::collections::HashMap;

use charter_model::{FindingType, RedactionMode};
use hmac::{KeyInit, Mac};

use crate::finding::Finding;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// HMAC-SHA256 of `bytes` under `key`.
pub fn keyed_hash(key: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of content that comes in pieces.
#[derive(Debug, Clone)]
pub struct ContentHasher(HmacSha256);

impl ContentHasher {
    /// A hasher under `key`.
    pub fn new(key: &[u8]) -> Self {
        ContentHasher(HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// Takes the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash of every piece so far.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into_bytes().into()
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// `text` with each finding whose mode is given replaced; `findings` are in
/// order and do not overlap (as the scanner gives them), `modes` is one per
/// finding.
pub fn redact(text: &[u8], findings: &[Finding], modes: &[Option<RedactionMode>], key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    Redactor::new(key).redact_into(text, 0, findings, modes, &mut out);
    out
}

/// Redaction across the pieces of one content (a stream): the same value
/// keeps its placeholder number from one piece to the next.
#[derive(Debug)]
pub struct Redactor {
    key: Vec<u8>,
    numbers: HashMap<(FindingType, Vec<u8>), usize>,
    counts: HashMap<FindingType, usize>,
}

impl Redactor {
    /// A redactor hashing under `key`.
    pub fn new(key: &[u8]) -> Self {
        Redactor { key: key.to_vec(), numbers: HashMap::new(), counts: HashMap::new() }
    }

    /// Appends `text` (which starts at `offset` of the content; the
    /// findings' offsets are the content's) to `out`, each finding whose
    /// mode is given replaced.
    pub fn redact_into(
        &mut self,
        text: &[u8],
        offset: usize,
        findings: &[Finding],
        modes: &[Option<RedactionMode>],
        out: &mut Vec<u8>,
    ) {
        let mut at = 0;
        for (finding, mode) in findings.iter().zip(modes) {
            let Some(mode) = mode else { continue };
            let (start, end) = (finding.start - offset, finding.end - offset);
            if start < at || end > text.len() {
                continue;
            }
            out.extend_from_slice(&text[at..start]);
            let value = &text[start..end];
            match mode {
                RedactionMode::Mask => {
                    let chars = std::str::from_utf8(value).map_or(value.len(), |v| v.chars().count());
                    out.extend(std::iter::repeat_n(b'*', chars));
                }
                RedactionMode::Placeholder => {
                    let next = self.counts.entry(finding.kind).or_default();
                    let number = *self.numbers.entry((finding.kind, value.to_vec())).or_insert_with(|| {
                        *next += 1;
                        *next
                    });
                    out.extend_from_slice(format!("<{}_{number}>", finding.kind.placeholder()).as_bytes());
                }
                RedactionMode::Hash => {
                    let digest = hex(&keyed_hash(&self.key, value)[..6]);
                    out.extend_from_slice(format!("<{}:{digest}>", finding.kind.placeholder()).as_bytes());
                }
            }
            at = end;
        }
        out.extend_from_slice(&text[at..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_values_masks_keep_length_hashes_need_the_key() {
        let text = b"to a@x.io, b@y.io and a@x.io";
        let scanner = crate::Scanner::new();
        let findings = scanner.scan(text);
        assert_eq!(findings.len(), 3);
        let placeholder = vec![Some(RedactionMode::Placeholder); 3];
        assert_eq!(redact(text, &findings, &placeholder, b"k"), b"to <EMAIL_1>, <EMAIL_2> and <EMAIL_1>");
        let some = vec![Some(RedactionMode::Mask), None, None];
        assert_eq!(redact(text, &findings, &some, b"k"), b"to ******, b@y.io and a@x.io");
        let hashed = redact(text, &findings, &[Some(RedactionMode::Hash); 3], b"key one");
        let again = redact(text, &findings, &[Some(RedactionMode::Hash); 3], b"key two");
        assert_ne!(hashed, again);
        let hashed = String::from_utf8(hashed).unwrap();
        assert!(hashed.starts_with("to <EMAIL:") && !hashed.contains('@'), "{hashed}");
    }
}
