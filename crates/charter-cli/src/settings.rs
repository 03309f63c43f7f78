//! Settings: the options every command takes, and who and where a command
//! acts.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use charter_app::{App, Caller};
use charter_model::WorkspaceName;
use charter_store::Store;
use clap::Args;
use serde::Deserialize;

use crate::output::Output;

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Data directory of the embedded SQLite database and the signing key [default:
    /// ./charter-data]
    #[arg(
        long = "data-dir",
        global = true,
        env = "CHARTER_DATA_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    data_dir_option: Option<PathBuf>,

    /// The settings file: a TOML file whose keys (data_dir, database_url, workspace, server,
    /// signing_key) apply where neither a flag nor a CHARTER_* variable says otherwise [default:
    /// $XDG_CONFIG_HOME/charter/config.toml, when it exists]
    #[arg(long, global = true, env = "CHARTER_CONFIG", hide_env_values = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The data directory in effect (from the flag, the variable, the settings file or the
    /// default).
    #[arg(skip)]
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

/// The operating-system account running this command: the login name of
/// the process's user id (not `$USER`, which anyone can set), acting as the
/// registered person of the same id.
pub(crate) fn account() -> String {
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
        ..charter_app::ledger::LedgerSettings::default()
    };
    Ok(App::new(store).with_ledger(settings).with_notifier(std::sync::Arc::new(charter_notify::Webhook)))
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
pub(crate) async fn record_break_glass(app: &App, global: &Global, workspace: &WorkspaceName) -> Result<()> {
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

pub(crate) async fn only_workspace(app: &App, global: &Global) -> Result<WorkspaceName> {
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

/// Where the data directory is when nothing says: `./charter-data`.
pub const DEFAULT_DATA_DIR: &str = "./charter-data";

/// The settings file's keys; each applies where neither a flag nor a
/// `CHARTER_*` variable gave a value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    workspace: Option<WorkspaceName>,
    server: Option<String>,
    signing_key: Option<PathBuf>,
}

impl Global {
    /// These options completed in the order of precedence: flags, then
    /// `CHARTER_*` variables (both read by clap), then the settings file,
    /// then the defaults in code. A settings file named by `--config` or
    /// `CHARTER_CONFIG` must exist; the default one is read when it does.
    pub fn with_settings_file(mut self) -> anyhow::Result<Self> {
        let (path, named) = match &self.config {
            Some(path) => (Some(path.clone()), true),
            None => (default_settings_file(), false),
        };
        let file = match path {
            Some(path) if named || path.is_file() => read_settings_file(&path)?,
            _ => SettingsFile::default(),
        };
        self.data_dir =
            self.data_dir_option.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        self.database_url = self.database_url.or(file.database_url);
        self.workspace = self.workspace.or(file.workspace);
        self.server = self.server.or(file.server);
        self.signing_key = self.signing_key.or(file.signing_key);
        Ok(self)
    }
}

/// `$XDG_CONFIG_HOME/charter/config.toml`, or `~/.config/charter/config.toml`.
fn default_settings_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(
        || {
            std::env::var_os("HOME")
                .filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        },
    )?;
    Some(base.join("charter").join("config.toml"))
}

fn read_settings_file(path: &std::path::Path) -> anyhow::Result<SettingsFile> {
    let text = crate::input::read_to_string(path)?;
    parse_settings(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// The settings in `text`; the error names the key, line and value.
fn parse_settings(text: &str) -> Result<SettingsFile, String> {
    toml::from_str(text).map_err(|error| error.to_string().trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use proptest::prelude::*;

    use super::*;

    fn global(args: &[&str]) -> Global {
        let mut argv = vec!["charter"];
        argv.extend_from_slice(args);
        crate::Cli::try_parse_from(argv).unwrap().global
    }

    #[test]
    fn flags_then_variables_then_the_file_then_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/charter\"\nworkspace = \"ops\"\nserver = \"http://127.0.0.1:8080\"\n",
        )
        .unwrap();
        let config = file.display().to_string();

        let from_file = global(&["--config", &config, "whoami"]).with_settings_file().unwrap();
        assert_eq!(from_file.data_dir, PathBuf::from("/srv/charter"));
        assert_eq!(from_file.workspace.as_ref().map(|w| w.as_str()), Some("ops"));
        assert_eq!(from_file.server.as_deref(), Some("http://127.0.0.1:8080"));

        let flag = global(&["--config", &config, "--data-dir", "/elsewhere", "-w", "other", "whoami"])
            .with_settings_file()
            .unwrap();
        assert_eq!(flag.data_dir, PathBuf::from("/elsewhere"));
        assert_eq!(flag.workspace.as_ref().map(|w| w.as_str()), Some("other"));

        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        let defaults =
            global(&["--config", &empty.display().to_string(), "whoami"]).with_settings_file().unwrap();
        assert_eq!(defaults.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(defaults.server, None);
    }

    #[test]
    fn a_bad_settings_file_names_the_file_the_key_and_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "data_dir = \"/srv\"\nworkspaces = \"ops\"\n").unwrap();
        let error =
            global(&["--config", &file.display().to_string(), "whoami"]).with_settings_file().unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("config.toml") && message.contains("workspaces"), "{message}");

        std::fs::write(&file, "workspace = \"not a name!\"\n").unwrap();
        let error =
            global(&["--config", &file.display().to_string(), "whoami"]).with_settings_file().unwrap_err();
        assert!(format!("{error:#}").contains("not a name!"), "{error:#}");

        let missing = dir.path().join("missing.toml");
        assert!(
            global(&["--config", &missing.display().to_string(), "whoami"]).with_settings_file().is_err()
        );
    }

    proptest! {
        #[test]
        fn any_text_is_settings_or_an_error(text in "\\PC*") {
            let _ = parse_settings(&text);
        }
    }
}
