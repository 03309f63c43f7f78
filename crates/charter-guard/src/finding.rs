//! What a detector found: a type, the exact byte span and a confidence.

use serde::{Deserialize, Serialize};

macro_rules! finding_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $class:ident, $placeholder:literal;)+) => {
        /// The kinds of sensitive value the filter detects.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum FindingType {
            $($(#[$doc])* $variant,)+
        }

        impl FindingType {
            /// Every type, in the order of their declaration.
            pub const ALL: &'static [FindingType] = &[$(FindingType::$variant),+];

            /// The type's name, as configuration and reports spell it.
            pub fn name(self) -> &'static str {
                match self { $(FindingType::$variant => $name,)+ }
            }

            /// Whether it is personal data or a secret.
            pub fn family(self) -> Family {
                match self { $(FindingType::$variant => Family::$class,)+ }
            }

            /// The word of its placeholders (`<EMAIL_1>`).
            pub fn placeholder(self) -> &'static str {
                match self { $(FindingType::$variant => $placeholder,)+ }
            }
        }

        impl std::str::FromStr for FindingType {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($name => Ok(FindingType::$variant),)+
                    _ => Err(format!(
                        "\"{text}\" is not a finding type (one of {})",
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

finding_types! {
    /// An email address.
    Email = "email", Personal, "EMAIL";
    /// A telephone number, international (`+CC …`) or North American.
    Phone = "phone", Personal, "PHONE";
    /// A payment card number (issuer prefix, length and Luhn).
    CreditCard = "credit_card", Financial, "CARD";
    /// An IBAN (country length and mod-97).
    Iban = "iban", Financial, "IBAN";
    /// A US Social Security number (valid area, group and serial).
    UsSsn = "us_ssn", Personal, "SSN";
    /// A UK National Insurance number.
    UkNino = "uk_nino", Personal, "NINO";
    /// An IPv4 address.
    Ipv4 = "ipv4", Network, "IPV4";
    /// An IPv6 address.
    Ipv6 = "ipv6", Network, "IPV6";
    /// A date of birth (a date after words that say so).
    DateOfBirth = "date_of_birth", Personal, "DOB";
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKeyId = "aws_access_key_id", Secret, "AWS_KEY_ID";
    /// An AWS secret access key after words that name it.
    AwsSecretAccessKey = "aws_secret_access_key", Secret, "AWS_SECRET";
    /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken = "github_token", Secret, "GITHUB_TOKEN";
    /// A GitLab personal access token (`glpat-`).
    GitlabToken = "gitlab_token", Secret, "GITLAB_TOKEN";
    /// A Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`).
    SlackToken = "slack_token", Secret, "SLACK_TOKEN";
    /// A Stripe secret or restricted key (`sk_live_`, `rk_live_`, `sk_test_`, `rk_test_`).
    StripeKey = "stripe_key", Secret, "STRIPE_KEY";
    /// A JSON Web Token whose header decodes and names its algorithm.
    Jwt = "jwt", Secret, "JWT";
    /// A PEM private key block, from BEGIN to END.
    PemPrivateKey = "pem_private_key", Secret, "PRIVATE_KEY";
    /// A high-entropy value after `password=`, `secret:`, `token=` and the like.
    GenericSecret = "generic_secret", Secret, "SECRET";
}

impl std::fmt::Display for FindingType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Families of finding types, which classification rules may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Data about a person.
    Personal,
    /// Payment and bank data.
    Financial,
    /// Network addresses.
    Network,
    /// Credentials and keys.
    Secret,
}

/// One sensitive value: its type, where it is (bytes `start..end` of the
/// text) and how sure the detector is (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: FindingType,
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// From 0 to 1.
    pub confidence: f32,
}

impl Finding {
    /// Its bytes in `text`.
    pub fn value<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        &text[self.start..self.end]
    }
}
