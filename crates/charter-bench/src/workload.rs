//! A synthetic, deterministic decision workload for benchmarks: a registry
//! of many agents, tools and datasets, a policy set of a given size, and
//! requests that no guardrail refuses (agents active or in pilot, on their
//! own tools, Tier 1-2 resources, no residency limits), so that Charter's
//! decision and the raw Cedar authoriser's can be compared one for one.

use serde_json::{Value, json};

use charter_policy::{DecisionRequest, EntityRef, Registry};

/// Sizes of a workload.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Number of agents.
    pub agents: usize,
    /// Number of tools (each a system).
    pub tools: usize,
    /// Number of datasets.
    pub datasets: usize,
    /// Number of teams.
    pub teams: usize,
    /// Number of Cedar policies.
    pub policies: usize,
    /// Number of requests.
    pub requests: usize,
}

impl Default for Shape {
    /// The figure: 100 policies over 1,000 agents and 5,000 tools.
    fn default() -> Self {
        Self { agents: 1_000, tools: 5_000, datasets: 200, teams: 20, policies: 100, requests: 20_000 }
    }
}

/// SplitMix64: a small, fixed generator, so that every run sees the same
/// workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn agent(i: usize) -> String {
    format!("agent_bench_{i:04}")
}

fn tool(i: usize) -> String {
    format!("tool_{i:04}")
}

fn dataset(i: usize) -> String {
    format!("dataset_{i:03}")
}

fn team(i: usize) -> String {
    format!("team_{i:02}")
}

fn record<T: serde::de::DeserializeOwned>(value: Value) -> T {
    // INVARIANT: the values below are valid records by construction.
    serde_json::from_value(value).unwrap_or_else(|error| unreachable!("workload record: {error}"))
}

/// The tools agent `i` may use: ten of them, spread over all tools.
fn tools_of(i: usize, shape: &Shape) -> Vec<usize> {
    let mut tools: Vec<usize> = (0..10).map(|k| (i * 7919 + k * 104_729) % shape.tools).collect();
    tools.sort_unstable();
    tools.dedup();
    tools
}

/// Builds the workload.
pub fn workload(shape: Shape) -> (Registry, Vec<DecisionRequest>) {
    let mut rng = Rng(0x00C4_A27E_5EED);
    let mut registry = Registry::default();
    for t in 0..shape.teams {
        registry.teams.push(record(json!({"team_id": team(t), "name": format!("Team {t}")})));
    }
    for i in 0..shape.tools {
        let tier = if i % 5 == 0 { 2 } else { 1 };
        let kind = *rng.pick(&["external_api", "internal_system", "database"]);
        registry.systems.push(record(json!({"system_id": tool(i), "type": kind, "tier": tier})));
    }
    for i in 0..shape.datasets {
        let classification = *rng.pick(&["public", "internal", "confidential", "restricted"]);
        registry.datasets.push(record(json!({
            "dataset_id": dataset(i), "dataset_name": format!("Dataset {i}"),
            "classification": classification, "tier": 1 + i % 2,
        })));
    }
    for i in 0..shape.agents {
        let tools: Vec<String> = tools_of(i, &shape).into_iter().map(tool).collect();
        registry.agents.push(record(json!({
            "agent_id": agent(i), "name": format!("Agent {i}"),
            "owner_team": format!("Team {}", i % shape.teams),
            "status": if i % 10 == 0 { "pilot" } else { "active" },
            "criticality": rng.pick(&["low", "medium", "high"]),
            "daily_invocations": rng.below(5_000),
            "tool_permissions": tools,
            "primary_dataset": dataset(i % shape.datasets),
        })));
    }
    let texts: Vec<String> = (0..shape.policies).map(|n| policy(n, &shape, &mut rng)).collect();
    // Ten governance policies hold the Cedar policies.
    let per = shape.policies.div_ceil(10).max(1);
    for (k, chunk) in texts.chunks(per).enumerate() {
        registry.policies.push(record(json!({
            "policy_id": format!("POL-BENCH-P{k:02}"), "title": "Benchmark policy",
            "purpose": "Exercises the decision point.", "rules": "1. Decide quickly",
            "owner": "bench", "status": "Active", "cedar": chunk.join("\n"),
        })));
    }
    let requests = (0..shape.requests).map(|_| request(&shape, &mut rng)).collect();
    (registry, requests)
}

/// The `n`th policy: a mix of general rules, rules for one team, for one
/// agent, for one tool and for one system, permits and forbids.
fn policy(n: usize, shape: &Shape, rng: &mut Rng) -> String {
    let datasets = ["read_dataset", "write_dataset", "change_schema", "promote_dataset"];
    match n % 10 {
        0 if n == 0 => "permit(principal is Agent, action == Action::\"invoke_tool\", resource is Tool)\n  \
              when { principal.tools.contains(resource) && principal.status == \"active\" };"
            .to_owned(),
        0 => format!(
            "forbid(principal in Team::\"{}\", action == Action::\"invoke_tool\", resource is Tool)\n  \
             when {{ resource.tier >= 2 && !(context has ticket) }};",
            team(rng.below(shape.teams))
        ),
        1 => format!(
            "permit(principal in Team::\"{}\", action == Action::\"{}\", resource is Dataset)\n  \
             when {{ resource.tier <= 2 && resource has classification && resource.classification != \"restricted\" }};",
            team(rng.below(shape.teams)),
            rng.pick(&datasets)
        ),
        2 => format!(
            "forbid(principal == Agent::\"{}\", action == Action::\"invoke_tool\", resource)\n  \
             unless {{ context has ticket }};",
            agent(rng.below(shape.agents))
        ),
        3 => format!(
            "forbid(principal, action == Action::\"invoke_tool\", resource == Tool::\"{}\")\n  \
             when {{ principal has criticality && principal.criticality == \"low\" }};",
            tool(rng.below(shape.tools))
        ),
        4 => format!(
            "permit(principal is Agent in Team::\"{}\", action == Action::\"invoke_tool\", resource is Tool)\n  \
             when {{ principal.status == \"pilot\" && principal.tools.contains(resource) && context has ticket }};",
            team(rng.below(shape.teams))
        ),
        5 => format!(
            "permit(principal is Agent, action == Action::\"{}\", resource is Dataset)\n  \
             when {{ principal has primary_dataset && principal.primary_dataset == resource }};",
            rng.pick(&datasets)
        ),
        6 => format!(
            "forbid(principal is Agent, action in [Action::\"write_dataset\", Action::\"change_schema\"], resource is Dataset)\n  \
             when {{ resource has classification && resource.classification == \"restricted\" && \
             principal has daily_invocations && principal.daily_invocations > {} }};",
            1_000 + rng.below(4_000)
        ),
        7 => format!(
            "permit(principal == Agent::\"{}\", action, resource is Dataset)\n  when {{ context has purpose }};",
            agent(rng.below(shape.agents))
        ),
        8 => format!(
            "forbid(principal is Agent in Team::\"{}\", action == Action::\"promote_dataset\", resource)\n  \
             unless {{ context has ticket }};",
            team(rng.below(shape.teams))
        ),
        _ => format!(
            "forbid(principal, action == Action::\"invoke_tool\", resource in System::\"{}\")\n  \
             when {{ context.now.toTime() < duration(\"6h\") }};",
            tool(rng.below(shape.tools))
        ),
    }
}

fn request(shape: &Shape, rng: &mut Rng) -> DecisionRequest {
    let i = rng.below(shape.agents);
    let mut context = serde_json::Map::new();
    if rng.below(3) == 0 {
        context.insert("ticket".into(), json!(format!("T-{}", rng.below(1_000))));
    }
    if rng.below(4) == 0 {
        context.insert("purpose".into(), json!("benchmark"));
    }
    let (action, resource) = if rng.below(10) < 6 {
        let tools = tools_of(i, shape);
        ("invoke_tool", EntityRef { entity_type: "Tool".into(), id: tool(*rng.pick(&tools)) })
    } else {
        let action = *rng.pick(&["read_dataset", "write_dataset", "change_schema", "promote_dataset"]);
        (action, EntityRef { entity_type: "Dataset".into(), id: dataset(rng.below(shape.datasets)) })
    };
    DecisionRequest {
        principal: EntityRef { entity_type: "Agent".into(), id: agent(i) },
        action: action.into(),
        resource,
        context,
    }
}
