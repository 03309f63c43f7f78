//! The quarterly policy review (POL-GOVERNANCE-MASTER rule 4): policies
//! whose last review is a quarter old or more get a RAIDA action for their
//! owner, raised once per review cycle.

use std::collections::{HashMap, HashSet};

use charter_model::raida::RaidaItem;
use charter_model::{
    Date, PolicyStatus, RaidaKind, RaidaStatus, Record, RecordKind, Severity, WorkspaceName,
};
use serde::Serialize;

use crate::audit::RecordWrite;
use crate::{App, AppError, Caller, Result};

/// Months between two reviews of a policy.
pub const REVIEW_MONTHS: u32 = 3;

/// A policy due for review, and the RAIDA action about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewDue {
    /// The policy.
    pub policy: String,
    /// Its owner, who is to review it.
    pub owner: String,
    /// When it was last reviewed (never, when absent).
    pub last_review: Option<Date>,
    /// When the review fell due (absent when never reviewed).
    pub due_since: Option<Date>,
    /// The RAIDA action about this review.
    pub raida_id: String,
    /// Whether this run raised the action (false: it was raised before).
    pub opened: bool,
}

/// The origin key of the action about reviewing `policy` after `last`.
fn origin_key(policy: &str, last: Option<Date>) -> String {
    match last {
        Some(date) => format!("policy-review/{policy}/{date}"),
        None => format!("policy-review/{policy}/never"),
    }
}

fn corrupt(kind: RecordKind, id: &str) -> AppError {
    AppError::Store(charter_store::StoreError::Corrupt(format!("{kind} \"{id}\" does not parse")))
}

impl App {
    /// The policies (not retired) whose last review is at least a quarter
    /// before `today` (or that were never reviewed), each with a RAIDA
    /// action assigned to its owner: raised on the first run that finds it
    /// due, found again (not duplicated) on later runs, and raised anew for
    /// the next cycle once the policy's `last_review` moves on.
    pub async fn policies_due_for_review(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        today: Date,
    ) -> Result<Vec<ReviewDue>> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Raida)?;
        let at = self.clock.now();
        let actor = caller.actor().to_owned();
        let target = row.clone();
        self.write(&row, move |_app, tx| {
            let (row, actor) = (target.clone(), actor.clone());
            Box::pin(async move {
                let mut raised: HashMap<String, String> = HashMap::new();
                let mut taken = HashSet::new();
                for stored in tx.all_records(row.id, RecordKind::Raida).await? {
                    let Ok(Record::Raida(item)) = RecordKind::Raida.parse_json(&stored.body) else {
                        return Err(corrupt(RecordKind::Raida, &stored.id));
                    };
                    if let Some(key) = item.origin_key {
                        raised.insert(key, stored.id.clone());
                    }
                    taken.insert(stored.id);
                }
                let mut due = Vec::new();
                let mut writes = Vec::new();
                for stored in tx.all_records(row.id, RecordKind::Policy).await? {
                    let Ok(Record::Policy(policy)) = RecordKind::Policy.parse_json(&stored.body) else {
                        return Err(corrupt(RecordKind::Policy, &stored.id));
                    };
                    if policy.status == PolicyStatus::Retired {
                        continue;
                    }
                    let due_since = policy.last_review.and_then(|last| last.plus_months(REVIEW_MONTHS));
                    if due_since.is_some_and(|since| since > today) {
                        continue;
                    }
                    let id = policy.policy_id.to_string();
                    let key = origin_key(&id, policy.last_review);
                    let (raida_id, opened) = match raised.get(&key) {
                        Some(existing) => (existing.clone(), false),
                        None => {
                            let raida_id = crate::references::allocate_id(tx, &row, &mut taken).await?;
                            let title = match policy.last_review {
                                Some(last) => format!("review policy {id}: last reviewed {last}, due {}", due_since.map(|d| d.to_string()).unwrap_or_default()),
                                None => format!("review policy {id}: never reviewed"),
                            };
                            let item = RaidaItem {
                                raida_id: raida_id.clone(),
                                item_type: RaidaKind::Action,
                                title,
                                description: Some(format!(
                                    "POL-GOVERNANCE-MASTER: policies are reviewed quarterly. Review {id} (\"{}\"), then set its last_review.",
                                    policy.title
                                )),
                                owner: Some(policy.owner.clone()),
                                severity: Severity::Medium,
                                status: RaidaStatus::Open,
                                source: Some(format!("policy/{id}")),
                                origin_key: Some(key),
                                due_date: due_since,
                            };
                            let record = Record::from(item);
                            writes.push(RecordWrite::create(RecordKind::Raida, record.id(), record.to_canonical_json()));
                            (raida_id.to_string(), true)
                        }
                    };
                    due.push(ReviewDue {
                        policy: id,
                        owner: policy.owner,
                        last_review: policy.last_review,
                        due_since,
                        raida_id,
                        opened,
                    });
                }
                crate::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(due)
            })
        })
        .await
    }
}
