//! The `charter` binary: sets up logging, the runtime and the allocator, and
//! runs [`charter_cli::run`] (or, first of all, the step launcher
//! `sandbox-exec`).

use std::process::ExitCode;

use charter_cli::Cli;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc: imports and bulk writes allocate and free millions of small
/// strings, where glibc's allocator spent a quarter of the CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A reader that stops reading (`charter … | head`) is not an error, but
/// `println!` panics when the pipe is closed. Such a panic ends the process
/// quietly with status 141 (128 + SIGPIPE), as a shell expects; any other
/// panic is reported as before.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    // The step launcher confines itself and becomes the step's command:
    // before any thread or runtime starts.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "sandbox-exec") {
        return ExitCode::from(charter_cli::sandbox::exec(&args[2..]));
    }
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let serving = cli.serves();
    let default_level = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("CHARTER_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colour only for a person at a terminal who has not asked for none.
    let colour =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let logs =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
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
        // Written output the reader no longer wants: as for `println!`.
        Err(error) if closed_stdout(&error) => ExitCode::from(141),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `error` is a write to a pipe whose reader has gone.
fn closed_stdout(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}
