//! The Cedar schema of Charter's entities and actions. Policies are
//! validated against it when they are saved, and requests when they are
//! decided, so a typo in an attribute name is an error, not a silent deny.

use std::sync::LazyLock;

use cedar_policy::{EntityUid, Schema};

/// The schema in Cedar's own syntax.
///
/// Optional attributes (`?`) are the registry's optional fields; a policy
/// tests them with `has` before reading them, as Cedar's validator demands.
/// `context.now` is the time of the decision, set by Charter, so that
/// policies can speak of time (change windows, office hours) although Cedar
/// itself has no clock.
pub const SCHEMA: &str = r#"
entity Team {
    name: String,
};

entity User in [Team] {
    name: String,
    roles: Set<String>,
};

entity Agent in [Team] {
    name: String,
    status: String,
    criticality?: String,
    owner_team?: String,
    daily_invocations?: Long,
    tools: Set<Tool>,
    primary_dataset?: Dataset,
    allowed_regions: Set<String>,
};

entity System {
    type: String,
    tier: Long,
    auth_status?: String,
    owner_team?: String,
};

entity Tool in [System] {
    tier: Long,
};

entity Dataset {
    name: String,
    tier: Long,
    scope: String,
    classification?: String,
    region?: String,
    owner_agent?: Agent,
    owner?: String,
};

entity Workflow {
    agent: Agent,
    human_in_the_loop: Bool,
};

entity Operation {
    tier: Long,
    status: String,
    requested_by?: String,
};

entity Workspace;

type Context = {
    now: datetime,
    approval?: String,
    purpose?: String,
    ticket?: String,
    kind?: String,
    writer?: String,
};

action invoke_tool appliesTo {
    principal: [Agent],
    resource: [Tool],
    context: Context,
};

action read_dataset, write_dataset, change_schema, promote_dataset appliesTo {
    principal: [Agent, User],
    resource: [Dataset],
    context: Context,
};

action request_operation, approve_operation, execute_operation appliesTo {
    principal: [Agent, User],
    resource: [Operation],
    context: Context,
};

action grant, pause_agent, resume_agent appliesTo {
    principal: [Agent, User],
    resource: [Agent],
    context: Context,
};

action write_record appliesTo {
    principal: [Agent, User],
    resource: [Workspace],
    context: Context,
};
"#;

/// An entity type of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// A team.
    Team,
    /// A person.
    User,
    /// An AI agent.
    Agent,
    /// A system an agent depends on.
    System,
    /// A tool an agent invokes (in the example workspace, a system).
    Tool,
    /// A dataset.
    Dataset,
    /// A workflow.
    Workflow,
    /// A governed operation.
    Operation,
    /// The workspace itself: what writes of its records are decided on.
    Workspace,
}

impl EntityType {
    /// Every entity type.
    pub const ALL: [EntityType; 9] = [
        EntityType::Team,
        EntityType::User,
        EntityType::Agent,
        EntityType::System,
        EntityType::Tool,
        EntityType::Dataset,
        EntityType::Workflow,
        EntityType::Operation,
        EntityType::Workspace,
    ];

    /// The type's name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            EntityType::Team => "Team",
            EntityType::User => "User",
            EntityType::Agent => "Agent",
            EntityType::System => "System",
            EntityType::Tool => "Tool",
            EntityType::Dataset => "Dataset",
            EntityType::Workflow => "Workflow",
            EntityType::Operation => "Operation",
            EntityType::Workspace => "Workspace",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether an entity of this type can be (transitively) a member of an
    /// entity of type `ancestor`, or be it: the schema's `in` lists.
    pub fn can_be_in(self, ancestor: EntityType) -> bool {
        self == ancestor
            || matches!(
                (self, ancestor),
                (EntityType::User | EntityType::Agent, EntityType::Team)
                    | (EntityType::Tool, EntityType::System)
            )
    }
}

impl std::fmt::Display for EntityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An action of the schema, with the types it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The action's name, e.g. `invoke_tool`.
    pub name: &'static str,
    /// Types of principal it applies to.
    pub principals: &'static [EntityType],
    /// Types of resource it applies to.
    pub resources: &'static [EntityType],
}

const ACTORS: &[EntityType] = &[EntityType::Agent, EntityType::User];

/// Every action, in the schema's order.
pub const ACTIONS: [Action; 12] = [
    Action { name: "invoke_tool", principals: &[EntityType::Agent], resources: &[EntityType::Tool] },
    Action { name: "read_dataset", principals: ACTORS, resources: &[EntityType::Dataset] },
    Action { name: "write_dataset", principals: ACTORS, resources: &[EntityType::Dataset] },
    Action { name: "change_schema", principals: ACTORS, resources: &[EntityType::Dataset] },
    Action { name: "promote_dataset", principals: ACTORS, resources: &[EntityType::Dataset] },
    Action { name: "request_operation", principals: ACTORS, resources: &[EntityType::Operation] },
    Action { name: "approve_operation", principals: ACTORS, resources: &[EntityType::Operation] },
    Action { name: "execute_operation", principals: ACTORS, resources: &[EntityType::Operation] },
    Action { name: "grant", principals: ACTORS, resources: &[EntityType::Agent] },
    Action { name: "pause_agent", principals: ACTORS, resources: &[EntityType::Agent] },
    Action { name: "resume_agent", principals: ACTORS, resources: &[EntityType::Agent] },
    Action { name: "write_record", principals: ACTORS, resources: &[EntityType::Workspace] },
];

impl Action {
    /// The action named `name`, and its index in [`ACTIONS`].
    pub fn find(name: &str) -> Option<(usize, &'static Action)> {
        ACTIONS.iter().enumerate().find(|(_, action)| action.name == name)
    }

    /// The action's entity uid, `Action::"name"`.
    pub fn uid(&self) -> EntityUid {
        action_uid(self.name)
    }
}

/// `Action::"name"`.
pub(crate) fn action_uid(name: &str) -> EntityUid {
    // INVARIANT: "Action" is a valid type name (the schema tests parse it).
    EntityUid::from_type_name_and_id(
        "Action".parse().expect("a valid type name"),
        cedar_policy::EntityId::new(name),
    )
}

/// The parsed schema.
pub fn schema() -> &'static Schema {
    static SCHEMA_PARSED: LazyLock<Schema> = LazyLock::new(|| {
        // INVARIANT: the built-in schema parses; every test of this crate
        // parses it first, so a broken one never ships.
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA).expect("the built-in schema parses");
        schema
    });
    &SCHEMA_PARSED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parses_and_its_tables_agree_with_it() {
        let schema = schema();
        let declared: Vec<String> = schema.actions().map(|uid| uid.id().unescaped().to_owned()).collect();
        assert_eq!(declared.len(), ACTIONS.len());
        for action in ACTIONS {
            assert!(declared.iter().any(|name| name == action.name), "{} is declared", action.name);
            let principals: Vec<String> = schema
                .principals_for_action(&action.uid())
                .expect("declared")
                .map(|t| t.to_string())
                .collect();
            let mut expected: Vec<String> = action.principals.iter().map(|t| t.name().to_owned()).collect();
            let mut principals = principals;
            principals.sort();
            expected.sort();
            assert_eq!(principals, expected, "principals of {}", action.name);
            let mut resources: Vec<String> = schema
                .resources_for_action(&action.uid())
                .expect("declared")
                .map(|t| t.to_string())
                .collect();
            let mut expected: Vec<String> = action.resources.iter().map(|t| t.name().to_owned()).collect();
            resources.sort();
            expected.sort();
            assert_eq!(resources, expected, "resources of {}", action.name);
        }
        let types: Vec<String> = schema.entity_types().map(|t| t.to_string()).collect();
        for entity_type in EntityType::ALL {
            assert!(types.contains(&entity_type.name().to_owned()), "{entity_type} is declared");
        }
        assert_eq!(types.len(), EntityType::ALL.len());
    }

    #[test]
    fn membership_follows_the_schema() {
        let schema = schema();
        for child in EntityType::ALL {
            for ancestor in EntityType::ALL {
                let ancestor_name = ancestor.name().parse().expect("type name");
                let declared = child == ancestor
                    || schema
                        .ancestors(&child.name().parse().expect("type name"))
                        .is_some_and(|mut ancestors| ancestors.any(|a| *a == ancestor_name));
                assert_eq!(child.can_be_in(ancestor), declared, "{child} in {ancestor}");
            }
        }
    }
}
