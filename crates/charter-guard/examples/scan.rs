//! Scans a file and writes its findings as JSON lines (`{"type", "start",
//! "end", "confidence"}`, byte offsets), with the time the scan took.
//!
//! `cargo run --release -p charter-guard --example scan -- FILE > findings.jsonl`

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: scan FILE");
    let text = std::fs::read(&path)?;
    let scanner = charter_guard::Scanner::new();
    for pass in 0..3 {
        let started = std::time::Instant::now();
        let n = scanner.scan(&text).len();
        eprintln!(
            "pass {pass}: {n} findings, {:.1} MB/s",
            text.len() as f64 / 1e6 / started.elapsed().as_secs_f64()
        );
    }
    let started = std::time::Instant::now();
    let findings = scanner.scan(&text);
    let elapsed = started.elapsed();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for finding in &findings {
        serde_json::to_writer(&mut out, finding)?;
        out.write_all(b"\n")?;
    }
    eprintln!(
        "{} bytes, {} findings in {:.3} s: {:.1} MB/s",
        text.len(),
        findings.len(),
        elapsed.as_secs_f64(),
        text.len() as f64 / 1e6 / elapsed.as_secs_f64()
    );
    Ok(())
}
