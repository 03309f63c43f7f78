//! The verdict as an attestation: an in-toto Statement v1 whose subject is
//! the ledger checkpoint the verdict was computed at (the SHA-256 of the
//! signed checkpoint note) and whose predicate is the verdict, in a DSSE
//! envelope signed with the ledger's Ed25519 key. Standard tooling checks
//! the DSSE signature; [`verify`] also checks that the checkpoint inside
//! is the subject and carries the same key's signature.
//!
//! Predicate type: `https://charter.dev/attestations/certification/v1`,
//! whose body is [`Verdict`] as JSON (fields documented on the type).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use charter_ledger::{Checkpoint, NoteSigner, NoteVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::verdict::Verdict;

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Charter's certification predicate type.
pub const PREDICATE_TYPE: &str = "https://charter.dev/attestations/certification/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What it is about: the checkpoint.
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The verdict.
    pub predicate: Verdict,
}

/// A statement's subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `<origin>@<size>`.
    pub name: String,
    /// `{"sha256": <hex of the signed checkpoint note>}`.
    pub digest: std::collections::BTreeMap<String, String>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The payload, base64.
    pub payload: String,
    /// Always [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The key: `<name>+<hash>`, as the ledger's notes name it.
    pub keyid: String,
    /// The Ed25519 signature of the pre-authentication encoding, base64.
    pub sig: String,
}

/// DSSE's pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Envelope {
    /// The SHA-256 (hex) of its payload: the digest the ledger records.
    pub fn payload_sha256(&self) -> Result<String, String> {
        let payload = STANDARD.decode(&self.payload).map_err(|_| "the payload is not base64".to_owned())?;
        Ok(sha256_hex(&payload))
    }
}

/// The statement of `verdict`, or why there is none: a verdict without a
/// signed checkpoint has no subject.
pub fn statement(verdict: &Verdict) -> Result<Statement, String> {
    let checkpoint = verdict
        .checkpoint
        .as_ref()
        .ok_or("the ledger has no signed checkpoint to attest to: configure a signing key")?;
    let digest = [("sha256".to_owned(), sha256_hex(checkpoint.note.as_bytes()))].into();
    Ok(Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![Subject { name: format!("{}@{}", checkpoint.origin, checkpoint.size), digest }],
        predicate_type: PREDICATE_TYPE.to_owned(),
        predicate: verdict.clone(),
    })
}

/// Signs `verdict` into a DSSE envelope; the payload is the statement's
/// canonical JSON, so the same verdict gives the same envelope.
pub fn sign(verdict: &Verdict, signer: &NoteSigner) -> Result<Envelope, String> {
    let statement = statement(verdict)?;
    let value = serde_json::to_value(&statement).map_err(|error| error.to_string())?;
    let payload = charter_model::canonical::to_string(&value).into_bytes();
    let signature = signer.sign_bytes(&pae(PAYLOAD_TYPE, &payload));
    Ok(Envelope {
        payload: STANDARD.encode(&payload),
        payload_type: PAYLOAD_TYPE.to_owned(),
        signatures: vec![Signature { keyid: signer.key_id(), sig: STANDARD.encode(signature) }],
    })
}

/// What a verified envelope holds.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedVerdict {
    /// The statement.
    pub statement: Statement,
    /// The checkpoint it names, opened with the key.
    pub checkpoint: Checkpoint,
    /// SHA-256 of the envelope's payload (the digest the ledger records).
    pub payload_sha256: String,
}

/// Checks an envelope offline with the ledger's verifier key: the DSSE
/// signature over the payload, the statement's types, that the subject is
/// the SHA-256 of the checkpoint note inside the predicate, and that the
/// note carries the key's valid signature over the size and root the
/// predicate states. Every failure says which check failed.
pub fn verify(envelope: &str, verifier: &NoteVerifier) -> Result<VerifiedVerdict, String> {
    let envelope: Envelope =
        serde_json::from_str(envelope).map_err(|error| format!("not a DSSE envelope: {error}"))?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(format!("payloadType \"{}\" is not {PAYLOAD_TYPE}", envelope.payload_type));
    }
    let payload = STANDARD.decode(&envelope.payload).map_err(|_| "the payload is not base64".to_owned())?;
    let message = pae(&envelope.payload_type, &payload);
    let signed = envelope.signatures.iter().any(|signature| {
        signature.keyid == verifier.key_id()
            && STANDARD.decode(&signature.sig).is_ok_and(|sig| verifier.verify_bytes(&message, &sig))
    });
    if !signed {
        return Err(format!("no valid signature by {} over the payload", verifier.key_id()));
    }
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|error| format!("the payload is not a statement: {error}"))?;
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "the statement is {} with predicate {}, not {STATEMENT_TYPE} with {PREDICATE_TYPE}",
            statement.statement_type, statement.predicate_type
        ));
    }
    let note = statement.predicate.checkpoint.as_ref().ok_or("the verdict names no checkpoint")?.clone();
    let digest = sha256_hex(note.note.as_bytes());
    if statement.subject.len() != 1 || statement.subject[0].digest.get("sha256") != Some(&digest) {
        return Err("the subject is not the SHA-256 of the checkpoint the verdict names".to_owned());
    }
    let checkpoint = Checkpoint::open(&note.note, verifier)
        .map_err(|error| format!("the checkpoint does not verify: {error}"))?;
    if checkpoint.origin != note.origin
        || checkpoint.size != note.size
        || checkpoint.root.to_base64() != note.root
    {
        return Err(
            "the checkpoint's signed origin, size or root differ from what the verdict states".to_owned()
        );
    }
    Ok(VerifiedVerdict { statement, checkpoint, payload_sha256: sha256_hex(&payload) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{CheckpointRef, Outcome};

    fn signed_verdict() -> (NoteSigner, Verdict) {
        let signer = NoteSigner::from_seed("charter-test", [7; 32]).unwrap();
        let checkpoint =
            Checkpoint { origin: "charter/ops".into(), size: 42, root: charter_ledger::Hash([9; 32]) };
        let note = checkpoint.sign(&signer).unwrap();
        let verdict = Verdict {
            workspace: "ops".into(),
            as_of: "2027-01-15T00:00:00Z".parse().unwrap(),
            period_from: "2026-10-17T00:00:00Z".parse().unwrap(),
            matrix_sha256: "ab".repeat(32),
            checkpoint: Some(CheckpointRef {
                origin: checkpoint.origin.clone(),
                size: 42,
                root: checkpoint.root.to_base64(),
                note,
            }),
            outcome: Outcome::Green,
            reasons: vec![],
            claims: vec![],
            blockers: vec![],
            waivers: vec![],
        };
        (signer, verdict)
    }

    #[test]
    fn a_signed_verdict_verifies_and_any_tampering_is_named() {
        let (signer, verdict) = signed_verdict();
        let envelope = sign(&verdict, &signer).unwrap();
        let text = serde_json::to_string(&envelope).unwrap();
        let verified = verify(&text, &signer.verifier()).unwrap();
        assert_eq!(verified.statement.predicate, verdict);
        assert_eq!(verified.checkpoint.size, 42);
        assert_eq!(sign(&verdict, &signer).unwrap(), envelope, "deterministic");

        // One byte of the payload changed.
        let mut payload = STANDARD.decode(&envelope.payload).unwrap();
        let at = payload.windows(5).position(|w| w == b"GREEN").unwrap();
        payload[at..at + 3].copy_from_slice(b"RED");
        let forged = Envelope { payload: STANDARD.encode(&payload), ..envelope.clone() };
        let error = verify(&serde_json::to_string(&forged).unwrap(), &signer.verifier()).unwrap_err();
        assert!(error.contains("no valid signature"), "{error}");
        // Another key.
        let other = NoteSigner::from_seed("charter-test", [8; 32]).unwrap();
        assert!(verify(&text, &other.verifier()).is_err());
        // A verdict re-signed over a checkpoint that its key never signed.
        let mut lying = verdict.clone();
        if let Some(checkpoint) = &mut lying.checkpoint {
            checkpoint.size = 43;
        }
        let error =
            verify(&serde_json::to_string(&sign(&lying, &signer).unwrap()).unwrap(), &signer.verifier())
                .unwrap_err();
        assert!(error.contains("differ from what the verdict states"), "{error}");
        // Not an envelope at all.
        assert!(verify("{}", &signer.verifier()).unwrap_err().starts_with("not a DSSE envelope"));
    }

    #[test]
    fn the_pre_authentication_encoding_is_dsses() {
        // The DSSE specification's example: type "http://example.com/HelloWorld", body "hello world".
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
