//! Content that comes as a stream, filtered in constant memory: bytes are
//! cut into segments at line ends (findings never span lines, except a PEM
//! block, which is kept whole up to its END line or 16 KiB), each scanned
//! on its own with its offset in the stream. A line longer than the
//! largest segment is cut where no finding can lie across the cut: at a
//! space or punctuation (else any byte) that no finding of the bytes around
//! it spans, with more bytes after the cut than any finding is long, so a
//! value still arriving cannot reach back over it. Segmenting never changes
//! what is found.

use crate::finding::Finding;
use crate::{Scanner, detect::MAX_PEM};

/// The largest segment kept before cutting a line without an end.
pub const MAX_SEGMENT: usize = 1 << 20;

/// Bytes kept after a cut in a long line: more than the longest finding (a
/// JWT of three 8 KiB parts, a PEM block of 16 KiB).
const TAIL: usize = 32 * 1024;
/// Where in a long line a cut is looked for: the bytes before the tail.
const REGION: usize = 4 * 1024;
/// Bytes scanned before that region: more than the longest finding, so a
/// finding across a cut starts inside what is scanned.
const LOOKBACK: usize = 64 * 1024;

/// Cuts a stream into segments ready to scan.
#[derive(Debug)]
pub struct Segmenter {
    scanner: Scanner,
    carry: Vec<u8>,
    offset: u64,
}

impl Segmenter {
    /// A segmenter at the start of a stream; `scanner` finds where a long
    /// line may be cut.
    pub fn new(scanner: &Scanner) -> Self {
        Segmenter { scanner: scanner.clone(), carry: Vec::new(), offset: 0 }
    }

    /// Takes `chunk`; returns the segment now ready, if any, and where it
    /// starts in the stream.
    pub fn push(&mut self, chunk: &[u8]) -> Option<(u64, Vec<u8>)> {
        self.carry.extend_from_slice(chunk);
        // Nothing new to cut at: do not search the whole carry again.
        if !chunk.contains(&b'\n') && self.carry.len() <= MAX_SEGMENT {
            return None;
        }
        let cut = cut_point(&self.scanner, &self.carry)?;
        Some(self.take(cut))
    }

    /// The rest, at the end of the stream.
    pub fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        (!self.carry.is_empty()).then(|| self.take(self.carry.len()))
    }

    /// Bytes taken so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn take(&mut self, cut: usize) -> (u64, Vec<u8>) {
        let rest = self.carry.split_off(cut);
        let segment = std::mem::replace(&mut self.carry, rest);
        let at = self.offset;
        self.offset += segment.len() as u64;
        (at, segment)
    }
}

/// Where `buffer` may be cut: after its last line end, but before a PEM
/// block whose END has not come yet (unless the block is already too long);
/// in a buffer over [`MAX_SEGMENT`] without a line end, where
/// [`long_line_cut`] says.
fn cut_point(scanner: &Scanner, buffer: &[u8]) -> Option<usize> {
    let mut cut = buffer.iter().rposition(|&b| b == b'\n').map(|n| n + 1);
    if let Some(at) = cut
        && let Some(begin) = memchr::memmem::rfind(&buffer[..at], b"-----BEGIN ")
        && memchr::memmem::find(&buffer[begin..], b"-----END ").is_none()
        && buffer.len() - begin < MAX_PEM
    {
        cut = Some(buffer[..begin].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1));
    }
    match cut {
        Some(0) | None if buffer.len() > MAX_SEGMENT => Some(long_line_cut(scanner, buffer)),
        Some(0) | None => None,
        cut => cut,
    }
}

/// Where to cut `buffer`, a line longer than [`MAX_SEGMENT`]: in the
/// [`REGION`] before its last [`TAIL`] bytes, at the last space or
/// punctuation that no finding spans, else at the last byte no finding
/// spans, else before the finding that spans the whole region. The
/// findings are those of the [`LOOKBACK`] bytes before the region to the
/// end, which hold every finding that could lie across the region whole,
/// with its context.
fn long_line_cut(scanner: &Scanner, buffer: &[u8]) -> usize {
    let region_end = buffer.len() - TAIL;
    let region_start = region_end - REGION;
    let from = region_start - LOOKBACK;
    let spans: Vec<(usize, usize)> =
        scanner.scan(&buffer[from..]).iter().map(|f| (from + f.start, from + f.end)).collect();
    // Findings never overlap and come in order: the one that could span a
    // cut is the last to start before it.
    let spanned = |cut: usize| {
        let before = spans.partition_point(|(start, _)| *start < cut);
        before > 0 && spans[before - 1].1 > cut
    };
    let soft = |b: u8| b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'"');
    let cuts = (region_start + 1..=region_end).rev();
    if let Some(cut) = cuts.clone().find(|&cut| soft(buffer[cut - 1]) && !spanned(cut)) {
        return cut;
    }
    if let Some(cut) = cuts.clone().find(|&cut| !spanned(cut)) {
        return cut;
    }
    let before = spans.partition_point(|(start, _)| *start < region_end);
    spans[before - 1].0
}

/// Scans `segment`, found at `offset` in its stream: findings with offsets
/// in the stream.
pub fn scan_at(scanner: &Scanner, offset: u64, segment: &[u8]) -> Vec<Finding> {
    let mut findings = scanner.scan(segment);
    for finding in &mut findings {
        finding.start += offset as usize;
        finding.end += offset as usize;
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_end_at_lines_and_keep_pem_blocks_whole() {
        use crate::fake_secrets::{PEM_BEGIN, PEM_END};
        let mut segmenter = Segmenter::new(&Scanner::new());
        assert_eq!(segmenter.push(b"no line end yet"), None);
        assert_eq!(segmenter.push(b", now\nand a half"), Some((0, b"no line end yet, now\n".to_vec())));
        let block = format!(" line\n{PEM_BEGIN}\nMIIE\n");
        assert_eq!(segmenter.push(block.as_bytes()), Some((21, b"and a half line\n".to_vec())));
        assert_eq!(
            segmenter.push(format!("abcd\n{PEM_END}\ntail").as_bytes()),
            Some((37, format!("{PEM_BEGIN}\nMIIE\nabcd\n{PEM_END}\n").into_bytes()))
        );
        assert_eq!(segmenter.finish(), Some((101, b"tail".to_vec())));
        assert_eq!(segmenter.offset(), 105);
    }

    #[test]
    fn a_stream_finds_what_the_whole_text_holds_in_any_chunking() {
        let scanner = Scanner::new();
        let mut text = Vec::new();
        for i in 0..2_000 {
            text.extend_from_slice(
                format!("line {i} mail user{i}@example.com card 4111 1111 1111 1111\n").as_bytes(),
            );
        }
        let (begin, end) = (crate::fake_secrets::RSA_PEM_BEGIN, crate::fake_secrets::RSA_PEM_END);
        text.extend_from_slice(format!("{begin}\nMIIEpAIBAAKCAQEA\n{end}\n").as_bytes());
        let whole = scanner.scan(&text);
        for chunk in [1, 7, 4096, 100_000] {
            let mut segmenter = Segmenter::new(&scanner);
            let mut found = Vec::new();
            for piece in text.chunks(chunk) {
                if let Some((at, segment)) = segmenter.push(piece) {
                    found.extend(scan_at(&scanner, at, &segment));
                }
            }
            if let Some((at, segment)) = segmenter.finish() {
                found.extend(scan_at(&scanner, at, &segment));
            }
            assert_eq!(found, whole, "chunks of {chunk}");
        }
    }

    /// A line of several MiB without a line end, full of values with
    /// spaces (cards, phones) and long ones (JWTs, PEM blocks), whose
    /// cuts fall wherever the chunks put them: every value is found as the
    /// whole text holds it.
    #[test]
    fn a_line_longer_than_a_segment_is_cut_where_no_value_lies() {
        use crate::fake_secrets::{AWS_ACCESS_KEY_ID_2, PEM_BEGIN, PEM_END};
        let scanner = Scanner::new();
        let jwt = format!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0".repeat(200),
            "c2lnbmF0dXJl".repeat(500)
        );
        let pieces = [
            "card 4111 1111 1111 1111 ".to_owned(),
            "call +44 20 7946 0958 ".to_owned(),
            "mail a.b@example.com, ".to_owned(),
            format!("token {jwt} "),
            format!("{PEM_BEGIN} MIIEvQIBADANBgkqhkiG9w0BAQEFAASC {PEM_END} "),
            "ssn 536-22-1234 ".to_owned(),
            format!("{AWS_ACCESS_KEY_ID_2} "),
        ];
        let mut text = Vec::new();
        let mut i = 0;
        while text.len() < 5 * MAX_SEGMENT {
            text.extend_from_slice(pieces[i % pieces.len()].as_bytes());
            // Filler of varied length moves the values across every cut.
            text.extend(std::iter::repeat_n(b'x', i % 97));
            text.push(b' ');
            i += 1;
        }
        let whole = scanner.scan(&text);
        assert!(whole.len() > 2_000, "{}", whole.len());
        for chunk in [65_536, 1_000_003] {
            let mut segmenter = Segmenter::new(&scanner);
            let mut found = Vec::new();
            let mut segments = 0;
            for piece in text.chunks(chunk) {
                if let Some((at, segment)) = segmenter.push(piece) {
                    assert!(segment.len() <= MAX_SEGMENT + chunk, "{}", segment.len());
                    segments += 1;
                    found.extend(scan_at(&scanner, at, &segment));
                }
            }
            if let Some((at, segment)) = segmenter.finish() {
                found.extend(scan_at(&scanner, at, &segment));
            }
            assert!(segments >= 2, "{segments}");
            assert_eq!(found.len(), whole.len(), "chunks of {chunk}");
            assert_eq!(found, whole, "chunks of {chunk}");
        }
    }

    /// A line that is one value after another with no space at all still
    /// cuts between values, never inside one.
    #[test]
    fn a_line_without_spaces_is_cut_between_values() {
        let scanner = Scanner::new();
        let mut text = Vec::new();
        while text.len() < 3 * MAX_SEGMENT {
            text.extend_from_slice(b"user@example.com|");
        }
        let whole = scanner.scan(&text);
        let mut segmenter = Segmenter::new(&scanner);
        let mut found = Vec::new();
        for piece in text.chunks(300_000) {
            if let Some((at, segment)) = segmenter.push(piece) {
                found.extend(scan_at(&scanner, at, &segment));
            }
        }
        if let Some((at, segment)) = segmenter.finish() {
            found.extend(scan_at(&scanner, at, &segment));
        }
        assert_eq!(found, whole);
    }
}
