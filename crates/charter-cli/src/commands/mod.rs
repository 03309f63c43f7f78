//! The commands, one module per capability, named as in `charter-app` and
//! the server's API: each holds its arguments (clap), its handlers (parse,
//! call one `App` method, render) and its rendering.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::settings::Global;

pub(crate) mod cert;
pub(crate) mod data;
pub(crate) mod decisions;
pub(crate) mod guard;
pub(crate) mod ledger;
pub(crate) mod operations;
pub(crate) mod oversight;
pub(crate) mod registry;
pub(crate) mod risk;
pub(crate) mod server;

/// The commands of `charter`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and database (idempotent)
    Init,
    /// Initialise if needed, optionally import the example workspace, and serve until Ctrl-C
    Up(server::UpArgs),
    /// Serve the HTTP API until Ctrl-C or SIGTERM
    Serve(server::ServeArgs),
    /// Manage workspaces
    #[command(subcommand)]
    Workspace(registry::WorkspaceCommand),
    /// Import a directory of data-layer and registry JSON files (one transaction)
    Import(registry::ImportArgs),
    /// Overview of a workspace: datasets, active agents, recent changes
    Status(registry::StatusArgs),
    /// List and show agents; pause one (the kill switch) or resume it
    #[command(subcommand)]
    Agents(registry::AgentsCommand),
    /// Ask the decision point; every decision is logged in the ledger (exit status 0 when
    /// allowed, 2 when denied)
    Decide(decisions::DecideArgs),
    /// Time-bound grants: access, Tier 3+ approvals and residency exceptions
    #[command(subcommand)]
    Grant(decisions::GrantCommand),
    /// Governance policies: lint, the quarterly review, policy tests and replay
    #[command(subcommand)]
    Policy(decisions::PolicyCommand),
    /// Governed operations (Ops Governor): declare, list, show
    #[command(subcommand)]
    Op(operations::OpCommand),
    /// Datasets: create in DRAFT (PROC-CREATE-DATASET), list, promote through the gates
    #[command(subcommand)]
    Dataset(data::DatasetCommand),
    /// Schema changes (PROC-ANALYZE-SCHEMA-CHANGE): propose with impact analysis, apply, roll back
    #[command(subcommand)]
    Schema(data::SchemaCommand),
    /// Data quality (PROC-VALIDATE-DATA-QUALITY): validate a file against a dataset's schema
    #[command(subcommand)]
    Dq(data::DqCommand),
    /// The RAIDA log: risks, assumptions, issues, dependencies and actions
    #[command(subcommand)]
    Raida(data::RaidaCommand),
    /// The daily governance check (PROC-DAILY-GOVERNANCE); raises RAIDA items for what it finds
    /// and exits with status 2 when anything is RED
    Check(data::CheckArgs),
    /// Assess the agent portfolio: integration, risk and value-leakage scores with their evidence,
    /// trends, escalations and recommendations; saves one snapshot per agent for the date
    Assess(risk::AssessArgs),
    /// Write the executive report of the portfolio assessment (saves no snapshot)
    Report(risk::ReportArgs),
    /// Agent runs from their telemetry (OpenTelemetry or Charter's span JSON): list, show,
    /// report, ingest a file
    #[command(subcommand)]
    Runs(oversight::RunsCommand),
    /// Health of the agents: signals per window, baselines and anomalies
    Health(oversight::HealthArgs),
    /// Alerts raised from anomalies: list, acknowledge, resolve, evaluate now, the pages sent
    #[command(subcommand)]
    Alerts(oversight::AlertsCommand),
    /// Incidents: open, acknowledge, mitigate, resolve, postmortem, pause the agent, list, show
    #[command(subcommand)]
    Incident(oversight::IncidentCommand),
    /// Cost budgets: set a monthly budget of an agent or team, show spend and receipts
    #[command(subcommand)]
    Budget(oversight::BudgetCommand),
    /// Safety filters: scan a file for personal data and secrets, filter it through the DLP rules
    /// (redacted to standard output), lint the rules
    #[command(subcommand)]
    Guard(guard::GuardCommand),
    /// Certify the operations and governance posture from Charter's own records: the claim
    /// matrix with levels L0-L4, the blocker register OC-B1..B7, waivers and a signed verdict
    /// (GREEN only when every Tier 0 claim is evidence-pass with no active blocker; exits 2 when
    /// RED); `certify verify` checks a signed verdict offline
    Certify(cert::CertifyArgs),
    /// Drills that evidence recovery: a rollback drill through the real runner, an incident
    /// drill through the incident flow
    #[command(subcommand)]
    Drill(cert::DrillCommand),
    /// Waivers of certification blockers: request, approve (not by the owner), list
    #[command(subcommand)]
    Waiver(cert::WaiverCommand),
    /// The operations KPIs of a month: change success, MTTR, time to acknowledge, coverage
    Kpis(oversight::KpisArgs),
    /// Show one record of any kind
    Get(registry::GetArgs),
    /// Who you act as in the workspace: your login name as a registered person (or not)
    Whoami,
    /// Manage API tokens
    #[command(subcommand)]
    Token(registry::TokenCommand),
    /// Generate synthetic data
    #[command(subcommand)]
    Gen(risk::GenCommand),
    /// The tamper-evident audit log: query, prove, verify, export
    #[command(subcommand)]
    Audit(ledger::AuditCommand),
}

/// Runs one command.
pub(crate) async fn run(global: Global, command: Command) -> Result<ExitCode> {
    if global.server.is_some() && !through_a_server(&command) {
        bail!("this command needs the database and does not work through a server: leave out --server");
    }
    let global = &global;
    match command {
        Command::Init => server::init(global).await,
        Command::Up(up) => server::up(global, up).await,
        Command::Serve(serve) => server::serve(global, serve).await,
        Command::Workspace(command) => registry::workspace_command(global, command).await,
        Command::Import(import) => registry::import(global, import).await,
        Command::Status(status) => registry::status(global, status).await,
        Command::Agents(registry::AgentsCommand::Pause { id }) => decisions::pause(global, &id).await,
        Command::Agents(registry::AgentsCommand::Resume { id, status }) => {
            decisions::resume(global, &id, status).await
        }
        Command::Agents(command) => registry::agents_command(global, command).await,
        Command::Decide(args) => decisions::decide(global, args).await,
        Command::Grant(command) => decisions::grant(global, command).await,
        Command::Policy(command) => decisions::policy(global, command).await,
        Command::Op(command) => operations::run(global, command).await,
        Command::Dataset(command) => data::dataset(global, command).await,
        Command::Schema(command) => data::schema(global, command).await,
        Command::Dq(command) => data::dq(global, command).await,
        Command::Raida(command) => data::raida(global, command).await,
        Command::Check(args) => data::check(global, args).await,
        Command::Assess(args) => risk::assess(global, args).await,
        Command::Report(args) => risk::report(global, args).await,
        Command::Runs(command) => oversight::run(global, command).await,
        Command::Health(args) => oversight::health(global, args).await,
        Command::Alerts(command) => oversight::alerts(global, command).await,
        Command::Incident(command) => oversight::incident(global, command).await,
        Command::Budget(command) => oversight::budget(global, command).await,
        Command::Kpis(args) => oversight::kpis(global, args).await,
        Command::Guard(command) => guard::guard(global, command).await,
        Command::Certify(args) => cert::certify(global, args).await,
        Command::Drill(command) => cert::drill(global, command).await,
        Command::Waiver(command) => cert::waiver(global, command).await,
        Command::Get(get) => registry::get(global, get).await,
        Command::Whoami => registry::whoami(global).await,
        Command::Token(command) => registry::token_command(global, command).await,
        Command::Audit(command) => ledger::run(global, command).await,
        Command::Gen(command) => risk::generate(global, command),
    }
}

/// Whether `command` can act through a server (`--server`); the others
/// need the database. (Of `op`, those that run steps refuse in remote mode.)
fn through_a_server(command: &Command) -> bool {
    matches!(
        command,
        Command::Decide(_)
            | Command::Grant(_)
            | Command::Get(_)
            | Command::Op(_)
            | Command::Agents(registry::AgentsCommand::Pause { .. } | registry::AgentsCommand::Resume { .. })
    )
}
