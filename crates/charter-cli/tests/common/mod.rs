//! What the tests of the `charter` binary share.

use std::process::Command;

/// The `charter` binary, with none of Charter's settings from the
/// environment, run in the target directory's scratch space.
pub(crate) fn charter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    for var in [
        "CHARTER_DATA_DIR",
        "CHARTER_DATABASE_URL",
        "CHARTER_WORKSPACE",
        "CHARTER_ACTOR",
        "CHARTER_SIGNING_KEY",
    ] {
        command.env_remove(var);
    }
    // A command without `--data-dir` writes into its working directory: never
    // the repository's.
    command.current_dir(env!("CARGO_TARGET_TMPDIR"));
    command
}
