//! Every guardrail, allow and deny, with the reason: the cases of
//! `tests/cases/guardrails.json` over the example workspace and the
//! fixture's agents and grants.

mod common;

use charter_model::PolicyStatus;
use charter_policy::{DecisionRequest, Effect, Engine, EntityRef, reason, run_cases};

#[test]
fn guardrail_cases() {
    let engine = Engine::new(&common::fixture());
    assert!(engine.unreadable_policies().is_empty(), "{:?}", engine.unreadable_policies());
    let cases = common::cases("guardrails.json");
    let results = run_cases(&engine, &cases, common::now());
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{}: expected {:?} {:?}, got {:?} {:?} {:?}",
                r.name, r.expected, r.expected_reasons, r.got.decision, r.got.reasons, r.got.errors
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Every guardrail is exercised both ways by the cases.
    for guardrail in [
        reason::KILL_SWITCH,
        reason::LEAST_PRIVILEGE,
        reason::TIER_APPROVAL,
        reason::DATA_RESIDENCY,
        reason::UNKNOWN_PRINCIPAL,
        reason::UNKNOWN_RESOURCE,
        reason::UNKNOWN_ACTION,
        reason::INVALID_REQUEST,
        reason::DEFAULT_DENY,
    ] {
        assert!(
            results.iter().any(|r| r.got.reasons.iter().any(|x| x == guardrail)),
            "{guardrail} denies somewhere"
        );
    }
    assert!(results.iter().any(|r| r.got.reasons.iter().any(|x| x.starts_with(reason::GRANT))));
}

fn request(principal: (&str, &str), action: &str, resource: (&str, &str)) -> DecisionRequest {
    DecisionRequest {
        principal: EntityRef { entity_type: principal.0.into(), id: principal.1.into() },
        action: action.into(),
        resource: EntityRef { entity_type: resource.0.into(), id: resource.1.into() },
        context: Default::default(),
    }
}

#[test]
fn denials_explain_themselves() {
    let engine = Engine::new(&common::fixture());
    let decision = engine
        .decide(&request(("Agent", "agent_sales_01"), "invoke_tool", ("Tool", "zendesk")), common::now());
    assert_eq!(
        decision.errors,
        ["tool zendesk is not one of agent agent_sales_01's tools and no access grant holds"]
    );
    let decision = engine.decide(
        &request(("Agent", "agent_finance_01"), "invoke_tool", ("Tool", "erp_netsuite")),
        common::now(),
    );
    assert_eq!(
        decision.errors,
        ["Tool::\"erp_netsuite\" is Tier 3: context.approval must name an approval grant"]
    );
}

#[test]
fn an_unreadable_active_policy_denies_everything() {
    let mut registry = common::fixture();
    let allowed = request(("Agent", "agent_sales_01"), "invoke_tool", ("Tool", "crm_salesforce"));
    let broken =
        registry.policies.iter_mut().find(|p| p.policy_id.as_str() == "POL-GOVERNANCE-MASTER").unwrap();
    broken.cedar = Some("permit(principal, action, resource) when { principal.nonsense };".into());

    // Under review, the policy is not enforced, so its text does not matter.
    broken.status = PolicyStatus::Review;
    assert!(Engine::new(&registry).decide(&allowed, common::now()).allowed());

    let broken =
        registry.policies.iter_mut().find(|p| p.policy_id.as_str() == "POL-GOVERNANCE-MASTER").unwrap();
    broken.status = PolicyStatus::Active;
    let engine = Engine::new(&registry);
    assert_eq!(engine.unreadable_policies().len(), 1);
    let decision = engine.decide(&allowed, common::now());
    assert_eq!(decision.decision, Effect::Deny);
    assert_eq!(decision.reasons, [reason::UNREADABLE_POLICY]);
    assert!(
        decision.errors[0].starts_with("policy POL-GOVERNANCE-MASTER: invalid Cedar: line 1, column"),
        "{:?}",
        decision.errors
    );
}

#[test]
fn an_evaluation_error_denies_even_when_another_policy_permits() {
    let mut registry = common::fixture();
    let master =
        registry.policies.iter_mut().find(|p| p.policy_id.as_str() == "POL-GOVERNANCE-MASTER").unwrap();
    // Overflows for agents with more than about 9,000 invocations a day... and
    // for every agent with any: 1200 * 10^16 > i64::MAX.
    master.cedar = Some(
        "@id(\"overflow\")\npermit(principal is Agent, action, resource)\n  when { principal has daily_invocations && principal.daily_invocations * 10000000000000000 > 0 };"
            .into(),
    );
    let engine = Engine::new(&registry);
    assert!(engine.unreadable_policies().is_empty());
    let decision = engine.decide(
        &request(("Agent", "agent_sales_01"), "invoke_tool", ("Tool", "crm_salesforce")),
        common::now(),
    );
    assert_eq!(decision.decision, Effect::Deny);
    assert_eq!(decision.reasons, [reason::EVALUATION_ERROR]);
    assert!(decision.errors[0].contains("POL-GOVERNANCE-MASTER/overflow"), "{:?}", decision.errors);
}

#[test]
fn policies_can_use_the_time_of_the_decision() {
    let mut registry = common::fixture();
    let master =
        registry.policies.iter_mut().find(|p| p.policy_id.as_str() == "POL-GOVERNANCE-MASTER").unwrap();
    master.cedar = Some(
        "@id(\"change-window\")\nforbid(principal, action == Action::\"invoke_tool\", resource is Tool)\n  \
         when { resource.tier >= 3 }\n  unless { context.now.toTime() >= duration(\"22h\") };"
            .into(),
    );
    let engine = Engine::new(&registry);
    let mut erp = request(("Agent", "agent_finance_01"), "invoke_tool", ("Tool", "erp_netsuite"));
    erp.context.insert("approval".into(), "GRANT-0001".into());
    erp.context.insert("ticket".into(), "FIN-1".into());
    let at_ten = engine.decide(&erp, common::now());
    assert_eq!(at_ten.reasons, ["POL-GOVERNANCE-MASTER/change-window"]);
    let late: charter_model::Timestamp = "2026-11-22T22:30:00Z".parse().unwrap();
    let mut registry = registry.clone();
    registry.grants[0].expires_at = "2026-11-23T00:00:00Z".parse().unwrap();
    let engine = Engine::new(&registry);
    assert!(engine.decide(&erp, late).allowed(), "{:?}", engine.decide(&erp, late));
}
