//! Tree heads and proofs exactly as RFC 6962 section 2.1 defines them
//! (MTH, PATH, PROOF and SUBPROOF), computed from the roots of perfect
//! subtrees. Any root, inclusion proof or consistency proof of a tree of
//! `n` leaves needs O(log n) such roots.

use crate::LedgerError;
use crate::hash::{Hash, empty_root, node_hash};

/// Where the roots of perfect subtrees come from: `node(level, index)` is the
/// root of the subtree over leaves `index·2^level .. (index+1)·2^level`
/// (level 0 is the leaf hash itself).
pub trait NodeSource {
    /// The root of a perfect subtree.
    fn node(&self, level: u32, index: u64) -> Result<Hash, LedgerError>;
}

/// The largest power of two smaller than `n` (for `n >= 2`).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH over the leaves `start .. start + size`, a range RFC 6962's recursion
/// produces (its start is a multiple of the largest power of two not above
/// its size).
fn range_root(source: &dyn NodeSource, start: u64, size: u64) -> Result<Hash, LedgerError> {
    if size.is_power_of_two() {
        let level = size.trailing_zeros();
        return source.node(level, start >> level);
    }
    let k = split_point(size);
    let left = range_root(source, start, k)?;
    let right = range_root(source, start + k, size - k)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree of the first `size` leaves.
pub fn root(source: &dyn NodeSource, size: u64) -> Result<Hash, LedgerError> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_root(source, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves
/// (RFC 6962 PATH), ordered from the leaf upwards.
pub fn inclusion_proof(source: &dyn NodeSource, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
    if index >= size {
        return Err(LedgerError::Range(format!("leaf index {index} is not below tree size {size}")));
    }
    let mut proof = Vec::new();
    path(source, index, 0, size, &mut proof)?;
    Ok(proof)
}

/// PATH(m, D[start : start + n]).
fn path(
    source: &dyn NodeSource,
    m: u64,
    start: u64,
    n: u64,
    proof: &mut Vec<Hash>,
) -> Result<(), LedgerError> {
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(source, m, start, k, proof)?;
        proof.push(range_root(source, start + k, n - k)?);
    } else {
        path(source, m - k, start + k, n - k, proof)?;
        proof.push(range_root(source, start, k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old_size` and `new_size`
/// leaves (RFC 6962 PROOF).
pub fn consistency_proof(
    source: &dyn NodeSource,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::Range(format!("old size {old_size} is above new size {new_size}")));
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(source, old_size, 0, new_size, true, &mut proof)?;
    }
    Ok(proof)
}

/// SUBPROOF(m, D[start : start + n], b).
fn subproof(
    source: &dyn NodeSource,
    m: u64,
    start: u64,
    n: u64,
    complete: bool,
    proof: &mut Vec<Hash>,
) -> Result<(), LedgerError> {
    if m == n {
        if !complete {
            proof.push(range_root(source, start, n)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(source, m, start, k, complete, proof)?;
        proof.push(range_root(source, start + k, n - k)?);
    } else {
        subproof(source, m - k, start + k, n - k, false, proof)?;
        proof.push(range_root(source, start, k)?);
    }
    Ok(())
}

/// A source that records which nodes are asked for and answers with a
/// placeholder: the nodes an algorithm needs do not depend on their values,
/// so a first pass with this finds what to fetch from storage in one go.
#[derive(Debug, Default)]
pub struct NodeRecorder {
    wanted: std::cell::RefCell<Vec<(u32, u64)>>,
}

impl NodeRecorder {
    /// The nodes asked for so far, without repeats.
    pub fn wanted(&self) -> Vec<(u32, u64)> {
        let mut wanted = self.wanted.borrow().clone();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }
}

impl NodeSource for NodeRecorder {
    fn node(&self, level: u32, index: u64) -> Result<Hash, LedgerError> {
        self.wanted.borrow_mut().push((level, index));
        Ok(Hash::default())
    }
}
