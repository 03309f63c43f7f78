//! The operation runner: steps strictly in order, each behind the scope
//! contract, with its verification gate; on the first failure it stops,
//! rolls back and restores the snapshot. Every step's evidence is written to
//! the operation record (a ledger entry) as soon as the step ends, so a
//! runner that dies leaves the operation visibly Executing with its evidence.
//!
//! The files under ALLOWED_PATHS are snapshotted before the first step,
//! content-addressed (a blob per SHA-256) in the snapshot directory, with the
//! manifest beside them; after every step the files are compared with the
//! manifest, and a change outside the step's declared paths fails the step.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use charter_model::operation::{CommandResult, Rejection, RunOutcome, RunRecord, StepRecord};
use charter_model::{Operation, OperationStatus, Record, RecordKind, WorkspaceName};
use charter_ops::TierRules;
use charter_ops::run::{DEFAULT_TIMEOUT_SECS, Entry, Manifest, RunReport};
use charter_store::WorkspaceRow;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::core::audit::RecordWrite;
use crate::operations::declare::resolve_path;
use crate::registry::records::RecordView;
use crate::{App, AppError, Caller, Result};

/// Bytes of a command's output kept, from its end.
const TAIL: usize = 4_096;

/// How often a running step checks whether someone asked for a halt.
const HALT_POLL: Duration = Duration::from_millis(200);

/// How a run is made.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run only the steps' dry-run commands.
    pub dry_run: bool,
    /// Where snapshots are kept.
    pub snapshot_dir: PathBuf,
    /// Rules to use instead of the workspace's (tests).
    pub rules: Option<TierRules>,
    /// The `charter` binary whose `sandbox-exec` confines each command with
    /// Landlock to writes beneath ALLOWED_PATHS and outside the NOT ALLOWED
    /// paths; `None` runs commands unconfined (the snapshot comparison
    /// still catches writes outside the steps' paths).
    pub sandbox: Option<PathBuf>,
}

/// How a command is confined: the launcher and what it may write.
#[derive(Debug, Clone)]
struct Jail {
    launcher: PathBuf,
    write: Vec<PathBuf>,
    deny: Vec<PathBuf>,
    /// The TCP ports commands may connect to, when the network is confined.
    ports: Option<Vec<u16>>,
}

impl Jail {
    fn of(launcher: Option<&PathBuf>, operation: &Operation) -> Option<Jail> {
        let launcher = launcher?.clone();
        let deny = operation.declaration.not_allowed.paths.iter().map(PathBuf::from).collect();
        let ports = operation.declaration.allowed_ports.clone();
        Some(Jail { launcher, write: allowed_roots(operation), deny, ports })
    }

    /// The command that runs `command` with `sh -c`, confined.
    fn command(&self, command: &str) -> tokio::process::Command {
        let mut process = tokio::process::Command::new(&self.launcher);
        process.arg("sandbox-exec");
        for path in &self.write {
            process.arg("--write").arg(path);
        }
        for path in &self.deny {
            process.arg("--deny").arg(path);
        }
        if let Some(ports) = &self.ports {
            process.arg("--net");
            for port in ports {
                process.arg("--connect").arg(port.to_string());
            }
        }
        process.arg("--").arg("sh").arg("-c").arg(command);
        process
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The operation after the run.
    pub operation: Operation,
    /// The run.
    pub run: RunRecord,
    /// Its report.
    pub report: RunReport,
}

fn io_error(what: &str, error: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("{what}: {error}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(TAIL);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Scans the files under `roots`, hashing only files whose size or
/// modification time changed since the last scan. While `storing`, it keeps
/// each distinct content once in one pack file (`pack`, indexed by SHA-256
/// in `pack.json`): one file written for the whole snapshot, not one per
/// file, which is most of what a snapshot of many small files costs.
#[derive(Debug)]
pub struct Scanner {
    dir: PathBuf,
    pack: Option<std::fs::File>,
    packed: HashMap<String, (u64, u64)>,
    pack_len: u64,
    seen: HashMap<PathBuf, (u64, i128, String)>,
}

/// Creates (or truncates) a file only its owner can read or write.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

impl Scanner {
    /// A scanner keeping its snapshot in `dir`.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        // The pack holds copies of whatever ALLOWED_PATHS held, secrets
        // included: only the owner may read it.
        charter_store::create_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            pack: None,
            packed: HashMap::new(),
            pack_len: 0,
            seen: HashMap::new(),
        })
    }

    /// The manifest of everything under `roots`, storing every content in
    /// the pack: the snapshot a restore goes back to. The pack and its
    /// index are flushed to disk before this returns.
    pub fn snapshot(&mut self, roots: &[PathBuf]) -> std::io::Result<Manifest> {
        self.pack = Some(private_file(&self.dir.join("pack"))?);
        let manifest = self.scan(roots);
        let pack = self.pack.take();
        let manifest = manifest?;
        if let Some(pack) = pack {
            pack.sync_all()?;
        }
        let index = serde_json::to_vec(&self.packed).map_err(std::io::Error::other)?;
        private_file(&self.dir.join("pack.json"))?.write_all(&index)?;
        private_file(&self.dir.join("manifest.json"))?
            .write_all(&serde_json::to_vec(&manifest).map_err(std::io::Error::other)?)?;
        Ok(manifest)
    }

    /// The scanner of a snapshot taken earlier in `dir` (to recover after
    /// the runner died), with its manifest.
    pub fn open(dir: &Path) -> std::io::Result<(Self, Manifest)> {
        let read = |name: &str| -> std::io::Result<Vec<u8>> { std::fs::read(dir.join(name)) };
        let packed: HashMap<String, (u64, u64)> =
            serde_json::from_slice(&read("pack.json")?).map_err(std::io::Error::other)?;
        let manifest: Manifest =
            serde_json::from_slice(&read("manifest.json")?).map_err(std::io::Error::other)?;
        let scanner = Self { dir: dir.to_path_buf(), pack: None, packed, pack_len: 0, seen: HashMap::new() };
        Ok((scanner, manifest))
    }

    /// The manifest of everything under `roots`.
    pub fn scan(&mut self, roots: &[PathBuf]) -> std::io::Result<Manifest> {
        let mut manifest = Manifest::new();
        for root in roots {
            if std::fs::symlink_metadata(root).is_ok() {
                self.walk(root, &mut manifest)?;
            }
        }
        Ok(manifest)
    }

    /// The content with hash `sha256` from the pack, checked against its hash.
    fn content(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let (offset, len) = self.packed.get(sha256).copied().ok_or_else(|| {
            std::io::Error::other(format!("the snapshot holds no content with hash {sha256}"))
        })?;
        let pack = std::fs::File::open(self.dir.join("pack"))?;
        let mut bytes = vec![0_u8; usize::try_from(len).map_err(std::io::Error::other)?];
        pack.read_exact_at(&mut bytes, offset)?;
        if hex(&Sha256::digest(&bytes)) != sha256 {
            return Err(std::io::Error::other(format!("the snapshot's copy of {sha256} is damaged")));
        }
        Ok(bytes)
    }

    fn walk(&mut self, path: &Path, manifest: &mut Manifest) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::symlink_metadata(path)?;
        let key = path.to_string_lossy().into_owned();
        if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(path)?.to_string_lossy().into_owned();
            manifest.insert(key, Entry::Symlink { target });
        } else if metadata.is_dir() {
            manifest.insert(key, Entry::Dir);
            let mut children: Vec<PathBuf> = std::fs::read_dir(path)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
            children.sort();
            for child in children {
                self.walk(&child, manifest)?;
            }
        } else if metadata.is_file() {
            let modified = metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            let size = metadata.len();
            let cached = self
                .seen
                .get(path)
                .filter(|(s, m, _)| *s == size && *m == modified)
                .map(|(_, _, h)| h.clone());
            let sha256 = match cached {
                Some(hash) if self.pack.is_none() || self.packed.contains_key(&hash) => hash,
                _ => {
                    let bytes = std::fs::read(path)?;
                    let hash = hex(&Sha256::digest(&bytes));
                    if let Some(pack) = self.pack.as_mut()
                        && !self.packed.contains_key(&hash)
                    {
                        pack.write_all(&bytes)?;
                        self.packed.insert(hash.clone(), (self.pack_len, bytes.len() as u64));
                        self.pack_len += bytes.len() as u64;
                    }
                    self.seen.insert(path.to_path_buf(), (size, modified, hash.clone()));
                    hash
                }
            };
            manifest.insert(key, Entry::File { sha256, mode: metadata.permissions().mode() & 0o7777 });
        }
        Ok(())
    }

    /// Puts back every path of `before` that `now` differs on, and removes
    /// what `before` did not have. Returns the paths restored or removed.
    pub fn restore(&self, before: &Manifest, now: &Manifest) -> std::io::Result<Vec<String>> {
        use std::os::unix::fs::PermissionsExt;
        let mut touched = Vec::new();
        // Remove what is new, deepest first.
        for (path, entry) in now.iter().rev() {
            if before.contains_key(path) {
                continue;
            }
            match entry {
                Entry::Dir => std::fs::remove_dir(path)?,
                _ => std::fs::remove_file(path)?,
            }
            touched.push(path.clone());
        }
        // Put back what changed or went away, parents first.
        for (path, entry) in before {
            if now.get(path) == Some(entry) {
                continue;
            }
            let target = Path::new(path);
            if let Ok(metadata) = std::fs::symlink_metadata(target)
                && (metadata.file_type().is_symlink() || !matches!(entry, Entry::Dir))
                && !metadata.is_dir()
            {
                std::fs::remove_file(target)?;
            }
            match entry {
                Entry::Dir => std::fs::create_dir_all(target)?,
                Entry::Symlink { target: link } => std::os::unix::fs::symlink(link, target)?,
                Entry::File { sha256, mode } => {
                    if std::fs::symlink_metadata(target).is_ok_and(|m| m.is_dir()) {
                        std::fs::remove_dir_all(target)?;
                    }
                    let bytes = self.content(sha256)?;
                    let partial = target.with_extension("charter-restore");
                    // Never readable by others, not even for a moment, whatever the
                    // file held: its own mode is set once it is in place.
                    let mut file = private_file(&partial)?;
                    file.write_all(&bytes)?;
                    file.sync_all()?;
                    std::fs::rename(&partial, target)?;
                    std::fs::set_permissions(target, std::fs::Permissions::from_mode(*mode))?;
                }
            }
            touched.push(path.clone());
        }
        touched.sort();
        touched.dedup();
        Ok(touched)
    }
}

/// The operation's ALLOWED_PATHS as this machine resolves them: what is
/// snapshotted and compared.
fn allowed_roots(operation: &Operation) -> Vec<PathBuf> {
    operation
        .declaration
        .allowed_paths
        .iter()
        .filter_map(|path| resolve_path(path).ok())
        .map(PathBuf::from)
        .collect()
}

fn operation_of(view: &RecordView) -> Result<Operation> {
    match &view.record {
        Record::Operation(operation) => Ok(operation.as_ref().clone()),
        _ => Err(AppError::NotFound { kind: RecordKind::Operation, id: view.id.clone() }),
    }
}

impl App {
    pub(crate) async fn load_operation(&self, row: &WorkspaceRow, id: &str) -> Result<(u64, Operation)> {
        let stored = self
            .store
            .record(row.id, RecordKind::Operation, id)
            .await?
            .ok_or_else(|| AppError::NotFound { kind: RecordKind::Operation, id: id.to_owned() })?;
        let view = RecordView::from_stored(stored)?;
        Ok((view.version, operation_of(&view)?))
    }

    /// Writes `operation`, keeping a halt someone asked for meanwhile (the
    /// only field anyone else writes while it runs). Returns the operation
    /// as stored.
    async fn save_operation(
        &self,
        row: &WorkspaceRow,
        actor: &str,
        operation: &Operation,
    ) -> Result<Operation> {
        let at = self.clock.now();
        let (target, actor, operation) = (row.clone(), actor.to_owned(), operation.clone());
        self.write(row, move |_app, tx| {
            let (row, actor, mut operation) = (target.clone(), actor.clone(), operation.clone());
            Box::pin(async move {
                let id = operation.operation_id.to_string();
                let stored = tx
                    .record(row.id, RecordKind::Operation, &id)
                    .await?
                    .ok_or_else(|| AppError::NotFound { kind: RecordKind::Operation, id: id.clone() })?;
                let current = operation_of(&RecordView::from_stored(stored.clone())?)?;
                if operation.halt_requested.is_none() {
                    operation.halt_requested = current.halt_requested;
                }
                let body = Record::Operation(Box::new(operation.clone())).to_canonical_json();
                if body != stored.body {
                    crate::core::audit::write_records(
                        tx,
                        &row,
                        &actor,
                        at,
                        &[RecordWrite::update(RecordKind::Operation, id, body, stored.version)],
                    )
                    .await?;
                }
                Ok(operation)
            })
        })
        .await
    }

    async fn halt_asked(&self, row: &WorkspaceRow, id: &str) -> Option<String> {
        match self.load_operation(row, id).await {
            Ok((_, operation)) => operation.halt_requested.map(|halt| halt.by),
            Err(_) => None,
        }
    }

    /// Runs `command` with `sh -c` in its own process group, killing the
    /// group on timeout or when someone asks for a halt.
    async fn run_command(
        &self,
        row: &WorkspaceRow,
        halt_of: Option<&str>,
        command: &str,
        timeout: Duration,
        jail: Option<&Jail>,
    ) -> (CommandResult, Option<String>) {
        let started = Instant::now();
        let mut result = CommandResult {
            command: command.to_owned(),
            exit_code: None,
            duration_ms: 0,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            timed_out: false,
            halted: false,
        };
        let mut process = match jail {
            Some(jail) => jail.command(command),
            None => {
                let mut process = tokio::process::Command::new("sh");
                process.arg("-c").arg(command);
                process
            }
        };
        let spawned = process
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                result.stderr_tail = format!("cannot start sh: {error}");
                return (result, None);
            }
        };
        let pid = child.id();
        let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
        let out = tokio::spawn(async move {
            let mut bytes = Vec::new();
            if let Some(stdout) = stdout.as_mut() {
                let _ = stdout.read_to_end(&mut bytes).await;
            }
            bytes
        });
        let err = tokio::spawn(async move {
            let mut bytes = Vec::new();
            if let Some(stderr) = stderr.as_mut() {
                let _ = stderr.read_to_end(&mut bytes).await;
            }
            bytes
        });
        let deadline = tokio::time::Instant::now() + timeout;
        let mut halted_by = None;
        let status = loop {
            tokio::select! {
                status = child.wait() => break status.ok(),
                () = tokio::time::sleep_until(deadline) => {
                    result.timed_out = true;
                    break None;
                }
                () = tokio::time::sleep(HALT_POLL) => {
                    if let Some(by) = match halt_of {
                        Some(id) => self.halt_asked(row, id).await,
                        None => None,
                    } {
                        result.halted = true;
                        halted_by = Some(by);
                        break None;
                    }
                }
            }
        };
        if status.is_none() {
            // The whole group: a shell's children die with it.
            if let Some(pid) = pid {
                let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
            }
            let _ = child.kill().await;
        }
        result.exit_code = status.and_then(|s| s.code());
        result.stdout_tail = tail(&out.await.unwrap_or_default());
        result.stderr_tail = tail(&err.await.unwrap_or_default());
        result.duration_ms = started.elapsed().as_millis() as u64;
        (result, halted_by)
    }

    /// Runs an operation (or dry-runs it) and returns its record and
    /// report. A run that does not end in SUCCESS is not an error: the
    /// caller reads the outcome.
    pub async fn run_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        options: RunOptions,
    ) -> Result<RunResult> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Operator)?;
        let (_, mut operation) = self.load_operation(&row, id).await?;
        let operator = caller.actor().to_owned();
        let now = self.clock.now();
        match operation.status {
            OperationStatus::Planned | OperationStatus::Approved => {}
            OperationStatus::Executing => {
                let run = operation.runs.iter().rev().find(|r| !r.dry_run);
                return Err(AppError::invalid(
                    "operation run",
                    vec![format!(
                        "{id} is Executing: a run started {} by {} never finished ({} steps recorded). It is not continued; \
                     `charter op halt {id} --recover` rolls back what it did",
                        run.map(|r| r.started_at.to_string()).unwrap_or_default(),
                        run.map(|r| r.operator.clone()).unwrap_or_default(),
                        run.map_or(0, |r| r.steps.len())
                    )],
                ));
            }
            status => {
                return Err(AppError::invalid(
                    "operation run",
                    vec![format!("{id} is {status}: only Planned or Approved operations run")],
                ));
            }
        }
        // The plan is checked again: the filesystem may have changed since.
        let mut problems = charter_ops::declaration::check(&operation.declaration);
        problems.extend(charter_ops::scope::check_resolved(&operation.declaration, resolve_path));
        if !problems.is_empty() {
            return Err(AppError::invalid("operation run", problems));
        }
        let rules = match &options.rules {
            Some(rules) => rules.clone(),
            None => self.ops_rules(&row).await?,
        };
        // INVARIANT: Tier 3+ commands run confined by the kernel, unless an
        // admin accepted detection-only runs for this workspace.
        if options.sandbox.is_none() && operation.tier >= 3 && !rules.detection_only {
            return Err(AppError::invalid(
                "operation run",
                vec![format!(
                    "Tier {} operations run only confined by Landlock, which is not available here; an admin may accept \
                 detection-only runs with the ops_settings field detection_only",
                    operation.tier
                )],
            ));
        }
        if !options.dry_run {
            // Execution goes through the decision point, and is logged there.
            let answer = self.decide_operation(caller, &row, "execute_operation", &operation, &rules).await?;
            if answer.decision != charter_policy::Effect::Allow {
                return Err(AppError::Forbidden(crate::operations::declare::denied(&answer)));
            }
        }
        let dir = options
            .snapshot_dir
            .join(operation.operation_id.as_str())
            .join(format!("run-{}", operation.runs.len() + 1));
        let roots = allowed_roots(&operation);
        let jail = Jail::of(options.sandbox.as_ref(), &operation);
        let (scanner, before) = tokio::task::spawn_blocking({
            let (dir, roots) = (dir.clone(), roots.clone());
            move || -> std::io::Result<(Scanner, Manifest)> {
                let mut scanner = Scanner::new(&dir)?;
                let manifest = scanner.snapshot(&roots)?;
                Ok((scanner, manifest))
            }
        })
        .await
        .map_err(|error| io_error("snapshot", error))?
        .map_err(|error| io_error("snapshot of ALLOWED_PATHS", error))?;
        let mut scanner = scanner;
        let mut run = RunRecord {
            dry_run: options.dry_run,
            operator: operator.clone(),
            declaration_hash: operation.declaration_hash.clone(),
            started_at: now,
            ended_at: None,
            snapshot_files: before.values().filter(|e| matches!(e, Entry::File { .. })).count() as u64,
            steps: Vec::new(),
            rollback: Vec::new(),
            restored: Vec::new(),
            halted_by: None,
            outcome: None,
            report_sha256: None,
            confined: Some(options.sandbox.is_some()),
        };
        if !options.dry_run {
            operation.status = operation
                .status
                .transition(OperationStatus::Executing)
                .map_err(|e| AppError::invalid("operation run", vec![e.to_string()]))?;
            operation.halt_requested = None;
            operation.runs.push(run.clone());
            operation = self.save_operation(&row, &operator, &operation).await?;
        }
        let mut current = before.clone();
        let mut failed = false;
        for (index, step) in operation.declaration.steps.clone().iter().enumerate() {
            if let Some(by) = self.halt_asked(&row, id).await.filter(|_| !options.dry_run) {
                run.halted_by = Some(by);
                failed = true;
                break;
            }
            let at = self.clock.now();
            let mut record = StepRecord {
                number: index + 1,
                name: step.name.clone(),
                at,
                command: None,
                verify: Vec::new(),
                changed: Vec::new(),
                passed: true,
                failure: None,
            };
            let mut only = operation.declaration.clone();
            only.steps = vec![step.clone()];
            let scope = charter_ops::scope::check_resolved(&only, resolve_path);
            let timeout = Duration::from_secs(step.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
            if !scope.is_empty() {
                record.passed = false;
                record.failure = Some(format!("scope contract: {}", scope.join("; ")));
            } else {
                let command = if options.dry_run { step.dry_run.clone() } else { Some(step.command.clone()) };
                if let Some(command) = command {
                    let (result, halted_by) =
                        self.run_command(&row, Some(id), &command, timeout, jail.as_ref()).await;
                    if let Some(by) = halted_by {
                        run.halted_by = Some(by.clone());
                        record.failure = Some(format!("halted by {by}"));
                    } else if result.timed_out {
                        record.failure =
                            Some(format!("the command ran past its timeout of {} s", timeout.as_secs()));
                    } else if !result.passed() {
                        record.failure = Some(format!("the command exited with {:?}", result.exit_code));
                    }
                    record.passed = result.passed();
                    record.command = Some(result);
                }
                if record.passed && !options.dry_run {
                    for verify in &step.verify {
                        let (result, _) =
                            self.run_command(&row, Some(id), verify, timeout, jail.as_ref()).await;
                        if !result.passed() && record.failure.is_none() {
                            record.failure = Some(format!("verification \"{verify}\" failed"));
                            record.passed = false;
                        }
                        record.verify.push(result);
                        if !record.passed {
                            break;
                        }
                    }
                    if let (true, Some(check)) = (record.passed, &step.validate) {
                        for result in
                            self.safety_check(caller, workspace, &operation, check, &resolve_path).await?
                        {
                            if !result.passed() && record.failure.is_none() {
                                record.failure = Some(format!("safety check: {}", result.stdout_tail.trim()));
                                record.passed = false;
                            }
                            record.verify.push(result);
                        }
                    }
                }
                let roots = roots.clone();
                let (returned, after) = tokio::task::spawn_blocking(move || {
                    let after = scanner.scan(&roots);
                    (scanner, after)
                })
                .await
                .map_err(|error| io_error("comparing with the snapshot", error))?;
                scanner = returned;
                let after = after.map_err(|error| io_error("comparing with the snapshot", error))?;
                record.changed = charter_ops::run::changed(&current, &after);
                let touches: Vec<String> = if options.dry_run {
                    Vec::new()
                } else {
                    step.touches.iter().filter_map(|path| resolve_path(path).ok()).collect()
                };
                let outside = charter_ops::run::outside(&record.changed, &touches);
                if !outside.is_empty() {
                    record.passed = false;
                    let what = if options.dry_run {
                        "a dry run changed"
                    } else {
                        "changed outside the step's declared paths:"
                    };
                    record.failure.get_or_insert(format!("{what} {}", outside.join(", ")));
                }
                current = after;
            }
            failed = !record.passed;
            run.steps.push(record);
            if !options.dry_run {
                if let Some(last) = operation.runs.last_mut() {
                    *last = run.clone();
                }
                operation = self.save_operation(&row, &operator, &operation).await?;
            }
            if failed {
                break;
            }
        }

        if failed {
            // Roll back every step whose command ran, newest first; then put
            // the snapshot back (always for a dry run that changed files).
            if !options.dry_run {
                self.run_rollbacks(&row, &operation, &mut run, jail.as_ref()).await;
            }
            let snapshot = options.dry_run
                || operation.declaration.rollback_strategy.trim().eq_ignore_ascii_case("snapshot");
            let roots_again = roots.clone();
            let before_again = before.clone();
            let (restored, after) =
                tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<String>, Manifest)> {
                    let now = scanner.scan(&roots_again)?;
                    let restored = if snapshot { scanner.restore(&before_again, &now)? } else { Vec::new() };
                    let after = scanner.scan(&roots_again)?;
                    Ok((restored, after))
                })
                .await
                .map_err(|error| io_error("restoring the snapshot", error))?
                .map_err(|error| io_error("restoring the snapshot", error))?;
            run.restored = restored;
            let clean = after == before && run.rollback.iter().all(CommandResult::passed);
            let restored_ok =
                if snapshot { after == before } else { run.rollback.iter().all(CommandResult::passed) };
            run.outcome = Some(if clean || restored_ok { RunOutcome::Rollback } else { RunOutcome::Partial });
        } else {
            run.outcome = Some(RunOutcome::Success);
        }
        run.ended_at = Some(self.clock.now());
        let report = charter_ops::run::report(&operation, &run);
        run.report_sha256 = Some(report.json_and_hash().1);
        if options.dry_run {
            operation.runs.push(run.clone());
            operation = self.save_operation(&row, &operator, &operation).await?;
        } else {
            if let Some(last) = operation.runs.last_mut() {
                *last = run.clone();
            }
            if failed {
                operation.status = OperationStatus::Halted;
                operation = self.save_operation(&row, &operator, &operation).await?;
                operation.status = OperationStatus::RolledBack;
            } else {
                operation.status = OperationStatus::Validated;
            }
            operation.halt_requested = None;
            operation = self.save_operation(&row, &operator, &operation).await?;
        }
        Ok(RunResult { operation, run, report })
    }

    /// Runs the rollback command of every step of `run` whose command ran,
    /// newest first, recording each in the run.
    async fn run_rollbacks(
        &self,
        row: &WorkspaceRow,
        operation: &Operation,
        run: &mut RunRecord,
        jail: Option<&Jail>,
    ) {
        let ran: Vec<usize> =
            run.steps.iter().rev().filter(|r| r.command.is_some()).map(|r| r.number).collect();
        for number in ran {
            let step = &operation.declaration.steps[number - 1];
            if step.rollback.trim().is_empty() {
                continue;
            }
            let timeout = Duration::from_secs(step.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
            let (result, _) = self.run_command(row, None, &step.rollback, timeout, jail).await;
            run.rollback.push(result);
        }
    }

    /// Rolls back an operation whose runner died (it is still Executing):
    /// runs the rollback commands of the steps its evidence shows ran,
    /// newest first, restores the snapshot taken before its first step when
    /// its strategy is `snapshot`, and ends Halted → RolledBack.
    pub async fn recover_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        snapshot_dir: &Path,
        sandbox: Option<&PathBuf>,
    ) -> Result<RunResult> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Operator)?;
        let (_, mut operation) = self.load_operation(&row, id).await?;
        if operation.status != OperationStatus::Executing {
            return Err(AppError::invalid(
                "operation run",
                vec![format!(
                    "{id} is {}: only an interrupted (Executing) operation is recovered",
                    operation.status
                )],
            ));
        }
        let Some(index) = operation.runs.iter().rposition(|run| !run.dry_run) else {
            return Err(AppError::invalid(
                "operation run",
                vec![format!("{id} is Executing but records no run")],
            ));
        };
        let mut run = operation.runs[index].clone();
        run.halted_by = Some(caller.actor().to_owned());
        let jail = Jail::of(sandbox, &operation);
        self.run_rollbacks(&row, &operation, &mut run, jail.as_ref()).await;
        let snapshot = operation.declaration.rollback_strategy.trim().eq_ignore_ascii_case("snapshot");
        let dir = snapshot_dir.join(operation.operation_id.as_str()).join(format!("run-{}", index + 1));
        let roots = allowed_roots(&operation);
        let restored = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<String>, bool)> {
            if !snapshot {
                return Ok((Vec::new(), true));
            }
            let (mut scanner, before) = Scanner::open(&dir)?;
            let now = scanner.scan(&roots)?;
            let restored = scanner.restore(&before, &now)?;
            Ok((restored, scanner.scan(&roots)? == before))
        })
        .await
        .map_err(|error| io_error("restoring the snapshot", error))?
        .map_err(|error| io_error("restoring the snapshot", error))?;
        let (restored, clean) = restored;
        run.restored = restored;
        let commands_ok = run.rollback.iter().all(CommandResult::passed);
        run.outcome = Some(if (snapshot && clean) || (!snapshot && commands_ok) {
            RunOutcome::Rollback
        } else {
            RunOutcome::Partial
        });
        run.ended_at = Some(self.clock.now());
        let report = charter_ops::run::report(&operation, &run);
        run.report_sha256 = Some(report.json_and_hash().1);
        operation.runs[index] = run.clone();
        operation.status = OperationStatus::Halted;
        operation = self.save_operation(&row, caller.actor(), &operation).await?;
        operation.status = OperationStatus::RolledBack;
        operation.halt_requested = None;
        operation = self.save_operation(&row, caller.actor(), &operation).await?;
        Ok(RunResult { operation, run, report })
    }

    /// Asks a running operation to halt: its runner stops the current
    /// step, rolls back and restores the snapshot.
    pub async fn halt_operation(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<Operation> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_role(charter_model::Role::Operator)?;
        let (_, mut operation) = self.load_operation(&row, id).await?;
        if operation.status != OperationStatus::Executing {
            return Err(AppError::invalid(
                "operation run",
                vec![format!("{id} is {}: only an Executing operation can be halted", operation.status)],
            ));
        }
        let halt = Rejection { by: caller.actor().to_owned(), at: self.clock.now(), reason: "halt".into() };
        operation.halt_requested = Some(halt.clone());
        self.change_operation(&row, caller, id, move |current| {
            if current.status != OperationStatus::Executing {
                return Err(AppError::invalid(
                    "operation run",
                    vec![format!("{} has just become {}", current.operation_id, current.status)],
                ));
            }
            current.halt_requested = Some(halt.clone());
            Ok(())
        })
        .await?;
        Ok(operation)
    }
}

impl App {
    /// A step's safety check: each file filtered as the content of the agent
    /// that asked for the operation (when an agent did; otherwise every
    /// finding is redacted, nothing blocked by rules), egress; the file fails
    /// when the filter blocks it or it holds a finding of a blocked type.
    /// Each filtering is logged; each file is one result in the step's
    /// verifications (its summary names types and counts, never a value).
    async fn safety_check(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        operation: &charter_model::Operation,
        check: &charter_model::operation::SafetyCheck,
        resolve_path: &(dyn Fn(&str) -> std::result::Result<String, String> + Sync),
    ) -> Result<Vec<charter_model::operation::CommandResult>> {
        let blocked_types = check.blocked_types().unwrap_or_default();
        let row = self.visible_workspace(caller, workspace).await?;
        let by_agent = self.directory(&row).await?.agent(&operation.declaration.requested_by).is_some();
        let mut results = Vec::new();
        for file in &check.files {
            let started = std::time::Instant::now();
            let opened =
                resolve_path(file).and_then(|path| std::fs::File::open(path).map_err(|e| e.to_string()));
            let (passed, summary) = match opened {
                Ok(mut input) => {
                    let head = crate::guard::FilterHead {
                        agent: by_agent.then(|| operation.declaration.requested_by.clone()),
                        direction: charter_model::Direction::Egress,
                        destination: None,
                    };
                    let checked =
                        self.check_content(caller, workspace, head, file, &mut input, &blocked_types).await?;
                    (checked.passed, checked.summary)
                }
                Err(error) => (false, format!("{file}: cannot be read: {error}")),
            };
            results.push(charter_model::operation::CommandResult {
                command: format!("validate {file}"),
                exit_code: Some(if passed { 0 } else { 1 }),
                duration_ms: started.elapsed().as_millis() as u64,
                stdout_tail: summary,
                stderr_tail: String::new(),
                timed_out: false,
                halted: false,
            });
        }
        Ok(results)
    }
}
