//! Every parser a user reaches, fed arbitrary Unicode: it answers with a
//! value or an error, never a panic, and a value prints back to itself.

use charter_model::{
    AgentId, ChangeId, Date, Key, OperationId, PolicyId, ProcedureId, RecordKind, Span, Timestamp,
    WorkspaceName,
};
use proptest::prelude::*;

/// Text that looks like input: arbitrary characters, or near misses of the
/// formats (prefixes, digits, dashes, unit letters).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        any::<String>(),
        "(POL|PROC|AGENT|CHG|OPS|agent)[-_][A-Z0-9a-z_\\-]{0,20}",
        "(CHG|OPS)-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{3}",
        "[0-9]{1,25}[smhdwé]{0,3}([0-9]{1,3}[smh])?",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2}))?",
    ]
}

macro_rules! round_trips {
    ($text:expr, $($ty:ty),+) => {
        $(
            if let Ok(value) = $text.parse::<$ty>() {
                prop_assert_eq!(value.to_string().parse::<$ty>().ok(), Some(value), "{}", stringify!($ty));
            }
        )+
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn identifiers_and_times_parse_or_refuse(text in text()) {
        round_trips!(text, PolicyId, ProcedureId, AgentId, ChangeId, OperationId, Key, Span, Date, Timestamp);
        let _ = WorkspaceName::new(text.clone());
    }

    #[test]
    fn json_documents_parse_or_refuse(text in text(), nested in "[\\[\\]{}\",:0-9a-z ]{0,200}") {
        for candidate in [&text, &nested] {
            let _ = charter_model::parse::strict_value(candidate.as_bytes());
            for kind in RecordKind::ALL {
                let _ = kind.parse_json(candidate);
                let _ = kind.parse_json_array(candidate.as_bytes());
            }
        }
    }

    /// KPI figures as numbers or the seed's current/previous pairs, with
    /// arbitrary names and window keys: a value or an error, and a value
    /// prints back to itself in the shape it came in.
    #[test]
    fn kpi_figures_parse_or_refuse_and_round_trip(
        name in "\\PC{1,12}",
        window in prop_oneof!["prev_[0-9]{1,12}d", "\\PC{0,10}"],
        current in any::<i32>(),
        previous in any::<i32>(),
        pair in any::<bool>(),
    ) {
        let figure = if pair {
            serde_json::json!({ "current": current, window.clone(): previous })
        } else {
            serde_json::json!(current)
        };
        let text = serde_json::json!({ "agent_id": "agent_sales_01", "kpis": { name.clone(): figure } }).to_string();
        if let Ok(record) = RecordKind::Kpi.parse_json(&text) {
            let json = record.to_canonical_json();
            prop_assert!(charter_model::canonical::is_canonical(&json), "{json}");
            prop_assert_eq!(RecordKind::Kpi.parse_json(&json).ok(), Some(record));
        } else {
            // Refused only for a window key that is not prev_<N>d with N ≥ 1.
            prop_assert!(pair, "a plain number is always a figure: {text}");
        }
    }

    /// Records whose string fields hold arbitrary Unicode and whose numbers
    /// are extreme: a value or an error, and a value encodes canonically.
    #[test]
    fn records_with_arbitrary_values_parse_or_refuse(
        value in "\\PC{0,30}",
        number in prop_oneof![Just(f64::MAX), Just(-1.0), Just(1e300), any::<f64>()],
        whole in any::<i64>(),
    ) {
        let string = serde_json::Value::String(value);
        for kind in RecordKind::ALL {
            let mut object = serde_json::Map::new();
            object.insert(kind.id_field().to_owned(), string.clone());
            for field in ["name", "status", "scope", "type", "agent_id", "owner", "criticality", "settings_id"] {
                object.insert(field.to_owned(), string.clone());
            }
            for field in ["daily_invocations", "uptime_30d", "tier", "schema_version", "failure_rate_7d"] {
                let number = serde_json::Number::from_f64(number)
                    .map_or(serde_json::Value::from(whole), serde_json::Value::Number);
                object.insert(field.to_owned(), number);
            }
            if let Ok(record) = kind.from_value(serde_json::Value::Object(object)) {
                let json = record.to_canonical_json();
                prop_assert!(charter_model::canonical::is_canonical(&json), "{json}");
                let _ = record.check();
            }
        }
    }

    #[test]
    fn nesting_limits_never_panic(text in text(), max in 0usize..64) {
        if let Some(offset) = charter_model::parse::too_deep(&text, max, b"\"'") {
            prop_assert!(offset < text.len());
        }
    }
}
