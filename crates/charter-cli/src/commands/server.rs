//! `charter init`, `charter up` and `charter serve`: the data directory and
//! the HTTP server.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result};
use charter_app::{App, Caller};
use charter_model::{Role, WorkspaceName};
use clap::Args;

use crate::output::{Output, print_json};
use crate::settings::{Global, caller, only_workspace, open, write_private};

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

/// Name of the file `charter up` keeps the admin token in.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Workspace `charter up --example` imports into.
pub const EXAMPLE_WORKSPACE: &str = "ops";

/// `charter serve`.
pub(crate) async fn serve(global: &Global, serve: ServeArgs) -> Result<ExitCode> {
    let app = open(global, false).await?;
    serve_until_signal(app, serve.listen, None).await
}

pub(crate) async fn init(global: &Global) -> Result<ExitCode> {
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

pub(crate) async fn up(global: &Global, up: UpArgs) -> Result<ExitCode> {
    let app = open(global, true).await?;
    let local = caller(global);
    let mut workspace = global.workspace.clone();
    if up.example {
        let name = WorkspaceName::new(EXAMPLE_WORKSPACE)?;
        let report = app.import(&local, &name, crate::example::source(), true).await?;
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
    std::io::Write::flush(&mut std::io::stdout()).ok();
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
