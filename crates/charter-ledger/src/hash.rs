//! RFC 6962 hashing: SHA-256 with a one-byte domain separator, so a leaf can
//! never be mistaken for an interior node.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::LedgerError;

/// Length of a hash in bytes.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// The hash as bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(HASH_LEN * 2);
        for byte in self.0 {
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        out
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Hash, LedgerError> {
        let bad = || LedgerError::Format(format!("\"{text}\" is not a hash: expected 64 hexadecimal digits"));
        if text.len() != HASH_LEN * 2 {
            return Err(bad());
        }
        let mut out = [0_u8; HASH_LEN];
        for (index, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| char::from(c).to_digit(16).ok_or_else(bad);
            out[index] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).map_err(|_| bad())?;
        }
        Ok(Hash(out))
    }

    /// Standard base64 with padding, as checkpoints write roots.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, LedgerError> {
        let bytes =
            STANDARD.decode(text).map_err(|_| LedgerError::Format(format!("\"{text}\" is not base64")))?;
        Hash::from_slice(&bytes)
            .ok_or_else(|| LedgerError::Format(format!("\"{text}\" is not 32 bytes of base64")))
    }

    /// The hash in `bytes`, if they are exactly 32.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_LEN]>::try_from(bytes).ok().map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The hash of a leaf: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0_u8]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1_u8]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Hashes serialize as lower-case hexadecimal.
impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_round_trip() {
        let hash = leaf_hash(b"");
        assert_eq!(hash.to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(Hash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert_eq!(Hash::from_base64(&hash.to_base64()).unwrap(), hash);
        assert!(Hash::from_hex("zz").is_err());
        assert!(Hash::from_base64("AAAA").is_err());
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
