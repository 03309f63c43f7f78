//! The decision log as people search it: by agent, action, resource,
//! outcome, reason and time, newest first; and one decision with the proof
//! that the ledger holds it.

use charter_ledger::{Checkpoint, leaf_hash};
use charter_model::{Timestamp, WorkspaceName};
use charter_policy::{DECISION, Effect, LoggedDecision};
use serde::Serialize;

use crate::ledger::InclusionProof;
use crate::{App, AppError, Caller, Result};

/// Which decisions to list; every field that is set must match.
#[derive(Debug, Clone, Default)]
pub struct DecisionSearch {
    /// The principal's id (an agent's, a person's).
    pub principal: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// The resource's id.
    pub resource: Option<String>,
    /// Allow or deny.
    pub outcome: Option<Effect>,
    /// Text one of the reasons contains.
    pub reason: Option<String>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
}

/// A logged decision.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionLine {
    /// `DEC-<seq>`.
    pub decision_id: String,
    /// Its ledger entry.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// Who asked.
    pub actor: String,
    /// What the ledger records.
    pub decision: LoggedDecision,
}

/// A page of the decision log.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionPage {
    /// Matching decisions, newest first.
    pub items: Vec<DecisionLine>,
    /// Pass as `before` to go on (absent when the log has no older entry).
    pub next_before: Option<u64>,
}

/// One decision and the proof that the ledger holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenDecision {
    /// The decision.
    pub line: DecisionLine,
    /// Its inclusion proof in the tree of the latest signed checkpoint
    /// (none while no signed checkpoint covers it yet).
    pub proof: Option<InclusionProof>,
    /// The leaf hash recomputed from the stored event.
    pub leaf_hash: String,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: Option<String>,
    /// Whether the recomputed leaf, the proof and the checkpoint's root and
    /// signature agree; if not, why.
    pub verified: std::result::Result<(), String>,
}

/// Events read at most for one page of a search.
const SCAN: usize = 50_000;

impl DecisionSearch {
    fn matches(&self, decision: &LoggedDecision) -> bool {
        self.principal.as_ref().is_none_or(|id| &decision.principal.id == id)
            && self.action.as_ref().is_none_or(|action| &decision.action == action)
            && self.resource.as_ref().is_none_or(|id| &decision.resource.id == id)
            && self.outcome.is_none_or(|outcome| decision.decision == outcome)
            && self
                .reason
                .as_ref()
                .is_none_or(|text| decision.reasons.iter().any(|r| r.contains(text.as_str())))
    }
}

fn line(event: &charter_store::EventRow) -> Option<DecisionLine> {
    #[derive(serde::Deserialize)]
    struct Event {
        value: LoggedDecision,
    }
    let Event { value } = serde_json::from_str(&event.body).ok()?;
    Some(DecisionLine {
        decision_id: charter_policy::decision_id(event.seq),
        seq: event.seq,
        at: event.at,
        actor: event.actor.clone(),
        decision: value,
    })
}

impl App {
    /// Decisions matching `search`, newest first, older than entry `before`
    /// (default: all), at most `limit` (up to 200); one page reads at most
    /// 50,000 decisions, and says where to go on.
    pub async fn search_decisions(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        search: &DecisionSearch,
        before: Option<u64>,
        limit: usize,
    ) -> Result<DecisionPage> {
        let row = self.visible_workspace(caller, workspace).await?;
        let limit = limit.clamp(1, 200);
        let filter = charter_store::EventFilter {
            kind: Some(DECISION.into()),
            // A decision's subject is its principal: the store finds one
            // principal's decisions by index instead of reading the log.
            subject: search.principal.clone(),
            since: search.since,
            until: search.until,
            ..charter_store::EventFilter::default()
        };
        let mut bound = before.unwrap_or(u64::MAX >> 1);
        let (mut items, mut scanned) = (Vec::new(), 0);
        loop {
            let events = self.store.events_matching_before(row.id, &filter, bound, 1_000).await?;
            let Some(last) = events.last() else { return Ok(DecisionPage { items, next_before: None }) };
            let full = events.len() == 1_000;
            for event in &events {
                bound = event.seq;
                scanned += 1;
                if let Some(line) = line(event).filter(|line| search.matches(&line.decision)) {
                    items.push(line);
                    if items.len() == limit {
                        return Ok(DecisionPage { items, next_before: Some(bound) });
                    }
                }
            }
            bound = last.seq;
            if !full {
                return Ok(DecisionPage { items, next_before: None });
            }
            if scanned >= SCAN {
                return Ok(DecisionPage { items, next_before: Some(bound) });
            }
        }
    }

    /// One decision by id (`DEC-…`) with its inclusion proof, checked here
    /// against the stored event and the latest signed checkpoint.
    pub async fn proven_decision(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<ProvenDecision> {
        let row = self.visible_workspace(caller, workspace).await?;
        let not_found =
            || AppError::invalid("decision", vec![format!("id: {id} is no decision of this workspace")]);
        let seq = charter_policy::decision_seq(id).ok_or_else(not_found)?;
        let event = self.store.events(row.id, seq, seq).await?.into_iter().next().ok_or_else(not_found)?;
        let line = line(&event).filter(|_| event.kind == DECISION).ok_or_else(not_found)?;
        let leaf = leaf_hash(event.body.as_bytes());
        let checkpoint = self.store.latest_checkpoint(row.id).await?;
        let covered = checkpoint.as_ref().is_some_and(|checkpoint| checkpoint.size >= seq);
        let proof = match covered {
            true => Some(self.inclusion_proof(caller, workspace, seq - 1, None).await?),
            false => None,
        };
        let verified = (|| {
            let proof = proof.as_ref().ok_or(
                "no signed checkpoint covers it yet (the server signs one within a second of a change)",
            )?;
            charter_ledger::verify_inclusion(&leaf, proof.index, proof.size, &proof.hashes, &proof.root)
                .map_err(|error| {
                    format!("the proof does not lead from the stored event to the root: {error}")
                })?;
            let checkpoint = checkpoint.as_ref().ok_or("no signed checkpoint covers it yet")?;
            let verifier = self.verifier().ok_or("no key to check the checkpoint's signature with")?;
            let body = Checkpoint::open(&checkpoint.note, &verifier)
                .map_err(|error| format!("the checkpoint's signature does not verify: {error}"))?;
            if body.size != proof.size || body.root != proof.root {
                return Err(format!(
                    "the proof is for a tree of {} entries, the signed checkpoint for {}",
                    proof.size, body.size
                ));
            }
            Ok(())
        })();
        Ok(ProvenDecision {
            line,
            leaf_hash: leaf.to_hex(),
            checkpoint: checkpoint.map(|c| c.note),
            proof,
            verified,
        })
    }
}
