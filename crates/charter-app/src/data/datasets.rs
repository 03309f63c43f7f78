//! Data-model governance as use cases: creating a dataset in DRAFT
//! (PROC-CREATE-DATASET) and promoting it through its gates. Schema changes
//! are in `changes.rs`, quality runs in `quality.rs`, the RAIDA log in
//! `raida.rs` and the daily check in `governance.rs`.

use charter_data::gates::{Gate, Promotion, promotion_gates};
use charter_model::data::DataSettings;
use charter_model::{
    AgentStatus, Change, Dataset, DatasetScope, QualityRun, Record, RecordKind, RecordValue, WorkspaceName,
};
use charter_store::{WorkspaceRow, WriteTx};
use serde::Serialize;

use crate::core::audit::RecordWrite;
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// A record read in a transaction, with the version updates must name.
#[derive(Debug, Clone)]
pub(crate) struct Loaded<T> {
    pub(crate) id: String,
    pub(crate) version: u64,
    pub(crate) value: T,
}

fn corrupt(kind: RecordKind, id: &str) -> AppError {
    AppError::corrupt(format!("{kind} \"{id}\" does not parse"))
}

/// Every record of `kind` in the workspace, decoded with `pick`.
pub(crate) async fn load_all<T>(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    kind: RecordKind,
    pick: fn(Record) -> Option<T>,
) -> Result<Vec<Loaded<T>>> {
    let mut all = Vec::new();
    for stored in tx.all_records(row.id, kind).await? {
        let value =
            kind.parse_json(&stored.body).ok().and_then(pick).ok_or_else(|| corrupt(kind, &stored.id))?;
        all.push(Loaded { id: stored.id, version: stored.version, value });
    }
    Ok(all)
}

/// Every record of `kind`, values only.
pub(crate) async fn values<T>(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    kind: RecordKind,
    pick: fn(Record) -> Option<T>,
) -> Result<Vec<T>> {
    Ok(load_all(tx, row, kind, pick).await?.into_iter().map(|l| l.value).collect())
}

/// One record of `kind`, or NotFound.
pub(crate) async fn load_one<T>(
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    kind: RecordKind,
    id: &str,
    pick: fn(Record) -> Option<T>,
) -> Result<Loaded<T>> {
    let stored =
        tx.record(row.id, kind, id).await?.ok_or_else(|| AppError::NotFound { kind, id: id.to_owned() })?;
    let value = kind.parse_json(&stored.body).ok().and_then(pick).ok_or_else(|| corrupt(kind, id))?;
    Ok(Loaded { id: stored.id, version: stored.version, value })
}

/// Pickers for [`load_all`].
pub(crate) mod pick {
    use charter_model::data::{Change, DataSettings, QualityRun};
    use charter_model::grant::Grant;
    use charter_model::{
        Agent, Alert, AlertClass, Budget, Dataset, Incident, KpiRecord, Person, Policy, Procedure, RaidaItem,
        Record, Team, Workflow,
    };

    macro_rules! pickers {
        ($($name:ident: $variant:ident => $ty:ty),+ $(,)?) => {$(
            pub(crate) fn $name(record: Record) -> Option<$ty> {
                match record { Record::$variant(value) => Some(*value), _ => None }
            }
        )+};
    }

    pickers!(
        dataset: Dataset => Dataset,
        agent: Agent => Agent,
        workflow: Workflow => Workflow,
        policy: Policy => Policy,
        procedure: Procedure => Procedure,
        grant: Grant => Grant,
        team: Team => Team,
        change: Change => Change,
        quality_run: QualityRun => QualityRun,
        raida: Raida => RaidaItem,
        data_settings: DataSettings => DataSettings,
        alert: Alert => Alert,
        alert_class: AlertClass => AlertClass,
        incident: Incident => Incident,
        kpi: Kpi => KpiRecord,
        budget: Budget => Budget,
        person: Person => Person,
    );
}

/// The workspace's data settings (defaults when it has none).
pub(crate) async fn data_settings(tx: &mut WriteTx, row: &WorkspaceRow) -> Result<DataSettings> {
    match load_one(tx, row, RecordKind::DataSettings, "default", pick::data_settings).await {
        Ok(loaded) => Ok(loaded.value),
        Err(AppError::NotFound { .. }) => Ok(DataSettings {
            // INVARIANT: "default" is a valid key.
            settings_id: charter_model::Key::new("default".to_owned()).unwrap_or_else(|_| unreachable!()),
            quality_threshold: None,
            webhook_url: None,
        }),
        Err(error) => Err(error),
    }
}

/// The outcome of a promotion.
#[derive(Debug, Clone, Serialize)]
pub struct Promoted {
    /// The dataset after promotion.
    pub dataset: RecordView,
    /// The gates, all met.
    pub gates: Vec<Gate>,
    /// The decision that allowed it.
    pub decision_id: Option<String>,
}

impl App {
    /// Every stored record of `kind`, with its version and times, a page
    /// at a time.
    pub(crate) async fn stored_records(
        &self,
        row: &WorkspaceRow,
        kind: RecordKind,
    ) -> Result<Vec<charter_store::StoredRecord>> {
        const PAGE: u32 = 1_000;
        let mut all = Vec::new();
        loop {
            let after = all.last().map(|stored: &charter_store::StoredRecord| stored.id.clone());
            let page = self.store.records(row.id, kind, after.as_deref(), PAGE).await?;
            let full = page.len() == PAGE as usize;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// Every record of type `T` in the workspace, in id order, read outside
    /// any write transaction and decoded straight into its type while the
    /// database streams the rows.
    pub(crate) async fn read_values<T: RecordValue>(&self, row: &WorkspaceRow) -> Result<Vec<T>> {
        self.read_values_sized(row, 0).await
    }

    /// [`App::read_values`] into a vector made for `expected` records (a
    /// count read beforehand), so half a million snapshots are not copied
    /// from one doubling of the vector to the next.
    pub(crate) async fn read_values_sized<T: RecordValue>(
        &self,
        row: &WorkspaceRow,
        expected: usize,
    ) -> Result<Vec<T>> {
        let mut all = Vec::with_capacity(expected);
        self.store
            .visit_values(row.id, T::KIND, |id, body| {
                all.push(serde_json::from_str(body).map_err(|_| corrupt(T::KIND, id))?);
                Ok::<_, AppError>(())
            })
            .await?;
        Ok(all)
    }

    /// PROC-CREATE-DATASET: registers a dataset in DRAFT at schema version
    /// 1, managed by an active (or pilot) specialist agent, with a schema
    /// that has a key and rules that compile.
    pub async fn create_dataset(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        dataset: Dataset,
    ) -> Result<RecordView> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Dataset)?;
        self.decide_write(caller, &row, RecordKind::Dataset).await?;
        let mut problems = Vec::new();
        if dataset.scope != DatasetScope::Draft {
            problems.push(format!("scope: a dataset is created in DRAFT, got {}", dataset.scope));
        }
        if dataset.schema_version != 1 {
            problems
                .push(format!("schema_version: a new dataset starts at 1, got {}", dataset.schema_version));
        }
        if dataset.fields.is_empty() {
            problems.push("fields: a dataset needs its fields (PROC-CREATE-DATASET step 1)".into());
        } else if dataset.key_fields().next().is_none() {
            problems.push("fields: no field is marked key".into());
        }
        match &dataset.managed_by_agent {
            None => problems.push(
                "managed_by_agent: each dataset must have a specialist agent (POL-DATASET-MANAGEMENT rule 1)"
                    .into(),
            ),
            Some(agent) => match self.store.record(row.id, RecordKind::Agent, agent.as_str()).await? {
                None => problems.push(format!("managed_by_agent: \"{agent}\" is not a registered agent")),
                Some(stored) => {
                    if let Ok(Record::Agent(agent_record)) = RecordKind::Agent.parse_json(&stored.body)
                        && matches!(agent_record.status, AgentStatus::Paused | AgentStatus::Retired)
                    {
                        problems.push(format!("managed_by_agent: \"{agent}\" is {}", agent_record.status));
                    }
                }
            },
        }
        for (index, dataset_ref) in dataset.dependencies.iter().chain(&dataset.relationships).enumerate() {
            if self.store.record(row.id, RecordKind::Dataset, dataset_ref.as_str()).await?.is_none() {
                problems.push(format!(
                    "dependencies/relationships[{index}]: \"{dataset_ref}\" is not a registered dataset"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(AppError::invalid(format!("dataset {}", dataset.dataset_id), problems));
        }
        self.create_record(caller, workspace, Record::from(dataset)).await
    }

    /// Promotes a dataset one scope up (DRAFT → STAGE → PUBLISHED) when the
    /// decision point allows `promote_dataset` and every gate is met;
    /// otherwise refuses, listing every unmet gate.
    pub async fn promote_dataset(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        target: DatasetScope,
    ) -> Result<Promoted> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Dataset)?;
        let resource = charter_policy::EntityRef { entity_type: "Dataset".into(), id: id.to_owned() };
        let answer = self.decide_as_caller(caller, &row, "promote_dataset", resource).await?;
        let allowed = answer.decision == charter_policy::Effect::Allow;
        let decision = Gate {
            gate: "decision",
            met: allowed,
            detail: if allowed {
                format!(
                    "{} allows promote_dataset",
                    answer.decision_id.as_deref().unwrap_or("the decision point")
                )
            } else {
                crate::operations::declare::denied(&answer)
            },
        };
        let at = self.clock.now();
        let actor = caller.actor().to_owned();
        let (target_row, id) = (row.clone(), id.to_owned());
        let decision_id = answer.decision_id.clone();
        self.write(&row, move |_app, tx| {
            let (row, id, actor, decision) =
                (target_row.clone(), id.clone(), actor.clone(), decision.clone());
            let decision_id = decision_id.clone();
            Box::pin(async move {
                let loaded = load_one(tx, &row, RecordKind::Dataset, &id, pick::dataset).await?;
                let dataset = loaded.value;
                let agent = match &dataset.managed_by_agent {
                    Some(agent) => {
                        match load_one(tx, &row, RecordKind::Agent, agent.as_str(), pick::agent).await {
                            Ok(agent) => Some(agent.value),
                            Err(AppError::NotFound { .. }) => None,
                            Err(error) => return Err(error),
                        }
                    }
                    None => None,
                };
                let runs: Vec<QualityRun> = values(tx, &row, RecordKind::QualityRun, pick::quality_run)
                    .await?
                    .into_iter()
                    .filter(|r| r.dataset_id == dataset.dataset_id)
                    .collect();
                let latest = charter_data::check::latest_runs(&runs).into_values().next().cloned();
                let changes: Vec<Change> = values(tx, &row, RecordKind::Change, pick::change)
                    .await?
                    .into_iter()
                    .filter(|c| c.dataset_affected == dataset.dataset_id)
                    .collect();
                let change_refs: Vec<&Change> = changes.iter().collect();
                let procedures = values(tx, &row, RecordKind::Procedure, pick::procedure).await?;
                let settings = data_settings(tx, &row).await?;
                let mut gates = vec![decision];
                gates.extend(promotion_gates(&Promotion {
                    dataset: &dataset,
                    target,
                    agent: agent.as_ref(),
                    latest_run: latest.as_ref(),
                    threshold: settings.threshold(),
                    procedures: &procedures,
                    changes: &change_refs,
                }));
                let unmet: Vec<String> =
                    gates.iter().filter(|g| !g.met).map(|g| format!("{}: {}", g.gate, g.detail)).collect();
                if !unmet.is_empty() {
                    return Err(AppError::invalid(format!("promotion of {id} to {target}"), unmet));
                }
                let mut promoted = dataset.clone();
                promoted.scope = target;
                promoted.last_modified = Some(at.date());
                let record = Record::from(promoted);
                let body = record.to_canonical_json();
                crate::core::audit::write_records(
                    tx,
                    &row,
                    &actor,
                    at,
                    &[RecordWrite::update(RecordKind::Dataset, id.clone(), body, loaded.version)],
                )
                .await?;
                Ok(Promoted {
                    dataset: RecordView {
                        kind: RecordKind::Dataset,
                        id,
                        version: loaded.version + 1,
                        created_at: at,
                        updated_at: at,
                        record,
                    },
                    gates,
                    decision_id,
                })
            })
        })
        .await
    }
}
