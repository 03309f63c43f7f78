//! The quarterly policy review (POL-GOVERNANCE-MASTER rule 4): policies
//! whose last review is a quarter old or more get a RAIDA action for their
//! owner, raised once per review cycle.

use charter_model::{Date, Policy, RaidaKind, RecordKind, Severity, WorkspaceName};
use serde::Serialize;

use crate::data::datasets::{pick, values};
use crate::data::raida::{Raise, raise};
use crate::{App, Caller, Result};

pub use charter_data::check::REVIEW_MONTHS;

/// Prefix of the origin keys of review actions.
pub(crate) const ORIGIN_PREFIX: &str = "policy-review/";

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

/// The RAIDA action about reviewing `policy`, due since `due_since`: one
/// per review cycle (its origin key names the last review).
pub(crate) fn review_action(policy: &Policy, due_since: Option<Date>) -> Raise {
    let id = policy.policy_id.to_string();
    let (origin_key, title) = match policy.last_review {
        Some(last) => (
            format!("{ORIGIN_PREFIX}{id}/{last}"),
            format!(
                "review policy {id}: last reviewed {last}, due {}",
                due_since.map(|d| d.to_string()).unwrap_or_default()
            ),
        ),
        None => (format!("{ORIGIN_PREFIX}{id}/never"), format!("review policy {id}: never reviewed")),
    };
    Raise {
        origin_key,
        item_type: RaidaKind::Action,
        title,
        description: format!(
            "POL-GOVERNANCE-MASTER: policies are reviewed quarterly. Review {id} (\"{}\"), then set its last_review.",
            policy.title
        ),
        owner: Some(policy.owner.clone()),
        severity: Severity::Medium,
        source: format!("policy/{id}"),
        due_date: due_since,
    }
}

impl App {
    /// The policies (not retired) whose last review is at least a quarter
    /// before `today` (or that were never reviewed), each with a RAIDA
    /// action assigned to its owner: raised on the first run that finds it
    /// due, found again (not duplicated) on later runs, raised anew for the
    /// next cycle once the policy's `last_review` moves on, and closed when
    /// the policy no longer needs it.
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
                let mut due = Vec::new();
                let mut actions = Vec::new();
                for policy in values(tx, &row, RecordKind::Policy, pick::policy).await? {
                    let Some(due_since) = charter_data::check::review_due(&policy, today) else { continue };
                    actions.push(review_action(&policy, due_since));
                    due.push(ReviewDue {
                        policy: policy.policy_id.to_string(),
                        owner: policy.owner,
                        last_review: policy.last_review,
                        due_since,
                        raida_id: String::new(),
                        opened: false,
                    });
                }
                let (writes, raised) = raise(tx, &row, ORIGIN_PREFIX, actions).await?;
                for (item, outcome) in due.iter_mut().zip(&raised) {
                    item.raida_id = outcome.raida_id.clone();
                    item.opened = outcome.outcome == crate::RaisedOutcome::Opened;
                }
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(due)
            })
        })
        .await
    }
}
