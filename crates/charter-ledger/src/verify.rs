//! Proof verification as RFC 9162 sections 2.1.3.2 and 2.1.4.2 specify it.
//! Both verifiers bind every index and size they are given: a proof for
//! another leaf, another size, with a hash too many or too few, fails.

use crate::LedgerError;
use crate::hash::{Hash, empty_root, leaf_hash, node_hash};

fn fail(reason: impl Into<String>) -> LedgerError {
    LedgerError::Proof(reason.into())
}

/// Checks that `leaf` (a leaf hash) is at `index` in the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= size {
        return Err(fail(format!("leaf index {index} is not below tree size {size}")));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(fail("the proof has more hashes than the tree size allows"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(fail("the proof has fewer hashes than the tree size needs"));
    }
    if r != *root {
        return Err(fail("the proof leads to another root"));
    }
    Ok(())
}

/// Checks that `data`, as a leaf, is at `index` in the tree: the leaf hash is
/// computed here, so an interior node's 64-byte preimage given as `data`
/// hashes differently and fails.
pub fn verify_inclusion_of_data(
    data: &[u8],
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    verify_inclusion(&leaf_hash(data), index, size, proof, root)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), LedgerError> {
    if old_size > new_size {
        return Err(fail(format!("old size {old_size} is above new size {new_size}")));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(fail("a proof between equal sizes must be empty"));
        }
        return if old_root == new_root { Ok(()) } else { Err(fail("equal sizes with different roots")) };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(fail("a proof from the empty tree must be empty"));
        }
        return if *old_root == empty_root() { Ok(()) } else { Err(fail("the empty tree has another root")) };
    }
    if proof.is_empty() {
        return Err(fail("the proof is empty"));
    }
    // When the old tree is perfect, its root is the proof's implicit first hash.
    let owned;
    let path: &[Hash] = if old_size.is_power_of_two() {
        owned = std::iter::once(*old_root).chain(proof.iter().copied()).collect::<Vec<_>>();
        &owned
    } else {
        proof
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(fail("the proof has more hashes than the sizes allow"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(fail("the proof has fewer hashes than the sizes need"));
    }
    if fr != *old_root {
        return Err(fail("the proof does not lead to the old root"));
    }
    if sr != *new_root {
        return Err(fail("the proof does not lead to the new root"));
    }
    Ok(())
}
