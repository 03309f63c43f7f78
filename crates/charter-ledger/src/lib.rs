//! Charter's tamper-evident ledger, as pure functions: RFC 6962 / RFC 9162
//! Merkle tree hashing, tree heads, inclusion and consistency proofs and
//! their verification, the tile layout the tree is stored in, and signed
//! checkpoints in the C2SP `tlog-checkpoint` and `signed-note` formats. No
//! database, no clock: storage hands tiles in, proofs and roots come out, so
//! a stranger can run the same code offline.

#![deny(missing_docs)]

pub mod bundle;
pub mod hash;
pub mod note;
pub mod tiles;
pub mod tree;
pub mod verify;

pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use note::{Checkpoint, NoteSigner, NoteVerifier};
pub use tiles::{NodeTiles, Tile, TileAppender, TileId, TileNodes, TileSet, edge_tiles};
pub use tree::{NodeRecorder, NodeSource, consistency_proof, inclusion_proof, root};
pub use verify::{verify_consistency, verify_inclusion, verify_inclusion_of_data};

/// What can go wrong with ledger data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A proof does not verify.
    #[error("proof does not verify: {0}")]
    Proof(String),
    /// A signature does not verify, or is missing.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// Text or bytes are not in the expected format.
    #[error("{0}")]
    Format(String),
    /// A leaf index or tree size is out of range.
    #[error("{0}")]
    Range(String),
    /// A node the computation needs is not in storage.
    #[error("missing from storage: {0}")]
    Missing(String),
}
