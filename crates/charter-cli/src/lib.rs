//! The `charter` command: parses arguments, opens the store, calls one use
//! case and prints its result as a table or as JSON.
//!
//! One module per capability under [`commands`], named as in `charter-app`
//! and the server's API; [`settings`] holds the options every command takes
//! (flags, then `CHARTER_*` variables, then the settings file), [`output`]
//! how results are printed.

mod backend;
mod commands;
mod example;
mod input;
pub mod output;
pub mod sandbox;
pub mod settings;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

pub use commands::Command;
pub use commands::server::{ADMIN_TOKEN_FILE, EXAMPLE_WORKSPACE};
pub use output::Output;
pub use settings::Global;

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

impl Cli {
    /// Whether the command serves HTTP until stopped (`up`, `serve`).
    pub fn serves(&self) -> bool {
        matches!(self.command, Command::Serve(_) | Command::Up(_))
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let global = cli.global.with_settings_file()?;
    commands::run(global, cli.command).await
}
