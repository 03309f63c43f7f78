//! Audit events: one per mutation, in the same transaction as the change.
//!
//! An event's bytes are its canonical JSON encoding (see [`crate::canonical`])
//! with a fixed set of keys, so anyone holding an event can recompute the
//! exact bytes the ledger hashed:
//!
//! ```text
//! {"action":"update","actor":"alice","at":"2026-11-22T01:24:05.123456Z","kind":"agent",
//!  "prev_version":1,"seq":42,"subject":"agent_sales_01","v":1,"value":{...},"version":2,
//!  "workspace":"ops"}
//! ```
//!
//! `seq` counts from 1 per workspace without gaps. `value` is the canonical
//! encoding of the subject after the change (`null` when there is none);
//! `version` is the subject's version after the change and `prev_version`
//! the version it replaced (`null` for a creation or an unversioned subject).

use serde::Serialize;
use serde_json::Value;

use crate::canonical::{self, write_str};
use crate::id::WorkspaceName;
use crate::time::Timestamp;

/// Version of the event encoding, the `v` key.
pub const EVENT_FORMAT: u64 = 1;

/// Well-known actions.
pub mod action {
    /// A subject was created.
    pub const CREATE: &str = "create";
    /// A subject was changed.
    pub const UPDATE: &str = "update";
    /// A subject was created by an import that described it as it already
    /// was: its governed state (a dataset's scope, say) passed no gate here.
    pub const IMPORT: &str = "import";
    /// An operating-system account acted as someone else (the event's
    /// actor is the account; its subject, the person acted as).
    pub const BREAK_GLASS: &str = "break-glass";
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The workspace whose log holds the event.
    pub workspace: WorkspaceName,
    /// Position in the workspace's log, from 1.
    pub seq: u64,
    /// When the change was committed.
    pub at: Timestamp,
    /// Who made the change: a person, an agent or a token name.
    pub actor: String,
    /// What happened (`create`, `update`, …).
    pub action: String,
    /// Kind of the subject (`agent`, `policy`, `workspace`, `token`, …).
    pub kind: String,
    /// Id of the subject.
    pub subject: String,
    /// Version of the subject after the change.
    pub version: Option<u64>,
    /// Version the change replaced.
    pub prev_version: Option<u64>,
    /// Canonical JSON of the subject after the change.
    pub value: Option<String>,
}

/// Bytes that are not a canonical audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical audit event: {0}")]
pub struct EventFormatError(String);

impl AuditEvent {
    /// The event's canonical encoding: the bytes the ledger hashes.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(160 + self.value.as_ref().map_or(0, String::len));
        out.push_str("{\"action\":");
        write_str(&mut out, &self.action);
        out.push_str(",\"actor\":");
        write_str(&mut out, &self.actor);
        out.push_str(",\"at\":\"");
        out.push_str(&self.at.to_string());
        out.push_str("\",\"kind\":");
        write_str(&mut out, &self.kind);
        out.push_str(",\"prev_version\":");
        push_optional_number(&mut out, self.prev_version);
        out.push_str(",\"seq\":");
        out.push_str(&self.seq.to_string());
        out.push_str(",\"subject\":");
        write_str(&mut out, &self.subject);
        out.push_str(",\"v\":");
        out.push_str(&EVENT_FORMAT.to_string());
        out.push_str(",\"value\":");
        out.push_str(self.value.as_deref().unwrap_or("null"));
        out.push_str(",\"version\":");
        push_optional_number(&mut out, self.version);
        out.push_str(",\"workspace\":");
        write_str(&mut out, self.workspace.as_str());
        out.push('}');
        out
    }

    /// Reads an event from its canonical encoding, refusing any other encoding
    /// of the same content.
    pub fn decode(text: &str) -> Result<Self, EventFormatError> {
        let value: Value = serde_json::from_str(text).map_err(|error| EventFormatError(error.to_string()))?;
        let field =
            |name: &str| value.get(name).ok_or_else(|| EventFormatError(format!("missing \"{name}\"")));
        let string = |name: &str| {
            field(name)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| EventFormatError(format!("\"{name}\" is not a string")))
        };
        let optional_number = |name: &str| match field(name)? {
            Value::Null => Ok(None),
            other => other
                .as_u64()
                .map(Some)
                .ok_or_else(|| EventFormatError(format!("\"{name}\" is not a whole number"))),
        };
        if field("v")?.as_u64() != Some(EVENT_FORMAT) {
            return Err(EventFormatError(format!("\"v\" is not {EVENT_FORMAT}")));
        }
        let event = AuditEvent {
            workspace: WorkspaceName::new(string("workspace")?)
                .map_err(|error| EventFormatError(error.to_string()))?,
            seq: optional_number("seq")?.ok_or_else(|| EventFormatError("\"seq\" is null".into()))?,
            at: string("at")?
                .parse()
                .map_err(|error: crate::time::TimeError| EventFormatError(error.to_string()))?,
            actor: string("actor")?,
            action: string("action")?,
            kind: string("kind")?,
            subject: string("subject")?,
            version: optional_number("version")?,
            prev_version: optional_number("prev_version")?,
            value: match field("value")? {
                Value::Null => None,
                other => Some(canonical::to_string(other)),
            },
        };
        let keys = value.as_object().map_or(0, |map| map.len());
        if keys != 11 || event.encode() != text {
            return Err(EventFormatError("the bytes differ from the canonical encoding".into()));
        }
        Ok(event)
    }
}

/// The members of an encoded event other than its value, read without
/// copying or parsing the value (for checking a long log quickly).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EventHead<'a> {
    /// What happened.
    #[serde(borrow)]
    pub action: std::borrow::Cow<'a, str>,
    /// Who.
    #[serde(borrow)]
    pub actor: std::borrow::Cow<'a, str>,
    /// When, as written.
    #[serde(borrow)]
    pub at: std::borrow::Cow<'a, str>,
    /// Kind of the subject.
    #[serde(borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    /// Version replaced.
    pub prev_version: Option<u64>,
    /// Position in the log.
    pub seq: u64,
    /// Id of the subject.
    #[serde(borrow)]
    pub subject: std::borrow::Cow<'a, str>,
    /// Version after the change.
    pub version: Option<u64>,
    /// The workspace.
    #[serde(borrow)]
    pub workspace: std::borrow::Cow<'a, str>,
}

impl<'a> EventHead<'a> {
    /// Reads the head of an encoded event.
    pub fn read(text: &'a str) -> Result<Self, EventFormatError> {
        serde_json::from_str(text).map_err(|error| EventFormatError(error.to_string()))
    }
}

/// The `value` member of an encoded event, as the canonical JSON text it
/// holds, without parsing the event.
///
/// In the canonical encoding `value` follows the string members `action`,
/// `actor`, `at`, `kind`, `subject` and the number `v`; a string cannot hold
/// an unescaped `"`, so the first `,"value":` is the member's key. `version`
/// and `workspace` (a name without quotes or commas) follow it, so the last
/// `,"version":` ends it.
pub fn value_in(encoded: &str) -> Option<&str> {
    const START: &[u8] = b",\"value\":";
    const END: &[u8] = b",\"version\":";
    // Both marks lie within a hundred or so bytes of their end of the
    // event: a plain scan finds them sooner than a substring searcher is
    // set up (which was a tenth of reading a large portfolio).
    let bytes = encoded.as_bytes();
    let start = bytes.windows(START.len()).position(|w| w == START)? + START.len();
    let end = bytes.windows(END.len()).rposition(|w| w == END)?;
    let value = encoded.get(start..end)?;
    (value != "null").then_some(value)
}

fn push_optional_number(out: &mut String, value: Option<u64>) {
    match value {
        Some(number) => out.push_str(&number.to_string()),
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(value: Option<&str>) -> AuditEvent {
        AuditEvent {
            workspace: WorkspaceName::new("ops").unwrap(),
            seq: 42,
            at: "2026-11-22T01:24:05.123456Z".parse().unwrap(),
            actor: "alice \"the admin\"".into(),
            action: action::UPDATE.into(),
            kind: "agent".into(),
            subject: "agent_sales_01".into(),
            version: Some(2),
            prev_version: Some(1),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn encoding_is_canonical_json_and_decodes_back() {
        for value in [Some(r#"{"a":[1,2.5],"b":"x"}"#), None] {
            let event = event(value);
            let text = event.encode();
            assert!(canonical::is_canonical(&text), "{text}");
            assert_eq!(AuditEvent::decode(&text).unwrap(), event);
        }
        assert_eq!(
            event(Some("{}")).encode(),
            r#"{"action":"update","actor":"alice \"the admin\"","at":"2026-11-22T01:24:05.123456Z","kind":"agent","prev_version":1,"seq":42,"subject":"agent_sales_01","v":1,"value":{},"version":2,"workspace":"ops"}"#
        );
    }

    #[test]
    fn the_value_is_found_without_parsing() {
        let tricky = r#"{"a":",\"value\":1","version":{"version":2},"b":[",\"version\":"]}"#;
        for value in [Some("{}"), Some(tricky), None] {
            let mut event = event(value);
            event.actor = ",\"value\":{},\"version\":".into();
            assert_eq!(value_in(&event.encode()), value);
        }
    }

    #[test]
    fn the_head_is_read_without_the_value() {
        let text = event(Some(r#"{"a":[1,2]}"#)).encode();
        let head = EventHead::read(&text).unwrap();
        assert_eq!((head.seq, head.subject.as_ref(), head.version), (42, "agent_sales_01", Some(2)));
        assert_eq!(head.actor, "alice \"the admin\"");
        assert!(EventHead::read("{}").is_err());
    }

    #[test]
    fn other_encodings_of_the_same_event_are_refused() {
        let text = event(Some("{}")).encode();
        assert!(AuditEvent::decode(&text.replace(",\"seq\"", ", \"seq\"")).is_err());
        assert!(AuditEvent::decode(&text.replace("\"v\":1", "\"v\":2")).is_err());
        assert!(AuditEvent::decode(&text.replace('}', ",\"extra\":1}")).is_err());
    }
}
