//! `charter sandbox-exec`: runs one command of an operation's step under a
//! Landlock ruleset derived from the scope contract, so the kernel, not a
//! later comparison, stops a write outside ALLOWED_PATHS or beneath a NOT
//! ALLOWED path. The runner starts it as
//! `charter sandbox-exec --write DIR… --deny DIR… -- sh -c COMMAND`; it
//! confines itself and replaces itself with the command (same pid, so the
//! runner's process-group kill still works), and every process the command
//! starts inherits the confinement.
//!
//! Landlock only grants. The deny list wins by granting nothing on an
//! allowed directory that holds a denied path: its other entries are
//! granted one by one instead (directories whole, files for writing in
//! place), so inside such a directory a step can rewrite existing files but
//! not create, remove or rename entries. Symbolic links are never granted
//! (a rule would follow them); writes through a link are judged on where it
//! leads.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus,
};

/// The Landlock ABI the rules are written for (tested on this kernel).
const ABI_VERSION: ABI = ABI::V7;

/// The status `sandbox-exec` exits with when it cannot confine the command.
pub const CANNOT_CONFINE: u8 = 125;

/// What one grant gives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grant {
    /// A directory and everything beneath it.
    Tree(PathBuf),
    /// One existing file, written in place.
    File(PathBuf),
}

/// An absolute path without `..`, free of symbolic links as far as it
/// exists, the rest appended.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    if path.components().any(|c| c == Component::ParentDir) || !path.is_absolute() {
        return Err(std::io::Error::other(format!("{}: not an absolute path without `..`", path.display())));
    }
    let mut existing = path.to_path_buf();
    let mut missing = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(resolved) => {
                let mut resolved = resolved;
                for part in missing.iter().rev() {
                    resolved.push(part);
                }
                return Ok(resolved);
            }
            Err(_) => {
                let Some(name) = existing.file_name().map(ToOwned::to_owned) else {
                    return Err(std::io::Error::other(format!("{} cannot be resolved", path.display())));
                };
                missing.push(name);
                if !existing.pop() {
                    return Err(std::io::Error::other(format!("{} cannot be resolved", path.display())));
                }
            }
        }
    }
}

/// The grants for writing beneath `allowed` but nowhere beneath `denied`.
fn plan(allowed: &[PathBuf], denied: &[PathBuf]) -> std::io::Result<Vec<Grant>> {
    let mut grants = Vec::new();
    for root in allowed {
        if denied.iter().any(|deny| root.starts_with(deny)) {
            continue;
        }
        let metadata = match std::fs::symlink_metadata(root) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        if metadata.file_type().is_symlink() {
            continue;
        }
        let inside: Vec<&PathBuf> = denied.iter().filter(|deny| deny.starts_with(root)).collect();
        if !metadata.is_dir() {
            grants.push(Grant::File(root.clone()));
        } else if inside.is_empty() {
            grants.push(Grant::Tree(root.clone()));
        } else {
            descend(root, &inside, &mut grants)?;
        }
    }
    Ok(grants)
}

/// Grants the entries of `dir`, which holds a denied path, but not `dir`.
fn descend(dir: &Path, denied: &[&PathBuf], grants: &mut Vec<Grant>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_symlink() || denied.iter().any(|deny| path.starts_with(deny)) {
            continue;
        }
        let inside: Vec<&PathBuf> = denied.iter().copied().filter(|deny| deny.starts_with(&path)).collect();
        if kind.is_dir() && !inside.is_empty() {
            descend(&path, &inside, grants)?;
        } else if kind.is_dir() {
            grants.push(Grant::Tree(path));
        } else {
            grants.push(Grant::File(path));
        }
    }
    Ok(())
}

/// Whether this kernel can confine writes (Landlock with at least ABI 3).
pub fn available() -> bool {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI::V3))
        .and_then(|ruleset| ruleset.create())
        .is_ok()
}

/// Runs `sandbox-exec ARGS`: never returns when the command starts.
pub fn exec(args: &[OsString]) -> u8 {
    match confine_and_exec(args) {
        Ok(never) => match never {},
        Err(error) => {
            eprintln!("charter sandbox-exec: {error}");
            CANNOT_CONFINE
        }
    }
}

fn confine_and_exec(args: &[OsString]) -> Result<std::convert::Infallible, String> {
    let (mut write, mut deny, mut net, mut ports) = (Vec::new(), Vec::new(), false, Vec::new());
    let mut rest = args.iter();
    let command: Vec<OsString> = loop {
        match rest.next().and_then(|arg| arg.to_str()) {
            Some("--write") => write.push(PathBuf::from(rest.next().ok_or("--write needs a path")?)),
            Some("--deny") => deny.push(PathBuf::from(rest.next().ok_or("--deny needs a path")?)),
            Some("--net") => net = true,
            Some("--connect") => {
                let port = rest.next().and_then(|port| port.to_str()).ok_or("--connect needs a port")?;
                ports
                    .push(port.parse::<u16>().map_err(|_| format!("--connect: {port:?} is not a TCP port"))?);
            }
            Some("--") => break rest.cloned().collect(),
            other => {
                return Err(format!(
                    "unexpected argument {other:?}: expected --write, --deny, --net, --connect or --"
                ));
            }
        }
    };
    if !ports.is_empty() && !net {
        return Err("--connect confines the network: give --net too".into());
    }
    let (program, program_args) = command.split_first().ok_or("no command after --")?;
    let resolve_all = |paths: Vec<PathBuf>| -> Result<Vec<PathBuf>, String> {
        paths.iter().map(|path| resolve(path).map_err(|error| error.to_string())).collect()
    };
    let (write, deny) = (resolve_all(write)?, resolve_all(deny)?);
    let grants = plan(&write, &deny).map_err(|error| format!("planning the rules: {error}"))?;

    let all = AccessFs::from_write(ABI_VERSION);
    let in_place = all & AccessFs::from_file(ABI_VERSION);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI::V3))
        .and_then(|ruleset| ruleset.set_compatibility(CompatLevel::BestEffort).handle_access(all))
        // Confining the network needs ABI 4: refuse rather than run a step
        // the declaration says may not reach other ports.
        .and_then(|ruleset| {
            if net {
                ruleset
                    .set_compatibility(CompatLevel::HardRequirement)
                    .handle_access(AccessNet::from_all(ABI::V4))
            } else {
                Ok(ruleset)
            }
        })
        .and_then(|ruleset| ruleset.create())
        .map_err(|error| format!("Landlock is not available: {error}"))?;
    for port in ports {
        ruleset =
            ruleset.add_rule(NetPort::new(port, AccessNet::ConnectTcp)).map_err(|error| error.to_string())?;
    }
    // Output to the null device is not a write anywhere.
    let null = PathFd::new("/dev/null").map_err(|error| format!("/dev/null: {error}"))?;
    ruleset = ruleset.add_rule(PathBeneath::new(null, in_place)).map_err(|error| error.to_string())?;
    for grant in &grants {
        let (path, access) = match grant {
            Grant::Tree(path) => (path, all),
            Grant::File(path) => (path, in_place),
        };
        let fd = PathFd::new(path).map_err(|error| format!("{}: {error}", path.display()))?;
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access)).map_err(|error| error.to_string())?;
    }
    let status = ruleset.restrict_self().map_err(|error| error.to_string())?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err("Landlock did not enforce the rules".into());
    }
    let error =
        std::os::unix::process::CommandExt::exec(std::process::Command::new(program).args(program_args));
    Err(format!("cannot run {}: {error}", program.to_string_lossy()))
}

/// The launcher that confines each command of an operation with Landlock
/// (this binary's `sandbox-exec`), or `None`, with a warning, where the
/// kernel cannot confine writes: the run then relies on the snapshot
/// comparison alone.
pub(crate) fn launcher() -> Option<std::path::PathBuf> {
    if !available() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deny_list_wins_and_symlinks_are_never_granted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for sub in ["a/keep", "a/mid/deny", "a/mid/other", "b"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("a/file"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("b"), root.join("a/link")).unwrap();
        let grants = plan(&[root.join("a"), root.join("a/mid/deny/x")], &[root.join("a/mid/deny")]).unwrap();
        assert_eq!(
            grants,
            [
                Grant::File(root.join("a/file")),
                Grant::Tree(root.join("a/keep")),
                Grant::Tree(root.join("a/mid/other")),
            ]
        );
        assert_eq!(plan(&[root.join("b")], &[]).unwrap(), [Grant::Tree(root.join("b"))]);
        assert_eq!(resolve(&root.join("b/new/file")).unwrap(), root.join("b/new/file"));
        assert!(resolve(&root.join("a/../b")).is_err());
        assert!(resolve(Path::new("relative")).is_err());
    }
}
