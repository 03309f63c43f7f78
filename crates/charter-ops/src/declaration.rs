//! Reading and checking an operation declaration.
//!
//! A declaration missing any mandatory field is invalid, and the error lists
//! every missing or wrong field at once, with its place (`STEPS[1].verify`).
//! The scope contract is checked here as far as the text allows: every path
//! absolute and free of `..`, every touched path inside ALLOWED_PATHS and
//! outside the NOT ALLOWED paths, every service allowed and not denied. What
//! only the filesystem can tell (symlinks) is checked by
//! [`crate::scope::check_resolved`].

use charter_model::{Declaration, RiskClass, canonical};
use sha2::{Digest, Sha256};
use yaml_serde::{Mapping, Value};

use crate::scope::{is_within, normalize};

/// Top-level keys every declaration must have.
pub const MANDATORY: [&str; 9] = [
    "OPERATION_NAME",
    "OBJECTIVE",
    "RISK_CLASS",
    "BLAST_RADIUS",
    "ROLLBACK_STRATEGY",
    "ALLOWED_PATHS",
    "ALLOWED_SERVICES",
    "REQUESTED_BY",
    "STEPS",
];

/// Top-level keys a declaration may have besides the mandatory ones.
pub const OPTIONAL: [&str; 4] = ["NOT_ALLOWED", "TIER", "ON_CALL", "ALLOWED_PORTS"];

/// Keys every step must have (`rollback` is optional for READ_ONLY
/// operations, which change nothing).
const STEP_MANDATORY: [&str; 3] = ["name", "command", "verify"];
const STEP_KEYS: [&str; 9] =
    ["name", "command", "touches", "services", "verify", "rollback", "dry_run", "timeout_secs", "validate"];

/// Why a declaration is invalid: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid operation declaration:\n  {}", .problems.join("\n  "))]
pub struct DeclarationError {
    /// One line per problem, each starting with the field it is about.
    pub problems: Vec<String>,
}

fn key(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn missing_keys(map: &Mapping, keys: &[&str], place: &str, problems: &mut Vec<String>) {
    for name in keys {
        if !map.contains_key(key(name)) {
            problems.push(format!("{place}{name}: missing"));
        }
    }
}

fn unknown_keys(map: &Mapping, known: &[&str], place: &str, problems: &mut Vec<String>) {
    for name in map.keys() {
        let text = name.as_str().unwrap_or_default();
        if !known.contains(&text) {
            problems.push(format!(
                "{place}{}: unknown key, expected one of {}",
                if text.is_empty() { format!("{name:?}") } else { text.to_owned() },
                known.join(", ")
            ));
        }
    }
}

/// Reads a declaration from YAML text, listing every problem at once.
pub fn parse(text: &str) -> Result<Declaration, DeclarationError> {
    let fail = |problems: Vec<String>| DeclarationError { problems };
    // The parser's message ends with the line and column.
    let value: Value =
        yaml_serde::from_str(text).map_err(|error| fail(vec![format!("not YAML: {error}")]))?;
    let Value::Mapping(map) = &value else {
        return Err(fail(vec![
            "the declaration must be a mapping of OPERATION_NAME, OBJECTIVE, … to values".into(),
        ]));
    };
    let mut problems = Vec::new();
    missing_keys(map, &MANDATORY, "", &mut problems);
    let known: Vec<&str> = MANDATORY.iter().chain(&OPTIONAL).copied().collect();
    unknown_keys(map, &known, "", &mut problems);
    let read_only = map
        .get(key("RISK_CLASS"))
        .and_then(Value::as_str)
        .is_some_and(|class| class.eq_ignore_ascii_case(RiskClass::ReadOnly.as_str()));
    // A wrong class is listed with the missing fields, not after them.
    match map.get(key("RISK_CLASS")) {
        Some(Value::String(class)) => {
            if let Err(error) = class.parse::<RiskClass>() {
                problems.push(format!("RISK_CLASS: {error}"));
            }
        }
        Some(other) => problems.push(format!("RISK_CLASS: expected one of the risk classes, got {other:?}")),
        None => {}
    }
    match map.get(key("STEPS")) {
        Some(Value::Sequence(steps)) if steps.is_empty() => problems.push("STEPS: at least one step".into()),
        Some(Value::Sequence(steps)) => {
            for (index, step) in steps.iter().enumerate() {
                let place = format!("STEPS[{index}].");
                match step {
                    Value::Mapping(step) => {
                        missing_keys(step, &STEP_MANDATORY, &place, &mut problems);
                        if !read_only {
                            missing_keys(step, &["rollback"], &place, &mut problems);
                        }
                        unknown_keys(step, &STEP_KEYS, &place, &mut problems);
                    }
                    _ => problems
                        .push(format!("STEPS[{index}]: a step is a mapping of name, command, verify, …")),
                }
            }
        }
        Some(_) => problems.push("STEPS: must be a list of steps".into()),
        None => {}
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    // Read-only steps may leave their rollback out.
    let mut value = value;
    if let Some(Value::Sequence(steps)) = value.as_mapping_mut().and_then(|m| m.get_mut(key("STEPS"))) {
        for step in steps.iter_mut().filter_map(Value::as_mapping_mut) {
            if !step.contains_key(key("rollback")) {
                step.insert(key("rollback"), key(""));
            }
        }
    }
    // The path names the field a wrong value is in (`ALLOWED_PORTS[0]`).
    let declaration: Declaration = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        fail(vec![if path == "." { error.to_string() } else { format!("{path}: {error}") }])
    })?;
    let problems = check(&declaration);
    if problems.is_empty() { Ok(declaration) } else { Err(fail(problems)) }
}

/// Every rule a well-formed declaration breaks.
pub fn check(declaration: &Declaration) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, value) in [
        ("OPERATION_NAME", &declaration.operation_name),
        ("OBJECTIVE", &declaration.objective),
        ("BLAST_RADIUS", &declaration.blast_radius),
        ("ROLLBACK_STRATEGY", &declaration.rollback_strategy),
        ("REQUESTED_BY", &declaration.requested_by),
    ] {
        if value.trim().is_empty() {
            problems.push(format!("{field}: must not be empty"));
        }
    }
    let class_tier = crate::tiers::TierRules::default().class_tier(declaration.risk_class);
    if let Some(tier) = declaration.tier
        && !(1..=4).contains(&tier)
    {
        problems.push(format!("TIER: must be 1 to 4, got {tier}"));
    } else if let Some(tier) = declaration.tier
        && tier < class_tier
    {
        problems.push(format!(
            "TIER: {tier} is below the tier of {} ({class_tier}); a declaration may only raise its tier",
            declaration.risk_class
        ));
    }
    for (index, port) in declaration.allowed_ports.iter().flatten().enumerate() {
        if *port == 0 {
            problems.push(format!("ALLOWED_PORTS[{index}]: 0 is not a TCP port (1 to 65535)"));
        }
    }
    if declaration.allowed_paths.is_empty() && declaration.steps.iter().any(|s| !s.touches.is_empty()) {
        problems.push("ALLOWED_PATHS: steps touch paths but none is allowed".into());
    }
    let mut allowed = Vec::new();
    for (index, path) in declaration.allowed_paths.iter().enumerate() {
        match normalize(path) {
            Ok(path) => allowed.push(path),
            Err(error) => problems.push(format!("ALLOWED_PATHS[{index}]: {error}")),
        }
    }
    let mut denied = Vec::new();
    for (index, path) in declaration.not_allowed.paths.iter().enumerate() {
        match normalize(path) {
            Ok(path) => denied.push(path),
            Err(error) => problems.push(format!("NOT_ALLOWED.paths[{index}]: {error}")),
        }
    }
    let read_only = declaration.risk_class == RiskClass::ReadOnly;
    for (index, step) in declaration.steps.iter().enumerate() {
        let place = format!("STEPS[{index}]");
        if step.name.trim().is_empty() {
            problems.push(format!("{place}.name: must not be empty"));
        }
        if step.command.trim().is_empty() {
            problems.push(format!("{place}.command: must not be empty"));
        }
        if step.verify.is_empty() || step.verify.iter().any(|v| v.trim().is_empty()) {
            problems.push(format!("{place}.verify: at least one verification command, none empty"));
        }
        if !read_only && step.rollback.trim().is_empty() {
            problems.push(format!(
                "{place}.rollback: must not be empty; if it can't be rolled back, it's not ops-safe"
            ));
        }
        if step.timeout_secs == Some(0) {
            problems.push(format!("{place}.timeout_secs: must be at least 1"));
        }
        if let Some(check) = &step.validate {
            if check.files.is_empty() || check.files.iter().any(|f| f.trim().is_empty()) {
                problems.push(format!("{place}.validate.files: at least one file, none empty"));
            }
            if let Err(unknown) = check.blocked_types() {
                problems.push(format!(
                    "{place}.validate.block: {} is no finding type or family",
                    unknown.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if read_only && (!step.touches.is_empty() || !step.services.is_empty()) {
            problems.push(format!("{place}: a READ_ONLY operation touches no path and restarts no service"));
        }
        for (n, path) in step.touches.iter().enumerate() {
            let field = format!("{place}.touches[{n}]");
            match normalize(path) {
                Err(error) => problems.push(format!("{field}: {error}")),
                Ok(path) => {
                    if let Some(deny) = denied.iter().find(|deny| is_within(&path, deny)) {
                        problems.push(format!(
                            "{field}: \"{path}\" is under NOT_ALLOWED path \"{deny}\" (the deny list wins)"
                        ));
                    } else if !allowed.iter().any(|root| is_within(&path, root)) {
                        problems.push(format!("{field}: \"{path}\" is outside ALLOWED_PATHS"));
                    }
                }
            }
        }
        for (n, service) in step.services.iter().enumerate() {
            let field = format!("{place}.services[{n}]");
            if declaration.not_allowed.services.contains(service) {
                problems
                    .push(format!("{field}: \"{service}\" is a NOT_ALLOWED service (the deny list wins)"));
            } else if !declaration.allowed_services.contains(service) {
                problems.push(format!("{field}: \"{service}\" is not in ALLOWED_SERVICES"));
            }
        }
        for stream in &declaration.not_allowed.streams {
            for (field, command) in
                std::iter::once(("command", &step.command)).chain(step.dry_run.iter().map(|c| ("dry_run", c)))
            {
                if command.contains(stream.as_str()) {
                    problems.push(format!("{place}.{field}: names NOT_ALLOWED stream \"{stream}\""));
                }
            }
        }
    }
    problems
}

/// SHA-256 of the declaration's canonical JSON, hexadecimal: what an
/// approval is bound to.
pub fn declaration_hash(declaration: &Declaration) -> String {
    let value = serde_json::to_value(declaration).unwrap_or_default();
    let digest = Sha256::digest(canonical::to_string(&value).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
OPERATION_NAME: rotate nginx config
OBJECTIVE: Serve the new upstream.
RISK_CLASS: SERVICE_RESTART
BLAST_RADIUS: the public site for a few seconds
ROLLBACK_STRATEGY: snapshot
ALLOWED_PATHS: [/srv/app/conf]
ALLOWED_SERVICES: [nginx]
NOT_ALLOWED:
  paths: [/srv/app/conf/secrets]
  services: [postgresql]
  streams: ["quantum:stream:trade.intent"]
REQUESTED_BY: agent_sales_01
STEPS:
  - name: write config
    command: cp new.conf /srv/app/conf/site.conf
    touches: [/srv/app/conf/site.conf]
    services: [nginx]
    verify: ["nginx -t"]
    rollback: cp old.conf /srv/app/conf/site.conf
    dry_run: nginx -t
"#;

    fn problems(text: &str) -> Vec<String> {
        parse(text).unwrap_err().problems
    }

    #[test]
    fn a_good_declaration_parses_and_hashes_stably() {
        let declaration = parse(GOOD).unwrap();
        assert_eq!(declaration.steps[0].verify, ["nginx -t"]);
        let hash = declaration_hash(&declaration);
        assert_eq!(hash.len(), 64);
        let mut edited = declaration.clone();
        edited.steps[0].command.push_str(" --force");
        assert_ne!(declaration_hash(&edited), hash, "editing the plan changes its hash");
        assert_eq!(declaration_hash(&parse(GOOD).unwrap()), hash);
    }

    #[test]
    fn allowed_ports_are_tcp_ports() {
        let ports = |list: &str| {
            GOOD.replace(
                "ALLOWED_SERVICES: [nginx]",
                &format!("ALLOWED_SERVICES: [nginx]\nALLOWED_PORTS: {list}"),
            )
        };
        assert_eq!(parse(&ports("[80, 443]")).unwrap().allowed_ports, Some(vec![80, 443]));
        assert_eq!(parse(GOOD).unwrap().allowed_ports, None, "left out: the network is not confined");
        assert_eq!(problems(&ports("[80, 0]")), ["ALLOWED_PORTS[1]: 0 is not a TCP port (1 to 65535)"]);
        let too_big = problems(&ports("[70000]")).join("\n");
        assert!(too_big.contains("ALLOWED_PORTS") && too_big.contains("70000"), "{too_big}");
        // A declaration without ports hashes as it always did.
        let declaration = parse(GOOD).unwrap();
        assert!(!serde_json::to_string(&declaration).unwrap().contains("ALLOWED_PORTS"));
    }

    #[test]
    fn every_missing_field_is_listed_at_once() {
        let text = "OPERATION_NAME: x\nSTEPS:\n  - name: a\n    command: b\n  - 7\nEXTRA: 1\n";
        assert_eq!(
            problems(text),
            [
                "OBJECTIVE: missing",
                "RISK_CLASS: missing",
                "BLAST_RADIUS: missing",
                "ROLLBACK_STRATEGY: missing",
                "ALLOWED_PATHS: missing",
                "ALLOWED_SERVICES: missing",
                "REQUESTED_BY: missing",
                "EXTRA: unknown key, expected one of OPERATION_NAME, OBJECTIVE, RISK_CLASS, BLAST_RADIUS, ROLLBACK_STRATEGY, ALLOWED_PATHS, ALLOWED_SERVICES, REQUESTED_BY, STEPS, NOT_ALLOWED, TIER, ON_CALL, ALLOWED_PORTS",
                "STEPS[0].verify: missing",
                "STEPS[0].rollback: missing",
                "STEPS[1]: a step is a mapping of name, command, verify, …",
            ]
        );
        // A wrong class comes with the missing fields, not after them.
        let wrong = problems("OPERATION_NAME: x\nRISK_CLASS: RISKY\n");
        assert!(wrong.contains(&"OBJECTIVE: missing".to_owned()), "{wrong:?}");
        assert!(wrong.iter().any(|p| p.starts_with("RISK_CLASS: unknown value \"RISKY\"")), "{wrong:?}");
        let syntax = problems("OPERATION_NAME: [unclosed");
        assert!(syntax[0].starts_with("not YAML: ") && syntax[0].contains("line 2 column 1"), "{syntax:?}");
    }

    #[test]
    fn the_scope_contract_is_checked_on_the_text() {
        let bad = GOOD
            .replace("touches: [/srv/app/conf/site.conf]", "touches: [/srv/app/conf/../../../etc/passwd, /srv/app/conf/secrets/key, /etc/hosts, relative/path]")
            .replace("services: [nginx]\n    verify", "services: [nginx, postgresql, redis]\n    verify")
            .replace("command: cp new.conf", "command: redis-cli XADD quantum:stream:trade.intent && cp new.conf");
        assert_eq!(
            problems(&bad),
            [
                "STEPS[0].touches[0]: \"/srv/app/conf/../../../etc/passwd\" climbs out with \"..\"; write the path without it",
                "STEPS[0].touches[1]: \"/srv/app/conf/secrets/key\" is under NOT_ALLOWED path \"/srv/app/conf/secrets\" (the deny list wins)",
                "STEPS[0].touches[2]: \"/etc/hosts\" is outside ALLOWED_PATHS",
                "STEPS[0].touches[3]: \"relative/path\" is not absolute",
                "STEPS[0].services[1]: \"postgresql\" is a NOT_ALLOWED service (the deny list wins)",
                "STEPS[0].services[2]: \"redis\" is not in ALLOWED_SERVICES",
                "STEPS[0].command: names NOT_ALLOWED stream \"quantum:stream:trade.intent\"",
            ]
        );
    }

    #[test]
    fn tiers_may_only_be_raised_and_read_only_changes_nothing() {
        assert_eq!(
            problems(&GOOD.replace("REQUESTED_BY", "TIER: 2\nREQUESTED_BY")),
            ["TIER: 2 is below the tier of SERVICE_RESTART (3); a declaration may only raise its tier"]
        );
        assert!(parse(&GOOD.replace("REQUESTED_BY", "TIER: 4\nREQUESTED_BY")).is_ok());
        let read_only = GOOD.replace("SERVICE_RESTART", "READ_ONLY");
        assert_eq!(
            problems(&read_only),
            ["STEPS[0]: a READ_ONLY operation touches no path and restarts no service"]
        );
        let inspect = "OPERATION_NAME: look\nOBJECTIVE: o\nRISK_CLASS: read_only\nBLAST_RADIUS: none\nROLLBACK_STRATEGY: none needed\nALLOWED_PATHS: []\nALLOWED_SERVICES: []\nREQUESTED_BY: alice\nSTEPS:\n  - name: status\n    command: systemctl is-active nginx\n    verify: [\"true\"]\n";
        assert_eq!(parse(inspect).unwrap().steps[0].rollback, "");
    }
}
