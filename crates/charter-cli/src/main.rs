use std::process::ExitCode;

use charter_cli::args::{Cli, Command};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc: imports and bulk writes allocate and free millions of small
/// strings, where glibc's allocator spent a quarter of the CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_) | Command::Up(_));
    let default_level = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("CHARTER_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // CHARTER_LOG_FORMAT=json: one JSON object per line, for log collectors.
    if std::env::var("CHARTER_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(charter_cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
