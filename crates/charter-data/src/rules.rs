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

pub(crate) fn compile(dataset: &Dataset, rule: &DataRule) -> Result<CompiledRule, String> {
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
    Ok(CompiledRule { name: rule.name.clone(), program, variables })
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
}
