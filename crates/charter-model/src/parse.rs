//! Errors from reading records out of JSON, phrased for the person who wrote
//! the JSON: the path of the offending field (`[2].criticality`), the value,
//! and what was expected; for malformed JSON, the line and column.

use std::fmt;

/// A record that could not be read from JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Path of the offending field (`[2].criticality`); empty for the document itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Line and column (both from 1) for malformed JSON.
    pub position: Option<(usize, usize)>,
}

/// Reads a `T` from a JSON value; the error names the path of the offending field.
pub fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(ParseError::from_path)
}

impl ParseError {
    pub(crate) fn from_path(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let mut parsed = Self::from_json(error.into_inner());
        // serde_path_to_error already ends the path with an unknown field,
        // but not with a missing one.
        if parsed.position.is_none() && !path.ends_with(&parsed.path) {
            parsed.path = join(&path, &parsed.path);
        } else if parsed.position.is_none() {
            parsed.path = path;
        }
        parsed
    }

    pub(crate) fn from_json(error: serde_json::Error) -> Self {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let text = error.to_string();
        let text = text.strip_suffix(&suffix).unwrap_or(&text);
        if error.is_syntax() || error.is_eof() {
            return Self {
                path: String::new(),
                message: format!("malformed JSON: {}", text.replace('`', "\"")),
                position: Some((error.line(), error.column())),
            };
        }
        let (field, message) = humanize(text);
        Self { path: field, message, position: None }
    }

    /// An error about the field at `path`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into(), position: None }
    }
}

fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_owned(),
        (false, true) => parent.to_owned(),
        (false, false) => format!("{parent}.{child}"),
    }
}

/// Rewrites serde's messages into Charter's style. Returns the field the
/// message is about, when serde puts it in the message instead of the path
/// (missing and unknown fields), and the message.
fn humanize(text: &str) -> (String, String) {
    if let Some(field) = text.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        return (field.to_owned(), "missing required field".to_owned());
    }
    if let Some(rest) = text.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once("`, ")
    {
        {
            let expected = expected.replace('`', "");
            let expected = if expected == "there are no fields" {
                "no fields are allowed here".to_owned()
            } else {
                expected
            };
            return (field.to_owned(), format!("unknown field, {expected}"));
        }
    }
    let mut message = text.replace('`', "\"");
    for (rust, plain) in [
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected u32", "expected a whole number of at least 0"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
        ("expected a borrowed string", "expected a string"),
    ] {
        message = message.replace(rust, plain);
    }
    if let Some(index) = message.find("expected struct ") {
        message.truncate(index);
        message.push_str("expected an object");
    }
    (String::new(), message)
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// The byte offset where an expression `text` first nests deeper than
/// `max` levels, counting parentheses, brackets and braces and runs of the
/// unary operators `!` and `-`, outside string literals (opened by one of
/// `quotes`) and `//` comments. Parsers that recurse once per level (Cedar's,
/// CEL's) run only on text that passes, so no input can overflow the stack.
pub fn too_deep(text: &str, max: usize, quotes: &[u8]) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut unary, mut index) = (0_usize, 0_usize, 0);
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            _ if quotes.contains(&byte) => {
                index += 1;
                while index < bytes.len() && bytes[index] != byte {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'!' if bytes.get(index + 1) != Some(&b'=') => unary += 1,
            b'-' => unary += 1,
            _ if byte.is_ascii_whitespace() => {}
            _ => unary = 0,
        }
        if depth + unary > max {
            return Some(index);
        }
        index += 1;
    }
    None
}

/// Parses JSON into a value, refusing an object that names a key twice
/// (serde_json keeps the last one silently). The error carries the path of
/// the object and names the key.
pub fn strict_value(json: &[u8]) -> Result<serde_json::Value, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value: StrictValue =
        serde_path_to_error::deserialize(&mut deserializer).map_err(ParseError::from_path)?;
    deserializer.end().map_err(ParseError::from_json)?;
    Ok(value.0)
}

/// A JSON value read without accepting duplicate keys.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, value: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_i64<E>(self, value: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_str<E>(self, value: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_string<E>(self, value: String) -> Result<StrictValue, E> {
        Ok(StrictValue(value.into()))
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(serde_json::Value::Null))
    }
    fn visit_none<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(serde_json::Value::Null))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(StrictValue(element)) = seq.next_element()? {
            elements.push(element);
        }
        Ok(StrictValue(serde_json::Value::Array(elements)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!("duplicate key \"{key}\"")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(StrictValue(serde_json::Value::Object(object)))
    }
}

/// Reads a JSON array one element at a time and hands the elements to `sink`
/// in batches of `batch`, so a large file is never held as one list. Stops
/// at the first error, which carries its line and column.
pub(crate) fn stream_array<T, R>(
    json: &[u8],
    batch: usize,
    wrap: fn(T) -> R,
    sink: &mut dyn FnMut(Vec<R>),
) -> Result<(), ParseError>
where
    T: serde::de::DeserializeOwned,
{
    struct Elements<'s, T, R> {
        batch: usize,
        wrap: fn(T) -> R,
        sink: &'s mut dyn FnMut(Vec<R>),
    }

    impl<'de, T: serde::de::DeserializeOwned, R> serde::de::Visitor<'de> for Elements<'_, T, R> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut buffer = Vec::with_capacity(self.batch);
            while let Some(element) = seq.next_element::<T>()? {
                buffer.push((self.wrap)(element));
                if buffer.len() == self.batch {
                    (self.sink)(std::mem::replace(&mut buffer, Vec::with_capacity(self.batch)));
                }
            }
            if !buffer.is_empty() {
                (self.sink)(buffer);
            }
            Ok(())
        }
    }

    let mut deserializer = serde_json::Deserializer::from_slice(json);
    serde::Deserializer::deserialize_seq(&mut deserializer, Elements { batch: batch.max(1), wrap, sink })
        .map_err(ParseError::from_json)?;
    deserializer.end().map_err(ParseError::from_json)
}

#[cfg(test)]
mod tests {
    use crate::record::RecordKind;

    #[test]
    fn strict_values_refuse_duplicate_keys_with_their_path() {
        let error = super::strict_value(br#"[{"a": 1}, {"x": {"name": 1, "name": 2}}]"#).unwrap_err();
        assert_eq!(error.to_string(), "[1].x: duplicate key \"name\"");
        assert_eq!(
            super::strict_value(br#"{"a": [1, {"b": null}]}"#).unwrap()["a"][1]["b"],
            serde_json::Value::Null
        );
        assert!(super::strict_value(b"[1,").unwrap_err().position.is_some());
    }

    fn error(kind: RecordKind, json: &str) -> String {
        kind.parse_json_array(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn messages_name_path_value_and_expectation() {
        let agent = r#"{"agent_id":"agent_sales_01","name":"Sales","status":"active"}"#;
        let cases = [
            (
                format!(
                    r#"[{agent}, {agent}, {{"agent_id":"agent_x_01","name":"X","status":"active","criticality":"urgent"}}]"#
                ),
                "[2].criticality: unknown value \"urgent\", expected one of low, medium, high, critical",
            ),
            (
                r#"[{"agent_id":"agent_x_01","status":"active"}]"#.to_owned(),
                "[0].name: missing required field",
            ),
            (
                r#"[{"agent_id":"agent_x_01","name":"X","status":"active","owner":"me"}]"#.to_owned(),
                "[0].owner: unknown field, expected one of agent_id, agent_name, name, owner_team, status, criticality, daily_invocations, dependencies, specialization, primary_dataset, tool_permissions, coordination_role, allowed_regions",
            ),
            (
                r#"[{"agent_id":"sales","name":"X","status":"active"}]"#.to_owned(),
                "[0].agent_id: invalid agent id \"sales\": expected AGENT-[FUNCTION]-[WORKSPACE] (e.g. AGENT-DATAMODEL-OPS) or agent_[function]_[NN] (e.g. agent_sales_01)",
            ),
            (
                r#"[{"agent_id":"agent_x_01","name":"X","status":"active","daily_invocations":"many"}]"#
                    .to_owned(),
                "[0].daily_invocations: invalid type: string \"many\", expected a whole number of at least 0",
            ),
            (
                "[\n  {\"agent_id\": \"agent_x_01\",\n   \"name\": \"X\" \"status\": \"active\"}]".to_owned(),
                "line 3, column 16: malformed JSON: expected \",\" or \"}\"",
            ),
            ("{}".to_owned(), "invalid type: map, expected a list"),
        ];
        for (json, expected) in cases {
            assert_eq!(error(RecordKind::Agent, &json), expected, "{json}");
        }
    }
}
