//! The `charter` command: parses arguments, opens the store, calls one use
//! case and prints its result as a table or as JSON.

pub mod args;
mod audit;
mod backend;
mod bench;
mod bench_data;
mod bench_http;
mod bench_ops;
mod bench_risk;
mod data;
mod example;
mod input;
mod ops;
mod policy;
pub mod sandbox;
mod table;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use charter_app::{App, Caller, ImportReport, ImportSource, RecordView};
use charter_model::{Record, RecordKind, Role, WorkspaceName};
use charter_store::Store;

use crate::args::{AgentsCommand, Cli, Command, GenCommand, Global, Output, TokenCommand, WorkspaceCommand};
use crate::table::Table;

/// Name of the file `charter up` keeps the admin token in.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Workspace `charter up --example` imports into.
pub const EXAMPLE_WORKSPACE: &str = "ops";

/// Runs one command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let global = cli.global;
    if global.server.is_some() && !through_a_server(&cli.command) {
        bail!("this command needs the database and does not work through a server: leave out --server");
    }
    match cli.command {
        Command::Init => init(&global).await,
        Command::Up(up) => self::up(&global, up).await,
        Command::Serve(serve) => {
            let app = open(&global, false).await?;
            serve_until_signal(app, serve.listen, None).await
        }
        Command::Workspace(command) => workspace_command(&global, command).await,
        Command::Import(import) => {
            let app = open(&global, true).await?;
            let workspace = match &global.workspace {
                Some(workspace) => workspace.clone(),
                None => only_workspace(&app, &global)
                    .await
                    .context("name the workspace to import into with --workspace NAME")?,
            };
            let source = ImportSource::from_dir(&import.path)?;
            if app.store().workspace(&workspace).await?.is_some() {
                record_break_glass(&app, &global, &workspace).await?;
            }
            let report = app.import(&caller(&global), &workspace, source, true).await?;
            print_import(&global, &report)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(status) => {
            let app = open(&global, false).await?;
            let workspace = resolve_workspace(&app, &global).await?;
            let status = app.status(&caller(&global), &workspace, status.limit).await?;
            print_status(&global, &status)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Agents(AgentsCommand::Pause { id }) => policy::pause(&global, &id).await,
        Command::Agents(AgentsCommand::Resume { id, status }) => policy::resume(&global, &id, status).await,
        Command::Agents(command) => agents_command(&global, command).await,
        Command::Decide(args) => policy::decide(&global, args).await,
        Command::Grant(command) => policy::grant(&global, command).await,
        Command::Policy(command) => policy::policy(&global, command).await,
        Command::Op(command) => ops::run(&global, command).await,
        Command::Dataset(command) => data::dataset(&global, command).await,
        Command::Schema(command) => data::schema(&global, command).await,
        Command::Dq(command) => data::dq(&global, command).await,
        Command::Raida(command) => data::raida(&global, command).await,
        Command::Check(args) => data::check(&global, args).await,
        Command::Assess(args) => data::assess(&global, args).await,
        Command::Report(args) => data::report(&global, args).await,
        Command::Get(get) => {
            let kind: RecordKind =
                get.kind.parse().map_err(|error| anyhow::anyhow!("record kind: {error}"))?;
            let (backend, workspace) = backend::Backend::connect(&global).await?;
            let view = backend.get_record(&workspace, kind, &get.id).await?;
            print_record(&global, &view)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Whoami => {
            let app = open(&global, false).await?;
            let workspace = resolve_workspace(&app, &global).await?;
            let identity = app.whoami(&caller(&global), &workspace).await?;
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
        Command::Token(command) => token_command(&global, command).await,
        Command::Audit(command) => audit::run(&global, command).await,
        Command::Bench(command) => bench::run(&global, command).await,
        Command::Gen(GenCommand::Portfolio { agents, seed, end_date, out }) => {
            let spec = charter_app::generate::PortfolioSpec { agents, seed, end_date };
            let counts = charter_app::generate::portfolio(spec, &out)
                .with_context(|| format!("cannot write the portfolio to {}", out.display()))?;
            match global.output {
                Output::Json => print_json(&serde_json::json!({
                    "out": out.display().to_string(), "agents": counts.agents, "systems": counts.systems,
                    "workflows": counts.workflows, "snapshots": counts.snapshots, "risk_signals": counts.risk_signals,
                    "risk_events": counts.risk_events, "reviews": counts.reviews, "value_records": counts.value_records,
                }))?,
                Output::Table => println!(
                    "Wrote {} agents, {} systems, {} workflows, {} snapshots, {} risk signals, {} risk events, {} reviews and {} value records to {}",
                    counts.agents,
                    counts.systems,
                    counts.workflows,
                    counts.snapshots,
                    counts.risk_signals,
                    counts.risk_events,
                    counts.reviews,
                    counts.value_records,
                    out.display()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
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
            | Command::Agents(AgentsCommand::Pause { .. } | AgentsCommand::Resume { .. })
    )
}

/// The operating-system account running this command: the login name of
/// the process's user id (not `$USER`, which anyone can set), acting as the
/// registered person of the same id.
fn account() -> String {
    login_name_of_uid()
        .or_else(|| std::env::var("USER").ok().filter(|user| !user.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The login name of this process's user id, from `/etc/passwd`.
fn login_name_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid =
        status.lines().find_map(|line| line.strip_prefix("Uid:"))?.split_whitespace().next()?.to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// Who this command acts for: the account running it, or with `--actor`
/// someone else (a break-glass, recorded as such).
pub(crate) fn caller(global: &Global) -> Caller {
    let acting_as = global.actor.as_deref().filter(|actor| !actor.trim().is_empty());
    Caller::local_as(&account(), acting_as)
}

/// Name of the signing key file in the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

/// The checkpoint signing key: `CHARTER_SIGNING_KEY` (the key itself), or the
/// file `--signing-key` / `CHARTER_SIGNING_KEY_FILE` names, by default
/// `DATA_DIR/signing.key`. A missing file is created with a new key (mode
/// 0600) and its verifier key printed.
fn signing_key(global: &Global) -> Result<charter_ledger::NoteSigner> {
    if let Ok(text) = std::env::var("CHARTER_SIGNING_KEY")
        && !text.trim().is_empty()
    {
        return charter_ledger::NoteSigner::parse(&text).context("CHARTER_SIGNING_KEY");
    }
    let path = global.signing_key.clone().unwrap_or_else(|| global.data_dir.join(SIGNING_KEY_FILE));
    match std::fs::read_to_string(&path) {
        Ok(text) => charter_ledger::NoteSigner::parse(&text)
            .with_context(|| format!("signing key {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let name = std::env::var("CHARTER_KEY_NAME").unwrap_or_else(|_| "charter".to_owned());
            let signer = charter_app::ledger::generate_signer(&name)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            write_private(&path, &signer.to_private_string())
                .with_context(|| format!("cannot write signing key {}", path.display()))?;
            eprintln!("Created the checkpoint signing key {} (mode 0600).", path.display());
            eprintln!("Verifier key: {}", signer.verifier());
            Ok(signer)
        }
        Err(error) => Err(error).with_context(|| format!("cannot read signing key {}", path.display())),
    }
}

/// Opens the store the options name. With SQLite, `create` makes the data
/// directory if it does not exist; otherwise a missing one is an error.
pub(crate) async fn open(global: &Global, create: bool) -> Result<App> {
    let store = match &global.database_url {
        Some(url) => Store::connect(url).await?,
        None => {
            let dir = &global.data_dir;
            if !dir.exists() {
                if !create {
                    bail!(
                        "no Charter data in {}: run `charter init` (or pass --data-dir or --database-url)",
                        dir.display()
                    );
                }
                charter_store::create_private_dir(dir)
                    .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            }
            Store::open_data_dir(dir).await?
        }
    };
    let settings = charter_app::ledger::LedgerSettings {
        signer: Some(std::sync::Arc::new(signing_key(global)?)),
        origin: std::env::var("CHARTER_LEDGER_ORIGIN")
            .unwrap_or_else(|_| charter_app::ledger::DEFAULT_ORIGIN.to_owned()),
        min_interval: std::time::Duration::ZERO,
    };
    Ok(App::new(store).with_ledger(settings))
}

async fn init(global: &Global) -> Result<ExitCode> {
    let app = open(global, true).await?;
    let verifier = app.verifier().map(|verifier| verifier.to_string()).unwrap_or_default();
    match global.output {
        Output::Json => {
            print_json(&serde_json::json!({ "database": app.store().location(), "verifier_key": verifier }))?
        }
        Output::Table => {
            println!("Charter is ready: database {}", app.store().location());
            println!("Checkpoint verifier key: {verifier}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The workspace named by the options, or the only one there is. A
/// break-glass (`--actor` naming someone else) is recorded in its ledger
/// before the command goes on.
pub(crate) async fn resolve_workspace(app: &App, global: &Global) -> Result<WorkspaceName> {
    let workspace = match &global.workspace {
        Some(workspace) => workspace.clone(),
        None => only_workspace(app, global).await?,
    };
    record_break_glass(app, global, &workspace).await?;
    Ok(workspace)
}

/// Records in `workspace`'s ledger that this command is a break-glass, and
/// says so, when `--actor` names someone other than the account running it.
async fn record_break_glass(app: &App, global: &Global, workspace: &WorkspaceName) -> Result<()> {
    let who = caller(global);
    let command: Vec<String> = std::env::args().skip(1).collect();
    if let Some(seq) = app.record_break_glass(&who, workspace, &command.join(" ")).await? {
        eprintln!(
            "warning: break-glass: account {} acts as {} (audit event {seq}); it never approves at Tier 3 or above",
            who.break_glass().unwrap_or_default(),
            who.actor()
        );
    }
    Ok(())
}

async fn only_workspace(app: &App, global: &Global) -> Result<WorkspaceName> {
    let workspaces = app.list_workspaces(&caller(global)).await?;
    match workspaces.as_slice() {
        [only] => Ok(only.name.clone()),
        [] => bail!(
            "there is no workspace yet: create one with `charter workspace create NAME` or `charter import DIR --workspace NAME`"
        ),
        several => bail!(
            "there are several workspaces ({}): choose one with --workspace NAME or CHARTER_WORKSPACE",
            several.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

async fn workspace_command(global: &Global, command: WorkspaceCommand) -> Result<ExitCode> {
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

async fn agents_command(global: &Global, command: AgentsCommand) -> Result<ExitCode> {
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
        AgentsCommand::Pause { id } => return policy::pause(global, &id).await,
        AgentsCommand::Resume { id, status } => return policy::resume(global, &id, status).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn up(global: &Global, up: args::UpArgs) -> Result<ExitCode> {
    let app = open(global, true).await?;
    let local = caller(global);
    let mut workspace = global.workspace.clone();
    if up.example {
        let name = WorkspaceName::new(EXAMPLE_WORKSPACE)?;
        let report = app.import(&local, &name, example::source(), true).await?;
        let (created, updated, _) = report.totals();
        if report.workspace_created {
            println!(
                "Imported the example workspace as \"{name}\": {created} records, {} RAIDA items raised",
                report.raida.opened.len()
            );
        } else {
            println!(
                "Example workspace \"{name}\" is up to date ({created} records added, {updated} changed)"
            );
        }
        workspace = Some(name);
    }
    let workspace = match workspace {
        Some(workspace) => Some(workspace),
        None => only_workspace(&app, global).await.ok(),
    };
    let hint = match workspace {
        Some(workspace) => {
            admin_token(&app, global, &workspace).await?;
            Some((workspace, global.data_dir.join(ADMIN_TOKEN_FILE)))
        }
        None => {
            println!(
                "No workspace yet: create one with `charter workspace create NAME` or `charter import DIR --workspace NAME`."
            );
            None
        }
    };
    serve_until_signal(app, up.listen, hint).await
}

/// The admin token kept in the data directory: reused while it is valid for
/// `workspace`, otherwise created, printed once and saved with mode 0600.
async fn admin_token(app: &App, global: &Global, workspace: &WorkspaceName) -> Result<()> {
    let path = global.data_dir.join(ADMIN_TOKEN_FILE);
    if let Ok(saved) = std::fs::read_to_string(&path) {
        let saved = saved.trim().to_owned();
        if let Some(Caller::Token { workspace: own, role: Role::Admin, .. }) =
            app.authenticate(&saved).await?
            && &own == workspace
        {
            println!("Admin token for \"{workspace}\": in {}", path.display());
            return Ok(());
        }
    }
    // The installation's own admin token, held by the account running it.
    let local = caller(global);
    let token = app.create_token(&local, workspace, Role::Admin, local.actor()).await?;
    charter_store::create_private_dir(&global.data_dir)?;
    write_private(&path, &token.secret).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Admin token for \"{workspace}\" (shown once, saved to {}):", path.display());
    println!("  {}", token.secret);
    Ok(())
}

/// Writes a secret to a file only its owner can read.
pub(crate) fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // The mode applies only when the file is created; tighten an old one.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(secret.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(secret.as_bytes())?;
        file.sync_all()
    }
}

async fn serve_until_signal(
    app: App,
    listen: std::net::SocketAddr,
    token_hint: Option<(WorkspaceName, std::path::PathBuf)>,
) -> Result<ExitCode> {
    // Requests are committed in groups, and each workspace gets at most a few
    // checkpoints a second; the server's background task signs what commits
    // left unsigned.
    let settings = charter_app::ledger::LedgerSettings {
        min_interval: charter_server::CHECKPOINT_INTERVAL,
        ..app.ledger_settings().clone()
    };
    let app = app.with_ledger(settings).with_group_commit();
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    println!("Charter is serving http://{address} (database {}); Ctrl-C stops it", app.store().location());
    if let Some((workspace, token_file)) = &token_hint {
        println!(
            "Try: curl -H \"Authorization: Bearer $(cat {})\" http://{address}/v1/workspaces/{workspace}/agents",
            token_file.display()
        );
    }
    std::io::stdout().flush().ok();
    charter_server::serve(
        listener,
        app.clone(),
        charter_server::Limits::default(),
        charter_server::shutdown_signal(),
    )
    .await
    .context("the server failed")?;
    app.store().close().await;
    println!("Charter stopped");
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

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
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

pub(crate) fn print_record(global: &Global, view: &RecordView) -> Result<()> {
    if global.output == Output::Json {
        return print_json(view);
    }
    println!(
        "{} {} (version {}, created {}, updated {})",
        view.kind, view.id, view.version, view.created_at, view.updated_at
    );
    println!("{}", serde_json::to_string_pretty(&view.record.to_json_value())?);
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

async fn token_command(global: &Global, command: TokenCommand) -> Result<ExitCode> {
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

/// The launcher that confines each command of an operation with Landlock
/// (this binary's `sandbox-exec`), or `None`, with a warning, where the
/// kernel cannot confine writes: the run then relies on the snapshot
/// comparison alone.
pub(crate) fn sandbox_launcher() -> Option<std::path::PathBuf> {
    if !sandbox::available() {
        eprintln!(
            "warning: Landlock is not available: steps run unconfined (detection by snapshot comparison only)"
        );
        return None;
    }
    match std::env::current_exe() {
        Ok(path) => Some(path),
        Err(error) => {
            eprintln!("warning: cannot find the charter binary ({error}): steps run unconfined");
            None
        }
    }
}
