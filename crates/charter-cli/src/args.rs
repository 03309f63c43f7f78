//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use charter_model::{Role, WorkspaceName};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Charter: the governance control plane for AI agents.
#[derive(Debug, Parser)]
#[command(name = "charter", version, about, max_term_width = 100)]
pub struct Cli {
    /// The options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Data directory of the embedded SQLite database (and, later, keys)
    #[arg(
        long,
        global = true,
        env = "CHARTER_DATA_DIR",
        hide_env_values = true,
        default_value = "./charter-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Database URL; `postgres://…` selects PostgreSQL instead of the data directory's SQLite
    #[arg(long, global = true, env = "CHARTER_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Workspace to work in (default: the only one, when there is exactly one)
    #[arg(
        long,
        short = 'w',
        global = true,
        env = "CHARTER_WORKSPACE",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub workspace: Option<WorkspaceName>,

    /// Output format
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Act as this registered person instead of the one your login name is (a break-glass:
    /// recorded in the ledger, and it never approves at Tier 3 or above)
    #[arg(long, global = true, env = "CHARTER_ACTOR", hide_env_values = true, value_name = "NAME")]
    pub actor: Option<String>,

    /// Act through the Charter server at this URL (http://host:port) as the holder of the
    /// token, without the database: decide, op declare|list|show|report|approve|reject|halt,
    /// grant create|list|revoke, agents pause|resume, get
    #[arg(long, global = true, env = "CHARTER_SERVER", hide_env_values = true, value_name = "URL")]
    pub server: Option<String>,

    /// The API token to present with --server (prefer CHARTER_TOKEN: arguments are visible to
    /// other users of the machine)
    #[arg(long, global = true, env = "CHARTER_TOKEN", hide_env_values = true, value_name = "SECRET")]
    pub token: Option<String>,

    /// File holding the checkpoint signing key (default: DATA_DIR/signing.key); the key itself
    /// can be given in CHARTER_SIGNING_KEY instead
    #[arg(
        long,
        global = true,
        env = "CHARTER_SIGNING_KEY_FILE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub signing_key: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
}

/// The commands of `charter`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory and database (idempotent)
    Init,
    /// Initialise if needed, optionally import the example workspace, and serve until Ctrl-C
    Up(UpArgs),
    /// Serve the HTTP API until Ctrl-C or SIGTERM
    Serve(ServeArgs),
    /// Manage workspaces
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Import a directory of data-layer and registry JSON files (one transaction)
    Import(ImportArgs),
    /// Overview of a workspace: datasets, active agents, recent changes
    Status(StatusArgs),
    /// List and show agents; pause one (the kill switch) or resume it
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Ask the decision point; every decision is logged in the ledger (exit status 0 when
    /// allowed, 2 when denied)
    Decide(DecideArgs),
    /// Time-bound grants: access, Tier 3+ approvals and residency exceptions
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Governance policies: lint, the quarterly review, policy tests and replay
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Governed operations (Ops Governor): declare, list, show
    #[command(subcommand)]
    Op(OpCommand),
    /// Datasets: create in DRAFT (PROC-CREATE-DATASET), list, promote through the gates
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Schema changes (PROC-ANALYZE-SCHEMA-CHANGE): propose with impact analysis, apply, roll back
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Data quality (PROC-VALIDATE-DATA-QUALITY): validate a file against a dataset's schema
    #[command(subcommand)]
    Dq(DqCommand),
    /// The RAIDA log: risks, assumptions, issues, dependencies and actions
    #[command(subcommand)]
    Raida(RaidaCommand),
    /// The daily governance check (PROC-DAILY-GOVERNANCE); raises RAIDA items for what it finds
    /// and exits with status 2 when anything is RED
    Check(CheckArgs),
    /// Assess the agent portfolio: integration, risk and value-leakage scores with their evidence,
    /// trends, escalations and recommendations; saves one snapshot per agent for the date
    Assess(AssessArgs),
    /// Write the executive report of the portfolio assessment (saves no snapshot)
    Report(ReportArgs),
    /// Show one record of any kind
    Get(GetArgs),
    /// Who you act as in the workspace: your login name as a registered person (or not)
    Whoami,
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Generate synthetic data
    #[command(subcommand)]
    Gen(GenCommand),
    /// The tamper-evident audit log: query, prove, verify, export
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure Charter on scratch data in a temporary directory and print the figures
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// The subcommands of `charter bench`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable appends from concurrent writers, log verification, proof generation (SQLite)
    Ledger {
        /// Concurrent writers
        #[arg(long, default_value_t = 64)]
        writers: usize,
        /// Appends in all, spread over the writers
        #[arg(long, default_value_t = 100_000)]
        appends: u64,
        /// Entries of the log `audit verify` checks
        #[arg(long, default_value_t = 1_000_000)]
        verify_entries: u64,
        /// Entries of the log proofs are made on (0: use the verified log)
        #[arg(long, default_value_t = 0)]
        proof_entries: u64,
        /// Proofs of each kind to time
        #[arg(long, default_value_t = 1_000)]
        proofs: u64,
    },
    /// Decisions per second in-process, side by side with the raw Cedar authoriser
    Policy {
        /// Cedar policies in the set
        #[arg(long, default_value_t = 100)]
        policies: usize,
        /// Agents in the registry
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        /// Tools in the registry
        #[arg(long, default_value_t = 5_000)]
        tools: usize,
        /// Distinct requests (each side decides all of them, several rounds)
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Rounds each side runs, alternating
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// The portfolio report on a generated portfolio: JSON and HTML end to end, with phases and peak memory
    Report {
        /// Agents of the generated portfolio (52 weekly snapshots each)
        #[arg(long, default_value_t = 10_000)]
        agents: usize,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Runs of each report; the median is printed
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// The operation runner: snapshot and compare of a file tree, overhead per step
    Ops {
        /// Files under the allowed path
        #[arg(long, default_value_t = 10_000)]
        files: usize,
        /// Their total size, in MB
        #[arg(long, default_value_t = 100)]
        megabytes: u64,
        /// Steps of the operation whose overhead is measured
        #[arg(long, default_value_t = 100)]
        steps: usize,
    },
    /// Schema-change impact analysis on a generated catalog, side by side with networkx
    Impact {
        /// Directory with edges.csv and sources.txt (`../shared/peers/gen_graph.py DIR`)
        #[arg(long, value_name = "DIR")]
        graph: PathBuf,
        /// Python with networkx, to run the peer in the same run (skipped when absent)
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// The peer script (`graph_networkx.py`)
        #[arg(long, value_name = "FILE")]
        peer: Option<PathBuf>,
    },
    /// Data-quality validation of a CSV file (`gen_dq_csv.py`), side by side with pandera
    Dq {
        /// The CSV file (id,owner,status,cost,created,parent_id)
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Python with pandera, to run the peer in the same run (skipped when absent)
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// The peer script (`dq_pandera.py`)
        #[arg(long, value_name = "FILE")]
        peer: Option<PathBuf>,
        /// Rounds Charter runs (the best and the median are printed)
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Decisions over HTTP with durable logging: a server on loopback, concurrent keep-alive
    /// clients in the same process, then the decisions in the ledger counted
    DecideHttp {
        /// Concurrent clients, one connection each
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Requests in all
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Offer this many requests a second in all (each client paced, latency measured from
        /// when each request was due); default: each client sends as soon as it is answered
        #[arg(long, value_name = "PER_SECOND")]
        rate: Option<f64>,
        /// Cedar policies in the set
        #[arg(long, default_value_t = 100)]
        policies: usize,
        /// Agents in the registry
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        /// Tools in the registry
        #[arg(long, default_value_t = 5_000)]
        tools: usize,
        /// Also run the same load again while another client creates teams at this rate over
        /// the API (registry writes no decision reads), and compare the two runs
        #[arg(long, value_name = "PER_SECOND")]
        writes_per_sec: Option<f64>,
    },
}

/// The subcommands of `charter audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest last
    Log(AuditLogArgs),
    /// Prove that an event is in the log, against the latest checkpoint
    Prove {
        /// The event's sequence number
        seq: u64,
    },
    /// Recompute every leaf, rebuild the tree and check every stored node, checkpoint and signature
    Verify {
        /// Verifier key to check checkpoints with (default: the local signing key's)
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// A checkpoint kept from an earlier look (a signed note): the log must
        /// be consistent with it. When the log verifies, its latest checkpoint
        /// is written there for next time. Keep it where whoever can write the
        /// database cannot (another machine, another account)
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Write a self-contained bundle (events, checkpoints, verifier key) to a directory
    Export {
        /// Directory to create
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Verify an exported bundle offline, with nothing but the verifier key
    VerifyBundle {
        /// The bundle's directory
        dir: PathBuf,
        /// Verifier key: <name>+<hash>+<base64 key>
        #[arg(long, value_name = "KEY")]
        key: String,
        /// A checkpoint kept from an earlier look at the log: the bundle must be
        /// consistent with it
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Print the verifier key of the local signing key
    Key,
}

/// The filters of `charter audit log`.
#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only events about this subject id
    #[arg(long)]
    pub subject: Option<String>,
    /// Only events about subjects of this kind (agent, policy, workspace, token…)
    #[arg(long)]
    pub kind: Option<String>,
    /// Only events by this actor
    #[arg(long)]
    pub actor_is: Option<String>,
    /// Only events at or after this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<charter_model::Timestamp>,
    /// Only events before this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<charter_model::Timestamp>,
    /// Events after this sequence number (paging)
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// Most events to list
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

/// The options of `charter up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Import the example workspace as workspace `ops` (again: a no-op)
    #[arg(long)]
    pub example: bool,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

/// The options of `charter serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

/// The subcommands of `charter workspace`.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace
    Create {
        /// Name: lower-case letters, digits, '-' and '_'
        name: WorkspaceName,
    },
    /// List workspaces
    List,
}

/// The options of `charter import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory holding any of the files listed in the README (agents.json, policies.json, …)
    pub path: PathBuf,
}

/// The options of `charter status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Most datasets, agents and changes to list
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
}

/// The subcommands of `charter agents`.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List agents
    List {
        /// Most agents to list
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// List agents after this id (paging)
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one agent
    Show {
        /// Agent id
        id: String,
    },
    /// Kill switch: deny every decision about the agent, from the next one on
    Pause {
        /// Agent id
        id: String,
    },
    /// Lift the kill switch: back to the status before the pause, or to --status
    Resume {
        /// Agent id
        id: String,
        /// Status to resume to (active or pilot)
        #[arg(long)]
        status: Option<charter_model::AgentStatus>,
    },
}

/// The options of `charter decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Who acts: TYPE::ID, or an agent id (Agent:: is assumed)
    #[arg(long, required_unless_present = "file", value_name = "ENTITY")]
    pub principal: Option<String>,
    /// The action: invoke_tool, read_dataset, write_dataset, change_schema, promote_dataset,
    /// request_operation, approve_operation, execute_operation, grant, pause_agent, resume_agent
    #[arg(long, required_unless_present = "file")]
    pub action: Option<String>,
    /// What is acted on: TYPE::ID, e.g. Tool::crm_salesforce
    #[arg(long, required_unless_present = "file", value_name = "ENTITY")]
    pub resource: Option<String>,
    /// Context as a JSON object, e.g. '{"approval":"GRANT-0001","ticket":"CHG-12"}'
    #[arg(long, value_name = "JSON")]
    pub context: Option<String>,
    /// Decide a batch instead: a JSON array of {principal, action, resource, context}
    #[arg(long, value_name = "FILE", conflicts_with_all = ["principal", "action", "resource", "context"])]
    pub file: Option<PathBuf>,
}

/// The subcommands of `charter grant`.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Grant an agent one action on one resource for a while; you approve it
    Create {
        /// The agent
        #[arg(long)]
        agent: charter_model::AgentId,
        /// The action, e.g. invoke_tool
        #[arg(long)]
        action: String,
        /// The resource: TYPE::ID, e.g. Tool::erp_netsuite
        #[arg(long, value_name = "ENTITY")]
        resource: String,
        /// How long it holds: 90s, 30m, 2h, 7d, 1h30m (at most 90 days)
        #[arg(long)]
        ttl: charter_model::Span,
        /// Why it is given
        #[arg(long)]
        reason: String,
        /// access (lifts least privilege), approval (for Tier 3+ resources, named in the
        /// request context) or residency_exception
        #[arg(long, default_value = "access")]
        kind: charter_model::GrantKind,
        /// Who asked for it (default: the agent); may not be you, the approver
        #[arg(long, value_name = "NAME")]
        requested_by: Option<String>,
    },
    /// List grants (by default only those that hold now)
    List {
        /// Also list expired and revoked grants
        #[arg(long)]
        all: bool,
    },
    /// Revoke a grant now
    Revoke {
        /// Grant id (GRANT-NNNN)
        id: String,
    },
}

/// The subcommands of `charter policy`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policies against POL-GOVERNANCE-MASTER: id format, under 500 words, one owner,
    /// a one- or two-sentence purpose, numbered rules, a valid status, valid Cedar
    Lint {
        /// Lint these policy files (a JSON file or a directory of them) instead of the
        /// workspace's policies
        #[arg(long, value_name = "FILE_OR_DIR")]
        file: Option<PathBuf>,
    },
    /// List policies whose last review is a quarter old and raise a RAIDA action for each (once)
    ReviewDue {
        /// The day to judge from (default: today)
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<charter_model::Date>,
    },
    /// Run policy test cases (JSON files of requests and expected decisions) and print a
    /// pass/fail table; nothing is logged
    Test {
        /// Directory of case files (or one file)
        path: PathBuf,
        /// Test a proposed policy set instead of the enforced one: policy files replacing the
        /// policies of the same id
        #[arg(long, value_name = "FILE_OR_DIR")]
        proposed: Option<PathBuf>,
        /// Time of the decisions of cases that do not give one (default: now)
        #[arg(long, value_name = "TIME")]
        at: Option<charter_model::Timestamp>,
    },
    /// Re-evaluate logged decisions under proposed policies and report every one that would flip
    Replay {
        /// Proposed policy files (a JSON file or a directory of them), replacing the policies of
        /// the same id
        #[arg(long, value_name = "FILE_OR_DIR")]
        proposed: PathBuf,
        /// Only decisions since then: a duration back from now (7d, 24h) or an RFC 3339 time
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Replay each decision on the registry as it was then, or as it is now
        #[arg(long, value_enum, default_value_t = RegistryChoice::AsLogged)]
        registry: RegistryChoice,
    },
}

/// The subcommands of `charter op`.
#[derive(Debug, Subcommand)]
pub enum OpCommand {
    /// Declare an operation from its YAML declaration; prints its OPS-YYYY-MM-DD-NNN id
    Declare {
        /// The declaration (OPERATION_NAME, OBJECTIVE, RISK_CLASS, BLAST_RADIUS,
        /// ROLLBACK_STRATEGY, ALLOWED_PATHS, ALLOWED_SERVICES, NOT_ALLOWED, REQUESTED_BY, STEPS)
        file: PathBuf,
    },
    /// List operations
    List,
    /// Show one operation: its status, tier, approvals and plan
    Show {
        /// Operation id (OPS-YYYY-MM-DD-NNN)
        id: String,
    },
    /// Approve the operation's current plan (approver; not its requester; after a dry run)
    Approve {
        /// Operation id
        id: String,
    },
    /// Reject an operation that has not run
    Reject {
        /// Operation id
        id: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Replace the plan of an operation that has not run (voids approvals and dry runs)
    Revise {
        /// Operation id
        id: String,
        /// The new declaration
        file: PathBuf,
    },
    /// Run the operation's steps in order with verification gates; on a failure, roll back.
    /// Exits 0 only when the run ends in SUCCESS
    Run {
        /// Operation id
        id: String,
        /// Check everything and run only each step's dry_run command: the proof Tier 3+
        /// approval needs
        #[arg(long)]
        dry_run: bool,
        /// Where snapshots of ALLOWED_PATHS are kept (default: DATA_DIR/snapshots)
        #[arg(long, value_name = "DIR")]
        snapshot_dir: Option<PathBuf>,
        /// Also write the run's report as report.md and report.json in this directory
        #[arg(long, value_name = "DIR")]
        report_dir: Option<PathBuf>,
    },
    /// Stop a running operation: its runner kills the current step and rolls back
    Halt {
        /// Operation id
        id: String,
        /// The runner died (the operation stays Executing): roll back here, from the recorded
        /// evidence and the snapshot
        #[arg(long)]
        recover: bool,
        /// Where the snapshots are (default: DATA_DIR/snapshots)
        #[arg(long, value_name = "DIR")]
        snapshot_dir: Option<PathBuf>,
    },
    /// Publish a Validated operation's results
    Publish {
        /// Operation id
        id: String,
    },
    /// Close an operation (Published, Rejected or RolledBack)
    Retire {
        /// Operation id
        id: String,
    },
    /// Change success rate and mean time to recover over a period
    Kpis {
        /// The period: YYYY-MM, YYYY or YYYY-MM-DD
        #[arg(long)]
        period: String,
    },
    /// Print the report of an operation's latest run (or of run N)
    Report {
        /// Operation id
        id: String,
        /// Which run, from 1 (default: the latest)
        #[arg(long)]
        run: Option<usize>,
        /// md or json
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// Print a month's signoff ledger entries, as ops/ledger/YYYY-MM.yaml
    Ledger {
        /// The month, YYYY-MM
        #[arg(long)]
        month: String,
    },
}

/// Which registry replayed decisions are judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryChoice {
    /// The registry as it was when each decision was made
    AsLogged,
    /// The registry as it is now
    Current,
}

/// The options of `charter get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Record kind: agent, system, workflow, dataset, policy, procedure, kpi, risk_signal,
    /// risk_event, snapshot, value_record, ownership_review, raida, person, team
    pub kind: String,
    /// Record id
    pub id: String,
}

/// The subcommands of `charter token`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for the workspace; the secret is printed once
    Create {
        /// Role the token carries
        #[arg(long)]
        role: Role,
        /// Who holds it, recorded as the actor of its requests: a person of the workspace who
        /// holds the role, or an agent (operator tokens); default: you (an admin token of your
        /// own needs no registration: it is the installation's)
        #[arg(long)]
        name: Option<String>,
        /// How long it lives (default 90d, at most 366d)
        #[arg(long, value_name = "SPAN")]
        ttl: Option<charter_model::Span>,
    },
    /// List the workspace's tokens with their state and last use (never secrets)
    List,
    /// Revoke a token: refused from the next request here, within a second elsewhere
    Revoke {
        /// The token's id (tok_…)
        id: String,
    },
    /// Replace a token's secret: a new token of the same name and role, the old one revoked
    Rotate {
        /// The token's id (tok_…)
        id: String,
        /// How long the new one lives (default 90d, at most 366d)
        #[arg(long, value_name = "SPAN")]
        ttl: Option<charter_model::Span>,
    },
}

/// The subcommands of `charter gen`.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// A synthetic agent portfolio in the nine-file format
    Portfolio {
        /// Number of agents
        #[arg(long, default_value_t = 100)]
        agents: usize,
        /// Seed: the same seed gives the same files
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Date of the last weekly snapshot
        #[arg(long, default_value = "2024-12-20", value_name = "YYYY-MM-DD")]
        end_date: charter_model::Date,
        /// Directory to write
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// The subcommands of `charter dataset`.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Register a dataset from a JSON file, in DRAFT at schema version 1, managed by a specialist agent
    Create {
        /// The dataset (dataset_id, dataset_name, fields, rules, managed_by_agent, …)
        file: PathBuf,
    },
    /// List datasets with their scope, version, agent and latest quality score
    List,
    /// Promote a dataset one scope up; refused, listing every unmet gate, unless all are met
    Promote {
        /// Dataset id
        dataset: String,
        /// STAGE or PUBLISHED
        #[arg(long, value_name = "SCOPE")]
        to: String,
    },
}

/// The subcommands of `charter schema`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Propose a new schema: prints the diff and the impact, logs a Planned CHG-YYYY-MM-DD-###
    /// entry and notifies the owners of affected agents
    Propose {
        /// Dataset id
        dataset: String,
        /// The proposed schema: {"fields": [...], "rules": [...], "renamed": {"old": "new"},
        /// "description": "..."}
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
    },
    /// Apply a Planned change: Executing, then Complete at schema version + 1
    Apply {
        /// Change id (CHG-YYYY-MM-DD-###)
        id: String,
    },
    /// Roll a change back (a Complete one restores the previous schema)
    Rollback {
        /// Change id
        id: String,
    },
    /// List the change log
    List {
        /// Only changes of this dataset
        #[arg(long)]
        dataset: Option<String>,
    },
    /// Show one change with its impact analysis
    Show {
        /// Change id
        id: String,
    },
    /// Deliver pending webhook notifications (retried; each outcome is recorded)
    Notify,
}

/// The subcommands of `charter dq`.
#[derive(Debug, Subcommand)]
pub enum DqCommand {
    /// Validate a CSV or JSON Lines file (streamed) against a dataset's schema, record the run and
    /// raise a RAIDA issue per failing check; exits with status 2 below the quality threshold
    Validate {
        /// Dataset id
        dataset: String,
        /// The data file (.csv, .jsonl or .ndjson)
        file: PathBuf,
        /// Key values of a referenced dataset, from one of its data files (repeatable)
        #[arg(long = "keys", value_name = "DATASET=FILE")]
        keys: Vec<String>,
        /// Failing rows kept per check
        #[arg(long, default_value_t = 5)]
        samples: usize,
    },
    /// List recorded runs, newest first
    Runs {
        /// Only runs of this dataset
        #[arg(long)]
        dataset: Option<String>,
    },
}

/// The subcommands of `charter raida`.
#[derive(Debug, Subcommand)]
pub enum RaidaCommand {
    /// List items (open and in progress unless --all or --status)
    List {
        /// risk, assumption, issue, dependency or action
        #[arg(long = "type")]
        item_type: Option<String>,
        /// open, in_progress or closed
        #[arg(long)]
        status: Option<String>,
        /// Only this owner
        #[arg(long)]
        owner: Option<String>,
        /// Closed items too
        #[arg(long)]
        all: bool,
    },
    /// Add an item; prints its RAIDA-NNNN id
    Add {
        /// risk, assumption, issue, dependency or action
        #[arg(long = "type")]
        item_type: String,
        /// One line
        #[arg(long)]
        title: String,
        /// Details
        #[arg(long)]
        description: Option<String>,
        /// Who must act
        #[arg(long)]
        owner: Option<String>,
        /// low, medium, high or critical
        #[arg(long, default_value = "medium")]
        severity: String,
        /// Due date (YYYY-MM-DD)
        #[arg(long)]
        due: Option<charter_model::Date>,
        /// The record that raised it, as kind/id
        #[arg(long)]
        source: Option<String>,
    },
    /// Change an item
    Update {
        /// Item id
        id: String,
        /// New title
        #[arg(long)]
        title: Option<String>,
        /// New description
        #[arg(long)]
        description: Option<String>,
        /// New owner
        #[arg(long)]
        owner: Option<String>,
        /// New severity
        #[arg(long)]
        severity: Option<String>,
        /// New status: open, in_progress or closed
        #[arg(long)]
        status: Option<String>,
        /// New due date
        #[arg(long)]
        due: Option<charter_model::Date>,
    },
    /// Close an item
    Close {
        /// Item id
        id: String,
    },
}

/// The options of `charter check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The day to check (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Bring the RAIDA items in line: raise one per AMBER or RED finding, close those whose
    /// finding is gone (without it, the check only reads and says what it would do)
    #[arg(long)]
    pub raise: bool,
}

/// The options of `charter assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The day assessed (default: today, UTC); records after it are not read
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Do not save the snapshots
    #[arg(long)]
    pub no_save: bool,
    /// Scoring configuration in TOML (see examples/risk.toml; default: the built-in values)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The options of `charter report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// html (report.html and the four charts as SVG files), md (report.md) or json (assessment.json)
    #[arg(long, default_value = "md")]
    pub format: String,
    /// The day assessed (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<charter_model::Date>,
    /// Directory to write into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Scoring configuration in TOML (see examples/risk.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
