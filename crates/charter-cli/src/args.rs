//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use charter_model::{Role, WorkspaceName};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Charter: the governance control plane for AI agents.
#[derive(Debug, Parser)]
#[command(name = "charter", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
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
        default_value = "./charter-data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Database URL; `postgres://…` selects PostgreSQL instead of the data directory's SQLite
    #[arg(long, global = true, env = "CHARTER_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Workspace to work in (default: the only one, when there is exactly one)
    #[arg(long, short = 'w', global = true, env = "CHARTER_WORKSPACE", value_name = "NAME")]
    pub workspace: Option<WorkspaceName>,

    /// Output format
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Who the audit trail records for this command (default: your login name)
    #[arg(long, global = true, env = "CHARTER_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// File holding the checkpoint signing key (default: DATA_DIR/signing.key); the key itself
    /// can be given in CHARTER_SIGNING_KEY instead
    #[arg(long, global = true, env = "CHARTER_SIGNING_KEY_FILE", value_name = "PATH")]
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
    /// List and show agents
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Show one record of any kind
    Get(GetArgs),
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
}

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
    },
    /// Print the verifier key of the local signing key
    Key,
}

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

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Import the example workspace as workspace `ops` (again: a no-op)
    #[arg(long)]
    pub example: bool,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

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

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory holding any of the files listed in the README (agents.json, policies.json, …)
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Most datasets, agents and changes to list
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
}

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
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Record kind: agent, system, workflow, dataset, policy, procedure, kpi, risk_signal,
    /// risk_event, snapshot, value_record, ownership_review, raida, person, team
    pub kind: String,
    /// Record id
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for the workspace; the secret is printed once
    Create {
        /// Role the token carries
        #[arg(long)]
        role: Role,
        /// Who holds it (recorded as the actor of its requests)
        #[arg(long, default_value = "api")]
        name: String,
    },
}

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
