//! `charter workspace|import|status|agents list|show|get|whoami|token`: the
//! registry and who may reach it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_app::{App, ImportReport, ImportSource, RecordView};
use charter_model::{Record, RecordKind, Role, WorkspaceName};
use clap::{Args, Subcommand};

use crate::output::{Output, Table, print_json, print_record};
use crate::settings::{Global, caller, only_workspace, open, record_break_glass, resolve_workspace};

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
    /// Directory holding any of the files listed in the README (agents.json, policies.json, …),
    /// at its top or in the folders config/, current_state/, historical/, business_intent/
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

/// `charter import DIR`.
pub(crate) async fn import(global: &Global, import: ImportArgs) -> Result<ExitCode> {
    let app = open(global, true).await?;
    let workspace = match &global.workspace {
        Some(workspace) => workspace.clone(),
        None => only_workspace(&app, global)
            .await
            .context("name the workspace to import into with --workspace NAME")?,
    };
    let source = ImportSource::from_dir(&import.path)?;
    if app.store().workspace(&workspace).await?.is_some() {
        record_break_glass(&app, global, &workspace).await?;
    }
    let report = app.import(&caller(global), &workspace, source, true).await?;
    print_import(global, &report)?;
    Ok(ExitCode::SUCCESS)
}

/// `charter status`.
pub(crate) async fn status(global: &Global, status: StatusArgs) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let status = app.status(&caller(global), &workspace, status.limit).await?;
    print_status(global, &status)?;
    Ok(ExitCode::SUCCESS)
}

/// `charter get KIND ID`, directly or through a server.
pub(crate) async fn get(global: &Global, get: GetArgs) -> Result<ExitCode> {
    let kind: RecordKind = get.kind.parse().map_err(|error| anyhow::anyhow!("record kind: {error}"))?;
    let (backend, workspace) = crate::backend::Backend::connect(global).await?;
    let view = backend.get_record(&workspace, kind, &get.id).await?;
    print_record(global, &view)?;
    Ok(ExitCode::SUCCESS)
}

/// `charter whoami`.
pub(crate) async fn whoami(global: &Global) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let identity = app.whoami(&caller(global), &workspace).await?;
    match global.output {
        Output::Json => print_json(&identity)?,
        Output::Table => {
            let roles: Vec<&str> = identity.roles.iter().map(|role| role.as_str()).collect();
            let acting = identity
                .break_glass
                .as_ref()
                .map(|account| format!(" (account {account}, break-glass)"))
                .unwrap_or_default();
            match identity.registered_as {
                "unregistered" => println!(
                    "{}{acting}: not registered in {workspace}; the corridor (grants, pausing agents, \
                     datasets, schema changes, operations) needs a person whose person_id is {} \
                     (people.json)",
                    identity.actor, identity.actor
                ),
                kind => println!(
                    "{}{acting}: {kind} of {workspace}, roles [{}]",
                    identity.actor,
                    roles.join(", ")
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn workspace_command(global: &Global, command: WorkspaceCommand) -> Result<ExitCode> {
    match command {
        WorkspaceCommand::Create { name } => {
            let app = open(global, true).await?;
            let row = app.create_workspace(&caller(global), &name).await?;
            match global.output {
                Output::Json => print_json(
                    &serde_json::json!({ "name": row.name.as_str(), "created_at": row.created_at }),
                )?,
                Output::Table => println!("Created workspace {}", row.name),
            }
        }
        WorkspaceCommand::List => {
            let app = open(global, false).await?;
            let rows = app.list_workspaces(&caller(global)).await?;
            match global.output {
                Output::Json => print_json(
                    &rows
                        .iter()
                        .map(|row| serde_json::json!({ "name": row.name.as_str(), "created_at": row.created_at }))
                        .collect::<Vec<_>>(),
                )?,
                Output::Table => {
                    let mut table = Table::new(["WORKSPACE", "CREATED"]);
                    for row in &rows {
                        table.row([row.name.to_string(), row.created_at.to_string()]);
                    }
                    print!("{}", table.render());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn agents_command(global: &Global, command: AgentsCommand) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    match command {
        AgentsCommand::List { limit, after } => {
            let page = app
                .list_records(&caller(global), &workspace, RecordKind::Agent, after.as_deref(), limit)
                .await?;
            match global.output {
                Output::Json => print_json(&page)?,
                Output::Table => {
                    let mut table =
                        Table::new(["AGENT", "NAME", "STATUS", "CRITICALITY", "OWNER TEAM", "DEPENDENCIES"]);
                    for view in &page.items {
                        if let Record::Agent(agent) = &view.record {
                            table.row([
                                agent.agent_id.to_string(),
                                agent.name.clone(),
                                agent.status.to_string(),
                                agent.criticality.map(|c| c.to_string()).unwrap_or_default(),
                                agent.owner_team.clone().unwrap_or_default(),
                                agent.dependencies.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", "),
                            ]);
                        }
                    }
                    print!("{}", table.render());
                    if let Some(next) = &page.next_after {
                        println!("(more: --after {next})");
                    }
                }
            }
        }
        AgentsCommand::Show { id } => {
            let view = app.get_record(&caller(global), &workspace, RecordKind::Agent, &id).await?;
            print_record(global, &view)?;
        }
        AgentsCommand::Pause { id } => return super::decisions::pause(global, &id).await,
        AgentsCommand::Resume { id, status } => return super::decisions::resume(global, &id, status).await,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn token_command(global: &Global, command: TokenCommand) -> Result<ExitCode> {
    let app = open(global, false).await?;
    let workspace = resolve_workspace(&app, global).await?;
    let who = caller(global);
    let print_new = |token: &charter_app::NewToken, verb: &str| -> Result<()> {
        match global.output {
            Output::Json => print_json(&serde_json::json!({
                "id": token.id, "token": token.secret, "workspace": token.workspace.as_str(),
                "role": token.role, "name": token.name, "expires_at": token.expires_at,
            })),
            Output::Table => {
                println!(
                    "{verb} token {} ({} of workspace {}, expires {}). The secret is shown only now:",
                    token.id, token.role, workspace, token.expires_at
                );
                println!("{}", token.secret);
                Ok(())
            }
        }
    };
    match command {
        TokenCommand::Create { role, name, ttl } => {
            let holder = name.unwrap_or_else(|| who.actor().to_owned());
            let token = app.create_token_for(&who, &workspace, role, &holder, ttl).await?;
            print_new(&token, "Created")?;
        }
        TokenCommand::Rotate { id, ttl } => {
            let token = app.rotate_token(&who, &workspace, &id, ttl).await?;
            print_new(&token, &format!("Revoked {id}; created"))?;
        }
        TokenCommand::Revoke { id } => {
            let token = app.revoke_token(&who, &workspace, &id).await?;
            match global.output {
                Output::Json => print_json(&token)?,
                Output::Table => println!("Revoked token {} ({}, {})", token.id, token.name, token.role),
            }
        }
        TokenCommand::List => {
            let tokens = app.list_tokens(&who, &workspace).await?;
            match global.output {
                Output::Json => print_json(&tokens)?,
                Output::Table => {
                    let mut table =
                        Table::new(["ID", "NAME", "ROLE", "STATE", "CREATED", "EXPIRES", "LAST USED"]);
                    let time = |t: Option<charter_model::Timestamp>| {
                        t.map_or_else(|| "-".to_owned(), |t| t.to_string())
                    };
                    for token in tokens {
                        table.row([
                            token.id,
                            token.name,
                            token.role.to_string(),
                            token.state.to_owned(),
                            token.created_at.to_string(),
                            time(token.expires_at),
                            time(token.last_used_at),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every record of `kind` in `workspace`, page after page.
pub(crate) async fn all_records(
    app: &App,
    global: &Global,
    workspace: &WorkspaceName,
    kind: RecordKind,
) -> Result<Vec<RecordView>> {
    let mut views = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .list_records(&caller(global), workspace, kind, after.as_deref(), charter_app::MAX_PAGE)
            .await?;
        views.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok(views),
        }
    }
}

fn print_import(global: &Global, report: &ImportReport) -> Result<()> {
    if global.output == Output::Json {
        return print_json(report);
    }
    if report.workspace_created {
        println!("Created workspace {}", report.workspace);
    }
    let mut table = Table::new(["KIND", "CREATED", "UPDATED", "UNCHANGED"]);
    for kind in &report.kinds {
        table.row([
            kind.kind.name().to_owned(),
            kind.created.to_string(),
            kind.updated.to_string(),
            kind.unchanged.to_string(),
        ]);
    }
    print!("{}", table.render());
    let (created, updated, unchanged) = report.totals();
    println!(
        "Imported into {}: {created} created, {updated} updated, {unchanged} unchanged",
        report.workspace
    );
    let kept: Vec<&str> = report.kinds.iter().flat_map(|kind| kind.kept.iter().map(String::as_str)).collect();
    if !kept.is_empty() {
        println!(
            "Kept as stored (only their use cases change them: dataset promote, schema apply, agents pause/resume): {}",
            kept.join(", ")
        );
    }
    let raida = &report.raida;
    if !raida.opened.is_empty() {
        println!(
            "Raised {} RAIDA dependency items for references to undescribed records: {}",
            raida.opened.len(),
            raida.opened.join(", ")
        );
    }
    if !raida.reopened.is_empty() {
        println!("Reopened RAIDA items: {}", raida.reopened.join(", "));
    }
    if !raida.closed.is_empty() {
        println!("Closed RAIDA items whose records are now described: {}", raida.closed.join(", "));
    }
    if !report.ignored.is_empty() {
        println!("Ignored files charter import does not read: {}", report.ignored.join(", "));
    }
    Ok(())
}

fn print_status(global: &Global, status: &charter_app::WorkspaceStatus) -> Result<()> {
    if global.output == Output::Json {
        return print_json(status);
    }
    println!("Workspace {} (created {})", status.workspace, status.created_at);
    let counts: Vec<String> = status.records.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
    println!("Records: {}", if counts.is_empty() { "none".to_owned() } else { counts.join(", ") });
    let statuses: Vec<String> = status.agents_by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!("Agents: {}", if statuses.is_empty() { "none".to_owned() } else { statuses.join(", ") });
    println!("Open RAIDA items: {}; audit events: {}", status.open_raida, status.audit_events);

    println!("\nDatasets");
    let mut table = Table::new(["DATASET", "NAME", "SCOPE", "SCHEMA", "SPECIALIST AGENT"]);
    for dataset in &status.datasets {
        table.row([
            dataset.dataset_id.clone(),
            dataset.name.clone(),
            dataset.scope.clone(),
            format!("v{}", dataset.schema_version),
            dataset.managed_by_agent.clone().unwrap_or_else(|| "none".into()),
        ]);
    }
    print!("{}", if table.is_empty() { "  none\n".to_owned() } else { table.render() });

    println!("\nAgents in service (active or pilot)");
    let mut table = Table::new(["AGENT", "NAME", "STATUS", "CRITICALITY", "OWNER TEAM"]);
    for agent in &status.active_agents {
        table.row([
            agent.agent_id.clone(),
            agent.name.clone(),
            agent.status.clone(),
            agent.criticality.clone().unwrap_or_default(),
            agent.owner_team.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", if table.is_empty() { "  none\n".to_owned() } else { table.render() });

    println!("\nRecent changes");
    let mut table = Table::new(["#", "AT", "ACTOR", "ACTION", "SUBJECT"]);
    for change in &status.recent_changes {
        table.row([
            change.seq.to_string(),
            change.at.to_string(),
            change.actor.clone(),
            change.action.clone(),
            format!("{} {}", change.kind, change.subject),
        ]);
    }
    print!("{}", if table.is_empty() { "  none\n".to_owned() } else { table.render() });
    Ok(())
}
