//! The glue must not change Cedar's semantics: on random registries,
//! policies and requests, Charter's sliced evaluation gives exactly the raw
//! `cedar-policy` authoriser's answer over the whole set (decision, reasons
//! and errors), and where no guardrail applies Charter's decision is Cedar's.

use cedar_policy::Authorizer;
use charter_model::Timestamp;
use charter_policy::{DecisionRequest, Effect, Engine, EntityRef, Outcome, Registry, compile, reason};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const AGENTS: usize = 6;
const USERS: usize = 3;
const TEAMS: usize = 3;
const SYSTEMS: usize = 4;
const DATASETS: usize = 3;
const ACTIONS: [&str; 5] =
    ["invoke_tool", "read_dataset", "write_dataset", "change_schema", "promote_dataset"];

fn agent(i: usize) -> String {
    format!("agent_a_{i:02}")
}

/// An agent's attributes: status, criticality, team, tools, invocations.
#[derive(Debug, Clone)]
struct AgentSpec {
    status: &'static str,
    criticality: Option<&'static str>,
    team: usize,
    tools: Vec<usize>,
    invocations: Option<u64>,
    regions: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct World {
    agents: Vec<AgentSpec>,
    system_tiers: Vec<u8>,
    dataset_tiers: Vec<u8>,
    dataset_regions: Vec<Option<&'static str>>,
    user_roles: Vec<Vec<&'static str>>,
    policies: Vec<String>,
}

fn agent_spec(neutral: bool) -> impl Strategy<Value = AgentSpec> {
    let statuses: Vec<&'static str> =
        if neutral { vec!["active", "pilot"] } else { vec!["active", "pilot", "paused", "retired"] };
    (
        select(statuses),
        proptest::option::of(select(vec!["low", "medium", "high"])),
        0..TEAMS,
        proptest::collection::vec(0..SYSTEMS, 0..=SYSTEMS),
        proptest::option::of(select(vec![0_u64, 1, 2, 1200])),
        proptest::collection::vec(select(vec!["eu-west", "us-east"]), 0..=2),
    )
        .prop_map(move |(status, criticality, team, tools, invocations, regions)| AgentSpec {
            status,
            criticality,
            team,
            // Where no guardrail may apply, every agent may use every tool.
            tools: if neutral { (0..SYSTEMS).collect() } else { tools },
            invocations,
            regions,
        })
}

fn principal_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("principal".to_owned()),
        (0..AGENTS + 1).prop_map(|i| format!("principal == Agent::\"{}\"", agent(i))),
        (0..USERS).prop_map(|i| format!("principal == User::\"u{i}\"")),
        (0..TEAMS).prop_map(|i| format!("principal in Team::\"t{i}\"")),
        Just("principal is Agent".to_owned()),
        Just("principal is User".to_owned()),
        (0..TEAMS).prop_map(|i| format!("principal is Agent in Team::\"t{i}\"")),
    ]
}

fn action_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("action".to_owned()),
        select(ACTIONS.to_vec()).prop_map(|a| format!("action == Action::\"{a}\"")),
        (select(ACTIONS.to_vec()), select(ACTIONS.to_vec()))
            .prop_map(|(a, b)| format!("action in [Action::\"{a}\", Action::\"{b}\"]")),
    ]
}

fn resource_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("resource".to_owned()),
        (0..SYSTEMS + 1).prop_map(|i| format!("resource == Tool::\"s{i}\"")),
        (0..DATASETS).prop_map(|i| format!("resource == Dataset::\"d{i}\"")),
        Just("resource is Tool".to_owned()),
        Just("resource is Dataset".to_owned()),
        (0..SYSTEMS).prop_map(|i| format!("resource in System::\"s{i}\"")),
        (0..SYSTEMS).prop_map(|i| format!("resource is Tool in System::\"s{i}\"")),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("true".to_owned()),
        Just("context has ticket".to_owned()),
        Just("context has approval && context.approval == \"G1\"".to_owned()),
        (0..TEAMS).prop_map(|i| format!("principal in Team::\"t{i}\"")),
        (0..SYSTEMS).prop_map(|i| format!("resource in System::\"s{i}\"")),
        Just("principal is Agent && principal.status == \"pilot\"".to_owned()),
        Just(
            "principal is Agent && principal has criticality && principal.criticality == \"high\"".to_owned()
        ),
        Just("principal is Agent && resource is Tool && principal.tools.contains(resource)".to_owned()),
        Just("principal is User && principal.roles.contains(\"steward\")".to_owned()),
        (1_i64..5).prop_map(|t| format!("resource is Tool && resource.tier >= {t}")),
        (1_i64..5).prop_map(|t| format!("resource is Dataset && resource.tier < {t}")),
        Just("resource is Dataset && resource has region && resource.region == \"eu-west\"".to_owned()),
        // Overflows for agents with two or more invocations a day: an
        // evaluation error, which both sides must report identically.
        Just(
            "principal is Agent && principal has daily_invocations && \
             principal.daily_invocations * 4611686018427387904 > 1"
                .to_owned()
        ),
        Just("context.now.toTime() >= duration(\"12h\")".to_owned()),
    ];
    (atom.clone(), proptest::option::of((select(vec!["&&", "||"]), atom)), any::<bool>()).prop_map(
        |(a, b, negate)| {
            let body = match b {
                Some((op, b)) => format!("({a}) {op} ({b})"),
                None => a,
            };
            if negate { format!("!({body})") } else { body }
        },
    )
}

fn policy() -> impl Strategy<Value = String> {
    (
        select(vec!["permit", "forbid"]),
        principal_scope(),
        action_scope(),
        resource_scope(),
        proptest::option::of((select(vec!["when", "unless"]), condition())),
    )
        .prop_map(|(effect, principal, action, resource, condition)| {
            let condition =
                condition.map(|(keyword, body)| format!(" {keyword} {{ {body} }}")).unwrap_or_default();
            format!("{effect}({principal}, {action}, {resource}){condition};")
        })
        // Keep the policies Cedar's validator accepts, as saving would.
        .prop_filter("validates", |text| compile("POL-TEST-ONE", text).is_ok())
}

fn world(neutral: bool) -> impl Strategy<Value = World> {
    let tier = if neutral { 1_u8..=2 } else { 1_u8..=4 };
    (
        proptest::collection::vec(agent_spec(neutral), AGENTS),
        proptest::collection::vec(tier.clone(), SYSTEMS),
        proptest::collection::vec(tier, DATASETS),
        proptest::collection::vec(
            proptest::option::of(select(vec!["eu-west", "us-east"]))
                .prop_map(move |r| if neutral { None } else { r }),
            DATASETS,
        ),
        proptest::collection::vec(
            proptest::collection::vec(select(vec!["steward", "auditor", "owner"]), 0..3),
            USERS,
        ),
        proptest::collection::vec(policy(), 0..24),
    )
        .prop_map(|(agents, system_tiers, dataset_tiers, dataset_regions, user_roles, policies)| World {
            agents,
            system_tiers,
            dataset_tiers,
            dataset_regions,
            user_roles,
            policies,
        })
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid record")
}

impl World {
    fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        for t in 0..TEAMS {
            registry.teams.push(from_json(json!({"team_id": format!("t{t}"), "name": format!("Team {t}")})));
        }
        for (i, roles) in self.user_roles.iter().enumerate() {
            let mut roles = roles.clone();
            roles.sort();
            roles.dedup();
            registry.people.push(from_json(
                json!({"person_id": format!("u{i}"), "name": format!("User {i}"), "team": format!("t{}", i % TEAMS), "roles": roles}),
            ));
        }
        for (i, tier) in self.system_tiers.iter().enumerate() {
            registry
                .systems
                .push(from_json(json!({"system_id": format!("s{i}"), "type": "external_api", "tier": tier})));
        }
        for i in 0..DATASETS {
            let mut dataset = json!({"dataset_id": format!("d{i}"), "dataset_name": format!("Dataset {i}"), "tier": self.dataset_tiers[i]});
            if let Some(region) = self.dataset_regions[i] {
                dataset["region"] = json!(region);
            }
            registry.datasets.push(from_json(dataset));
        }
        for (i, spec) in self.agents.iter().enumerate() {
            let mut tools: Vec<String> = spec.tools.iter().map(|t| format!("s{t}")).collect();
            tools.sort();
            tools.dedup();
            let mut regions: Vec<&str> = spec.regions.clone();
            regions.sort();
            regions.dedup();
            let mut value = json!({
                "agent_id": agent(i), "name": format!("Agent {i}"), "status": spec.status,
                "owner_team": format!("Team {}", spec.team), "tool_permissions": tools, "allowed_regions": regions,
            });
            if let Some(c) = spec.criticality {
                value["criticality"] = json!(c);
            }
            if let Some(n) = spec.invocations {
                value["daily_invocations"] = json!(n);
            }
            registry.agents.push(from_json(value));
        }
        // The policies spread over two governance policies.
        let (first, second) = self.policies.split_at(self.policies.len() / 2);
        for (id, texts) in [("POL-TEST-ONE", first), ("POL-TEST-TWO", second)] {
            registry.policies.push(from_json(json!({
                "policy_id": id, "title": "t", "purpose": "p.", "rules": "1. r", "owner": "o",
                "status": "Active", "cedar": texts.join("\n"),
            })));
        }
        registry
    }
}

fn request() -> impl Strategy<Value = DecisionRequest> {
    (
        prop_oneof![
            (0..AGENTS + 1).prop_map(|i| ("Agent", agent(i))),
            (0..USERS).prop_map(|i| ("User", format!("u{i}"))),
        ],
        select(ACTIONS.to_vec()),
        0..SYSTEMS.max(DATASETS),
        proptest::option::of(select(vec!["G1", "G2"])),
        any::<bool>(),
    )
        .prop_map(|((principal_type, principal), action, resource, approval, ticket)| {
            let resource = if action == "invoke_tool" {
                ("Tool", format!("s{}", resource % SYSTEMS))
            } else {
                ("Dataset", format!("d{}", resource % DATASETS))
            };
            let mut context = serde_json::Map::new();
            if let Some(approval) = approval {
                context.insert("approval".into(), json!(approval));
            }
            if ticket {
                context.insert("ticket".into(), json!("T-1"));
            }
            DecisionRequest {
                principal: EntityRef { entity_type: principal_type.into(), id: principal },
                action: action.into(),
                resource: EntityRef { entity_type: resource.0.into(), id: resource.1 },
                context,
            }
        })
}

fn at() -> impl Strategy<Value = Timestamp> {
    (0_i64..86_400).prop_map(|second| {
        Timestamp::from_unix_micros((1_795_305_600 + second) * 1_000_000).expect("a valid time")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sliced_evaluation_is_cedars_evaluation(
        world in world(false),
        requests in proptest::collection::vec((request(), at()), 1..24),
    ) {
        let engine = Engine::new(&world.registry());
        prop_assert!(engine.unreadable_policies().is_empty(), "{:?}", engine.unreadable_policies());
        let whole = engine.policy_set();
        let authorizer = Authorizer::new();
        for (request, now) in &requests {
            // Requests the schema or the registry refuse never reach Cedar.
            let Ok((cedar_request, sliced)) = engine.authorize(request, *now) else { continue };
            let raw = Outcome::of(&authorizer.is_authorized(&cedar_request, &whole, engine.entities()));
            prop_assert_eq!(&sliced, &raw, "request {:?} at {}", request, now);
        }
    }

    #[test]
    fn without_guardrails_charters_decision_is_cedars(
        world in world(true),
        requests in proptest::collection::vec((request(), at()), 1..24),
    ) {
        let engine = Engine::new(&world.registry());
        let whole = engine.policy_set();
        let authorizer = Authorizer::new();
        for (request, now) in &requests {
            let decision = engine.decide(request, *now);
            let Ok((cedar_request, _)) = engine.authorize(request, *now) else {
                prop_assert_eq!(decision.decision, Effect::Deny);
                continue;
            };
            let raw = Outcome::of(&authorizer.is_authorized(&cedar_request, &whole, engine.entities()));
            let expected: (Effect, Vec<String>) = if !raw.errors.is_empty() {
                let forbids = if raw.allow { vec![] } else { raw.reasons.iter().cloned().collect() };
                (Effect::Deny, std::iter::once(reason::EVALUATION_ERROR.to_owned()).chain(forbids).collect())
            } else if raw.allow {
                (Effect::Allow, raw.reasons.iter().cloned().collect())
            } else if !raw.reasons.is_empty() {
                (Effect::Deny, raw.reasons.iter().cloned().collect())
            } else {
                (Effect::Deny, vec![reason::DEFAULT_DENY.to_owned()])
            };
            prop_assert_eq!((decision.decision, decision.reasons.clone()), expected, "request {:?}", request);
            prop_assert_eq!(decision.errors.len(), raw.errors.len());
        }
    }
}

#[test]
fn slicing_evaluates_fewer_policies() {
    // Ten policies per action over distinct agents: a request evaluates
    // its action's general policies and its own, not all fifty.
    let mut texts = Vec::new();
    for (a, action) in ACTIONS.iter().enumerate() {
        for i in 0..10 {
            let principal = if i < 5 {
                format!("principal == Agent::\"{}\"", agent(i))
            } else {
                "principal is Agent".into()
            };
            texts.push(format!(
                "permit({principal}, action == Action::\"{action}\", resource) when {{ context has ticket }}; // {a}"
            ));
        }
    }
    let world = World {
        agents: vec![],
        system_tiers: vec![1; SYSTEMS],
        dataset_tiers: vec![1; DATASETS],
        dataset_regions: vec![None; DATASETS],
        user_roles: vec![vec![]; USERS],
        policies: texts,
    };
    let engine = Engine::new(&world.registry());
    assert_eq!(engine.policy_count(), 50);
    use charter_policy::schema::EntityType;
    assert_eq!(engine.widest_slice("invoke_tool", EntityType::Agent, EntityType::Tool), 6);
    assert_eq!(engine.widest_slice("read_dataset", EntityType::User, EntityType::Dataset), 0);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Cedar text from arbitrary Unicode and from near misses of policies
    /// compiles or is refused with diagnostics, never a panic or a stack
    /// overflow (on the 2 MiB stack of a test thread, like a server worker).
    #[test]
    fn any_cedar_text_compiles_or_is_refused(
        text in proptest::prop_oneof![
            "\\PC{0,120}",
            "(permit|forbid)\\((principal|action|resource)[ ,=:\"A-Za-z_()\\[\\]!-]{0,80}\\)( when \\{[ ()\\[\\]!&|=<>a-z0-9.\"-]{0,120}\\})?;",
        ],
    ) {
        match charter_policy::compile("POL-ANY-TEXT", &text) {
            Ok(_) => {}
            Err(error) => proptest::prop_assert!(!error.diagnostics.is_empty(), "{text}"),
        }
    }
}
