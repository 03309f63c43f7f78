//! From a policy record's Cedar text to validated Cedar policies.
//!
//! The Cedar text of one governance policy (`POL-…`) may hold several Cedar
//! policies. Each gets the id `POL-…/N` (N counting from 0 in the text) or,
//! when it carries an `@id("name")` annotation, `POL-…/name`; a decision's
//! reasons are these ids, so they name the governance policy that decided.

use std::fmt;
use std::str::FromStr;

use cedar_policy::{Policy, PolicyId, PolicySet, ValidationMode, Validator};
use miette::Diagnostic;
use serde::Serialize;

use crate::schema::schema;

/// One problem in Cedar text, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarDiagnostic {
    /// Line in the policy's Cedar text, from 1 (0 when Cedar gave no place).
    pub line: usize,
    /// Column in that line, from 1, counted in characters.
    pub column: usize,
    /// Cedar's message, with its help when it has one.
    pub message: String,
}

impl fmt::Display for CedarDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// Cedar text that cannot be enforced: it does not parse, uses templates,
/// repeats an id or does not validate against the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("policy {policy}: invalid Cedar: {}", list(.diagnostics))]
pub struct PolicyError {
    /// The governance policy (`POL-…`).
    pub policy: String,
    /// What is wrong, in the order Cedar reported it.
    pub diagnostics: Vec<CedarDiagnostic>,
}

fn list(diagnostics: &[CedarDiagnostic]) -> String {
    diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Parses and validates the Cedar text of policy `policy`, returning its
/// Cedar policies under their Charter ids, in text order.
pub fn compile(policy: &str, text: &str) -> Result<Vec<Policy>, PolicyError> {
    let fail = |diagnostics: Vec<CedarDiagnostic>| PolicyError { policy: policy.to_owned(), diagnostics };
    // INVARIANT: Cedar's parser recurses once per nesting level and has no
    // limit of its own, so the depth is bounded before it runs.
    if text.len() > MAX_CEDAR_BYTES {
        return Err(fail(vec![at(
            text,
            None,
            format!("the Cedar text is {} bytes long; at most {MAX_CEDAR_BYTES} are accepted", text.len()),
        )]));
    }
    if let Some(offset) = charter_model::parse::too_deep(text, MAX_NESTING, b"\"") {
        return Err(fail(vec![at(
            text,
            Some(offset),
            format!("nested more than {MAX_NESTING} levels deep; split the condition into several policies"),
        )]));
    }
    let parsed = PolicySet::from_str(text)
        .map_err(|errors| fail(errors.iter().map(|error| diagnostic(text, error)).collect()))?;
    if parsed.templates().next().is_some() {
        let slot = [text.find("?principal"), text.find("?resource")].into_iter().flatten().min();
        return Err(fail(vec![at(
            text,
            slot,
            "templates (policies with ?principal or ?resource slots) are not supported; \
             write the entity in the policy"
                .into(),
        )]));
    }
    // Cedar numbers the policies of a text policy0, policy1, … in order.
    let mut numbered: Vec<(usize, &Policy)> = parsed
        .policies()
        .map(|p| (p.id().to_string().trim_start_matches("policy").parse().unwrap_or(usize::MAX), p))
        .collect();
    numbered.sort_by_key(|(index, _)| *index);
    let mut renamed = PolicySet::new();
    let mut policies = Vec::with_capacity(numbered.len());
    for (index, (_, cedar)) in numbered.into_iter().enumerate() {
        let name = match cedar.annotation("id") {
            Some(name) if name.is_empty() || name.contains(char::is_whitespace) => {
                return Err(fail(vec![at(
                    text,
                    text.find(&format!("\"{name}\"")),
                    format!("@id(\"{name}\") must be a non-empty name without spaces"),
                )]));
            }
            Some(name) => name.to_owned(),
            None => index.to_string(),
        };
        let id = PolicyId::new(format!("{policy}/{name}"));
        let renamed_policy = cedar.new_id(id.clone());
        if renamed.add(renamed_policy.clone()).is_err() {
            let quoted = format!("\"{name}\"");
            let second = text.match_indices(&quoted).nth(1).map(|(offset, _)| offset);
            return Err(fail(vec![at(text, second, format!("two policies are named {id}"))]));
        }
        policies.push(renamed_policy);
    }
    let result = Validator::new(schema().clone()).validate(&renamed, ValidationMode::Strict);
    let diagnostics: Vec<CedarDiagnostic> =
        result.validation_errors().map(|error| diagnostic(text, error)).collect();
    if !diagnostics.is_empty() {
        return Err(fail(diagnostics));
    }
    Ok(policies)
}

/// The longest Cedar text of one governance policy.
pub(crate) const MAX_CEDAR_BYTES: usize = 64 * 1024;

/// How deeply brackets and unary operators may nest in Cedar text.
pub(crate) const MAX_NESTING: usize = 32;

/// A diagnostic for one Cedar error, placed by its first label.
fn diagnostic(text: &str, error: &(impl Diagnostic + ?Sized)) -> CedarDiagnostic {
    let offset = error.labels().and_then(|mut labels| labels.next()).map(|label| label.offset());
    let mut message = error.to_string();
    if let Some(help) = error.help() {
        message.push_str(" (");
        message.push_str(&help.to_string());
        message.push(')');
    }
    at(text, offset, message)
}

/// A diagnostic at byte `offset` of `text`.
fn at(text: &str, offset: Option<usize>, message: String) -> CedarDiagnostic {
    let Some(offset) = offset else {
        return CedarDiagnostic { line: 0, column: 0, message };
    };
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    CedarDiagnostic { line, column, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles `text` on a thread with the 2 MiB stack of a server worker.
    fn compile_on_a_worker_stack(text: String) -> Result<usize, PolicyError> {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || compile("POL-DEEP", &text).map(|policies| policies.len()))
            .unwrap()
            .join()
            .unwrap()
    }

    /// A regression: about 150 nested parentheses or 300 nested sets
    /// overflowed the stack while Cedar parsed them and aborted the server.
    #[test]
    fn deep_nesting_is_refused_before_cedar_parses_it() {
        let deep = |open: &str, inner: &str, close: &str, n: usize| {
            format!(
                "permit(principal, action, resource) when {{ {}{inner}{} }};",
                open.repeat(n),
                close.repeat(n)
            )
        };
        for (text, line_column) in [
            (deep("(", "true", ")", 150), (1, 75)),
            (deep("[", "1", "]", 300), (1, 75)),
            (deep("!", "true", "", 5000), (1, 75)),
            (deep("-", "1", "", 5000), (1, 75)),
            (deep("[", "1", "]", 100_000), (0, 0)),
        ] {
            let error = compile_on_a_worker_stack(text).unwrap_err();
            let diagnostic = &error.diagnostics[0];
            assert_eq!((diagnostic.line, diagnostic.column), line_column, "{error}");
            assert!(
                diagnostic.message.contains("nested more than 32")
                    || diagnostic.message.contains("at most 65536"),
                "{error}"
            );
        }
        // Nesting within the limit, long flat chains, and brackets inside
        // strings and comments still compile.
        let fine = [
            deep("(", "true", ")", 20),
            format!("permit(principal, action, resource) when {{ {} true }};", "true || ".repeat(5000)),
            format!("permit(principal, action, resource) when {{ \"{}\" == \"x\" }};", "(".repeat(500)),
            format!("// {}\npermit(principal, action, resource);", "[".repeat(500)),
            "permit(principal, action, resource) when { 1 != -1 };".to_owned(),
        ];
        for text in fine {
            assert_eq!(
                compile_on_a_worker_stack(text.clone()).map_err(|e| e.to_string()),
                Ok(1),
                "{text:.80}"
            );
        }
    }

    #[test]
    fn policies_get_charter_ids_in_text_order() {
        let text = r#"
permit(principal, action == Action::"invoke_tool", resource);
@id("no-paused-tools")
forbid(principal, action, resource) when { principal has criticality && principal.criticality == "low" };
permit(principal, action == Action::"read_dataset", resource);
"#;
        let policies = compile("POL-ACCESS-TOOLS", text).expect("valid");
        let ids: Vec<String> = policies.iter().map(|p| p.id().to_string()).collect();
        assert_eq!(ids, ["POL-ACCESS-TOOLS/0", "POL-ACCESS-TOOLS/no-paused-tools", "POL-ACCESS-TOOLS/2"]);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text = "permit(principal, action, resource);\npermit(principal, action resource);\n";
        let error = compile("POL-ACCESS-TOOLS", text).expect_err("invalid");
        assert_eq!(error.policy, "POL-ACCESS-TOOLS");
        let first = &error.diagnostics[0];
        assert_eq!((first.line, first.column), (2, 26), "{first}");
        assert!(error.to_string().starts_with("policy POL-ACCESS-TOOLS: invalid Cedar: line 2, column 26:"));
    }

    #[test]
    fn schema_errors_name_line_and_column() {
        let text = "permit(principal is Agent, action == Action::\"invoke_tool\", resource)\n  when { principal.colour == \"red\" };";
        let error = compile("POL-ACCESS-TOOLS", text).expect_err("unknown attribute");
        let first = &error.diagnostics[0];
        assert_eq!(first.line, 2, "{first}");
        assert!(first.message.contains("colour"), "{first}");

        let error = compile("POL-X-Y", r#"permit(principal, action == Action::"fly", resource);"#)
            .expect_err("unknown action");
        assert!(error.diagnostics[0].message.contains("fly"), "{error}");

        // Optional attributes must be tested with `has` first.
        let error = compile(
            "POL-X-Y",
            r#"permit(principal, action, resource is Dataset) when { resource.region == "eu" };"#,
        );
        assert!(error.is_err());
        let unguarded = r#"permit(principal is Agent, action == Action::"invoke_tool", resource) when { principal.criticality == "low" };"#;
        assert!(compile("POL-X-Y", unguarded).is_err());
    }

    #[test]
    fn templates_and_repeated_ids_are_refused() {
        let error =
            compile("POL-X-Y", "permit(principal == ?principal, action, resource);").expect_err("template");
        assert!(error.to_string().contains("templates"), "{error}");
        let text = "@id(\"a\") permit(principal, action, resource);\n@id(\"a\") forbid(principal, action, resource);";
        let error = compile("POL-X-Y", text).expect_err("twice");
        assert!(error.to_string().contains("two policies are named POL-X-Y/a"), "{error}");
        assert_eq!(error.diagnostics[0].line, 2);
    }

    #[test]
    fn empty_text_is_no_policies() {
        assert!(compile("POL-X-Y", "  // nothing yet\n").expect("valid").is_empty());
    }
}
