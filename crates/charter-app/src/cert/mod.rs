//! Certification as a use case: every metric of the claim matrix measured
//! from the workspace's own records and ledger over the period ending at
//! `as_of`, each listing what it read; the verdict computed twice from two
//! readings of the store and compared byte for byte (a difference is
//! OC-B6); signed as a DSSE envelope with the ledger key and its digest
//! appended to the ledger. The grading is `charter-cert`'s.

mod drills;
mod ledger;
mod measure;
mod waivers;

pub use drills::RollbackDrill;
pub use waivers::NewWaiver;

use std::collections::BTreeMap;

use charter_cert::{Envelope, Matrix, Verdict};
use charter_model::{Timestamp, WorkspaceName};
use serde::Serialize;

use crate::{App, AppError, Caller, Result};

/// The audit kind and action of a recorded certification.
pub const CERTIFICATION: &str = "certification";

/// What to certify.
#[derive(Debug, Clone, Default)]
pub struct CertifyRequest {
    /// The end of the period (default: now).
    pub as_of: Option<Timestamp>,
    /// A claim matrix `(name, TOML text)` (default: the workspace's
    /// `cert_settings` record, else the shipped one).
    pub matrix: Option<(String, String)>,
    /// Append the signed verdict's digest to the ledger.
    pub record: bool,
}

/// A certification.
#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict's canonical JSON (what the envelope's predicate holds).
    pub json: String,
    /// The verdict as Markdown.
    pub markdown: String,
    /// The signed envelope, when the ledger has a signing key and a checkpoint.
    pub envelope: Option<Envelope>,
    /// Why there is no envelope.
    pub unsigned: Option<String>,
    /// Values measured by running something (audit query times): not in the
    /// verdict, whose bytes they would change from one run to the next.
    pub measurements: BTreeMap<String, f64>,
    /// The ledger entry holding the envelope's digest (`DEC-`-style sequence), when recorded.
    pub recorded_seq: Option<u64>,
}

/// A certification recorded in the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedCertification {
    /// Its ledger entry (sequence number).
    pub seq: u64,
    /// What it recorded: outcome, as-of time, active blockers, digests.
    pub value: serde_json::Value,
}

impl App {
    /// The latest certification recorded in the workspace's ledger.
    pub async fn latest_certification(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
    ) -> Result<Option<RecordedCertification>> {
        let row = self.visible_workspace(caller, workspace).await?;
        let Some(event) = self.store.latest_event_of_kind(row.id, CERTIFICATION).await? else {
            return Ok(None);
        };
        let value = serde_json::from_str::<serde_json::Value>(&event.body)
            .ok()
            .and_then(|mut event| event.get_mut("value").map(serde_json::Value::take))
            .ok_or_else(|| AppError::corrupt(format!("certification event {} has no value", event.seq)))?;
        Ok(Some(RecordedCertification { seq: event.seq, value }))
    }

    /// The workspace's claim matrix (its `cert_settings` record), else the
    /// shipped one, with its text.
    pub(crate) async fn claim_matrix(&self, row: &charter_store::WorkspaceRow) -> Result<(Matrix, String)> {
        let Some(stored) =
            self.store.record(row.id, charter_model::RecordKind::CertSettings, "default").await?
        else {
            return Ok((Matrix::default_matrix(), charter_cert::DEFAULT_MATRIX.to_owned()));
        };
        let text = match charter_model::RecordKind::CertSettings.parse_json(&stored.body) {
            Ok(charter_model::Record::CertSettings(settings)) => settings.matrix,
            _ => return Err(AppError::corrupt("cert_settings \"default\" does not parse")),
        };
        // Checked when written: a matrix that no longer reads is corrupt.
        let matrix = Matrix::from_toml("cert_settings/default", &text)
            .map_err(|problems| AppError::corrupt(problems.join("; ")))?;
        Ok((matrix, text))
    }

    /// Certifies the workspace's operations and governance posture
    /// (`charter certify`, `GET …/certification`).
    pub async fn certify(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        request: CertifyRequest,
    ) -> Result<Certification> {
        let row = self.visible_workspace(caller, workspace).await?;
        if request.record {
            caller.require_role(charter_model::Role::Operator)?;
        }
        let (matrix, text) = match request.matrix.clone() {
            Some((name, text)) => (
                Matrix::from_toml(&name, &text)
                    .map_err(|problems| AppError::invalid("claim matrix", problems))?,
                text,
            ),
            None => self.claim_matrix(&row).await?,
        };
        let matrix_sha256 = charter_cert::sha256_hex(text.as_bytes());
        let as_of = request.as_of.unwrap_or_else(|| self.clock.now());

        // Twice, from two readings of the store: the same state must give
        // the same bytes. Every change of state appends to the ledger, so
        // readings between which the log did not grow saw the same state; a
        // live workspace that changed meanwhile is read again (three tries).
        let mut tries = 0;
        let (first, second) = loop {
            tries += 1;
            let before = self.store.event_count(row.id).await?;
            let first = self.measure(caller, &row, &matrix, as_of, None).await?;
            let second = self.measure(caller, &row, &matrix, as_of, first.cache.clone()).await?;
            if tries == 3 || self.store.event_count(row.id).await? == before {
                break (first, second);
            }
        };
        let verdict_of = |measured: &measure::Measured| {
            charter_cert::evaluate(&charter_cert::Inputs {
                workspace: workspace.as_str(),
                as_of,
                matrix: &matrix,
                matrix_sha256: matrix_sha256.clone(),
                observations: &measured.observations,
                evidence: &measured.evidence,
                drills: &measured.drills,
                waivers: &measured.waivers,
                checkpoint: measured.checkpoint.clone(),
            })
        };
        let mut verdict = verdict_of(&first);
        let again = verdict_of(&second);
        if verdict.canonical_json() != again.canonical_json() {
            let differing = verdict.claims.iter().zip(&again.claims).find(|(a, b)| a != b).map_or_else(
                || "the blocker register or waivers".to_owned(),
                |(a, _)| format!("claim {}", a.id),
            );
            verdict.nondeterministic(&differing);
        }
        let json = verdict.canonical_json();
        let markdown = charter_cert::markdown(&verdict);
        let (envelope, unsigned) = match &self.ledger.signer {
            None => (None, Some("the ledger has no signing key".to_owned())),
            Some(signer) => match charter_cert::sign(&verdict, signer) {
                Ok(envelope) => (Some(envelope), None),
                Err(why) => (None, Some(why)),
            },
        };
        let mut recorded_seq = None;
        if request.record
            && let Some(envelope) = &envelope
        {
            let digest = envelope.payload_sha256().map_err(AppError::internal)?;
            let value = serde_json::json!({
                "as_of": as_of,
                "outcome": verdict.outcome,
                "payload_sha256": digest,
                "checkpoint_size": verdict.checkpoint.as_ref().map(|c| c.size),
                "matrix_sha256": matrix_sha256,
                "blockers_active": verdict.blockers.iter().filter(|b| b.state == charter_cert::BlockerState::Active).count(),
            });
            recorded_seq = Some(
                self.log_event(caller, workspace, "certify", CERTIFICATION, workspace.as_str(), &value)
                    .await?,
            );
        }
        Ok(Certification {
            verdict,
            json,
            markdown,
            envelope,
            unsigned,
            measurements: first.measurements,
            recorded_seq,
        })
    }
}
