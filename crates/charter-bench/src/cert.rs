//! `charter-bench cert`: the certification of the generated portfolio
//! (`charter gen portfolio`, imported into a scratch SQLite data directory
//! by a child process) after a year's volume of evidence: decisions of its
//! agents on its systems, logged in the ledger, and agents' runs from
//! telemetry. Prints the time of `certify` (the median of its rounds, each
//! computing the verdict twice as the use case does), the time of each
//! phase of the measurement, and the verdict.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use charter_app::{App, Caller, CertifyRequest};
use charter_model::{RecordKind, WorkspaceName};
use charter_policy::{DecisionRequest, EntityRef};

/// Ids of every record of `kind`, a page at a time.
async fn ids(app: &App, caller: &Caller, workspace: &WorkspaceName, kind: RecordKind) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app.list_records(caller, workspace, kind, after.as_deref(), 1_000).await?;
        let done = page.items.len() < 1_000;
        after = page.items.last().map(|view| view.id.clone());
        ids.extend(page.items.into_iter().map(|view| view.id));
        if done || after.is_none() {
            return Ok(ids);
        }
    }
}

/// What the store holds before certifying.
pub(crate) struct Volume {
    pub(crate) agents: usize,
    pub(crate) decisions: u64,
    pub(crate) runs: u64,
    pub(crate) operations: u64,
    pub(crate) incidents: u64,
    pub(crate) seed: u64,
}

/// The generated portfolio, with the people and the policy of `fixtures/`
/// (who run operations and command incidents), imported by a child process
/// into a scratch data directory; the application over it with a fresh
/// ledger key, and the ids of its agents and systems.
pub(crate) struct Prepared {
    /// Holds the data directory.
    pub(crate) scratch: tempfile::TempDir,
    pub(crate) app: App,
    pub(crate) workspace: WorkspaceName,
    pub(crate) agent_ids: Vec<String>,
    pub(crate) systems: Vec<String>,
}

/// Prepares the portfolio of `agents`; `label` prefixes what is printed;
/// commits sign a checkpoint at most every `min_interval`.
pub(crate) async fn prepare(
    label: &str,
    agents: usize,
    seed: u64,
    min_interval: std::time::Duration,
) -> Result<Prepared> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let (files, data) = (scratch.path().join("portfolio"), scratch.path().join("data"));
    let extra = scratch.path().join("extra");
    std::fs::create_dir_all(&extra)?;
    std::fs::write(extra.join("people.json"), include_str!("../fixtures/cert_people.json"))?;
    std::fs::write(extra.join("policies.json"), include_str!("../fixtures/cert_policies.json"))?;
    let started = Instant::now();
    crate::risk::prepare_with_extra(agents, seed, &files, &data, Some(&extra))?;
    println!("{label}: {agents} agents generated and imported in {:.1} s", started.elapsed().as_secs_f64());

    let signer = charter_app::ledger::generate_signer("charter-bench")?;
    let settings = charter_app::ledger::LedgerSettings {
        signer: Some(std::sync::Arc::new(signer)),
        min_interval,
        ..Default::default()
    };
    let app = App::new(charter_store::Store::open_data_dir(&data).await?).with_ledger(settings);
    let (caller, workspace) = (Caller::local("bench"), WorkspaceName::new("bench")?);
    let agent_ids = ids(&app, &caller, &workspace, RecordKind::Agent).await?;
    let systems = ids(&app, &caller, &workspace, RecordKind::System).await?;
    anyhow::ensure!(!agent_ids.is_empty() && !systems.is_empty(), "the portfolio has no agents or systems");
    Ok(Prepared { scratch, app, workspace, agent_ids, systems })
}

impl Prepared {
    /// Logs `decisions` decisions of its agents on its systems, a thousand
    /// per logged batch, and prints how long it took.
    pub(crate) async fn log_decisions(&self, label: &str, decisions: u64) -> Result<()> {
        let (agent_ids, systems) = (&self.agent_ids, &self.systems);
        let caller = Caller::local("bench");
        let started = Instant::now();
        let mut made = 0_u64;
        while made < decisions {
            let batch = (decisions - made).min(charter_app::MAX_DECISION_BATCH as u64);
            let requests: Vec<DecisionRequest> = (0..batch)
                .map(|k| {
                    let n = (made + k) as usize;
                    DecisionRequest {
                        principal: EntityRef {
                            entity_type: "Agent".into(),
                            id: agent_ids[n % agent_ids.len()].clone(),
                        },
                        action: "invoke_tool".into(),
                        resource: EntityRef {
                            entity_type: "Tool".into(),
                            id: systems[(n / 7) % systems.len()].clone(),
                        },
                        context: serde_json::Map::new(),
                    }
                })
                .collect();
            self.app.decide(&caller, &self.workspace, &requests).await?;
            made += batch;
        }
        println!("{label}: {decisions} decisions logged in {:.1} s", started.elapsed().as_secs_f64());
        Ok(())
    }
}

pub(crate) async fn cert(volume: Volume, rounds: usize) -> Result<ExitCode> {
    let Volume { agents, decisions, runs, operations, incidents, seed } = volume;
    let prepared = prepare("cert", agents, seed, std::time::Duration::ZERO).await?;
    prepared.log_decisions("cert", decisions).await?;
    let Prepared { scratch, app, workspace, agent_ids, .. } = prepared;
    let caller = Caller::local("bench");

    // Runs from telemetry: one root span each, priced, with content hashes.
    let operator = Caller::local("bench_operator");
    let started = Instant::now();
    let now_us = app.now().unix_micros();
    let mut sent = 0_u64;
    while sent < runs {
        let batch = (runs - sent).min(1_000);
        let spans = (0..batch)
            .map(|k| {
                let n = sent + k;
                serde_json::from_value::<charter_observe::Span>(serde_json::json!({
                    "trace_id": format!("{:032x}", n + 1),
                    "span_id": format!("{:016x}", n + 1),
                    "name": "invoke_agent", "kind": "invoke_agent",
                    "agent_id": agent_ids[n as usize % agent_ids.len()],
                    "start_us": now_us - 60_000_000, "end_us": now_us - 59_000_000, "status": "ok",
                    "model": "gpt-4o-mini", "input_tokens": 800, "output_tokens": 200,
                    "prompt_sha256": "ab".repeat(32), "output_sha256": "cd".repeat(32)
                }))
            })
            .collect::<Result<Vec<_>, _>>()?;
        app.ingest_spans(&operator, &workspace, spans).await?;
        sent += batch;
    }
    println!("cert: {runs} runs ingested in {:.1} s", started.elapsed().as_secs_f64());

    // Operations through the corridor: declared, run through the real runner.
    let started = Instant::now();
    let site = scratch.path().join("site");
    std::fs::create_dir_all(&site)?;
    for n in 0..operations {
        let text = format!(
            "OPERATION_NAME: change {n}\nOBJECTIVE: o\nRISK_CLASS: LOW_RISK_CONFIG\nBLAST_RADIUS: one file\n\
             ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: ['{site}']\nALLOWED_SERVICES: []\nREQUESTED_BY: bench_operator\n\
             STEPS:\n  - name: write\n    command: \"printf '{n}\\\\n' > '{site}/app.conf'\"\n    touches: ['{site}/app.conf']\n    verify: [\"test -s '{site}/app.conf'\"]\n    rollback: 'true'\n",
            site = site.display()
        );
        let declared = app.declare_operation(&operator, &workspace, &text).await?;
        let options = charter_app::RunOptions {
            dry_run: false,
            snapshot_dir: scratch.path().join("snapshots"),
            rules: None,
            sandbox: None,
        };
        app.run_operation(&operator, &workspace, &declared.id, options).await?;
    }
    println!("cert: {operations} operations declared and run in {:.1} s", started.elapsed().as_secs_f64());

    // Incidents, opened and resolved.
    let started = Instant::now();
    let commander = Caller::local("bench_on_call");
    for n in 0..incidents {
        let incident = app
            .open_incident(
                &commander,
                &workspace,
                charter_app::NewIncident {
                    title: format!("incident {n}"),
                    severity: charter_model::IncidentSeverity::Sev3,
                    agent_id: Some(agent_ids[n as usize % agent_ids.len()].clone()),
                    commander: Some("bench_on_call".into()),
                    source: "bench".into(),
                },
            )
            .await?;
        use charter_model::IncidentStatus::{Acknowledged, Mitigated, Resolved};
        for to in [Acknowledged, Mitigated, Resolved] {
            app.move_incident(&commander, &workspace, incident.incident_id.as_str(), to, None).await?;
        }
    }
    println!("cert: {incidents} incidents opened and resolved in {:.1} s", started.elapsed().as_secs_f64());
    app.checkpoint_pending().await?;
    let size = app.ledger_size(&caller, &workspace).await?;

    // The first certification reads the whole log and seals its segments;
    // the next ones read only what was appended since (see charter-app's
    // cert/ledger.rs).
    // One as-of time for every round, so that their verdicts compare.
    let request = CertifyRequest { as_of: Some(app.now()), matrix: None, record: false };
    let started = Instant::now();
    let cold = app.certify(&caller, &workspace, request.clone()).await?;
    let cold_time = started.elapsed().as_secs_f64();
    println!(
        "cert: first certify (no seals: every segment read) of {agents} agents, ledger of {size} entries: {cold_time:.2} s"
    );
    print_phases(&cold);
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let certification = app.certify(&caller, &workspace, request.clone()).await?;
        times.push(started.elapsed().as_secs_f64());
        last = Some(certification);
    }
    times.sort_by(f64::total_cmp);
    let certification = last.context("no round ran")?;
    println!(
        "cert: certify of {agents} agents, ledger of {size} entries: median {:.2} s over {} rounds (min {:.2}, max {:.2}); verdict {:?} with {} blockers",
        times[times.len() / 2],
        times.len(),
        times[0],
        times[times.len() - 1],
        certification.verdict.outcome,
        certification.verdict.blockers.len()
    );
    anyhow::ensure!(
        cold.json == certification.json,
        "the verdict read from seals differs from the one read in full"
    );
    print_phases(&certification);
    Ok(ExitCode::SUCCESS)
}

/// The time of each phase of one reading, and how the ledger was read.
fn print_phases(certification: &charter_app::Certification) {
    let mut phases: Vec<(&String, &f64)> =
        certification.measurements.iter().filter(|(name, _)| name.starts_with("phase.")).collect();
    phases.sort_by(|a, b| b.1.total_cmp(a.1));
    for (name, ms) in phases {
        println!("cert:   {name}: {ms:.0} ms (one of the two readings)");
    }
    for name in ["ledger.segments_read", "ledger.segments_sealed"] {
        println!("cert:   {name}: {}", certification.measurements.get(name).copied().unwrap_or_default());
    }
}
