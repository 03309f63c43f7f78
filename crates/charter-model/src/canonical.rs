//! Canonical JSON: the one byte encoding of a JSON value that the store keeps
//! and the audit trail hashes.
//!
//! The rules: UTF-8; no whitespace outside strings; object keys sorted by
//! their UTF-8 bytes; strings escaped as `serde_json` escapes them (`"`, `\`
//! and control characters only); numbers as `serde_json` prints them
//! (integers in decimal, other numbers in the shortest form that reads back
//! to the same `f64`). Anyone can reproduce the bytes from the value with any
//! JSON library that sorts keys and prints shortest round-trip floats.

use std::fmt::Write as _;

use serde_json::Value;

/// The canonical encoding of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Sorted explicitly: the map's own order depends on serde_json's
            // `preserve_order` feature, which any crate in the build may enable.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Appends `text` as a JSON string literal.
pub fn write_str(out: &mut String, text: &str) {
    // INVARIANT: serializing a str to JSON cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// Whether `text` is the canonical encoding of the JSON value it holds.
pub fn is_canonical(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|value| to_string(&value) == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_by_bytes_and_drops_whitespace() {
        let value: Value = serde_json::from_str(
            r#"{ "b": [1, 2.5, -0.1, 1e3], "a": {"z": null, "Z": true, "é": "x\"y\n"}, "aa": "" }"#,
        )
        .unwrap();
        assert_eq!(
            to_string(&value),
            r#"{"a":{"Z":true,"z":null,"é":"x\"y\n"},"aa":"","b":[1,2.5,-0.1,1000.0]}"#
        );
    }

    #[test]
    fn canonical_text_is_a_fixed_point() {
        for text in [r#"{"a":1,"b":[true,false,null],"c":"\u0001"}"#, "[]", "12.5", r#""x""#] {
            let value: Value = serde_json::from_str(text).unwrap();
            let once = to_string(&value);
            assert!(is_canonical(&once), "{once}");
        }
        assert!(!is_canonical(r#"{"b":1,"a":2}"#));
        assert!(!is_canonical(r#"{"a": 2}"#));
    }

    /// Floats read back to the same bits, so a canonical text stays
    /// canonical when read and written again (serde_json's default float
    /// parser is off by one unit in the last place for some of these; its
    /// `float_roundtrip` feature is on in the workspace). The values come
    /// from a decision the API fuzz logged, which then failed to decode.
    #[test]
    fn floats_written_canonically_read_back_canonically() {
        for text in [
            "-2.4735367335579434e+241",
            "3.0502106649518784e+74",
            "3.7843507325909578e-298",
            "-6720557213555312.0",
            "-3.842043058301198e+16",
            "2.2627243065755645e-245",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let canonical = to_string(&value);
            assert!(is_canonical(&canonical), "{text} -> {canonical} is not canonical");
        }
    }
}
