//! Business rules as CEL expressions (the Common Expression Language, the
//! rule language of Kubernetes validation and protovalidate), parsed and
//! run by the `cel` crate.
//!
//! A rule sees the row's fields as variables: integers as `int`, numbers
//! as `double`, booleans as `bool`, everything else (strings, dates,
//! datetimes, JSON) as `string`; ISO dates compare correctly as strings,
//! so `end_date >= start_date` works. A rule whose fields are not all
//! present and well-typed in a row is not applied to it (SQL's CHECK
//! semantics: the mandatory and type checks report those rows).

use cel::common::types::{CelBool, CelDouble, CelInt, CelString};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Program, Value};
use charter_model::{DataRule, Dataset};

use crate::fast::Fast;

/// Most variables a rule may use and still take the fast path.
const FAST_SLOTS: usize = 8;

/// A typed value of one field of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Typed<'r> {
    /// No value, or one that failed its type check.
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(&'r str),
}

/// A rule compiled for one schema: its program and the field index of
/// each variable it uses.
pub(crate) struct CompiledRule {
    pub(crate) name: String,
    program: Program,
    variables: Vec<(String, usize)>,
    /// The same rule on the fast path, when it is in its subset.
    fast: Option<Fast>,
}

impl std::fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRule").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Compiles `rule` against `dataset`'s fields; the error names the rule
/// and says what is wrong (a syntax error with its position, or a
/// variable that is not a field).
pub fn compile_rule(dataset: &Dataset, rule: &DataRule) -> Result<(), String> {
    compile(dataset, rule).map(|_| ())
}

/// How deeply a rule's expression may nest.
pub const MAX_RULE_NESTING: usize = 32;

/// The longest rule expression.
pub const MAX_RULE_BYTES: usize = 4096;

pub(crate) fn compile(dataset: &Dataset, rule: &DataRule) -> Result<CompiledRule, String> {
    // INVARIANT: the CEL parser recurses once per nesting level; the depth
    // is bounded before it runs.
    if rule.expression.len() > MAX_RULE_BYTES {
        return Err(format!(
            "rule \"{}\": the expression is {} bytes long; at most {MAX_RULE_BYTES} are accepted",
            rule.name,
            rule.expression.len()
        ));
    }
    if let Some(offset) = charter_model::parse::too_deep(&rule.expression, MAX_RULE_NESTING, b"\"'") {
        return Err(format!(
            "rule \"{}\": nested more than {MAX_RULE_NESTING} levels deep at byte {offset}",
            rule.name
        ));
    }
    let program = Program::compile(&rule.expression)
        .map_err(|error| format!("rule \"{}\": {}", rule.name, error.to_string().trim()))?;
    let mut variables = Vec::new();
    for name in program.references().variables() {
        let Some(index) = dataset.fields.iter().position(|f| f.name == name) else {
            return Err(format!(
                "rule \"{}\": \"{name}\" is not a field of {}",
                rule.name, dataset.dataset_id
            ));
        };
        variables.push((name.to_owned(), index));
    }
    let names: Vec<&str> = variables.iter().map(|(name, _)| name.as_str()).collect();
    let fast = Fast::compile(program.expression(), &names);
    Ok(CompiledRule { name: rule.name.clone(), program, variables, fast })
}

/// The row's values of a rule's variables.
struct RowVariables<'v> {
    names: &'v [(String, usize)],
    values: Vec<Box<dyn Val + 'v>>,
}

impl VariableResolver for RowVariables<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let index = self.names.iter().position(|(name, _)| name == variable)?;
        Some(CowVal::Borrowed(&*self.values[index]))
    }
}

/// What a rule says about a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// It holds, or it does not apply (a variable is null).
    Holds,
    /// It fails, with the reason.
    Fails(String),
}

impl CompiledRule {
    /// Runs the rule on a row's typed values.
    pub(crate) fn check(&self, root: &Context<'_, '_>, row: &[Typed<'_>]) -> Verdict {
        if let Some(fast) = &self.fast {
            let mut slots = [Typed::Null; FAST_SLOTS];
            if self.variables.len() <= FAST_SLOTS {
                for (slot, &(_, index)) in slots.iter_mut().zip(&self.variables) {
                    if row[index] == Typed::Null {
                        return Verdict::Holds;
                    }
                    *slot = row[index];
                }
                match fast.holds(&slots[..self.variables.len()]) {
                    Some(true) => return Verdict::Holds,
                    Some(false) => return Verdict::Fails(format!("rule {} is false", self.name)),
                    None => {}
                }
            }
        }
        self.interpret(root, row)
    }

    /// Runs the rule on `cel`'s interpreter.
    pub(crate) fn interpret(&self, root: &Context<'_, '_>, row: &[Typed<'_>]) -> Verdict {
        let mut values: Vec<Box<dyn Val + '_>> = Vec::with_capacity(self.variables.len());
        for &(_, index) in &self.variables {
            values.push(match row[index] {
                Typed::Null => return Verdict::Holds,
                Typed::Int(v) => Box::new(CelInt::from(v)),
                Typed::Num(v) => Box::new(CelDouble::from(v)),
                Typed::Bool(v) => Box::new(CelBool::from(v)),
                Typed::Text(v) => Box::new(CelString::from(v)),
            });
        }
        let variables = RowVariables { names: &self.variables, values };
        let mut context = root.new_inner_scope();
        context.set_variable_resolver(&variables);
        match self.program.execute(&context) {
            Ok(Value::Bool(true)) => Verdict::Holds,
            Ok(Value::Bool(false)) => Verdict::Fails(format!("rule {} is false", self.name)),
            Ok(other) => Verdict::Fails(format!("rule {} gave {other:?}, not a boolean", self.name)),
            Err(error) => Verdict::Fails(format!("rule {} failed: {error}", self.name)),
        }
    }
}

/// The root context rules run in (CEL's standard functions).
pub(crate) fn root_context() -> Context<'static, 'static> {
    Context::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset() -> Dataset {
        serde_json::from_str(
            r#"{"dataset_id":"D","dataset_name":"D","fields":[
                {"name":"cost_usd","type":"number"},{"name":"start_date","type":"date"},
                {"name":"end_date","type":"date"},{"name":"n","type":"integer"}]}"#,
        )
        .unwrap()
    }

    fn rule(expression: &str) -> DataRule {
        DataRule { name: "r".into(), expression: expression.into(), description: None }
    }

    #[test]
    fn rules_see_typed_fields_and_skip_nulls() {
        let dataset = dataset();
        let root = root_context();
        let cost = compile(&dataset, &rule("cost_usd >= 0")).unwrap();
        assert_eq!(
            cost.check(&root, &[Typed::Num(1.5), Typed::Null, Typed::Null, Typed::Null]),
            Verdict::Holds
        );
        assert!(matches!(
            cost.check(&root, &[Typed::Num(-1.0), Typed::Null, Typed::Null, Typed::Null]),
            Verdict::Fails(_)
        ));
        assert_eq!(cost.check(&root, &[Typed::Null; 4]), Verdict::Holds);
        let dates = compile(&dataset, &rule("end_date >= start_date")).unwrap();
        let row = [Typed::Null, Typed::Text("2026-01-02"), Typed::Text("2026-01-01"), Typed::Null];
        assert!(matches!(dates.check(&root, &row), Verdict::Fails(_)));
        let not_bool = compile(&dataset, &rule("n + 1")).unwrap();
        let Verdict::Fails(message) =
            not_bool.check(&root, &[Typed::Null, Typed::Null, Typed::Null, Typed::Int(1)])
        else {
            panic!("a non-boolean rule must fail")
        };
        assert!(message.contains("not a boolean"), "{message}");
    }

    #[test]
    fn bad_rules_are_refused_with_their_name() {
        let dataset = dataset();
        let error = compile(&dataset, &rule("cost_usd >= ")).unwrap_err();
        assert!(error.starts_with("rule \"r\": "), "{error}");
        let error = compile(&dataset, &rule("price > 0")).unwrap_err();
        assert_eq!(error, "rule \"r\": \"price\" is not a field of D");
    }

    /// Deep nesting is refused before the recursive CEL parser sees it, on
    /// the 2 MiB stack of a worker thread; long flat rules still compile.
    #[test]
    fn deep_rules_are_refused_before_parsing() {
        let outcome = |expression: String| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || compile(&dataset(), &rule(&expression)).map(|_| ()))
                .unwrap()
                .join()
                .unwrap()
        };
        for (expression, expected) in [
            (
                format!("{}n > 0{}", "(".repeat(200), ")".repeat(200)),
                "nested more than 32 levels deep at byte 32",
            ),
            (format!("{}true", "!".repeat(1000)), "nested more than 32 levels deep at byte 32"),
            (
                format!("n in {}1{}", "[".repeat(40), "]".repeat(40)),
                "nested more than 32 levels deep at byte 37",
            ),
            ("n > 0 && ".repeat(1000), "at most 4096 are accepted"),
        ] {
            let error = outcome(expression).unwrap_err();
            assert!(error.starts_with("rule \"r\": ") && error.contains(expected), "{error}");
        }
        assert_eq!(outcome(format!("{}n > 0{}", "(".repeat(20), ")".repeat(20))), Ok(()));
        assert_eq!(outcome(format!("n > 0{}", " || n < -1".repeat(300))), Ok(()));
        assert_eq!(outcome(format!("n > 0 || '{}' == ''", "(".repeat(100))), Ok(()));
    }

    proptest::proptest! {
        /// Any expression compiles or is refused with the rule's name, never
        /// a panic.
        #[test]
        fn any_expression_compiles_or_is_refused(
            expression in proptest::prop_oneof![
                "\\PC{0,60}",
                "[ ()\\[\\]!&|=<>a-z0-9.'\"+*/%-]{0,80}",
            ],
        ) {
            if let Err(error) = compile(&dataset(), &rule(&expression)) {
                proptest::prop_assert!(error.starts_with("rule \"r\": "), "{error}");
            }
        }
    }
}

#[cfg(test)]
mod differential {
    use proptest::prelude::*;

    use super::*;

    fn dataset() -> Dataset {
        serde_json::from_str(
            r#"{"dataset_id":"D","dataset_name":"D","fields":[
                {"name":"a","type":"integer"},{"name":"b","type":"number"},
                {"name":"s","type":"string"},{"name":"t","type":"boolean"}]}"#,
        )
        .unwrap()
    }

    fn expression() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("s".to_owned()),
            Just("t".to_owned()),
            (-3_i64..4).prop_map(|v| v.to_string()),
            Just("9223372036854775807".to_owned()),
            prop::sample::select(vec!["1.5", "-2.0", "0.0", "3.25"]).prop_map(str::to_owned),
            prop::sample::select(vec!["'x'", "'ab'", "''", "'2026-01-01'"]).prop_map(str::to_owned),
            prop::sample::select(vec!["true", "false"]).prop_map(str::to_owned),
        ];
        let small = leaf.clone().prop_recursive(2, 6, 2, |inner| {
            let ops = prop::sample::select(vec!["+", "-", "*", "/", "%"]);
            (inner.clone(), ops, inner).prop_map(|(l, op, r)| format!("({l} {op} {r})"))
        });
        let comparison = (small.clone(), prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]), small)
            .prop_map(|(l, op, r)| format!("{l} {op} {r}"));
        let deep = leaf.prop_recursive(4, 24, 3, |inner| {
            let ops = prop::sample::select(vec![
                "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&&", "||",
            ]);
            prop_oneof![
                (inner.clone(), ops, inner.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
                inner.clone().prop_map(|e| format!("!({e})")),
                inner.clone().prop_map(|e| format!("-({e})")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(e, x, y)| format!("({e}) in [{x}, {y}]")),
                inner.clone().prop_map(|e| format!("size({e})")),
                (inner.clone(), inner).prop_map(|(e, x)| format!("({e}).startsWith({x})")),
            ]
        });
        prop_oneof![3 => comparison, 2 => deep]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        /// The fast path and `cel`'s interpreter give the same verdict, and
        /// the same message, on every rule and row.
        #[test]
        fn fast_path_agrees_with_the_interpreter(
            expression in expression(),
            a in prop::sample::select(vec![-3_i64, 0, 1, 2, i64::MAX, i64::MIN]),
            b in prop::sample::select(vec![-1.5_f64, 0.0, 2.0, 1e308]),
            s in prop::sample::select(vec!["", "x", "ab", "2026-01-02"]),
            t in any::<bool>(),
        ) {
            let dataset = dataset();
            let rule = DataRule { name: "r".into(), expression: expression.clone(), description: None };
            let Ok(compiled) = compile(&dataset, &rule) else { return Ok(()) };
            let row = [Typed::Int(a), Typed::Num(b), Typed::Text(s), Typed::Bool(t)];
            let root = root_context();
            prop_assert_eq!(compiled.check(&root, &row), compiled.interpret(&root, &row), "{}", expression);
        }
    }

    #[test]
    fn common_rules_take_the_fast_path() {
        let dataset = dataset();
        for expression in [
            "b >= 0",
            "a >= 0 && b < 10.5",
            "s in ['x', 'ab']",
            "s.startsWith('POL-')",
            "size(s) == 18",
            "!t || a > 1",
        ] {
            let rule = DataRule { name: "r".into(), expression: expression.into(), description: None };
            assert!(compile(&dataset, &rule).unwrap().fast.is_some(), "{expression}");
        }
    }
}
