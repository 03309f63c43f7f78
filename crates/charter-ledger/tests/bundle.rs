//! The offline bundle verification, fed entry by entry with no I/O: every
//! way a bundle can be changed after it was signed is found and named.

use charter_ledger::bundle::{Entry, Verification};
use charter_ledger::{Checkpoint, NoteSigner, NoteVerifier, TileAppender, leaf_hash};

const ORIGIN: &str = "charter.test/ops";

fn signer() -> NoteSigner {
    NoteSigner::from_seed("charter.test", [7; 32]).unwrap()
}

/// Entries `e0`, `e1`, … and a signed checkpoint after each size in `sizes`.
fn log(entries: usize, sizes: &[u64]) -> (Vec<Vec<u8>>, Vec<(String, String)>) {
    let lines: Vec<Vec<u8>> = (0..entries).map(|n| format!("e{n}").into_bytes()).collect();
    let mut tree = TileAppender::empty();
    let mut notes = Vec::new();
    for line in &lines {
        tree.append(leaf_hash(line));
        let _ = tree.take_full();
        if sizes.contains(&tree.size()) {
            let checkpoint =
                Checkpoint { origin: ORIGIN.into(), size: tree.size(), root: tree.root().unwrap() };
            notes.push((format!("checkpoints/{}.note", tree.size()), checkpoint.sign(&signer()).unwrap()));
        }
    }
    (lines, notes)
}

fn verify(
    verifier: &NoteVerifier,
    lines: &[Vec<u8>],
    notes: &[(String, String)],
    seen: Option<&str>,
) -> charter_ledger::bundle::BundleReport {
    let mut verification = Verification::new(verifier, notes, seen);
    for line in lines {
        if !verification.entry(line, |_: Entry<'_>| Ok(())) {
            break;
        }
    }
    verification.finish()
}

#[test]
fn an_intact_bundle_verifies_with_every_checkpoint() {
    let (lines, notes) = log(300, &[1, 256, 300]);
    let report = verify(&signer().verifier(), &lines, &notes, None);
    assert_eq!(report.failure, None);
    assert_eq!((report.entries, report.checkpoints), (300, 3));
    assert_eq!(report.origin.as_deref(), Some(ORIGIN));
}

#[test]
fn a_changed_missing_or_uncovered_entry_is_named() {
    let (lines, notes) = log(10, &[5, 10]);
    let verifier = signer().verifier();

    let mut changed = lines.clone();
    changed[3] = b"forged".to_vec();
    let failure = verify(&verifier, &changed, &notes, None).failure.unwrap();
    assert!(failure.contains("checkpoint at size 5") && failure.contains("line 5"), "{failure}");

    let failure = verify(&verifier, &lines[..8], &notes, None).failure.unwrap();
    assert!(failure.contains("entries 8 to 9 are missing"), "{failure}");

    let (longer, _) = log(12, &[]);
    let failure = verify(&verifier, &longer, &notes, None).failure.unwrap();
    assert!(failure.contains("events after entry 9 are not covered"), "{failure}");

    // The caller's own check of an entry is reported with its place.
    let mut verification = Verification::new(&verifier, &notes, None);
    assert!(verification.entry(&lines[0], |_| Ok(())));
    assert!(!verification.entry(&lines[1], |entry| Err(format!("bad at {}", entry.index))));
    let failure = verification.finish().failure.unwrap();
    assert_eq!(failure, "entry 1 (line 2): bad at 1");
}

#[test]
fn tiles_that_do_not_rebuild_a_signed_root_fail_before_any_entry() {
    let (lines, notes) = log(6, &[6]);
    let mut verification = Verification::new(&signer().verifier(), &notes, None);
    let mut hashes: Vec<_> = lines.iter().map(|line| leaf_hash(line)).collect();
    hashes[2] = leaf_hash(b"other");
    assert!(!verification.tiles(hashes));
    let failure = verification.finish().failure.unwrap();
    assert!(failure.contains("the tiles do not rebuild the root of the checkpoint at size 6"), "{failure}");
}

#[test]
fn a_bundle_cut_short_with_its_newest_checkpoints_is_caught_by_one_seen_before() {
    let (lines, notes) = log(20, &[10, 20]);
    let verifier = signer().verifier();
    let seen = notes[1].1.clone();
    // Cut to 10 entries with only the checkpoint at 10: consistent by itself…
    let cut = verify(&verifier, &lines[..10], &notes[..1], None);
    assert_eq!(cut.failure, None);
    // …but not with the checkpoint at 20 a client kept.
    let failure = verify(&verifier, &lines[..10], &notes[..1], Some(&seen)).failure.unwrap();
    assert!(failure.contains("entries 10 to 19 are missing"), "{failure}");
    assert_eq!(verify(&verifier, &lines, &notes, Some(&seen)).failure, None);
}

#[test]
fn checkpoints_signed_by_another_key_or_of_two_logs_are_refused() {
    let (lines, notes) = log(4, &[4]);
    let other = NoteSigner::from_seed("charter.test", [9; 32]).unwrap().verifier();
    let failure = verify(&other, &lines, &notes, None).failure.unwrap();
    assert!(failure.starts_with("checkpoints/4.note:"), "{failure}");

    let second = Checkpoint { origin: "charter.test/other".into(), size: 2, root: leaf_hash(b"x") };
    let mut two = notes.clone();
    two.push(("checkpoints/2.note".into(), second.sign(&signer()).unwrap()));
    let failure = verify(&signer().verifier(), &lines, &two, None).failure.unwrap();
    assert!(failure.contains("checkpoints name two logs"), "{failure}");

    let failure = verify(&signer().verifier(), &lines, &[], None).failure.unwrap();
    assert!(failure.contains("holds no checkpoint"), "{failure}");
}
