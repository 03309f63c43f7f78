//! Content that comes as a stream, filtered in constant memory: bytes are
//! cut into segments at line ends (findings never span lines, except a PEM
//! block, which is kept whole up to its END line or 16 KiB), each scanned
//! on its own with its offset in the stream. A line longer than the
//! largest segment is cut at a space or punctuation near its end, so a
//! value longer than that margin could be split.

use crate::finding::Finding;
use crate::{Scanner, detect::MAX_PEM};

/// The largest segment kept before cutting a line without an end.
pub const MAX_SEGMENT: usize = 1 << 20;

/// Cuts a stream into segments ready to scan.
#[derive(Debug, Default)]
pub struct Segmenter {
    carry: Vec<u8>,
    offset: u64,
}

impl Segmenter {
    /// A segmenter at the start of a stream.
    pub fn new() -> Self {
        Segmenter::default()
    }

    /// Takes `chunk`; returns the segment now ready, if any, and where it
    /// starts in the stream.
    pub fn push(&mut self, chunk: &[u8]) -> Option<(u64, Vec<u8>)> {
        self.carry.extend_from_slice(chunk);
        // Nothing new to cut at: do not search the whole carry again.
        if !chunk.contains(&b'\n') && self.carry.len() <= MAX_SEGMENT {
            return None;
        }
        let cut = cut_point(&self.carry)?;
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
/// in a buffer over [`MAX_SEGMENT`] without a line end, at its last space
/// or punctuation.
fn cut_point(buffer: &[u8]) -> Option<usize> {
    let mut cut = buffer.iter().rposition(|&b| b == b'\n').map(|n| n + 1);
    if let Some(at) = cut
        && let Some(begin) = memchr::memmem::rfind(&buffer[..at], b"-----BEGIN ")
        && memchr::memmem::find(&buffer[begin..], b"-----END ").is_none()
        && buffer.len() - begin < MAX_PEM
    {
        cut = Some(buffer[..begin].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1));
    }
    match cut {
        Some(0) | None if buffer.len() > MAX_SEGMENT => {
            let margin = &buffer[buffer.len() - 4096..];
            let soft =
                margin.iter().rposition(|b| b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'"'));
            Some(buffer.len() - 4096 + soft.map_or(4096, |n| n + 1))
        }
        Some(0) | None => None,
        cut => cut,
    }
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
        let mut segmenter = Segmenter::new();
        assert_eq!(segmenter.push(b"no line end yet"), None);
        assert_eq!(segmenter.push(b", now\nand a half"), Some((0, b"no line end yet, now\n".to_vec())));
        let block = b" line\n-----BEGIN PRIVATE KEY-----\nMIIE\n";
        assert_eq!(segmenter.push(block), Some((21, b"and a half line\n".to_vec())));
        assert_eq!(
            segmenter.push(b"abcd\n-----END PRIVATE KEY-----\ntail"),
            Some((37, b"-----BEGIN PRIVATE KEY-----\nMIIE\nabcd\n-----END PRIVATE KEY-----\n".to_vec()))
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
        text.extend_from_slice(
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
        );
        let whole = scanner.scan(&text);
        for chunk in [1, 7, 4096, 100_000] {
            let mut segmenter = Segmenter::new();
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
}
