//! Waivers of certification blockers (`WVR-YYYY-MM-DD-NNN`): requested for
//! a scope (a blocker OC-B1..B5 or a claim) with a reason, an owner and an
//! expiry no later than the matrix allows; approved by someone other than
//! the owner and the requester, the decision point deciding and logging
//! it. OC-B6 and OC-B7 are never waived: a verdict that cannot be
//! reproduced or a claim never resolved is not a gap to accept.

use charter_model::{Key, Person, Record, RecordKind, Timestamp, Waiver, WorkspaceName};

use crate::core::audit::RecordWrite;
use crate::{App, AppError, Caller, Result};

/// A waiver to request.
#[derive(Debug, Clone)]
pub struct NewWaiver {
    /// `OC-B1` … `OC-B5`, or a claim id (`T0.1` …).
    pub scope: String,
    /// Why the gap is accepted for now.
    pub reason: String,
    /// Who owns the gap (a registered person).
    pub owner: String,
    /// When it ends.
    pub expires_at: Timestamp,
}

impl App {
    /// Requests a waiver (`charter waiver request`); it holds nothing until
    /// approved.
    pub async fn request_waiver(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        new: NewWaiver,
    ) -> Result<Waiver> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Waiver)?;
        self.decide_write(caller, &row, RecordKind::Waiver).await?;
        let now = self.clock.now();
        let max_days = self.claim_matrix(&row).await?.0.waivers.max_days;
        let mut problems = Vec::new();
        match new.scope.parse::<charter_cert::BlockerId>() {
            Ok(blocker) if !blocker.waivable() => problems.push(format!(
                "scope: {blocker} ({}) is never waived: it fails the verdict closed",
                blocker.meaning()
            )),
            Ok(_) => {}
            Err(_) if charter_cert::is_claim_id(&new.scope) => {}
            Err(_) => problems.push(format!(
                "scope: \"{}\" is neither a blocker (OC-B1 … OC-B5) nor a claim (T0.1 …)",
                new.scope
            )),
        }
        if new.reason.trim().is_empty() {
            problems.push("reason: must not be empty".into());
        }
        let people: Vec<Person> = self.read_values(&row).await?;
        if !people.iter().any(|person| person.person_id.as_str() == new.owner) {
            problems.push(format!("owner: no registered person \"{}\"", new.owner));
        }
        let longest = now.plus(charter_model::Span::from_secs(u64::from(max_days) * 86_400));
        if new.expires_at <= now {
            problems.push(format!("expires_at: {} is not in the future", new.expires_at));
        } else if longest.is_some_and(|longest| new.expires_at > longest) {
            problems.push(format!("expires_at: {} is more than {max_days} days away", new.expires_at));
        }
        if !problems.is_empty() {
            return Err(AppError::invalid("waiver", problems));
        }
        let waiver = Waiver {
            waiver_id: Key::new("WVR-0").map_err(|e| AppError::internal(e.to_string()))?,
            scope: new.scope,
            reason: new.reason,
            owner: new.owner,
            requested_by: caller.actor().to_owned(),
            requested_at: now,
            approver: None,
            approved_at: None,
            decision_id: None,
            expires_at: new.expires_at,
        };
        let (target, actor) = (row.clone(), caller.actor().to_owned());
        self.write(&row, move |_app, tx| {
            let (row, actor, mut waiver) = (target.clone(), actor.clone(), waiver.clone());
            Box::pin(async move {
                let date = now.date();
                let seq = crate::operations::declare::advance_day_counter(tx, &row, "waiver", date, "waiver")
                    .await?;
                waiver.waiver_id = Key::new(format!("WVR-{date}-{seq:03}"))
                    .map_err(|e| AppError::internal(e.to_string()))?;
                let write = RecordWrite::create(
                    RecordKind::Waiver,
                    waiver.waiver_id.to_string(),
                    Record::from(waiver.clone()).to_canonical_json(),
                );
                crate::core::audit::write_records(tx, &row, &actor, now, &[write]).await?;
                Ok(waiver)
            })
        })
        .await
    }

    /// Approves a waiver (`charter waiver approve`): the decision point
    /// decides (logged, its id kept in the waiver); the approver is neither
    /// its owner nor who requested it.
    pub async fn approve_waiver(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<Waiver> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Waiver)?;
        self.require_registered(caller, workspace).await?;
        let resource =
            charter_policy::EntityRef { entity_type: "Workspace".into(), id: row.name.to_string() };
        let mut context = serde_json::Map::new();
        context.insert("kind".into(), RecordKind::Waiver.name().into());
        context.insert("writer".into(), RecordKind::Waiver.writer().as_str().into());
        let decision = self.require_allowed(caller, &row, "write_record", resource, context).await?;
        let approver = caller.actor().to_owned();
        let now = self.clock.now();
        let (target, id) = (row.clone(), id.to_owned());
        self.write(&row, move |_app, tx| {
            let (row, id, approver, decision) =
                (target.clone(), id.clone(), approver.clone(), decision.clone());
            Box::pin(async move {
                let stored = tx
                    .record(row.id, RecordKind::Waiver, &id)
                    .await?
                    .ok_or_else(|| AppError::NotFound { kind: RecordKind::Waiver, id: id.clone() })?;
                let mut waiver = match RecordKind::Waiver.parse_json(&stored.body) {
                    Ok(Record::Waiver(waiver)) => *waiver,
                    _ => return Err(AppError::corrupt(format!("waiver \"{id}\" does not parse"))),
                };
                if approver == waiver.owner || approver == waiver.requested_by {
                    return Err(AppError::Forbidden(format!(
                        "separation of duties: {approver} {} {id}; another person must approve it",
                        if approver == waiver.owner { "owns" } else { "requested" }
                    )));
                }
                if waiver.approved_at.is_some() {
                    return Err(AppError::AlreadyExists { what: "approval of waiver".into(), id });
                }
                if waiver.expires_at <= now {
                    return Err(AppError::invalid(
                        "waiver approval",
                        vec![format!("{id} expired at {}", waiver.expires_at)],
                    ));
                }
                waiver.approver = Some(approver.clone());
                waiver.approved_at = Some(now);
                waiver.decision_id = decision;
                let write = RecordWrite::update(
                    RecordKind::Waiver,
                    id,
                    Record::from(waiver.clone()).to_canonical_json(),
                    stored.version,
                );
                crate::core::audit::write_records(tx, &row, &approver, now, &[write]).await?;
                Ok(waiver)
            })
        })
        .await
    }
}
