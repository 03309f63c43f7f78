//! Who is asking, and what they may do.

use charter_model::{Record, RecordKind, Role, WorkspaceName};
use serde::Serialize;

use crate::{App, AppError, Result};

/// Who a caller acts as in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The name the audit trail records.
    pub actor: String,
    /// The operating-system account acting as someone else (break-glass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// `person`, `agent`, or `unregistered`.
    pub registered_as: &'static str,
    /// The person's roles (or the token's role).
    pub roles: Vec<Role>,
}

/// What an id is in a workspace's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Registered {
    /// A person, with their roles.
    Person(Vec<Role>),
    /// An agent.
    Agent,
    /// Neither.
    No,
}

impl App {
    /// What `id` is in the registry of `row`.
    pub(crate) async fn registered(&self, row: &charter_store::WorkspaceRow, id: &str) -> Result<Registered> {
        if let Some(stored) = self.store.record(row.id, RecordKind::Person, id).await? {
            return match RecordKind::Person.parse_json(&stored.body) {
                Ok(Record::Person(person)) => Ok(Registered::Person(person.roles)),
                Ok(_) => Ok(Registered::Person(Vec::new())),
                Err(error) => Err(AppError::corrupt(format!("person \"{id}\": {error}"))),
            };
        }
        Ok(if self.store.record(row.id, RecordKind::Agent, id).await?.is_some() {
            Registered::Agent
        } else {
            Registered::No
        })
    }

    /// Who `caller` acts as in `workspace`: registered or not, with which
    /// roles.
    pub async fn whoami(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<Identity> {
        let row = self.visible_workspace(caller, workspace).await?;
        let actor = caller.actor().to_owned();
        let (registered_as, mut roles) = match self.registered(&row, &actor).await? {
            Registered::Person(roles) => ("person", roles),
            Registered::Agent => ("agent", Vec::new()),
            Registered::No => ("unregistered", Vec::new()),
        };
        if let Caller::Token { role, .. } = caller {
            roles = vec![*role];
        }
        Ok(Identity { actor, break_glass: caller.break_glass().map(str::to_owned), registered_as, roles })
    }
}

/// The party a use case acts for. Its name is what the audit trail records
/// as the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Someone with direct access to the data directory or the database
    /// (the CLI): may do everything, in every workspace.
    Local {
        /// Recorded as the actor.
        actor: String,
        /// The operating-system account acting as `actor` when that is
        /// someone else: a break-glass by the installation's administrator,
        /// recorded in the ledger, which never approves at Tier 3 or above.
        break_glass: Option<String>,
    },
    /// The holder of an API token: one workspace, one role.
    Token {
        /// The token's public id.
        token_id: String,
        /// The token's name, recorded as the actor.
        name: String,
        /// The only workspace the token reaches.
        workspace: WorkspaceName,
        /// The role the token carries.
        role: Role,
    },
}

impl Caller {
    /// A local caller acting as itself.
    pub fn local(actor: impl Into<String>) -> Self {
        Caller::Local { actor: actor.into(), break_glass: None }
    }

    /// A local caller: the operating-system `account` acting as `actor`,
    /// which is a break-glass when `actor` is not the account itself.
    pub fn local_as(account: &str, actor: Option<&str>) -> Self {
        match actor {
            Some(actor) if actor != account => {
                Caller::Local { actor: actor.to_owned(), break_glass: Some(account.to_owned()) }
            }
            _ => Caller::local(account),
        }
    }

    /// The name the audit trail records.
    pub fn actor(&self) -> &str {
        match self {
            Caller::Local { actor, .. } => actor,
            Caller::Token { name, .. } => name,
        }
    }

    /// The account acting as someone else, when this is a break-glass.
    pub fn break_glass(&self) -> Option<&str> {
        match self {
            Caller::Local { break_glass, .. } => break_glass.as_deref(),
            Caller::Token { .. } => None,
        }
    }

    /// Fails when the caller is a break-glass: what it would do must be done
    /// by the person in their own name (`what` says what that is).
    pub(crate) fn require_own_identity(&self, what: &str) -> Result<()> {
        match self.break_glass() {
            None => Ok(()),
            Some(account) => Err(AppError::Forbidden(format!(
                "{account} acting as {} (--actor) is a break-glass, which never {what}: \
                 the person does it in their own name (their login, or their token over the API)",
                self.actor()
            ))),
        }
    }

    /// Whether the caller may see anything of `workspace`.
    pub fn may_see(&self, workspace: &WorkspaceName) -> bool {
        match self {
            Caller::Local { .. } => true,
            Caller::Token { workspace: own, .. } => own == workspace,
        }
    }

    fn role(&self) -> Option<Role> {
        match self {
            Caller::Local { .. } => None,
            Caller::Token { role, .. } => Some(*role),
        }
    }

    /// Fails unless the caller may create and update records of `kind`:
    /// local callers, `admin` tokens, and tokens with the role the kind
    /// names (see [`RecordKind::writer`]).
    pub(crate) fn require_writer(&self, kind: RecordKind) -> Result<()> {
        match self.role() {
            None | Some(Role::Admin) => Ok(()),
            Some(role) if role == kind.writer() => Ok(()),
            Some(role) => Err(AppError::Forbidden(format!(
                "role {role} may not write {} records: that needs {} or admin",
                kind.name(),
                kind.writer()
            ))),
        }
    }

    /// Whether the caller's role may write records of `kind` (the decision
    /// point still decides each write): for interfaces that offer only what
    /// a role may try.
    pub fn may_write(&self, kind: RecordKind) -> bool {
        self.require_writer(kind).is_ok()
    }

    /// Whether the caller may ask for decisions at all (every role but
    /// auditors): for interfaces that offer only what a role may try.
    pub fn may_decide(&self) -> bool {
        self.require_decider().is_ok()
    }

    /// The role of a token's holder (`None` for local callers).
    pub fn token_role(&self) -> Option<Role> {
        self.role()
    }

    /// Fails unless the caller is local, an admin, or holds `role`.
    pub(crate) fn require_role(&self, role: Role) -> Result<()> {
        match self.role() {
            None | Some(Role::Admin) => Ok(()),
            Some(own) if own == role => Ok(()),
            Some(own) => {
                Err(AppError::Forbidden(format!("role {own} may not do this: it needs {role} or admin")))
            }
        }
    }

    /// Fails unless the caller may ask for decisions, which are written to
    /// the ledger: everyone but auditors, who only read.
    pub(crate) fn require_decider(&self) -> Result<()> {
        match self.role() {
            Some(Role::Auditor) => Err(AppError::Forbidden(
                "role auditor may not ask for decisions: they are written to the ledger".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Fails unless the caller administers the workspace.
    pub(crate) fn require_admin(&self) -> Result<()> {
        match self.role() {
            None | Some(Role::Admin) => Ok(()),
            Some(role) => Err(AppError::Forbidden(format!("role {role} may not do this: it needs admin"))),
        }
    }

    /// Fails unless the caller is local (workspace creation and other
    /// operations above any one workspace).
    pub(crate) fn require_local(&self) -> Result<()> {
        match self {
            Caller::Local { .. } => Ok(()),
            Caller::Token { .. } => {
                Err(AppError::Forbidden("API tokens are scoped to one workspace and cannot do this".into()))
            }
        }
    }
}
