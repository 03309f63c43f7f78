//! Classification of content by its findings, and the DLP rules' verdict:
//! per finding allow, redact (and how) or block, and for the content the
//! strictest of them.

use charter_model::{ClassRule, DataClass, Direction, DlpRule, GuardAction, RedactionMode};
use serde::Serialize;

use crate::finding::Finding;

/// The class `rules` give content with `findings`: the highest class of a
/// rule that `min_count` findings (default 1) match, `public` when none.
pub fn classify(findings: &[Finding], rules: &[ClassRule]) -> DataClass {
    rules
        .iter()
        .filter(|rule| {
            let matching =
                findings.iter().filter(|f| rule.matches.matches(f.kind, DataClass::Public)).count();
            matching > 0 && matching >= rule.min_count.unwrap_or(1) as usize
        })
        .map(|rule| rule.class)
        .max()
        .unwrap_or(DataClass::Public)
}

/// Where content goes: whose it is, which way and to what.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The agent.
    pub agent: &'a str,
    /// Its owner team.
    pub team: Option<&'a str>,
    /// Which way.
    pub direction: Direction,
    /// The system or dataset it goes to or comes from.
    pub destination: Option<&'a str>,
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// For the content: the strictest action of its findings.
    pub action: GuardAction,
    /// Per finding (in the order given): its action, and how to redact it.
    pub actions: Vec<(GuardAction, Option<RedactionMode>)>,
    /// Why: `dlp:<action>:<rule>/<version>` for each rule that decided a
    /// finding, `dlp:default:<action>` for findings no rule matched.
    pub reasons: Vec<String>,
}

/// How specific a rule is for `target`, or `None` if it does not apply:
/// the subject (agent 2, team 1, everyone 0), then the destination (named
/// 1, any 0), then the direction (named 1, both 0).
fn specificity(rule: &DlpRule, target: &Target<'_>) -> Option<(u8, u8, u8)> {
    let subject = match (&rule.agent_id, &rule.team) {
        (Some(agent), _) if agent.as_str() == target.agent => 2,
        (Some(_), _) => return None,
        (None, Some(team)) if Some(team.as_str()) == target.team => 1,
        (None, Some(_)) => return None,
        (None, None) => 0,
    };
    let destination = if rule.destinations.is_empty() {
        0
    } else if target.destination.is_some_and(|d| rule.destinations.iter().any(|r| r == d)) {
        1
    } else {
        return None;
    };
    let direction = match rule.direction {
        None => 0,
        Some(direction) if direction == target.direction => 1,
        Some(_) => return None,
    };
    Some((subject, destination, direction))
}

/// The verdict of `rules` (each with its version) on `findings` in content
/// of `class` going to `target`. For each finding, the most specific rule
/// that matches it decides, the strictest among equally specific ones;
/// findings no rule matches get `default_action`. Redactions use the
/// rule's mode, else `default_mode`.
pub fn judge(
    target: &Target<'_>,
    findings: &[Finding],
    class: DataClass,
    rules: &[(DlpRule, u64)],
    default_action: GuardAction,
    default_mode: RedactionMode,
) -> Verdict {
    let applicable: Vec<(&DlpRule, u64, (u8, u8, u8))> = rules
        .iter()
        .filter_map(|(rule, version)| specificity(rule, target).map(|s| (rule, *version, s)))
        .collect();
    let mut reasons = std::collections::BTreeSet::new();
    let actions = findings
        .iter()
        .map(|finding| {
            let winner = applicable
                .iter()
                .filter(|(rule, _, _)| rule.matches.matches(finding.kind, class))
                .max_by_key(|(rule, _, specificity)| (*specificity, rule.action));
            match winner {
                Some((rule, version, _)) => {
                    reasons.insert(format!("dlp:{}:{}/{version}", rule.action.as_str(), rule.rule_id));
                    let mode =
                        (rule.action == GuardAction::Redact).then(|| rule.redaction.unwrap_or(default_mode));
                    (rule.action, mode)
                }
                None => {
                    reasons.insert(format!("dlp:default:{}", default_action.as_str()));
                    (default_action, (default_action == GuardAction::Redact).then_some(default_mode))
                }
            }
        })
        .collect::<Vec<_>>();
    let action = actions.iter().map(|(action, _)| *action).max().unwrap_or(GuardAction::Allow);
    Verdict { action, actions, reasons: reasons.into_iter().collect() }
}

#[cfg(test)]
mod tests {
    use charter_model::{FindingMatch, FindingType};

    use super::*;

    fn finding(kind: FindingType) -> Finding {
        Finding { kind, start: 0, end: 1, confidence: 0.9 }
    }

    fn rule(id: &str, json: serde_json::Value) -> (DlpRule, u64) {
        let mut value = json;
        value["rule_id"] = id.into();
        (serde_json::from_value(value).unwrap(), 1)
    }

    #[test]
    fn the_default_classes_follow_the_worst_finding() {
        let rules = charter_model::guard::default_class_rules();
        assert_eq!(classify(&[], &rules), DataClass::Public);
        assert_eq!(classify(&[finding(FindingType::Ipv4)], &rules), DataClass::Internal);
        assert_eq!(
            classify(&[finding(FindingType::Ipv4), finding(FindingType::Email)], &rules),
            DataClass::Confidential
        );
        assert_eq!(
            classify(&[finding(FindingType::Email), finding(FindingType::Jwt)], &rules),
            DataClass::Restricted
        );
        let two_emails = ClassRule {
            class: DataClass::Restricted,
            matches: FindingMatch { types: vec![FindingType::Email], ..FindingMatch::default() },
            min_count: Some(2),
        };
        assert_eq!(
            classify(&[finding(FindingType::Email)], std::slice::from_ref(&two_emails)),
            DataClass::Public
        );
        assert_eq!(
            classify(&[finding(FindingType::Email), finding(FindingType::Email)], &[two_emails]),
            DataClass::Restricted
        );
    }

    #[test]
    fn the_most_specific_rule_wins_then_the_strictest() {
        let rules = vec![
            rule("DLP-SECRETS", serde_json::json!({"match": {"families": ["secret"]}, "action": "block"})),
            rule(
                "DLP-PII-OUT",
                serde_json::json!({"direction": "egress", "match": {"families": ["personal"]}, "action": "redact"}),
            ),
            rule(
                "DLP-CRM-EMAIL",
                serde_json::json!({"team": "Revenue Ops", "destinations": ["crm_salesforce"], "match": {"types": ["email"]}, "action": "allow"}),
            ),
            rule(
                "DLP-SALES-EMAIL",
                serde_json::json!({"agent_id": "agent_sales_01", "match": {"types": ["email"]}, "action": "redact", "redaction": "hash"}),
            ),
        ];
        let target = |agent, destination| Target {
            agent,
            team: Some("Revenue Ops"),
            direction: Direction::Egress,
            destination: Some(destination),
        };
        let judge = |target: &Target<'_>, findings: &[Finding]| {
            judge(
                target,
                findings,
                DataClass::Restricted,
                &rules,
                GuardAction::Allow,
                RedactionMode::Placeholder,
            )
        };
        // The team's rule for the CRM beats the general egress rule ...
        let verdict = judge(&target("agent_x", "crm_salesforce"), &[finding(FindingType::Email)]);
        assert_eq!(
            (verdict.action, verdict.reasons.clone()),
            (GuardAction::Allow, vec!["dlp:allow:DLP-CRM-EMAIL/1".into()])
        );
        // ... and the agent's own rule beats the team's.
        let verdict = judge(&target("agent_sales_01", "crm_salesforce"), &[finding(FindingType::Email)]);
        assert_eq!(verdict.actions, vec![(GuardAction::Redact, Some(RedactionMode::Hash))]);
        // Elsewhere, personal data going out is redacted; a secret blocks all.
        let verdict = judge(
            &target("agent_x", "email_sendgrid"),
            &[finding(FindingType::Phone), finding(FindingType::Jwt)],
        );
        assert_eq!(verdict.action, GuardAction::Block);
        assert_eq!(verdict.actions[0], (GuardAction::Redact, Some(RedactionMode::Placeholder)));
        // Network addresses: no rule, the default.
        let verdict = judge(&target("agent_x", "email_sendgrid"), &[finding(FindingType::Ipv4)]);
        assert_eq!((verdict.action, verdict.reasons), (GuardAction::Allow, vec!["dlp:default:allow".into()]));
        // Ingress is not egress.
        let inbound = Target { direction: Direction::Ingress, ..target("agent_x", "email_sendgrid") };
        assert_eq!(judge(&inbound, &[finding(FindingType::Phone)]).action, GuardAction::Allow);
    }
}
