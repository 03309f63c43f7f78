//! Telemetry in. Spans arrive as OTLP/HTTP (protobuf or JSON, as an agent
//! framework's exporter sends them) or as Charter's own span JSON; each
//! request is one logged decision (`write_record` of kind `run`) and one
//! transaction that stores its new spans, gives waiting spans the agent
//! their trace named, and closes every run whose root span is in: the run
//! record, with the SHA-256 of its spans, is its one ledger event. A run
//! that receives a span after closing is amended (a new version).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use charter_model::{
    AgentId, GuardrailHit, Key, Record, RecordKind, RunOutcome, RunRecord, RunValidation, Timestamp,
    WorkspaceName,
};
use charter_observe::otlp::{self, ExportTraceServiceRequest, MapOptions, Mapped, Rejection};
use charter_observe::{Span, SpanKind, SpanProblem};
use charter_store::{SpanRow, SpendRow, WorkspaceRow, WriteTx};
use serde::Serialize;

use super::Directory;
use crate::core::audit::RecordWrite;
use crate::{App, AppError, Caller, Result};

/// Most spans one request may carry.
pub const MAX_INGEST_SPANS: usize = 100_000;

/// What became of a request's spans.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ingested {
    /// Spans accepted: stored now, or stored before (a span sent again is
    /// accepted and changes nothing).
    pub accepted: u64,
    /// Accepted spans that were new.
    pub stored: u64,
    /// Accepted spans that wait for a span of their trace to name their agent.
    pub waiting: u64,
    /// Spans refused, each with its reason.
    pub rejected: Vec<Rejection>,
    /// Accepted spans that end in the future beyond the tolerated skew.
    pub flagged: Vec<Rejection>,
    /// Runs this request closed or amended.
    pub runs: Vec<String>,
}

impl Ingested {
    /// The rejections summed up by reason (at most `limit` reasons, most
    /// frequent first), for an OTLP partial-success message.
    pub fn rejection_summary(&self, limit: usize) -> String {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for rejection in &self.rejected {
            *by_reason.entry(rejection.reason.as_str()).or_default() += 1;
        }
        let mut reasons: Vec<(&str, u64)> = by_reason.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut text: Vec<String> =
            reasons.iter().take(limit).map(|(reason, count)| format!("{count} × {reason}")).collect();
        if reasons.len() > limit {
            text.push(format!("and {} other reasons", reasons.len() - limit));
        }
        text.join("; ")
    }
}

/// What one request's transaction needs, shared by its re-runs.
struct Batch {
    rows: Vec<SpanRow>,
    /// The spans of `rows`, as read, in the same order.
    spans: Vec<Span>,
    /// The agent each trace of the request named.
    named: BTreeMap<String, String>,
    traces: Vec<String>,
    actor: String,
    at: Timestamp,
    prices: charter_observe::PriceTable,
    skew_us: i64,
    directory: Arc<Directory>,
    /// Spans refused, by reason.
    rejections: Vec<(String, u64)>,
}

impl App {
    /// Receives an OTLP/HTTP trace export (`POST /v1/traces`), decoded by
    /// the caller with `charter_observe::otlp::decode`.
    pub async fn ingest_otlp(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        request: &ExportTraceServiceRequest,
    ) -> Result<Ingested> {
        let row = self.authorize_ingest(caller, workspace).await?;
        let count: usize =
            request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        if count > MAX_INGEST_SPANS {
            return Err(AppError::invalid(
                "OTLP trace export",
                vec![format!(
                    "{count} spans in one request; at most {MAX_INGEST_SPANS}: export in smaller batches"
                )],
            ));
        }
        let directory = self.directory(&row).await?;
        let settings = self.observe_settings(&row).await?;
        let missing = otlp::traces_without_agent(request);
        let known = self.store.trace_agents(row.id, &missing).await?;
        let now = self.clock.now();
        let options = MapOptions {
            quality_attribute: settings.quality_attribute.clone(),
            now_us: now.unix_micros(),
            skew_us: i64::from(settings.skew_seconds()) * 1_000_000,
        };
        let mapped = otlp::map(
            request,
            |name| directory.agent(name),
            |name| directory.tool(name),
            |trace| known.get(trace).cloned(),
            &options,
        );
        self.accept(caller, &row, mapped, directory, &settings, now).await
    }

    /// Receives spans in Charter's own JSON (`charter runs ingest`), for
    /// systems without OpenTelemetry: every span names its agent.
    pub async fn ingest_spans(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        spans: Vec<Span>,
    ) -> Result<Ingested> {
        let row = self.authorize_ingest(caller, workspace).await?;
        if spans.len() > MAX_INGEST_SPANS {
            return Err(AppError::invalid(
                "spans",
                vec![format!("{} spans in one request; at most {MAX_INGEST_SPANS}", spans.len())],
            ));
        }
        let directory = self.directory(&row).await?;
        let settings = self.observe_settings(&row).await?;
        let now = self.clock.now();
        let skew_us = i64::from(settings.skew_seconds()) * 1_000_000;
        let mut mapped = Mapped::default();
        for mut span in spans {
            let rejection = |reason: String| Rejection {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                reason,
            };
            let Some(agent) = directory.agent(&span.agent_id) else {
                mapped.rejected.push(rejection(format!(
                    "unknown agent \"{}\": no registered agent has that id or name",
                    span.agent_id
                )));
                continue;
            };
            let problems = charter_observe::check(&span, now.unix_micros(), skew_us);
            if let Some(fatal) = problems.iter().find(|p| !matches!(p, SpanProblem::FromTheFuture { .. })) {
                mapped.rejected.push(rejection(fatal.to_string()));
                continue;
            }
            if let Some(future) = problems.first() {
                mapped.flagged.push(rejection(future.to_string()));
            }
            span.agent_id = agent;
            span.tool = span.tool.map(|tool| directory.tool(&tool).unwrap_or(tool));
            mapped.spans.push(span);
        }
        self.accept(caller, &row, mapped, directory, &settings, now).await
    }

    /// Telemetry is written by operators (or agents reporting themselves),
    /// as the decision point permits: one logged decision per request.
    async fn authorize_ingest(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<WorkspaceRow> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_writer(RecordKind::Run)?;
        self.decide_write(caller, &row, RecordKind::Run).await?;
        Ok(row)
    }

    async fn accept(
        &self,
        caller: &Caller,
        row: &WorkspaceRow,
        mut mapped: Mapped,
        directory: Arc<Directory>,
        settings: &charter_model::ObserveSettings,
        at: Timestamp,
    ) -> Result<Ingested> {
        // An agent reports its own runs only.
        let actor = caller.actor();
        if directory.agent(actor).as_deref() == Some(actor) {
            let (own, others): (Vec<Span>, Vec<Span>) =
                mapped.spans.into_iter().partition(|span| span.agent_id.is_empty() || span.agent_id == actor);
            mapped.spans = own;
            mapped.rejected.extend(others.into_iter().map(|span| Rejection {
                reason: format!("agent {actor} reports its own runs only; this span is {}'s", span.agent_id),
                trace_id: span.trace_id,
                span_id: span.span_id,
            }));
        }
        // A declared safety check must name what it blocks, and stay small.
        let (checked, bad): (Vec<Span>, Vec<Span>) =
            mapped.spans.into_iter().partition(|span| validate_problem(span).is_none());
        mapped.spans = checked;
        mapped.rejected.extend(bad.into_iter().map(|span| Rejection {
            reason: validate_problem(&span).unwrap_or_default(),
            trace_id: span.trace_id,
            span_id: span.span_id,
        }));
        let mut ingested = Ingested {
            accepted: mapped.spans.len() as u64,
            waiting: mapped.spans.iter().filter(|span| span.agent_id.is_empty()).count() as u64,
            rejected: mapped.rejected,
            flagged: mapped.flagged,
            ..Ingested::default()
        };
        self.metrics.ingested(ingested.accepted, ingested.rejected.len() as u64);
        if mapped.spans.is_empty() && ingested.rejected.is_empty() {
            return Ok(ingested);
        }
        let mut rejections: BTreeMap<String, u64> = BTreeMap::new();
        for rejection in &ingested.rejected {
            *rejections.entry(rejection.reason.clone()).or_default() += 1;
        }
        let mut named = BTreeMap::new();
        let mut traces = BTreeSet::new();
        let mut rows = Vec::with_capacity(mapped.spans.len());
        let mut read = Vec::with_capacity(mapped.spans.len());
        let mut seen = std::collections::HashSet::with_capacity(mapped.spans.len());
        for mut span in mapped.spans {
            // A span twice in one request counts once.
            if !seen.insert((span.trace_id.clone(), span.span_id.clone())) {
                continue;
            }
            for dataset in &mut span.datasets {
                if let Some(id) = directory.dataset(dataset) {
                    *dataset = id;
                }
            }
            if !span.agent_id.is_empty() {
                named.entry(span.trace_id.clone()).or_insert_with(|| span.agent_id.clone());
            }
            traces.insert(span.trace_id.clone());
            let body = serde_json::to_string(&span).map_err(|error| AppError::Internal(error.to_string()))?;
            rows.push(SpanRow {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                agent_id: span.agent_id.clone(),
                received_at: at,
                body,
            });
            read.push(span);
        }
        let batch = Arc::new(Batch {
            rows,
            spans: read,
            named,
            traces: traces.into_iter().collect(),
            actor: actor.to_owned(),
            at,
            prices: super::prices(settings),
            skew_us: i64::from(settings.skew_seconds()) * 1_000_000,
            directory,
            rejections: rejections.into_iter().collect(),
        });
        let target = row.clone();
        let (stored, runs) = self
            .write(row, move |app, tx| {
                let (batch, row) = (batch.clone(), target.clone());
                Box::pin(async move { close_runs(app, tx, &row, &batch).await })
            })
            .await?;
        ingested.stored = stored;
        ingested.runs = runs;
        if !ingested.runs.is_empty() {
            self.runs_closed(row, caller);
        }
        Ok(ingested)
    }
}

/// The most output files a run may declare for validation, and the longest name.
const MAX_VALIDATE_FILES: usize = 256;
const MAX_VALIDATE_NAME: usize = 1024;

/// Why a span's declared safety check (`charter.validate.*`) is refused.
fn validate_problem(span: &Span) -> Option<String> {
    if span.validate_files.is_empty() && span.validate_block.is_empty() {
        return None;
    }
    if span.validate_files.len() > MAX_VALIDATE_FILES {
        return Some(format!(
            "charter.validate.files: {} files, at most {MAX_VALIDATE_FILES}",
            span.validate_files.len()
        ));
    }
    if let Some(long) = span.validate_files.iter().find(|file| file.len() > MAX_VALIDATE_NAME) {
        return Some(format!(
            "charter.validate.files: a name of {} bytes, at most {MAX_VALIDATE_NAME}",
            long.len()
        ));
    }
    let check =
        charter_model::operation::SafetyCheck { files: Vec::new(), block: span.validate_block.clone() };
    match check.blocked_types() {
        Ok(_) => None,
        Err(unknown) => Some(format!(
            "charter.validate.block: {} is no finding type or family ({})",
            unknown.iter().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", "),
            "secret, personal, financial, network, or a type such as email"
        )),
    }
}

/// Stores the batch's spans and closes (or amends) the runs it completes.
async fn close_runs(
    app: &App,
    tx: &mut WriteTx,
    row: &WorkspaceRow,
    batch: &Batch,
) -> Result<(u64, Vec<String>)> {
    tx.count_rejections(row.id, &batch.at.date().to_string(), &batch.rejections).await?;
    // The spans earlier requests stored for these traces (none, for traces
    // sent whole), then this request's new ones: a span sent again is the
    // one stored first.
    let traces: Vec<&str> = batch.traces.iter().map(String::as_str).collect();
    let earlier = tx.trace_spans(row.id, &traces).await?;
    let stored = tx.insert_spans(row.id, &batch.rows).await?;
    let earlier_keys: std::collections::HashSet<(&str, &str)> =
        earlier.iter().map(|span| (span.trace_id.as_str(), span.span_id.as_str())).collect();
    // Every span of these traces: (row, the span as read, or `None` to read
    // it from the row's JSON).
    let mut spans: Vec<(&SpanRow, Option<&Span>)> = earlier.iter().map(|row| (row, None)).collect();
    spans.extend(
        batch
            .rows
            .iter()
            .zip(&batch.spans)
            .filter(|(row, _)| !earlier_keys.contains(&(row.trace_id.as_str(), row.span_id.as_str())))
            .map(|(row, span)| (row, Some(span))),
    );
    // The agent each trace named, in this request or an earlier one; spans
    // that waited for it (sent before the span naming it) take it now.
    let mut trace_agent: HashMap<&str, &str> =
        batch.named.iter().map(|(trace, agent)| (trace.as_str(), agent.as_str())).collect();
    for (span, _) in spans.iter().filter(|(span, _)| !span.agent_id.is_empty()) {
        trace_agent.entry(&span.trace_id).or_insert(&span.agent_id);
    }
    let mut adopted = BTreeSet::new();
    let mut groups: BTreeMap<(&str, &str), Vec<(&SpanRow, Span)>> = BTreeMap::new();
    for (stored, sent) in spans {
        let agent = if stored.agent_id.is_empty() {
            match trace_agent.get(stored.trace_id.as_str()) {
                Some(agent) => {
                    adopted.insert((stored.trace_id.as_str(), *agent));
                    *agent
                }
                None => continue,
            }
        } else {
            stored.agent_id.as_str()
        };
        // A span of this request is not read back from its JSON; one stored
        // before (even sent again now) is read as stored.
        let mut span: Span = match sent {
            Some(span) => span.clone(),
            None => serde_json::from_str(&stored.body).map_err(|error| {
                AppError::corrupt(format!("span {}/{}: {error}", stored.trace_id, stored.span_id))
            })?,
        };
        span.agent_id = agent.to_owned();
        groups.entry((stored.trace_id.as_str(), agent)).or_default().push((stored, span));
    }
    for (trace, agent) in adopted {
        tx.adopt_spans(row.id, trace, agent).await?;
    }
    // The runs a root span completes, with their earlier versions (read in one query).
    groups.retain(|_, spans| {
        spans.iter().any(|(_, span)| span.parent_span_id.is_none() || span.kind == SpanKind::InvokeAgent)
    });
    let ids: Vec<String> =
        groups.keys().map(|(trace, agent)| charter_observe::run_id(trace, agent)).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let existing = tx.records_by_ids(row.id, RecordKind::Run, &id_refs).await?;
    let mut folded = Vec::with_capacity(groups.len());
    for (((_, _), spans), id) in groups.iter().zip(&ids) {
        let digest = charter_observe::spans_digest(
            spans.iter().map(|(row, _)| (row.span_id.as_str(), row.body.as_str())),
        );
        let previous = match existing.get(id) {
            Some(stored) => match RecordKind::Run.parse_json(&stored.body) {
                Ok(Record::Run(run)) if run.spans_sha256 == digest => continue,
                Ok(Record::Run(run)) => Some((stored.version, run)),
                Ok(_) => return Err(AppError::corrupt(format!("run \"{id}\" is not a run"))),
                Err(error) => return Err(AppError::corrupt(format!("run \"{id}\": {error}"))),
            },
            None => None,
        };
        let values: Vec<Span> = spans.iter().map(|(_, span)| span.clone()).collect();
        let Some(run) = charter_observe::runs(&values, &batch.prices).into_iter().next() else {
            continue;
        };
        let deviations = deviations(&run, spans, batch);
        folded.push((id.clone(), run, digest, deviations, previous));
    }
    // The decisions denied to these agents while their runs lasted, in one query.
    let denied = denied_between(
        app,
        row,
        folded.iter().map(|(_, run, ..)| run.start_us).min(),
        folded.iter().map(|(_, run, ..)| run.end_us).max(),
    )
    .await?;
    let mut writes = Vec::with_capacity(folded.len());
    let mut closed = Vec::with_capacity(folded.len());
    let mut spent: BTreeMap<(String, String), SpendRow> = BTreeMap::new();
    let mut unspent: BTreeMap<(String, String), SpendRow> = BTreeMap::new();
    let add = |totals: &mut BTreeMap<(String, String), SpendRow>, spend: SpendRow| {
        let total = totals.entry((spend.month.clone(), spend.agent_id.clone())).or_insert_with(|| SpendRow {
            agent_id: spend.agent_id.clone(),
            month: spend.month.clone(),
            ..SpendRow::default()
        });
        total.usd += spend.usd;
        total.tokens += spend.tokens;
        total.unpriced_tokens += spend.unpriced_tokens;
        total.runs += spend.runs;
    };
    for (id, run, digest, deviations, previous) in folded {
        let hits = denied
            .iter()
            .filter(|(agent, at, _)| *agent == run.agent_id && (run.start_us..=run.end_us).contains(at))
            .map(|(_, _, hit)| hit.clone())
            .collect();
        let mut record = run_record(&id, run, digest, hits, deviations)?;
        // Late spans do not undo a validation: its result stays.
        if let (Some(validation), Some((_, earlier))) = (&mut record.validation, &previous) {
            validation.result = earlier.validation.as_ref().and_then(|v| v.result.clone());
        }
        // The run's spend replaces what its earlier version counted.
        if let Some((_, earlier)) = &previous {
            add(&mut unspent, super::budgets::spend_of(earlier));
        }
        add(&mut spent, super::budgets::spend_of(&record));
        let body = Record::from(record).to_canonical_json();
        writes.push(match previous {
            None => RecordWrite::create(RecordKind::Run, id.clone(), body),
            Some((version, _)) => RecordWrite::update(RecordKind::Run, id.clone(), body, version),
        });
        closed.push(id);
    }
    let unspent: Vec<SpendRow> = unspent.into_values().collect();
    let spent: Vec<SpendRow> = spent.into_values().collect();
    tx.add_spend(row.id, &unspent, -1).await?;
    tx.add_spend(row.id, &spent, 1).await?;
    let touched = spent.iter().map(|s| (s.month.clone(), s.agent_id.clone())).collect();
    writes.extend(super::budgets::exhausted_budgets(tx, row, &touched, &batch.directory.teams).await?);
    crate::core::audit::write_records(tx, row, &batch.actor, batch.at, &writes).await?;
    Ok((stored, closed))
}

/// The decisions denied to agents between `start_us` and `end_us`: (agent,
/// time in µs, the hit).
async fn denied_between(
    app: &App,
    row: &WorkspaceRow,
    start_us: Option<i64>,
    end_us: Option<i64>,
) -> Result<Vec<(String, i64, GuardrailHit)>> {
    let (Some(since), Some(until)) = (
        start_us.and_then(Timestamp::from_unix_micros),
        end_us.and_then(|end| Timestamp::from_unix_micros(end.saturating_add(1))),
    ) else {
        return Ok(Vec::new());
    };
    let events = app.store.events_between(row.id, charter_policy::DECISION, None, since, until).await?;
    let mut hits = Vec::new();
    for event in events {
        if let Some((agent, hit)) = super::denied_to_agent(&event)? {
            hits.push((agent, hit.at.unix_micros(), hit));
        }
    }
    Ok(hits)
}

/// What went other than planned in a run: failed spans, tools and datasets
/// its agent is not declared to use, spans that ended in the future.
fn deviations(run: &charter_observe::Run, spans: &[(&SpanRow, Span)], batch: &Batch) -> Vec<String> {
    let mut deviations: Vec<String> = run.errors.iter().map(|error| format!("error: {error}")).collect();
    if let Some(declared) = batch.directory.declared(&run.agent_id) {
        for tool in run.tools.iter().filter(|tool| !declared.tools.contains(*tool)) {
            deviations.push(format!(
                "undeclared tool: {tool} is not among the agent's tool permissions or dependencies"
            ));
        }
        if !declared.datasets.is_empty() {
            for dataset in run.datasets.iter().filter(|dataset| !declared.datasets.contains(*dataset)) {
                deviations.push(format!("undeclared dataset: {dataset} is not one the agent manages"));
            }
        }
    }
    for (row, span) in spans {
        let ahead = span.end_us.saturating_sub(row.received_at.unix_micros());
        if ahead > batch.skew_us {
            deviations.push(format!(
                "clock skew: span {} ended {:.1} s after it was received",
                span.span_id,
                ahead as f64 / 1e6
            ));
        }
    }
    deviations
}

fn run_record(
    id: &str,
    run: charter_observe::Run,
    digest: String,
    guardrail_hits: Vec<GuardrailHit>,
    deviations: Vec<String>,
) -> Result<RunRecord> {
    let time = |micros: i64| {
        Timestamp::from_unix_micros(micros)
            .ok_or_else(|| AppError::invalid("span", vec![format!("time {micros} µs is out of range")]))
    };
    Ok(RunRecord {
        run_id: Key::new(id).map_err(|error| AppError::Internal(error.to_string()))?,
        agent_id: AgentId::new(run.agent_id.clone()).map_err(|error| AppError::corrupt(error.to_string()))?,
        workflow_id: run.workflow.as_deref().and_then(|workflow| Key::new(workflow).ok()),
        started_at: time(run.start_us)?,
        ended_at: time(run.end_us)?,
        duration_ms: run.duration_us() as f64 / 1_000.0,
        status: match run.status {
            charter_observe::RunStatus::Ok => RunOutcome::Ok,
            charter_observe::RunStatus::Error => RunOutcome::Error,
        },
        errors: run.errors,
        tool_calls: run.tool_calls,
        tool_failures: run.tool_failures,
        tools: run.tools.into_iter().collect(),
        datasets: run.datasets.into_iter().collect(),
        models: run.models.into_iter().collect(),
        input_tokens: run.input_tokens,
        output_tokens: run.output_tokens,
        cost_usd: run.cost_usd,
        unpriced_tokens: run.unpriced_tokens,
        redactions: run.redactions,
        quality: run.quality,
        guardrail_hits,
        deviations,
        content_hashes: run.content_hashes,
        spans: run.spans,
        spans_sha256: digest,
        validation: (!run.validate_files.is_empty()).then(|| RunValidation {
            files: run.validate_files.into_iter().collect(),
            block: run.validate_block.into_iter().collect(),
            result: None,
        }),
        trace_id: run.trace_id,
    })
}
