//! Permission tiers, approvals with separation of duties, and change
//! windows (agent operations framework).
//!
//! Tier 3+: approval required; the approver may be neither the requester
//! nor the operator; a dry run of the same plan must have run first. Tier 4:
//! also only inside a change window, with a named on-call person, and as
//! many approvals as the workspace asks for.

use charter_model::{Declaration, Operation, RiskClass, Timestamp};
use serde::{Deserialize, Serialize};

/// A workspace's tier rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRules {
    /// Tier of each risk class: READ_ONLY, LOW_RISK_CONFIG, SERVICE_RESTART,
    /// FILESYSTEM_WRITE.
    pub class_tiers: [u8; 4],
    /// Approvals a Tier 3 operation needs.
    pub tier3_approvals: usize,
    /// Approvals a Tier 4 operation needs.
    pub tier4_approvals: usize,
    /// When Tier 4 operations may run.
    pub windows: Vec<ChangeWindow>,
    /// Whether Tier 3+ operations may run unconfined where Landlock is missing.
    pub detection_only: bool,
}

impl Default for TierRules {
    fn default() -> Self {
        Self {
            class_tiers: [1, 2, 3, 3],
            tier3_approvals: 1,
            tier4_approvals: 2,
            windows: Vec::new(),
            detection_only: false,
        }
    }
}

impl TierRules {
    /// The rules a workspace's settings give, or every problem with them.
    pub fn from_settings(settings: &charter_model::operation::OpsSettings) -> Result<Self, Vec<String>> {
        let defaults = Self::default();
        let mut problems = Vec::new();
        let mut windows = Vec::new();
        for (index, text) in settings.change_windows.iter().enumerate() {
            match text.parse::<ChangeWindow>() {
                Ok(window) => windows.push(window),
                Err(error) => problems.push(format!("change_windows[{index}]: {error}")),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            class_tiers: settings.class_tiers.unwrap_or(defaults.class_tiers),
            tier3_approvals: settings.tier3_approvals.map_or(defaults.tier3_approvals, usize::from),
            tier4_approvals: settings.tier4_approvals.map_or(defaults.tier4_approvals, usize::from),
            windows,
            detection_only: settings.detection_only.unwrap_or(false),
        })
    }

    /// The tier of a risk class.
    pub fn class_tier(&self, class: RiskClass) -> u8 {
        let index = RiskClass::ALL.iter().position(|c| *c == class).unwrap_or(3);
        self.class_tiers[index]
    }

    /// The tier of a declaration: its class's, or the higher one it asks for.
    pub fn tier(&self, declaration: &Declaration) -> u8 {
        self.class_tier(declaration.risk_class).max(declaration.tier.unwrap_or(0)).min(4)
    }

    /// Approvals an operation of `tier` needs.
    pub fn approvals_needed(&self, tier: u8) -> usize {
        match tier {
            0..=2 => 0,
            3 => self.tier3_approvals.max(1),
            _ => self.tier4_approvals.max(1),
        }
    }
}

fn same_person(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Reason ids of the operation rules, as the decision point reports them.
pub mod reason {
    /// The operation's tier needs no approval.
    pub const NO_APPROVAL_NEEDED: &str = "guardrail:no-approval-needed";
    /// The requester or an approver may not approve or run it.
    pub const SEPARATION_OF_DUTIES: &str = "guardrail:separation-of-duties";
    /// The same person approved this plan already.
    pub const ALREADY_APPROVED: &str = "guardrail:already-approved";
    /// No dry run of this plan has passed.
    pub const DRY_RUN_PROOF: &str = "guardrail:dry-run-proof";
    /// Too few approvals of this plan.
    pub const APPROVALS: &str = "guardrail:approvals";
    /// Tier 4 without a named on-call person.
    pub const ON_CALL: &str = "guardrail:on-call";
    /// Tier 4 outside every change window.
    pub const CHANGE_WINDOW: &str = "guardrail:change-window";
}

/// Why `approver` may not approve `operation` now, each with its reason id.
/// `dry_run_passed` says whether a dry run of the current plan passed.
pub fn approval_checks(
    operation: &Operation,
    approver: &str,
    dry_run_passed: bool,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if operation.tier < 3 {
        problems.push((
            reason::NO_APPROVAL_NEEDED,
            format!("operation {} is Tier {}: it needs no approval", operation.operation_id, operation.tier),
        ));
        return problems;
    }
    if same_person(approver, &operation.declaration.requested_by)
        || operation.declared_by.as_deref().is_some_and(|declarer| same_person(approver, declarer))
    {
        problems.push((
            reason::SEPARATION_OF_DUTIES,
            format!("{approver} requested this operation and may not approve it (separation of duties)"),
        ));
    }
    if current_approvals(operation).iter().any(|a| same_person(&a.by, approver)) {
        problems.push((reason::ALREADY_APPROVED, format!("{approver} has already approved this plan")));
    }
    if !dry_run_passed {
        problems.push((
            reason::DRY_RUN_PROOF,
            format!(
                "no dry run of this plan has passed: run `charter op run {} --dry-run` first (Tier {} needs the proof)",
                operation.operation_id, operation.tier
            ),
        ));
    }
    problems
}

/// What a declaration at `tier` lacks to ever run, known at declaration:
/// a Tier 4 operation runs only with a named on-call person.
pub fn declaration_problems(declaration: &charter_model::Declaration, tier: u8) -> Vec<String> {
    let mut problems = Vec::new();
    if tier >= 4 && declaration.on_call.as_deref().is_none_or(|p| p.trim().is_empty()) {
        problems.push(format!(
            "ON_CALL: a Tier {tier} operation runs only with a named on-call person; name one (ON_CALL: person_id)"
        ));
    }
    problems
}

/// [`approval_checks`], messages only.
pub fn approval_problems(operation: &Operation, approver: &str, dry_run_passed: bool) -> Vec<String> {
    approval_checks(operation, approver, dry_run_passed).into_iter().map(|(_, message)| message).collect()
}

/// The approvals that count: those of the current plan.
pub fn current_approvals(operation: &Operation) -> Vec<&charter_model::operation::Approval> {
    operation.approvals.iter().filter(|a| a.declaration_hash == operation.declaration_hash).collect()
}

/// Why `operator` may not run `operation` at `now`, each with its reason id.
pub fn run_checks(
    operation: &Operation,
    rules: &TierRules,
    operator: &str,
    now: Timestamp,
    dry_run_passed: bool,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let tier = operation.tier;
    let approvals = current_approvals(operation);
    let needed = rules.approvals_needed(tier);
    if approvals.len() < needed {
        problems.push((
            reason::APPROVALS,
            format!(
                "Tier {tier} needs {needed} approval{} of this plan; it has {}",
                if needed == 1 { "" } else { "s" },
                approvals.len()
            ),
        ));
    }
    if tier >= 3 {
        if let Some(approval) = approvals.iter().find(|a| same_person(&a.by, operator)) {
            problems.push((
                reason::SEPARATION_OF_DUTIES,
                format!(
                    "{} approved this operation and may not also run it (separation of duties)",
                    approval.by
                ),
            ));
        }
        if !dry_run_passed {
            problems.push((reason::DRY_RUN_PROOF, "no dry run of this plan has passed".into()));
        }
    }
    if tier >= 4 {
        if operation.declaration.on_call.as_deref().is_none_or(|p| p.trim().is_empty()) {
            problems.push((reason::ON_CALL, "Tier 4 needs a named on-call person (ON_CALL)".into()));
        }
        if !rules.windows.iter().any(|window| window.contains(now)) {
            let windows: Vec<String> = rules.windows.iter().map(ToString::to_string).collect();
            problems.push((
                reason::CHANGE_WINDOW,
                if windows.is_empty() {
                    "Tier 4 runs only inside a change window, and the workspace defines none".into()
                } else {
                    format!("Tier 4 runs only inside a change window ({}); it is {now}", windows.join("; "))
                },
            ));
        }
    }
    problems
}

/// [`run_checks`], messages only.
pub fn run_problems(
    operation: &Operation,
    rules: &TierRules,
    operator: &str,
    now: Timestamp,
    dry_run_passed: bool,
) -> Vec<String> {
    run_checks(operation, rules, operator, now, dry_run_passed)
        .into_iter()
        .map(|(_, message)| message)
        .collect()
}

/// A weekly change window, written like `Tue 02:00-04:00 UTC` (an en dash
/// works too). A window may cross midnight (`Sat 23:00-01:00 UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChangeWindow {
    /// Day of the week, Monday = 0.
    day: u8,
    /// Start, in minutes after midnight UTC.
    start: u16,
    /// End, in minutes after midnight UTC (excluded).
    end: u16,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The day a window names: its three-letter abbreviation or its full English
/// name, in any letter case.
fn day_number(word: &str) -> Option<usize> {
    DAYS.iter()
        .zip(DAY_NAMES)
        .position(|(short, long)| word.eq_ignore_ascii_case(short) || word.eq_ignore_ascii_case(long))
}

fn minutes(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60 && text.len() == 5).then_some(hours * 60 + minutes)
}

impl std::str::FromStr for ChangeWindow {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let fail = || {
            format!("change window \"{text}\": expected a day and UTC times such as \"Tue 02:00-04:00 UTC\"")
        };
        let normalized = text.replace(['–', '—'], "-");
        let words: Vec<&str> = normalized.split_whitespace().collect();
        let (day, range) = match words.as_slice() {
            [day, range] | [day, range, "UTC"] => (*day, *range),
            _ => return Err(fail()),
        };
        let day = day_number(day);
        let (start, end) = range.split_once('-').ok_or_else(fail)?;
        match (day, minutes(start), minutes(end)) {
            (Some(day), Some(start), Some(end)) if start != end => Ok(Self { day: day as u8, start, end }),
            _ => Err(fail()),
        }
    }
}

impl TryFrom<String> for ChangeWindow {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<ChangeWindow> for String {
    fn from(window: ChangeWindow) -> String {
        window.to_string()
    }
}

impl std::fmt::Display for ChangeWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}-{:02}:{:02} UTC",
            DAYS[usize::from(self.day)],
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

impl ChangeWindow {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        let time = at.inner();
        let day = time.weekday().number_days_from_monday();
        let minute = u16::from(time.hour()) * 60 + u16::from(time.minute());
        if self.start < self.end {
            day == self.day && (self.start..self.end).contains(&minute)
        } else {
            // Across midnight: the evening of its day and the morning after.
            (day == self.day && minute >= self.start) || (day == (self.day + 1) % 7 && minute < self.end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_model::operation::Approval;
    use charter_model::{OperationId, OperationStatus};

    fn operation(tier_line: &str) -> Operation {
        let text = [
            "OPERATION_NAME: restart",
            "OBJECTIVE: o",
            "RISK_CLASS: SERVICE_RESTART",
            tier_line,
            "BLAST_RADIUS: b",
            "ROLLBACK_STRATEGY: r",
            "ALLOWED_PATHS: [/srv]",
            "ALLOWED_SERVICES: [nginx]",
            "REQUESTED_BY: alice",
            "STEPS:",
            "  - name: restart",
            "    command: systemctl restart nginx",
            "    services: [nginx]",
            "    verify: [systemctl is-active nginx]",
            "    rollback: systemctl restart nginx",
        ]
        .join("\n");
        let declaration = crate::parse(&text).unwrap();
        Operation {
            operation_id: OperationId::new("OPS-2026-11-22-001").unwrap(),
            status: OperationStatus::Planned,
            tier: TierRules::default().tier(&declaration),
            declaration_hash: crate::declaration_hash(&declaration),
            declaration,
            requested_at: at("2026-11-22T10:00:00Z"),
            declared_by: None,
            approvals: Vec::new(),
            rejection: None,
            runs: Vec::new(),
            halt_requested: None,
        }
    }

    fn approve(operation: &mut Operation, by: &str) {
        let declaration_hash = operation.declaration_hash.clone();
        operation.approvals.push(Approval {
            by: by.into(),
            at: at("2026-11-22T10:05:00Z"),
            declaration_hash,
            decision_id: None,
        });
    }

    #[test]
    fn separation_of_duties_and_dry_run_proof() {
        let mut op = operation("");
        assert_eq!(op.tier, 3);
        let rules = TierRules::default();
        let now = at("2026-11-22T11:00:00Z");
        assert_eq!(
            approval_problems(&op, "Alice", true),
            ["Alice requested this operation and may not approve it (separation of duties)"]
        );
        assert!(approval_problems(&op, "bob", false)[0].starts_with("no dry run of this plan has passed"));
        assert!(approval_problems(&op, "bob", true).is_empty());
        // Whoever declared it for an agent of their team may not approve it either.
        op.declared_by = Some("bob".into());
        assert_eq!(
            approval_problems(&op, "Bob", true),
            ["Bob requested this operation and may not approve it (separation of duties)"]
        );
        op.declared_by = None;
        assert_eq!(
            run_problems(&op, &rules, "carol", now, true),
            ["Tier 3 needs 1 approval of this plan; it has 0"]
        );
        approve(&mut op, "bob");
        assert!(run_problems(&op, &rules, "carol", now, true).is_empty());
        assert_eq!(
            run_problems(&op, &rules, "bob", now, true),
            ["bob approved this operation and may not also run it (separation of duties)"]
        );
        // Editing the plan voids the approval.
        op.declaration.steps[0].command.push_str(" --now");
        op.declaration_hash = crate::declaration_hash(&op.declaration);
        assert_eq!(
            run_problems(&op, &rules, "carol", now, true),
            ["Tier 3 needs 1 approval of this plan; it has 0"]
        );
    }

    #[test]
    fn tier_four_needs_a_window_on_call_and_more_approvals() {
        let mut op = operation("TIER: 4");
        assert_eq!(op.tier, 4);
        approve(&mut op, "bob");
        let mut rules = TierRules::default();
        let tuesday = at("2026-11-24T03:00:00Z");
        assert_eq!(
            run_problems(&op, &rules, "carol", tuesday, true),
            [
                "Tier 4 needs 2 approvals of this plan; it has 1",
                "Tier 4 needs a named on-call person (ON_CALL)",
                "Tier 4 runs only inside a change window, and the workspace defines none",
            ]
        );
        approve(&mut op, "dave");
        op.declaration.on_call = Some("erin".into());
        rules.windows.push("Tue 02:00-04:00 UTC".parse().unwrap());
        assert!(run_problems(&op, &rules, "carol", tuesday, true).is_empty());
        let wednesday = at("2026-11-25T03:00:00Z");
        assert_eq!(
            run_problems(&op, &rules, "carol", wednesday, true),
            ["Tier 4 runs only inside a change window (Tue 02:00-04:00 UTC); it is 2026-11-25T03:00:00Z"]
        );
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn windows_parse_print_and_contain() {
        let window: ChangeWindow = "Tue 02:00–04:00 UTC".parse().unwrap();
        assert_eq!(window.to_string(), "Tue 02:00-04:00 UTC");
        // 2026-11-24 is a Tuesday.
        assert!(window.contains(at("2026-11-24T02:00:00Z")));
        assert!(window.contains(at("2026-11-24T03:59:59Z")));
        assert!(!window.contains(at("2026-11-24T04:00:00Z")));
        assert!(!window.contains(at("2026-11-25T03:00:00Z")));
        assert_eq!("tuesday 02:00-04:00".parse::<ChangeWindow>().unwrap(), window);
        let night: ChangeWindow = "sat 23:00-01:00".parse().unwrap();
        assert!(night.contains(at("2026-11-28T23:30:00Z")));
        assert!(night.contains(at("2026-11-29T00:30:00Z")));
        assert!(!night.contains(at("2026-11-29T01:00:00Z")));
        for bad in [
            "Tue",
            "Tue 2:00-4:00",
            "Xyz 02:00-04:00",
            "Tue 02:00-02:00",
            "Tue 25:00-26:00",
            "Tue 02:00-04:00 CET",
            "Tuexyz 02:00-04:00",
            // A regression: a multi-byte day name panicked while it was sliced.
            "Tü 02:00-04:00",
            "Tüe 02:00-04:00",
            "日月火 02:00-04:00",
        ] {
            assert!(bad.parse::<ChangeWindow>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Any text is either a window that prints and parses back to itself,
        /// or an error that quotes it; never a panic.
        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,24}", day in 0usize..7, tail in "\\PC{0,12}") {
            for candidate in [text.clone(), format!("{} {tail}", DAYS[day]), format!("{text} 02:00-04:00")] {
                match candidate.parse::<ChangeWindow>() {
                    Ok(window) => proptest::prop_assert_eq!(window.to_string().parse::<ChangeWindow>(), Ok(window)),
                    Err(message) => proptest::prop_assert!(message.contains(&candidate)),
                }
            }
        }
    }
}
