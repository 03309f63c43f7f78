//! Conformance with the RFC 6962 vectors used by transparency-dev/merkle and
//! Certificate Transparency, and properties of proofs on random trees.

use charter_ledger::tiles::TILE_WIDTH;
use charter_ledger::{
    Hash, LedgerError, NodeRecorder, NodeSource, Tile, TileAppender, TileSet, consistency_proof, empty_root,
    inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
    verify_inclusion_of_data,
};
use proptest::prelude::*;

/// The eight leaves of the reference tree.
fn leaves() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|hex| {
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
        })
        .collect()
}

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

/// Roots of the reference tree for sizes 0 to 8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// All tiles of a tree, built by appending.
fn tiles_of(leaf_hashes: &[Hash]) -> (TileSet, TileAppender) {
    let mut appender = TileAppender::new(0, &TileSet::default()).unwrap();
    let mut tiles = TileSet::default();
    for leaf in leaf_hashes {
        appender.append(*leaf);
        for tile in appender.take_full() {
            tiles.insert(tile);
        }
    }
    for tile in appender.edge() {
        tiles.insert(tile.clone());
    }
    (tiles, appender)
}

/// MTH straight from RFC 6962, for cross-checking.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1 << (63 - (n as u64 - 1).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

#[test]
fn reference_tree_roots_for_every_size() {
    let hashes: Vec<Hash> = leaves().iter().map(|leaf| leaf_hash(leaf)).collect();
    for size in 0..=8 {
        let (tiles, appender) = tiles_of(&hashes[..size]);
        assert_eq!(root(&tiles, size as u64).unwrap(), h(ROOTS[size]), "size {size}");
        assert_eq!(appender.root().unwrap(), h(ROOTS[size]), "size {size}");
    }
}

#[test]
fn reference_tree_inclusion_proofs() {
    let hashes: Vec<Hash> = leaves().iter().map(|leaf| leaf_hash(leaf)).collect();
    let (tiles, _) = tiles_of(&hashes);
    let cases: [(u64, u64, &[&str]); 6] = [
        (0, 1, &[]),
        (0, 2, &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
        (1, 2, &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let proof = inclusion_proof(&tiles, index, size).unwrap();
        assert_eq!(proof, want.iter().map(|x| h(x)).collect::<Vec<_>>(), "{index}:{size}");
        verify_inclusion(&hashes[index as usize], index, size, &proof, &h(ROOTS[size as usize])).unwrap();
        verify_inclusion_of_data(&leaves()[index as usize], index, size, &proof, &h(ROOTS[size as usize]))
            .unwrap();
    }
    let proof = inclusion_proof(&tiles, 0, 8).unwrap();
    assert_eq!(
        proof,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ]
    );
}

#[test]
fn reference_tree_consistency_proofs() {
    let hashes: Vec<Hash> = leaves().iter().map(|leaf| leaf_hash(leaf)).collect();
    let (tiles, _) = tiles_of(&hashes);
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, want) in cases {
        let proof = consistency_proof(&tiles, old, new).unwrap();
        assert_eq!(proof, want.iter().map(|x| h(x)).collect::<Vec<_>>(), "{old}:{new}");
        verify_consistency(old, new, &proof, &h(ROOTS[old as usize]), &h(ROOTS[new as usize])).unwrap();
    }
    // A wrong old root fails.
    let proof = consistency_proof(&tiles, 6, 8).unwrap();
    assert!(verify_consistency(6, 8, &proof, &h(ROOTS[4]), &h(ROOTS[8])).is_err());
}

#[test]
fn an_interior_node_presented_as_a_leaf_is_refused() {
    let hashes: Vec<Hash> = leaves().iter().map(|leaf| leaf_hash(leaf)).collect();
    let (tiles, _) = tiles_of(&hashes);
    // Node 1/0 is H(0x01 ‖ leaf0 ‖ leaf1); its 64-byte preimage given as leaf
    // data at "index 0 of a 4-leaf tree" with the level-1 sibling as proof
    // would rebuild the root if leaves were not domain-separated.
    let preimage: Vec<u8> = [hashes[0].0, hashes[1].0].concat();
    let sibling = tiles.node(1, 1).unwrap();
    assert_eq!(node_hash(&tiles.node(1, 0).unwrap(), &sibling), h(ROOTS[4]));
    let result = verify_inclusion_of_data(&preimage, 0, 2, &[sibling], &h(ROOTS[4]));
    assert!(matches!(result, Err(LedgerError::Proof(_))));
}

#[test]
fn a_recorder_names_the_nodes_a_proof_needs() {
    let recorder = NodeRecorder::default();
    inclusion_proof(&recorder, 5, 8).unwrap();
    assert_eq!(recorder.wanted(), [(0, 4), (1, 3), (2, 0)]);
}

#[test]
fn tiles_round_trip_through_bytes_and_span_levels() {
    let hashes: Vec<Hash> = (0..(TILE_WIDTH * 3 + 7)).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let (tiles, appender) = tiles_of(&hashes);
    assert_eq!(appender.root().unwrap(), reference_root(&hashes));
    assert_eq!(root(&tiles, 600).unwrap(), reference_root(&hashes[..600]));
    let tile = tiles.get((0, 1)).unwrap();
    assert_eq!(Tile::from_bytes(0, 1, &tile.to_bytes()).unwrap(), *tile);
    assert!(Tile::from_bytes(0, 1, &[0; 33]).is_err());
    // Reopening the tree from its edge tiles continues it exactly.
    let mut reopened = TileAppender::new(appender.size(), &tiles).unwrap();
    let mut continued = appender.clone();
    for i in 0..300_u64 {
        let leaf = leaf_hash(&(i + 1_000_000).to_be_bytes());
        reopened.append(leaf);
        continued.append(leaf);
    }
    assert_eq!(reopened.root().unwrap(), continued.root().unwrap());
    assert!(TileAppender::new(appender.size() + 1, &tiles).is_err(), "edge tiles must match the size");
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped.0[bit / 8] ^= 1 << (bit % 8);
    flipped
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every inclusion proof of every leaf of trees up to a few hundred
    /// leaves verifies, and every mutation of it is refused.
    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(size in 1_u64..600, pick in any::<u64>(), bit in 0_usize..256) {
        let hashes: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let (tiles, appender) = tiles_of(&hashes);
        let tree_root = appender.root().unwrap();
        prop_assert_eq!(tree_root, reference_root(&hashes));
        let index = pick % size;
        let proof = inclusion_proof(&tiles, index, size).unwrap();
        let leaf = hashes[index as usize];
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &tree_root).is_ok());

        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &tree_root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&tree_root, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = (pick as usize) % bad.len();
            bad[at] = flip(&bad[at], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &tree_root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &tree_root).is_err());
        }
        let mut extended = proof.clone();
        extended.push(leaf);
        prop_assert!(verify_inclusion(&leaf, index, size, &extended, &tree_root).is_err());
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &tree_root).is_err());
        }
        // The same proof, claimed for a bigger tree, against that tree's root.
        let mut bigger = appender.clone();
        bigger.append(leaf_hash(b"one more"));
        prop_assert!(verify_inclusion(&leaf, index, size + 1, &proof, &bigger.root().unwrap()).is_err());
        if size > 1 {
            let smaller = reference_root(&hashes[..size as usize - 1]);
            prop_assert!(verify_inclusion(&leaf, index, size - 1, &proof, &smaller).is_err());
        }
    }

    /// Every consistency proof between two sizes verifies, and every mutation
    /// of it is refused.
    #[test]
    fn consistency_proofs_verify_and_mutations_fail(new in 1_u64..600, pick in any::<u64>(), bit in 0_usize..256) {
        let hashes: Vec<Hash> = (0..new).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let (tiles, appender) = tiles_of(&hashes);
        let old = pick % new + 1;
        let old_root = root(&tiles, old).unwrap();
        let new_root = root(&tiles, new).unwrap();
        prop_assert_eq!(old_root, reference_root(&hashes[..old as usize]));
        let proof = consistency_proof(&tiles, old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &proof, &old_root, &new_root).is_ok());

        prop_assert!(verify_consistency(old, new, &proof, &flip(&old_root, bit), &new_root).is_err());
        prop_assert!(verify_consistency(old, new, &proof, &old_root, &flip(&new_root, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let at = (pick as usize) % bad.len();
            bad[at] = flip(&bad[at], bit);
            prop_assert!(verify_consistency(old, new, &bad, &old_root, &new_root).is_err());
            prop_assert!(verify_consistency(old, new, &proof[..proof.len() - 1], &old_root, &new_root).is_err());
            let mut extended = proof.clone();
            extended.push(old_root);
            prop_assert!(verify_consistency(old, new, &extended, &old_root, &new_root).is_err());
        }
        if old < new {
            // The same proof, claimed for other sizes, against those trees' roots.
            let mut bigger = appender.clone();
            bigger.append(leaf_hash(b"one more"));
            prop_assert!(verify_consistency(old, new + 1, &proof, &old_root, &bigger.root().unwrap()).is_err());
            if old > 1 {
                let smaller = root(&tiles, old - 1).unwrap();
                prop_assert!(verify_consistency(old - 1, new, &proof, &smaller, &new_root).is_err());
            }
        }
    }
}

/// Exhaustively, for every tree of up to 128 leaves: every inclusion proof
/// and every consistency proof verifies against the reference roots.
#[test]
fn every_proof_of_every_small_tree_verifies() {
    let hashes: Vec<Hash> = (0..128_u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let (tiles, _) = tiles_of(&hashes);
    let roots: Vec<Hash> = (0..=hashes.len()).map(|n| reference_root(&hashes[..n])).collect();
    for size in 1..=hashes.len() as u64 {
        assert_eq!(root(&tiles, size).unwrap(), roots[size as usize]);
        for index in 0..size {
            let proof = inclusion_proof(&tiles, index, size).unwrap();
            verify_inclusion(&hashes[index as usize], index, size, &proof, &roots[size as usize]).unwrap();
        }
        for old in 0..=size {
            let proof = consistency_proof(&tiles, old, size).unwrap();
            verify_consistency(old, size, &proof, &roots[old as usize], &roots[size as usize]).unwrap();
        }
    }
}
