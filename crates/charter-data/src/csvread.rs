//! CSV records in batches, fast on the common case. A run of whole lines
//! with no quote and no carriage return, valid UTF-8, is split at its commas
//! and newlines in one pass and copied into the batch at once; any other
//! record (quoted fields, quoted newlines, lone `\r` terminators, a line
//! cut by the end of the read buffer or of the input) is read by
//! `csv_core`, the parser of the `csv` crate. Records and their fields are
//! the `csv` crate's (differential tests check it): empty lines are
//! skipped. A record's line is the line its first byte is on (the `csv`
//! crate can report the line before, after a `\r\n`).

use std::io::Read;

/// Bytes read from the input at a time.
const CHUNK: usize = 1 << 18;

/// Bytes of simple lines checked and split at a time.
const SIMPLE_BLOCK: usize = 1 << 16;

/// Calls `visit(position, is_comma)` for each comma and newline of `bytes`,
/// in order, until it returns false. Eight bytes at a time: fields are short,
/// so the separators are too dense for a search that starts over after each.
fn for_each_separator(bytes: &[u8], mut visit: impl FnMut(usize, bool) -> bool) {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    // The high bit of each byte of `word` equal to `byte`, exactly.
    let equal = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        !(((x & LOW7) + LOW7) | x | LOW7)
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let (commas, newlines) = (equal(word, b','), equal(word, b'\n'));
        let mut found = commas | newlines;
        while found != 0 {
            let bit = found.trailing_zeros();
            if !visit(offset + (bit / 8) as usize, commas & (1 << bit) != 0) {
                return;
            }
            found &= found - 1;
        }
        offset += 8;
    }
    for (index, &byte) in chunks.remainder().iter().enumerate() {
        if (byte == b',' || byte == b'\n') && !visit(offset + index, byte == b',') {
            return;
        }
    }
}

/// One record: its fields' text, where each field ends, and its line.
#[derive(Debug, Default, Clone)]
pub(crate) struct Record {
    text: String,
    ends: Vec<usize>,
    /// The line the record starts on (1 is the first line).
    pub(crate) line: u64,
    /// False when the record is not valid UTF-8 (its fields are then empty).
    pub(crate) utf8: bool,
    /// Whether the record ran to the end of the input inside a quoted field
    /// opened on one of its earlier lines: a quote never closed, which
    /// made the rest of the file this one record.
    pub(crate) unclosed_quote: bool,
}

impl Record {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.text.get(start..end)
    }

    fn set(&mut self, bytes: &[u8], ends: &[usize], line: u64) {
        self.unclosed_quote = false;
        self.text.clear();
        self.ends.clear();
        self.line = line;
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                self.text.push_str(text);
                self.ends.extend_from_slice(ends);
                self.utf8 = true;
            }
            Err(_) => self.utf8 = false,
        }
    }
}

/// Records read together, their fields' text in one buffer: the records of
/// simple lines are copied in with one copy for many lines.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    text: String,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
    records: Vec<Meta>,
}

/// Where one record of a batch is.
#[derive(Debug, Clone, Copy)]
struct Meta {
    start: usize,
    /// Its first field's index in `ends`.
    first: usize,
    fields: usize,
    line: u64,
    utf8: bool,
    /// Whether one separator byte follows each field in the text (a simple
    /// line, copied as it was read).
    separated: bool,
    unclosed_quote: bool,
}

impl Batch {
    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.records.clear();
    }

    /// The records, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = RecordRef<'_>> {
        self.records.iter().map(|meta| RecordRef {
            text: &self.text,
            ends: &self.ends[meta.first..meta.first + meta.fields],
            start: meta.start,
            separated: meta.separated,
            line: meta.line,
            utf8: meta.utf8,
            unclosed_quote: meta.unclosed_quote,
        })
    }

    fn push(&mut self, record: &Record) {
        let base = self.text.len();
        self.text.push_str(&record.text);
        self.records.push(Meta {
            start: base,
            first: self.ends.len(),
            fields: record.ends.len(),
            line: record.line,
            utf8: record.utf8,
            separated: false,
            unclosed_quote: record.unclosed_quote,
        });
        self.ends.extend(record.ends.iter().map(|end| base + end));
    }
}

/// One record of a [`Batch`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'b> {
    text: &'b str,
    ends: &'b [usize],
    start: usize,
    separated: bool,
    /// The line the record starts on (1 is the first line).
    pub(crate) line: u64,
    /// False when the record is not valid UTF-8 (it then has no fields).
    pub(crate) utf8: bool,
    /// See [`Record::unclosed_quote`].
    pub(crate) unclosed_quote: bool,
}

impl<'b> RecordRef<'b> {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&'b str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { self.start } else { self.ends[index - 1] + usize::from(self.separated) };
        self.text.get(start..end)
    }
}

/// A reader of CSV records.
pub(crate) struct Records<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    line: u64,
    consumed: u64,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// A record read on its own, on its way into a batch.
    single: Record,
}

impl<R: Read> Records<R> {
    pub(crate) fn new(input: R) -> Self {
        Records {
            input,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            eof: false,
            line: 1,
            consumed: 0,
            core: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 64],
            single: Record::default(),
        }
    }

    /// The line the next record starts on, or before it.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Reads up to `max` records into `batch` (emptied first); false when
    /// the input ended before `max` were read.
    pub(crate) fn read_batch(&mut self, batch: &mut Batch, max: usize) -> std::io::Result<bool> {
        batch.clear();
        while batch.len() < max {
            if self.simple_lines(batch, max) {
                continue;
            }
            let mut single = std::mem::take(&mut self.single);
            let read = self.read(&mut single);
            if matches!(read, Ok(true)) {
                batch.push(&single);
            }
            self.single = single;
            if !read? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the whole lines at the start of the window that hold no quote
    /// and no carriage return and are valid UTF-8, with one pass for their
    /// commas and newlines and one copy, until `batch` holds `max` records.
    /// False when the window does not start with such a line.
    fn simple_lines(&mut self, batch: &mut Batch, max: usize) -> bool {
        let window = &self.buf[self.pos..self.len];
        // At most a block's worth at a time (unless one line is longer), so
        // a batch filled before the window's end does not scan all of it.
        let capped = &window[..window.len().min(SIMPLE_BLOCK)];
        let Some(last) = memchr::memrchr(b'\n', capped).or_else(|| memchr::memrchr(b'\n', window)) else {
            return false;
        };
        let mut block = &window[..=last];
        if let Some(special) = memchr::memchr2(b'"', b'\r', block) {
            let Some(newline) = memchr::memrchr(b'\n', &block[..special]) else { return false };
            block = &block[..=newline];
        }
        let text = match std::str::from_utf8(block) {
            Ok(text) => text,
            Err(error) => {
                let Some(newline) = memchr::memrchr(b'\n', &block[..error.valid_up_to()]) else {
                    return false;
                };
                match std::str::from_utf8(&block[..=newline]) {
                    Ok(text) => text,
                    Err(_) => return false,
                }
            }
        };
        let base = batch.text.len();
        let (mut line, mut line_start, mut first) = (self.line, 0, batch.ends.len());
        for_each_separator(text.as_bytes(), |at, comma| {
            if comma {
                batch.ends.push(base + at);
                return true;
            }
            if at > line_start {
                batch.ends.push(base + at);
                batch.records.push(Meta {
                    start: base + line_start,
                    first,
                    fields: batch.ends.len() - first,
                    line,
                    utf8: true,
                    separated: true,
                    unclosed_quote: false,
                });
            }
            line += 1;
            line_start = at + 1;
            first = batch.ends.len();
            batch.records.len() < max
        });
        batch.text.push_str(&text[..line_start]);
        self.line = line;
        self.pos += line_start;
        self.consumed += line_start as u64;
        true
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.consumed
    }

    /// Reads more input after what is unconsumed; false at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = loop {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(n) => break n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        if self.consumed == 0 && self.len == 0 && self.buf[..n].starts_with(b"\xef\xbb\xbf") {
            self.pos = 3;
            self.consumed = 3;
        }
        self.len += n;
        Ok(true)
    }

    fn advance(&mut self, n: usize) {
        let newlines = memchr::memchr_iter(b'\n', &self.buf[self.pos..self.pos + n]).count();
        self.line += newlines as u64;
        self.pos += n;
        self.consumed += n as u64;
    }

    /// Reads the next record into `record` with `csv_core`; false at the end
    /// of the input.
    pub(crate) fn read(&mut self, record: &mut Record) -> std::io::Result<bool> {
        loop {
            match self.buf[self.pos..self.len].first().copied() {
                // Terminators at the start of a line end empty records, which are skipped.
                Some(b'\r' | b'\n') => self.advance(1),
                Some(_) => return self.read_general(record),
                None if self.refill()? => {}
                None => return Ok(false),
            }
        }
    }

    /// Reads one record with `csv_core`, from the current position.
    fn read_general(&mut self, record: &mut Record) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        let line = self.line;
        let (mut outlen, mut endlen) = (0, 0);
        let mut quotes = 0_usize;
        if self.ends.len() < 64 {
            self.ends.resize(64, 0);
        }
        loop {
            let (result, nin, nout, nend) = self.core.read_record(
                &self.buf[self.pos..self.len],
                &mut self.out[outlen..],
                &mut self.ends[endlen..],
            );
            quotes += memchr::memchr_iter(b'"', &self.buf[self.pos..self.pos + nin]).count();
            self.advance(nin);
            outlen += nout;
            endlen += nend;
            match result {
                InputEmpty => {
                    // At the end of the input, an empty read finishes the record.
                    self.refill()?;
                }
                OutputFull => {
                    let size = self.out.len() * 2;
                    self.out.resize(size, 0);
                }
                OutputEndsFull => {
                    let size = self.ends.len() * 2;
                    self.ends.resize(size, 0);
                }
                Record => {
                    record.set(&self.out[..outlen], &self.ends[..endlen], line);
                    // Ended by the end of the input, over several lines,
                    // with a quote left open.
                    record.unclosed_quote =
                        self.eof && self.pos == self.len && self.line > line && quotes % 2 == 1;
                    return Ok(true);
                }
                End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Records as the `csv` crate reads them, each with the line of its
    /// first byte: (line, fields).
    fn reference(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).unwrap() {
            // The position may point at the rest of the previous terminator.
            let mut start = record.position().unwrap().byte() as usize;
            while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            let line = 1 + text.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count() as u64;
            out.push((line, record.iter().map(str::to_owned).collect()));
        }
        out
    }

    fn ours(text: &str, chunk: usize) -> Vec<(u64, Vec<String>)> {
        let mut reader = Records::new(text.as_bytes());
        reader.buf = vec![0; chunk];
        let mut record = Record::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            out.push((record.line, (0..record.len()).map(|i| record.get(i).unwrap().to_owned()).collect()));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]
        #[test]
        fn records_are_the_csv_crates(
            text in proptest::collection::vec(
                prop::sample::select(vec!["a", "bc", ",", "\"", "\n", "\r", "\r\n", " ", "é", "\"\""]),
                0..60,
            ).prop_map(|parts| parts.concat()),
            chunk in 1_usize..16,
        ) {
            prop_assert_eq!(ours(&text, chunk), reference(&text), "{:?}", text);
        }
    }

    proptest! {
        /// The separators found eight bytes at a time are every comma and
        /// newline, in order, and the walk stops when told to.
        #[test]
        fn separators_are_every_comma_and_newline(
            bytes in proptest::collection::vec(prop_oneof![Just(b','), Just(b'\n'), any::<u8>()], 0..80),
            stop in 0_usize..30,
        ) {
            let expected: Vec<(usize, bool)> = bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b',' || **b == b'\n')
                .map(|(i, b)| (i, *b == b','))
                .collect();
            let mut seen = Vec::new();
            for_each_separator(&bytes, |at, comma| {
                seen.push((at, comma));
                true
            });
            prop_assert_eq!(&seen, &expected);
            let mut first = Vec::new();
            for_each_separator(&bytes, |at, comma| {
                first.push((at, comma));
                first.len() <= stop
            });
            prop_assert_eq!(&first[..], &expected[..expected.len().min(stop + 1)]);
        }
    }

    /// The records as batches of at most `max` read them.
    fn batched(text: &[u8], chunk: usize, max: usize) -> Vec<(u64, bool, Vec<String>)> {
        let mut reader = Records::new(text);
        reader.buf = vec![0; chunk];
        let mut batch = Batch::default();
        let mut out = Vec::new();
        loop {
            let more = reader.read_batch(&mut batch, max).unwrap();
            assert!(batch.len() <= max);
            for record in batch.iter() {
                let fields = (0..record.len()).map(|i| record.get(i).unwrap().to_owned()).collect();
                out.push((record.line, record.utf8, fields));
            }
            if !more {
                return out;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]
        #[test]
        fn batches_hold_the_csv_crates_records(
            text in proptest::collection::vec(
                prop::sample::select(vec!["a", "bc", ",", "\"", "\n", "\r", "\r\n", " ", "é", "\"\"", "\n\n", "x,y\n"]),
                0..80,
            ).prop_map(|parts| parts.concat()),
            chunk in 1_usize..40,
            max in 1_usize..6,
        ) {
            let expected: Vec<_> = reference(&text).into_iter().map(|(line, fields)| (line, true, fields)).collect();
            prop_assert_eq!(batched(text.as_bytes(), chunk, max), expected, "{:?}", text);
        }

        /// A line that is not UTF-8 is one record without fields, at its
        /// line, whatever the lines around it.
        #[test]
        fn lines_that_are_not_utf8_stay_in_place(
            lines in proptest::collection::vec(prop::sample::select(vec!["a,b", "\u{e9},c", "\u{ff}", ""]), 0..30),
            chunk in 1_usize..40,
            max in 1_usize..6,
        ) {
            let text: Vec<u8> = lines.iter().flat_map(|line| {
                let bytes: Vec<u8> = if *line == "\u{ff}" { vec![b'x', 0xff, b','] } else { line.as_bytes().to_vec() };
                bytes.into_iter().chain([b'\n'])
            }).collect();
            let expected: Vec<_> = lines.iter().enumerate().filter(|(_, l)| !l.is_empty()).map(|(i, line)| {
                let fields = if *line == "\u{ff}" { Vec::new() } else { line.split(',').map(str::to_owned).collect() };
                (i as u64 + 1, *line != "\u{ff}", fields)
            }).collect();
            prop_assert_eq!(batched(&text, chunk, max), expected);
        }
    }

    #[test]
    fn a_quote_never_closed_is_told_apart() {
        let read = |text: &str| {
            let mut reader = Records::new(text.as_bytes());
            let mut record = Record::default();
            let mut out = Vec::new();
            while reader.read(&mut record).unwrap() {
                out.push((record.line, record.unclosed_quote));
            }
            out
        };
        // The quote opened on line 2 swallows the rest of the file.
        assert_eq!(read("a,b\n\"x,1\n2,3\n"), [(1, false), (2, true)]);
        // Quoted newlines that close, and a stray quote on the last line, do not.
        assert_eq!(read("a,b\n\"x\ny\",1\n2,3\n"), [(1, false), (2, false), (4, false)]);
        assert_eq!(read("a,b\nx\"y,1"), [(1, false), (2, false)]);
    }

    #[test]
    fn a_bom_is_skipped() {
        assert_eq!(ours("\u{feff}a,b\n1,2\n", 64), reference("a,b\n1,2\n"));
    }
}
