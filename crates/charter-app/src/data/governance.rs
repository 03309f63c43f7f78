//! The daily governance check (PROC-DAILY-GOVERNANCE) as a use case: the
//! dashboard of `charter-data`'s check, and one RAIDA item per AMBER or RED
//! finding, raised once and updated after (never duplicated), closed when
//! the finding is gone.

use charter_data::check::{Dashboard, Inputs, Status, daily_check};
use charter_model::{Date, RaidaKind, RecordKind, Severity, WorkspaceName};
use serde::Serialize;

use crate::data::datasets::{data_settings, pick, values};
use crate::data::raida::{Raise, Raised, raise};
use crate::decisions::review::{ORIGIN_PREFIX as REVIEW_PREFIX, review_action};
use crate::{App, Caller, Result};

/// Prefix of the origin keys of items the check raises.
const ORIGIN_PREFIX: &str = "check/";

/// The kinds of records the check reads (RAIDA items included: it says
/// what would happen to them).
const CHECK_KINDS: &[RecordKind] = &[
    RecordKind::Agent,
    RecordKind::Dataset,
    RecordKind::Change,
    RecordKind::QualityRun,
    RecordKind::Policy,
    RecordKind::Team,
    RecordKind::DataSettings,
    RecordKind::AlertClass,
    RecordKind::Procedure,
    RecordKind::Person,
    RecordKind::ObserveSettings,
    RecordKind::Raida,
];

/// A reading kept for the day, the revision of the records it read and the
/// month's unexplained spend it saw.
#[derive(Debug)]
pub(crate) struct KeptReading {
    key: (Date, u64, (u64, u64)),
    check: std::sync::Arc<GovernanceCheck>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Serialize)]
pub struct GovernanceCheck {
    /// The dashboard.
    pub dashboard: Dashboard,
    /// What happened to the RAIDA items about the findings, or, when
    /// `applied` is false, what would.
    pub raida: Vec<Raised>,
    /// Whether the RAIDA items were brought in line (`false`: a reading).
    pub applied: bool,
}

impl App {
    /// Runs the daily governance check for `today` and brings its RAIDA
    /// items in line, in one transaction.
    pub async fn governance_check(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        today: Date,
    ) -> Result<GovernanceCheck> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Raida)?;
        let at = self.clock.now();
        let (actor, target) = (caller.actor().to_owned(), row.clone());
        self.write(&row, move |_app, tx| {
            let (row, actor) = (target.clone(), actor.clone());
            Box::pin(async move {
                let (check, writes) = check_in(tx, &row, today).await?;
                crate::core::audit::write_records(tx, &row, &actor, at, &writes).await?;
                Ok(check)
            })
        })
        .await
    }

    /// The daily governance check for `today` as a reading: the dashboard,
    /// and what would happen to its RAIDA items, changing nothing. The
    /// reading is kept and given again while the day, the records it reads
    /// and the month's unexplained spend stay the same.
    pub async fn governance_reading(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        today: Date,
    ) -> Result<std::sync::Arc<GovernanceCheck>> {
        let row = self.visible_workspace(caller, workspace).await?;
        // The key is read before the records, so a kept reading is never
        // older than its key.
        let revision = crate::core::audit::revision(&self.store, &row, CHECK_KINDS).await?;
        let month = today.to_string()[..7].to_owned();
        let spend = self.store.unexplained_spend(row.id, &month).await?;
        let key = (today, revision, spend);
        let kept = {
            let readings = self.cache.readings.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            readings
                .get(&row.id)
                .filter(|kept| kept.key == key)
                .map(|kept| std::sync::Arc::clone(&kept.check))
        };
        if let Some(check) = kept {
            return Ok(check);
        }
        // A reading: it holds no write lock, and writes nothing.
        let mut tx = self.store.begin_reading().await?;
        let (check, _) = check_in(&mut tx, &row, today).await?;
        drop(tx);
        let check = std::sync::Arc::new(GovernanceCheck { applied: false, ..check });
        self.cache
            .readings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(row.id, KeptReading { key, check: std::sync::Arc::clone(&check) });
        Ok(check)
    }
}

/// The check on what `tx` sees, with the writes that would bring its RAIDA
/// items in line.
async fn check_in(
    tx: &mut charter_store::WriteTx,
    row: &charter_store::WorkspaceRow,
    today: Date,
) -> Result<(GovernanceCheck, Vec<crate::core::audit::RecordWrite>)> {
    let agents = values(tx, row, RecordKind::Agent, pick::agent).await?;
    let datasets = values(tx, row, RecordKind::Dataset, pick::dataset).await?;
    let changes = values(tx, row, RecordKind::Change, pick::change).await?;
    let runs = values(tx, row, RecordKind::QualityRun, pick::quality_run).await?;
    let policies = values(tx, row, RecordKind::Policy, pick::policy).await?;
    let teams = values(tx, row, RecordKind::Team, pick::team).await?;
    let threshold = data_settings(tx, row).await?.threshold();
    let alert_classes = values(tx, row, RecordKind::AlertClass, pick::alert_class).await?;
    let procedures = tx.record_ids(row.id, RecordKind::Procedure).await?;
    let people = tx.record_ids(row.id, RecordKind::Person).await?;
    let receivers: Vec<String> = match tx.record(row.id, RecordKind::ObserveSettings, "default").await? {
        Some(stored) => match RecordKind::ObserveSettings.parse_json(&stored.body) {
            Ok(charter_model::Record::ObserveSettings(settings)) => settings.receivers.into_keys().collect(),
            _ => return Err(crate::AppError::corrupt("observe_settings \"default\" does not parse")),
        },
        None => Vec::new(),
    };
    let month = today.to_string()[..7].to_owned();
    let unpriced: u64 = tx.spend(row.id, &month).await?.iter().map(|s| s.unpriced_tokens).sum();
    let unattributed = tx.unattributed_spans(row.id, &month).await?;
    let dashboard = daily_check(&Inputs {
        unexplained_spend: (unpriced > 0 || unattributed > 0).then_some((
            month.as_str(),
            unpriced,
            unattributed,
        )),
        alert_classes: &alert_classes,
        procedures: &procedures,
        people: &people,
        receivers: &receivers,
        agents: &agents,
        datasets: &datasets,
        changes: &changes,
        runs: &runs,
        policies: &policies,
        teams: &teams,
        threshold,
        today,
    });
    // One item per finding's origin; findings that share one
    // (two dangling fields of one dataset) share its item.
    let mut raises: Vec<Raise> = Vec::new();
    for section in &dashboard.sections {
        for finding in &section.findings {
            if finding.status == Status::Green || finding.code == "policy-review-due" {
                continue;
            }
            let origin_key = format!("{ORIGIN_PREFIX}{}/{}", finding.code, finding.subject);
            if let Some(existing) = raises.iter_mut().find(|r| r.origin_key == origin_key) {
                existing.title = format!("{}; {}", existing.title, finding.message);
                continue;
            }
            raises.push(Raise {
                origin_key,
                item_type: if finding.status == Status::Red { RaidaKind::Issue } else { RaidaKind::Action },
                title: finding.message.clone(),
                description: format!(
                    "PROC-DAILY-GOVERNANCE found {} ({}, {}).",
                    finding.code, section.section, finding.status
                ),
                owner: finding.owner.clone(),
                severity: if finding.status == Status::Red { Severity::High } else { Severity::Medium },
                source: finding.subject.clone(),
                due_date: None,
            });
        }
    }
    let (mut writes, mut raised) = raise(tx, row, ORIGIN_PREFIX, raises).await?;
    // Policy reviews share the items `charter policy review-due` raises.
    let reviews = policies
        .iter()
        .filter_map(|policy| {
            charter_data::check::review_due(policy, today).map(|due| review_action(policy, due))
        })
        .collect();
    let (review_writes, review_raised) = raise(tx, row, REVIEW_PREFIX, reviews).await?;
    writes.extend(review_writes);
    raised.extend(review_raised);
    Ok((GovernanceCheck { dashboard, raida: raised, applied: true }, writes))
}
