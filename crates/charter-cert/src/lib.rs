//! Certification of an operations and governance posture
//! (`ops-governance-certification-plan.md`), as pure functions: the claim
//! matrix (`matrix.rs`, a TOML file), the metrics Charter knows how to
//! compute from its own records (`metric.rs`), the grading of each claim
//! into levels L0–L4 with the blockers OC-B1..B7 it raises and the waivers
//! that hold them (`verdict.rs`), the verdict as Markdown (`render.rs`),
//! and its publication as an in-toto Statement v1 in a DSSE envelope signed
//! with the ledger's Ed25519 key, which anyone can check offline
//! (`attest.rs`). The observations come from `charter-app`; nothing here
//! reads a store or a clock.

mod attest;
mod matrix;
mod metric;
mod render;
mod verdict;

pub use attest::{
    Envelope, PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, Signature, Statement, Subject, VerifiedVerdict,
    sha256_hex, sign, statement, verify,
};
pub use matrix::{
    Claim, DEFAULT_MATRIX, DRILLS, EVIDENCE_KINDS, EvidenceRule, Matrix, MetricRule, SEED_TIER0, WaiverRules,
    is_claim_id,
};
pub use metric::{Direction, METRICS, MetricDef, metric};
pub use render::{html, markdown};

/// Reads an as-of or expiry given by a person: an RFC 3339 time, or a date
/// meaning its last second (`2027-01-15` is `2027-01-15T23:59:59Z`).
pub fn parse_as_of(text: &str) -> Option<charter_model::Timestamp> {
    if let Ok(time) = text.parse() {
        return Some(time);
    }
    let date: charter_model::Date = text.parse().ok()?;
    format!("{date}T23:59:59Z").parse().ok()
}
pub use verdict::{
    Blocker, BlockerId, BlockerState, CheckpointRef, ClaimResult, ClaimStatus, DrillCheck, DrillResult,
    EvidenceCount, Inputs, Level, MAX_CITED, MetricResult, MetricStatus, Observation, Outcome, Verdict,
    Waiver, WaiverState, evaluate,
};
