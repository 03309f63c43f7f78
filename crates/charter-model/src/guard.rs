//! Safety filters' records: the finding types the detectors know, data
//! classes, DLP rules (per agent or team, direction and destination:
//! allow, redact or block) and the workspace's guard settings
//! (classification rules, context words, redaction, the confidence a
//! finding needs).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

use crate::enums::UnknownValue;
use crate::id::{AgentId, Key};
use crate::validate::{Check, Checker, Ref};

string_enum!(
    /// The kinds of sensitive value the filter detects.
    FindingType {
        /// An email address.
        Email = "email",
        /// A telephone number, international (`+CC …`) or North American.
        Phone = "phone",
        /// A payment card number (issuer prefix, length and Luhn).
        CreditCard = "credit_card",
        /// An IBAN (country length and mod-97).
        Iban = "iban",
        /// A US Social Security number (valid area, group and serial).
        UsSsn = "us_ssn",
        /// A UK National Insurance number.
        UkNino = "uk_nino",
        /// An IPv4 address.
        Ipv4 = "ipv4",
        /// An IPv6 address.
        Ipv6 = "ipv6",
        /// A date of birth (a date after words that say so).
        DateOfBirth = "date_of_birth",
        /// An AWS access key id (`AKIA…`, `ASIA…`).
        AwsAccessKeyId = "aws_access_key_id",
        /// An AWS secret access key after words that name it.
        AwsSecretAccessKey = "aws_secret_access_key",
        /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
        GithubToken = "github_token",
        /// A GitLab personal access token (`glpat-`).
        GitlabToken = "gitlab_token",
        /// A Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`).
        SlackToken = "slack_token",
        /// A Stripe secret or restricted key (`sk_live_`, `rk_live_`, `sk_test_`, `rk_test_`).
        StripeKey = "stripe_key",
        /// A JSON Web Token whose header decodes and names its algorithm.
        Jwt = "jwt",
        /// A PEM private key block, from BEGIN to END.
        PemPrivateKey = "pem_private_key",
        /// A high-entropy value after `password=`, `secret:`, `token=` and the like.
        GenericSecret = "generic_secret",
    }
);

string_enum!(
    /// Families of finding types, which rules may name instead of types.
    Family {
        /// Data about a person.
        Personal = "personal",
        /// Payment and bank data.
        Financial = "financial",
        /// Network addresses.
        Network = "network",
        /// Credentials and keys.
        Secret = "secret",
    }
);

impl FindingType {
    /// Whether it is personal, financial, a network address or a secret.
    pub fn family(self) -> Family {
        use FindingType::*;
        match self {
            Email | Phone | UsSsn | UkNino | DateOfBirth => Family::Personal,
            CreditCard | Iban => Family::Financial,
            Ipv4 | Ipv6 => Family::Network,
            AwsAccessKeyId | AwsSecretAccessKey | GithubToken | GitlabToken | SlackToken | StripeKey
            | Jwt | PemPrivateKey | GenericSecret => Family::Secret,
        }
    }

    /// The word of its placeholders (`<EMAIL_1>`).
    pub fn placeholder(self) -> &'static str {
        use FindingType::*;
        match self {
            Email => "EMAIL",
            Phone => "PHONE",
            CreditCard => "CARD",
            Iban => "IBAN",
            UsSsn => "SSN",
            UkNino => "NINO",
            Ipv4 => "IPV4",
            Ipv6 => "IPV6",
            DateOfBirth => "DOB",
            AwsAccessKeyId => "AWS_KEY_ID",
            AwsSecretAccessKey => "AWS_SECRET",
            GithubToken => "GITHUB_TOKEN",
            GitlabToken => "GITLAB_TOKEN",
            SlackToken => "SLACK_TOKEN",
            StripeKey => "STRIPE_KEY",
            Jwt => "JWT",
            PemPrivateKey => "PRIVATE_KEY",
            GenericSecret => "SECRET",
        }
    }
}

string_enum!(
    /// How sensitive a text is, from its findings (lowest first).
    DataClass {
        /// Nothing sensitive found.
        Public = "public",
        /// For the organisation only.
        Internal = "internal",
        /// Personal data.
        Confidential = "confidential",
        /// Secrets, payment data, national identifiers.
        Restricted = "restricted",
    }
);

string_enum!(
    /// Which way content moves past the filter.
    Direction {
        /// Into the agent: prompts, tool results, retrieved data.
        Ingress = "ingress",
        /// Out of the agent: tool calls, messages, writes.
        Egress = "egress",
    }
);

string_enum!(
    /// What a DLP rule does with the findings it matches.
    GuardAction {
        /// Let them pass.
        Allow = "allow",
        /// Replace them.
        Redact = "redact",
        /// Refuse the whole content.
        Block = "block",
    }
);

string_enum!(
    /// How a redacted value is replaced.
    RedactionMode {
        /// `*` for every byte.
        Mask = "mask",
        /// `<EMAIL_1>`: the same value gets the same number within one request.
        Placeholder = "placeholder",
        /// `<EMAIL:3f9a…>`: a keyed hash of the value (the workspace's key), the
        /// same across requests, unreadable without the key.
        Hash = "hash",
    }
);

/// What findings a rule is about: any listed type or family; with neither,
/// every finding. `class_at_least` further asks the content's class to be
/// at least this.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingMatch {
    /// Finding types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<FindingType>,
    /// Families of finding types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<Family>,
    /// The content's class must be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_at_least: Option<DataClass>,
}

impl FindingMatch {
    /// Whether a finding of `kind`, in content of `class`, matches.
    pub fn matches(&self, kind: FindingType, class: DataClass) -> bool {
        let listed = (self.types.is_empty() && self.families.is_empty())
            || self.types.contains(&kind)
            || self.families.contains(&kind.family());
        listed && self.class_at_least.is_none_or(|least| class >= least)
    }
}

/// A data-loss-prevention rule: for an agent (or a team's agents, or every
/// agent), a direction and destinations, what happens to the findings it
/// matches. Where several rules match a finding, the most specific wins (an
/// agent before a team before everyone; a named destination before any;
/// a direction before both), and between equally specific rules the
/// strictest (block, then redact, then allow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DlpRule {
    /// `DLP-…`.
    pub rule_id: Key,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The agent it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The team whose agents it applies to (their `owner_team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The direction; both when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Systems or datasets the content goes to (egress) or comes from
    /// (ingress); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<String>,
    /// The findings it is about.
    #[serde(default, rename = "match")]
    pub matches: FindingMatch,
    /// What it does.
    pub action: GuardAction,
    /// How it redacts (the settings' mode when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionMode>,
}

impl Check for DlpRule {
    fn check(&self, check: &mut Checker) {
        if !self.rule_id.as_str().starts_with("DLP-") {
            check.fail("rule_id", &format!("\"{}\" does not start with DLP-", self.rule_id));
        }
        if self.agent_id.is_some() && self.team.is_some() {
            check.fail("team", "a rule names an agent or a team, not both");
        }
        check.optional_text("team", self.team.as_deref());
        check.unique("destinations", &self.destinations);
        if self.redaction.is_some() && self.action != GuardAction::Redact {
            check.fail(
                "redaction",
                &format!("only a redact rule redacts (action is {})", self.action.as_str()),
            );
        }
    }

    fn references(&self, refs: &mut Vec<Ref>) {
        if let Some(agent) = &self.agent_id {
            refs.push(Ref::agent("agent_id".into(), agent));
        }
    }
}

/// A classification rule: content whose findings it matches, `min_count`
/// of them at least, is at least `class`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    /// The class it gives.
    pub class: DataClass,
    /// Which findings count.
    #[serde(default, rename = "match")]
    pub matches: FindingMatch,
    /// How many findings it takes (default 1; at most 1,000,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub min_count: Option<u32>,
}

/// Words before a finding that raise or lower its confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    /// The types it applies to.
    pub types: Vec<FindingType>,
    /// Lower-case words or phrases, looked for in the 48 bytes before a
    /// finding on its line.
    pub words: Vec<String>,
    /// Added to the confidence, which stays within 0 and 1.
    pub delta: f32,
}

/// A workspace's guard settings (record id `default`); every field has a
/// documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardSettings {
    /// Always `default`.
    pub settings_id: Key,
    /// The confidence a finding needs to count (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<f32>,
    /// Classification rules; the highest class any rule gives is the
    /// content's (`public` when none does). Absent: secrets, payment
    /// and bank data and national identifiers are restricted, other
    /// personal data confidential, network addresses internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<ClassRule>>,
    /// Context words, added to the built-in ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextRule>,
    /// How redact rules redact when they do not say (default placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionMode>,
    /// What happens to findings no rule matches (default allow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<GuardAction>,
}

impl Check for GuardSettings {
    fn check(&self, check: &mut Checker) {
        if self.settings_id.as_str() != "default" {
            check.fail(
                "settings_id",
                &format!("\"{}\" is not default (a workspace has one)", self.settings_id),
            );
        }
        if let Some(min) = self.min_confidence {
            check.range("min_confidence", f64::from(min), 0.0, 1.0);
        }
        for (i, rule) in self.context.iter().enumerate() {
            if rule.types.is_empty() {
                check.fail(&format!("context[{i}].types"), "empty");
            }
            if rule.words.is_empty() || rule.words.iter().any(|w| w.trim().is_empty()) {
                check.fail(&format!("context[{i}].words"), "empty, or an empty word");
            }
            check.range(&format!("context[{i}].delta"), f64::from(rule.delta), -1.0, 1.0);
        }
        for (i, rule) in self.classes.iter().flatten().enumerate() {
            if let Some(count) = rule.min_count
                && !(1..=1_000_000).contains(&count)
            {
                check.fail(
                    &format!("classes[{i}].min_count"),
                    &format!("{count}: must be between 1 and 1000000"),
                );
            }
        }
    }
}

impl GuardSettings {
    /// The classification rules in force: the settings' own or the defaults.
    pub fn class_rules(&self) -> Vec<ClassRule> {
        self.classes.clone().unwrap_or_else(default_class_rules)
    }
}

/// The default classification: secrets, payment and bank data and national
/// identifiers restricted; other personal data confidential; network
/// addresses internal.
pub fn default_class_rules() -> Vec<ClassRule> {
    let rule = |class, types: &[FindingType], families: &[Family]| ClassRule {
        class,
        matches: FindingMatch { types: types.to_vec(), families: families.to_vec(), class_at_least: None },
        min_count: None,
    };
    vec![
        rule(
            DataClass::Restricted,
            &[FindingType::UsSsn, FindingType::UkNino],
            &[Family::Secret, Family::Financial],
        ),
        rule(DataClass::Confidential, &[], &[Family::Personal]),
        rule(DataClass::Internal, &[], &[Family::Network]),
    ]
}
