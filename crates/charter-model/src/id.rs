//! Identifier types. Each one validates its format on construction and on
//! deserialization, so an invalid identifier never reaches an engine or the
//! store. Error messages show the expected format and an example.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

/// An identifier that does not have the format its kind requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} \"{value}\": expected {expected}")]
pub struct IdError {
    /// What kind of identifier was expected (`policy id`, `workspace name`…).
    pub what: &'static str,
    /// The rejected input.
    pub value: String,
    /// The expected format, with an example.
    pub expected: &'static str,
}

/// Upper bound on the length of any identifier.
pub const MAX_ID_LEN: usize = 128;

/// Declares a string identifier newtype with a validation function, plus the
/// `FromStr`, `Display`, serde and OpenAPI glue every identifier shares.
macro_rules! identifier {
    (
        $(#[$meta:meta])*
        $name:ident, what = $what:literal, expected = $expected:literal, pattern = $pattern:literal,
        valid = $valid:expr
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// What this identifier is called in error messages.
            pub const WHAT: &'static str = $what;
            /// The expected format, shown when a value is rejected.
            pub const EXPECTED: &'static str = $expected;

            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let valid: fn(&str) -> bool = $valid;
                if value.len() <= MAX_ID_LEN && valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(IdError { what: $what, value, expected: $expected })
                }
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the identifier, returning the string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::new(value.into_owned()).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .max_length(Some(MAX_ID_LEN))
                    .description(Some(concat!("Format: ", $expected)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

fn is_upper_segment(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `PREFIX-A-B…`: a fixed prefix followed by at least `min_segments`
/// upper-case alphanumeric segments separated by `-`.
fn is_prefixed_upper(value: &str, prefix: &str, min_segments: usize) -> bool {
    let Some(rest) = value.strip_prefix(prefix) else {
        return false;
    };
    let segments: Vec<&str> = rest.split('-').collect();
    segments.len() >= min_segments && segments.iter().all(|s| is_upper_segment(s))
}

fn is_key(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@' | b':'))
}

/// `agent_<function>_<NN>`, the seed data's style: lower-case words separated
/// by `_`, ending in a number.
fn is_seed_agent_id(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("agent_") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('_').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    !words.is_empty()
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn is_agent_id(value: &str) -> bool {
    is_prefixed_upper(value, "AGENT-", 2) || is_seed_agent_id(value)
}

fn is_workspace_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
}

/// Parses `PREFIX-YYYY-MM-DD-NNN` and returns the date and the sequence number.
fn parse_dated(value: &str, prefix: &str) -> Option<(Date, u16)> {
    let rest = value.strip_prefix(prefix)?;
    // YYYY-MM-DD-NNN is exactly 14 bytes.
    if rest.len() != 14 || !rest.is_ascii() {
        return None;
    }
    let (date, seq) = (&rest[..10], &rest[10..]);
    let seq = seq.strip_prefix('-')?;
    if !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u16 = seq.parse().ok()?;
    if seq == 0 {
        return None;
    }
    let date = crate::time::parse_date(date).ok()?;
    Some((date, seq))
}

fn is_change_id(value: &str) -> bool {
    parse_dated(value, "CHG-").is_some()
}

fn is_operation_id(value: &str) -> bool {
    parse_dated(value, "OPS-").is_some()
}

identifier!(
    /// The name of a workspace: lower-case letters, digits, `-` and `_`,
    /// starting with a letter or digit, at most 63 characters.
    WorkspaceName,
    what = "workspace name",
    expected = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters (e.g. ops)",
    pattern = "^[a-z0-9][a-z0-9_-]{0,62}$",
    valid = is_workspace_name
);

identifier!(
    /// A general record key (system, workflow, dataset, risk, review, person,
    /// team…): ASCII letters, digits and `_ - . @ :`, at most 128 characters.
    Key,
    what = "id",
    expected = "ASCII letters, digits and '_', '-', '.', '@', ':' (e.g. crm_salesforce)",
    pattern = "^[A-Za-z0-9_.@:-]{1,128}$",
    valid = is_key
);

identifier!(
    /// An agent: `AGENT-[FUNCTION]-[WORKSPACE]` or the seed data's
    /// `agent_[function]_[NN]`.
    AgentId,
    what = "agent id",
    expected = "AGENT-[FUNCTION]-[WORKSPACE] (e.g. AGENT-DATAMODEL-OPS) or agent_[function]_[NN] (e.g. agent_sales_01)",
    pattern = "^(AGENT(-[A-Z0-9]+){2,}|agent(_[a-z0-9]+)+_[0-9]+)$",
    valid = is_agent_id
);

identifier!(
    /// A policy: `POL-[DOMAIN]-[NAME]`.
    PolicyId,
    what = "policy id",
    expected = "POL-[DOMAIN]-[NAME] in upper case (e.g. POL-GOVERNANCE-MASTER)",
    pattern = "^POL(-[A-Z0-9]+){2,}$",
    valid = |value| is_prefixed_upper(value, "POL-", 2)
);

identifier!(
    /// A procedure: `PROC-[ACTION]-[TARGET]`.
    ProcedureId,
    what = "procedure id",
    expected = "PROC-[ACTION]-[TARGET] in upper case (e.g. PROC-CREATE-DATASET)",
    pattern = "^PROC(-[A-Z0-9]+){2,}$",
    valid = |value| is_prefixed_upper(value, "PROC-", 2)
);

identifier!(
    /// A data-model change: `CHG-YYYY-MM-DD-###`.
    ChangeId,
    what = "change id",
    expected = "CHG-YYYY-MM-DD-### with a real date and a number from 001 (e.g. CHG-2026-11-22-001)",
    pattern = "^CHG-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{3}$",
    valid = is_change_id
);

identifier!(
    /// A governed operation: `OPS-YYYY-MM-DD-NNN`.
    OperationId,
    what = "operation id",
    expected = "OPS-YYYY-MM-DD-NNN with a real date and a number from 001 (e.g. OPS-2026-11-22-001)",
    pattern = "^OPS-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{3}$",
    valid = is_operation_id
);

impl ChangeId {
    /// The change id for `date` and the day's sequence number `seq` (1-999).
    pub fn for_day(date: Date, seq: u16) -> Result<Self, IdError> {
        Self::new(dated("CHG", date, seq))
    }
}

impl OperationId {
    /// The operation id for `date` and the day's sequence number `seq` (1-999).
    pub fn for_day(date: Date, seq: u16) -> Result<Self, IdError> {
        Self::new(dated("OPS", date, seq))
    }
}

fn dated(prefix: &str, date: Date, seq: u16) -> String {
    format!("{prefix}-{}-{seq:03}", crate::time::format_date(date))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: FromStr<Err = IdError>>(valid: &[&str], invalid: &[&str]) {
        for value in valid {
            assert!(T::from_str(value).is_ok(), "{value} should be valid");
        }
        for value in invalid {
            assert!(T::from_str(value).is_err(), "{value} should be invalid");
        }
    }

    #[test]
    fn policy_ids() {
        check::<PolicyId>(
            &["POL-GOVERNANCE-MASTER", "POL-DATASET-MANAGEMENT", "POL-DATA-PII-RETENTION", "POL-A1-B2"],
            &[
                "POL-GOVERNANCE",
                "POL--MASTER",
                "pol-governance-master",
                "POL-GOV-master",
                "POL_GOV_MASTER",
                "",
                "POL-GOV-MASTER-",
            ],
        );
    }

    #[test]
    fn procedure_ids() {
        check::<ProcedureId>(
            &["PROC-CREATE-DATASET", "PROC-ANALYZE-SCHEMA-CHANGE", "PROC-WORKSPACE-INIT"],
            &["PROC-CREATE", "PROC CREATE DATASET", "POL-CREATE-DATASET"],
        );
    }

    #[test]
    fn agent_ids() {
        check::<AgentId>(
            &[
                "AGENT-DATAMODEL-OPS",
                "AGENT-POLICIES-OPS",
                "agent_sales_01",
                "agent_support_02",
                "agent_data_model_7",
            ],
            &[
                "AGENT-DATAMODEL",
                "agent_sales",
                "agent__01",
                "Agent_sales_01",
                "agent_sales_0x",
                "sales_01",
                "agent-sales-01",
            ],
        );
    }

    #[test]
    fn dated_ids() {
        check::<ChangeId>(
            &["CHG-2026-11-22-001", "CHG-2024-02-29-999"],
            &[
                "CHG-2026-11-22-000",
                "CHG-2026-13-01-001",
                "CHG-2023-02-29-001",
                "CHG-2026-11-22-01",
                "CHG-2026-11-22-0001",
                "OPS-2026-11-22-001",
            ],
        );
        check::<OperationId>(&["OPS-2026-01-27-001"], &["OPS-2026-01-27-1", "ops-2026-01-27-001"]);
        let date = crate::time::parse_date("2026-11-22").unwrap();
        assert_eq!(ChangeId::for_day(date, 7).unwrap().as_str(), "CHG-2026-11-22-007");
        assert!(OperationId::for_day(date, 1000).is_err());
    }

    #[test]
    fn workspace_names() {
        check::<WorkspaceName>(
            &["ops", "team-a", "a1_b"],
            &["", "Ops", "-ops", "ops space", &"a".repeat(64)],
        );
    }

    #[test]
    fn message_shows_expected_format() {
        let err = PolicyId::new("POL_X").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy id \"POL_X\": expected POL-[DOMAIN]-[NAME] in upper case (e.g. POL-GOVERNANCE-MASTER)"
        );
    }

    #[test]
    fn keys_are_bounded() {
        assert!(Key::new("a".repeat(MAX_ID_LEN)).is_ok());
        assert!(Key::new("a".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(Key::new("has space").is_err());
    }
}
