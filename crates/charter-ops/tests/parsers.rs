//! Declarations and change windows fed arbitrary Unicode: a value or a list
//! of problems, never a panic.

use proptest::prelude::*;

fn declaration(name: &str, value: &str, path: &str) -> String {
    format!(
        "OPERATION_NAME: {name:?}\nOBJECTIVE: {value:?}\nRISK_CLASS: {value:?}\nBLAST_RADIUS: b\n\
         ROLLBACK_STRATEGY: snapshot\nALLOWED_PATHS: [{path:?}]\nALLOWED_SERVICES: [{value:?}]\n\
         NOT_ALLOWED: {{paths: [{path:?}], services: [], streams: [{value:?}]}}\nREQUESTED_BY: {name:?}\n\
         TIER: {value}\nSTEPS:\n  - name: {name:?}\n    command: {value:?}\n    touches: [{path:?}]\n    verify: [{value:?}]\n    rollback: x\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn declarations_parse_or_list_problems(
        text in prop_oneof!["\\PC{0,200}", any::<String>(), "[A-Z_]{1,20}: [\\[\\]{}a-z0-9:,\\- ]{0,40}(\n[A-Z_]{1,20}: .{0,20}){0,8}"],
        name in "\\PC{0,20}",
        value in "\\PC{0,20}",
        path in prop_oneof!["\\PC{0,20}", "/[a-z./]{0,20}", "/srv/\\.\\./[a-z]{0,5}"],
    ) {
        for candidate in [text, declaration(&name, &value, &path)] {
            match charter_ops::parse(&candidate) {
                Ok(declaration) => {
                    let _ = charter_ops::declaration_hash(&declaration);
                }
                Err(error) => prop_assert!(!error.problems.is_empty()),
            }
        }
    }
}
