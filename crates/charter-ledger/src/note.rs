//! Signed checkpoints in the C2SP formats: a `tlog-checkpoint` body (origin,
//! tree size, root) signed as a `signed-note` with Ed25519. Keys use the
//! signed-note encodings, so Go's `golang.org/x/mod/sumdb/note` and other
//! third-party tools read them:
//!
//! * verifier key: `<name>+<key hash>+<base64(0x01 ‖ public key)>`
//! * signer key:   `PRIVATE+KEY+<name>+<key hash>+<base64(0x01 ‖ seed)>`
//!
//! where the key hash is the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`, in hexadecimal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::LedgerError;
use crate::hash::Hash;

/// Algorithm byte of Ed25519 keys in signed notes.
const ED25519: u8 = 0x01;

/// The em dash that starts every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

fn format_error(message: impl Into<String>) -> LedgerError {
    LedgerError::Format(message.into())
}

/// A key name must be non-empty and free of spaces and `+`.
fn check_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty() || name.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control()) {
        return Err(format_error(format!(
            "key name \"{name}\" must be non-empty, without spaces, control characters or '+'"
        )));
    }
    Ok(())
}

fn key_hash(name: &str, public: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ED25519]);
    hasher.update(public.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Signs notes with an Ed25519 key under a name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    hash: u32,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner").field("name", &self.name).field("key", &"<redacted>").finish()
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, LedgerError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let hash = key_hash(name, &key.verifying_key());
        Ok(Self { name: name.to_owned(), key, hash })
    }

    /// Reads a signer key `PRIVATE+KEY+<name>+<hash>+<base64>`.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let text = text.trim();
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| format_error("a signer key starts with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format_error("a signer key is PRIVATE+KEY+<name>+<hash>+<key>"));
        };
        let bytes = STANDARD.decode(key).map_err(|_| format_error("the signer key is not base64"))?;
        let seed: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, seed)) => {
                seed.try_into().map_err(|_| format_error("the signer key is not 32 bytes"))?
            }
            _ => return Err(format_error("the signer key is not an Ed25519 key")),
        };
        let signer = Self::from_seed(name, seed)?;
        if format!("{:08x}", signer.hash) != hash {
            return Err(format_error(format!(
                "the signer key's hash \"{hash}\" does not match its name and key"
            )));
        }
        Ok(signer)
    }

    /// The signer key in its text form (a secret).
    pub fn to_private_string(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.hash, STANDARD.encode(bytes))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier for this signer.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key(), hash: self.hash }
    }

    /// The key's id: `<name>+<hash>`, as its signature lines name it.
    pub fn key_id(&self) -> String {
        format!("{}+{:08x}", self.name, self.hash)
    }

    /// An Ed25519 signature of `message` (for envelopes other than notes,
    /// such as a DSSE envelope's pre-authentication encoding).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Signs `text` (which must end with a newline) and returns the note:
    /// the text, a blank line and one signature line.
    pub fn sign(&self, text: &str) -> Result<String, LedgerError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.hash.to_be_bytes().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(blob)))
    }
}

fn check_text(text: &str) -> Result<(), LedgerError> {
    if !text.ends_with('\n') || text.contains("\n\n") || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(format_error(
            "note text must end with a newline and hold no blank line and no control character",
        ));
    }
    Ok(())
}

/// Verifies notes signed by one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    hash: u32,
}

impl NoteVerifier {
    /// Reads a verifier key `<name>+<hash>+<base64>`.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let text = text.trim();
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format_error(format!(
                "verifier key \"{text}\" is not of the form <name>+<hash>+<base64 key>"
            )));
        };
        check_name(name)?;
        let bytes = STANDARD.decode(key).map_err(|_| format_error("the verifier key is not base64"))?;
        let public: [u8; 32] = match bytes.split_first() {
            Some((&ED25519, key)) => {
                key.try_into().map_err(|_| format_error("the verifier key is not 32 bytes"))?
            }
            _ => return Err(format_error("the verifier key is not an Ed25519 key")),
        };
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| format_error("the verifier key is not a valid point"))?;
        let expected = key_hash(name, &key);
        if format!("{expected:08x}") != hash {
            return Err(format_error(format!(
                "the verifier key's hash \"{hash}\" does not match its name and key"
            )));
        }
        Ok(Self { name: name.to_owned(), key, hash: expected })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's id: `<name>+<hash>`.
    pub fn key_id(&self) -> String {
        format!("{}+{:08x}", self.name, self.hash)
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }

    /// Opens a signed note: returns its text if it carries a valid
    /// signature by this key. A signature line by this key (same name and
    /// key hash) that does not verify is an error, not ignored.
    pub fn open<'n>(&self, note: &'n str) -> Result<&'n str, LedgerError> {
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| format_error("a signed note has its text, a blank line, then signatures"))?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        check_text(text)?;
        if !signatures.ends_with('\n') {
            return Err(format_error("the signature lines must end with a newline"));
        }
        let mut verified = false;
        for line in signatures.lines() {
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or_else(|| format_error(format!("\"{line}\" is not a signature line")))?;
            let (name, blob) = rest
                .split_once(' ')
                .ok_or_else(|| format_error(format!("\"{line}\" is not a signature line")))?;
            let blob = STANDARD.decode(blob).map_err(|_| format_error("a signature is not base64"))?;
            if blob.len() < 4 {
                return Err(format_error("a signature is shorter than its key hash"));
            }
            let hash = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || hash != self.hash {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..])
                .map_err(|_| LedgerError::Signature(format!("the signature by {name} is malformed")))?;
            self.key
                .verify(text.as_bytes(), &signature)
                .map_err(|_| LedgerError::Signature(format!("the signature by {name} does not verify")))?;
            verified = true;
        }
        if !verified {
            return Err(LedgerError::Signature(format!("the note carries no signature by {}", self)));
        }
        Ok(text)
    }
}

impl std::fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.hash, STANDARD.encode(bytes))
    }
}

/// A `tlog-checkpoint` body: the log's origin, its size and its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `charter/ops`.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root of the tree of `size` leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The body text: three lines.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64())
    }

    /// Reads a checkpoint body (extension lines after the third are allowed
    /// and ignored).
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let mut lines = text.lines();
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(format_error("a checkpoint has an origin line, a size line and a root line"));
        };
        if origin.is_empty() {
            return Err(format_error("the checkpoint's origin is empty"));
        }
        let canonical = size == "0" || (!size.starts_with('0') && size.bytes().all(|b| b.is_ascii_digit()));
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| format_error(format!("checkpoint size \"{size}\" is not a decimal number")))?;
        Ok(Self { origin: origin.to_owned(), size, root: Hash::from_base64(root)? })
    }

    /// Signs the checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, LedgerError> {
        signer.sign(&self.body())
    }

    /// Opens a signed checkpoint with `verifier` and reads its body.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, LedgerError> {
        Self::parse(verifier.open(note)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of golang.org/x/mod/sumdb/note (and of the C2SP
    // signed-note specification).
    const SIGNER: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn signing_matches_the_published_note_byte_for_byte() {
        let signer = NoteSigner::parse(SIGNER).unwrap();
        assert_eq!(signer.sign(TEXT).unwrap(), NOTE);
        assert_eq!(signer.verifier().to_string(), VERIFIER);
        assert_eq!(signer.to_private_string(), SIGNER);
        let verifier = NoteVerifier::parse(VERIFIER).unwrap();
        assert_eq!(verifier.open(NOTE).unwrap(), TEXT);
    }

    #[test]
    fn tampered_notes_and_keys_are_refused() {
        let verifier = NoteVerifier::parse(VERIFIER).unwrap();
        assert!(verifier.open(&NOTE.replace("cryptography", "cryptographY")).is_err());
        assert!(verifier.open(TEXT).is_err());
        let other = NoteSigner::from_seed("PeterNeumann", [7; 32]).unwrap();
        assert!(other.verifier().open(NOTE).is_err(), "another key under the same name");
        assert!(
            NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                .is_err()
        );
        assert!(NoteVerifier::parse("PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq").is_err());
        assert!(NoteSigner::parse(VERIFIER).is_err());
    }

    #[test]
    fn checkpoints_round_trip() {
        let signer = NoteSigner::from_seed("charter", [1; 32]).unwrap();
        let checkpoint =
            Checkpoint { origin: "charter/ops".into(), size: 8, root: crate::hash::empty_root() };
        let note = checkpoint.sign(&signer).unwrap();
        assert!(note.starts_with(
            "charter/ops\n8\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} charter "
        ));
        assert_eq!(Checkpoint::open(&note, &signer.verifier()).unwrap(), checkpoint);
        for bad in [
            "charter/ops\n08\nAAAA\n",
            "charter/ops\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "\n1\nx\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
