//! The scope contract on paths: lexical checks on the declaration's text,
//! and checks of paths as the filesystem resolves them (symlinks), given a
//! resolver, so this crate itself does no I/O.

use charter_model::Declaration;

/// `path` with `.` segments and repeated or trailing slashes removed.
/// Refuses relative paths and any `..`: a declaration says exactly where it
/// works.
pub fn normalize(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("\"{path}\" is not absolute"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("\"{path}\" climbs out with \"..\"; write the path without it")),
            part => parts.push(part),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Whether normalized `path` is `root` or under it.
pub fn is_within(path: &str, root: &str) -> bool {
    root == "/" || path == root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'))
}

/// Checks every path a step touches as the filesystem resolves it:
/// `resolve` returns the canonical form of a path (symlinks followed; for a
/// path that does not exist yet, its nearest existing ancestor's canonical
/// form with the rest appended). A symlink inside ALLOWED_PATHS that leads
/// outside, or into a NOT_ALLOWED path, is refused.
pub fn check_resolved(
    declaration: &Declaration,
    resolve: impl Fn(&str) -> Result<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let canonical = |list: &[String], field: &str, problems: &mut Vec<String>| -> Vec<String> {
        list.iter()
            .enumerate()
            .filter_map(|(index, path)| match resolve(path) {
                Ok(resolved) => Some(resolved),
                Err(error) => {
                    problems.push(format!("{field}[{index}]: {error}"));
                    None
                }
            })
            .collect()
    };
    let allowed = canonical(&declaration.allowed_paths, "ALLOWED_PATHS", &mut problems);
    let denied = canonical(&declaration.not_allowed.paths, "NOT_ALLOWED.paths", &mut problems);
    // A denied path is denied in both forms: as written and as resolved.
    let denied: Vec<String> =
        denied.into_iter().chain(declaration.not_allowed.paths.iter().cloned()).collect();
    for (index, step) in declaration.steps.iter().enumerate() {
        for (n, path) in step.touches.iter().enumerate() {
            let field = format!("STEPS[{index}].touches[{n}]");
            let resolved = match resolve(path) {
                Ok(resolved) => resolved,
                Err(error) => {
                    problems.push(format!("{field}: {error}"));
                    continue;
                }
            };
            if let Some(deny) = denied.iter().find(|deny| is_within(&resolved, deny)) {
                problems.push(format!(
                    "{field}: \"{path}\" resolves to \"{resolved}\", under NOT_ALLOWED path \"{deny}\" (the deny list wins)"
                ));
            } else if !allowed.iter().any(|root| is_within(&resolved, root)) {
                problems
                    .push(format!("{field}: \"{path}\" resolves to \"{resolved}\", outside ALLOWED_PATHS"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_and_nest() {
        assert_eq!(normalize("/srv//app/./conf/").unwrap(), "/srv/app/conf");
        assert_eq!(normalize("/").unwrap(), "/");
        assert!(normalize("srv").is_err());
        assert!(normalize("/srv/../etc").is_err());
        assert!(is_within("/srv/app/conf/a", "/srv/app/conf"));
        assert!(is_within("/srv/app/conf", "/srv/app/conf"));
        assert!(!is_within("/srv/app/config", "/srv/app/conf"), "a prefix is not a parent");
        assert!(is_within("/etc", "/"));
    }
}
