//! `charter guard lint`: what is wrong or surprising in a workspace's DLP
//! rules and guard settings, beyond what each record's own validation
//! refuses.

use charter_model::{Direction, DlpRule, Family, FindingMatch, FindingType, GuardAction, GuardSettings};
use serde::Serialize;

/// How bad a lint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Surprising; the rules still work as written.
    Warning,
    /// Wrong: a rule names what does not exist.
    Error,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    /// How bad.
    pub level: Level,
    /// The rule concerned (`DLP-…`), or `guard_settings`.
    pub subject: String,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// What the registry knows, for the lint to check names against.
#[derive(Clone, Copy)]
pub struct Known<'a> {
    /// Whether a system or dataset of this id or name is registered.
    pub destination: &'a dyn Fn(&str) -> bool,
    /// Whether a team of this id or name is registered.
    pub team: &'a dyn Fn(&str) -> bool,
}

impl std::fmt::Debug for Known<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Known { .. }")
    }
}

fn types_of(matches: &FindingMatch) -> Vec<FindingType> {
    FindingType::ALL
        .iter()
        .copied()
        .filter(|kind| {
            (matches.types.is_empty() && matches.families.is_empty())
                || matches.types.contains(kind)
                || matches.families.contains(&kind.family())
        })
        .collect()
}

/// The problems of `rules` and `settings`.
pub fn lint(rules: &[DlpRule], settings: &GuardSettings, known: Known<'_>) -> Vec<Lint> {
    let mut lints = Vec::new();
    let mut push = |level, subject: &str, message: String| {
        lints.push(Lint { level, subject: subject.to_owned(), message });
    };
    for rule in rules {
        let id = rule.rule_id.as_str();
        for destination in &rule.destinations {
            if !(known.destination)(destination) {
                push(
                    Level::Error,
                    id,
                    format!("destination \"{destination}\" is no registered system or dataset"),
                );
            }
        }
        if let Some(team) = &rule.team
            && !(known.team)(team)
        {
            push(Level::Error, id, format!("team \"{team}\" is not registered"));
        }
        let secrets = types_of(&rule.matches).iter().any(|kind| kind.family() == Family::Secret);
        if rule.action == GuardAction::Allow
            && secrets
            && rule.direction != Some(Direction::Ingress)
            && rule.destinations.is_empty()
        {
            push(Level::Warning, id, "lets secrets leave to any destination".to_owned());
        }
    }
    // Rules for the same agents, direction and destinations that match the
    // same finding types with different actions: the strictest wins.
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            let same_target = a.agent_id == b.agent_id && a.team == b.team && a.direction == b.direction && {
                let (mut x, mut y) = (a.destinations.clone(), b.destinations.clone());
                x.sort();
                y.sort();
                x == y
            };
            if !same_target || a.action == b.action {
                continue;
            }
            let (ta, tb) = (types_of(&a.matches), types_of(&b.matches));
            let shared: Vec<&str> = ta.iter().filter(|t| tb.contains(t)).map(|t| t.as_str()).collect();
            if !shared.is_empty() && a.matches.class_at_least == b.matches.class_at_least {
                let (winner, loser) = if a.action > b.action { (a, b) } else { (b, a) };
                push(
                    Level::Warning,
                    loser.rule_id.as_str(),
                    format!(
                        "never decides {}: {} ({}) matches them for the same agents, direction and destinations and is stricter",
                        shared.join(", "),
                        winner.rule_id,
                        winner.action.as_str()
                    ),
                );
            }
        }
    }
    let guards_secrets = rules.iter().any(|rule| {
        rule.action != GuardAction::Allow
            && rule.agent_id.is_none()
            && rule.team.is_none()
            && rule.destinations.is_empty()
            && rule.direction != Some(Direction::Ingress)
            && types_of(&rule.matches).iter().any(|kind| kind.family() == Family::Secret)
    });
    if !guards_secrets && settings.default_action.unwrap_or(GuardAction::Allow) == GuardAction::Allow {
        push(
            Level::Warning,
            "guard_settings",
            "no rule for every agent blocks or redacts secrets going out, and the default action is allow"
                .to_owned(),
        );
    }
    if settings.min_confidence.is_some_and(|min| min > 0.85) {
        push(
            Level::Warning,
            "guard_settings",
            "min_confidence above 0.85 drops phone numbers, SSNs and NINOs found without context words"
                .to_owned(),
        );
    }
    lints.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.subject.cmp(&b.subject)));
    lints
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_conflicts_and_open_doors_are_named() {
        let rules: Vec<DlpRule> = serde_json::from_value(serde_json::json!([
            {"rule_id": "DLP-A", "destinations": ["crm", "nowhere"], "team": "Ghosts", "match": {"types": ["email"]}, "action": "allow"},
            {"rule_id": "DLP-B", "destinations": ["nowhere", "crm"], "team": "Ghosts", "match": {"families": ["personal"]}, "action": "block"},
            {"rule_id": "DLP-C", "match": {"families": ["secret"]}, "action": "allow"},
        ]))
        .unwrap();
        let settings: GuardSettings =
            serde_json::from_value(serde_json::json!({"settings_id": "default", "min_confidence": 0.9}))
                .unwrap();
        let lints = lint(&rules, &settings, Known { destination: &|d| d == "crm", team: &|_| false });
        let text: Vec<String> =
            lints.iter().map(|l| format!("{:?} {}: {}", l.level, l.subject, l.message)).collect();
        for expected in [
            "Error DLP-A: destination \"nowhere\" is no registered system or dataset",
            "Error DLP-A: team \"Ghosts\" is not registered",
            "Warning DLP-A: never decides email: DLP-B (block) matches them for the same agents, direction and destinations and is stricter",
            "Warning DLP-C: lets secrets leave to any destination",
            "Warning guard_settings: no rule for every agent blocks or redacts secrets going out, and the default action is allow",
            "Warning guard_settings: min_confidence above 0.85 drops phone numbers, SSNs and NINOs found without context words",
        ] {
            assert!(text.iter().any(|t| t == expected), "{expected}\n{text:#?}");
        }
        assert_eq!(lints[0].level, Level::Error, "errors first");
    }
}
