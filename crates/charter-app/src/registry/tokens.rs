//! API tokens: bearer secrets scoped to one workspace and one role, stored
//! only as their SHA-256. A token expires ([`DEFAULT_TOKEN_TTL`] unless its
//! creator says otherwise, at most [`MAX_TOKEN_TTL`]), can be listed with
//! its last use, revoked and rotated; a revocation takes effect in every
//! process sharing the database within [`TOKEN_CACHE_TTL`].

use charter_model::{Role, Span, Timestamp, WorkspaceName, audit};
use sha2::{Digest, Sha256};

use crate::core::audit::AuditChange;
use crate::core::caller::Registered;
use crate::{App, AppError, Caller, Result};

/// Prefix of every token secret, so secret scanners can recognise them.
pub const SECRET_PREFIX: &str = "charter_";

/// A token just created. Its secret is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Public id.
    pub id: String,
    /// The bearer secret.
    pub secret: String,
    /// The workspace it reaches.
    pub workspace: WorkspaceName,
    /// The role it carries.
    pub role: Role,
    /// Its name, recorded as the actor of its requests.
    pub name: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// How long a token lives unless its creator says otherwise.
pub const DEFAULT_TOKEN_TTL: Span = Span::from_secs(90 * 86_400);

/// The longest a token may live.
pub const MAX_TOKEN_TTL: Span = Span::from_secs(366 * 86_400);

/// How precisely a token's last use is kept: it is written at most this
/// often per token.
const LAST_USED_PRECISION: Span = Span::from_secs(60);

/// A token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Public id.
    pub id: String,
    /// Its name, recorded as the actor of its requests.
    pub name: String,
    /// The role it carries.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working (`None` for tokens made before tokens expired).
    pub expires_at: Option<Timestamp>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn random_hex(len: usize) -> Result<String> {
    let mut bytes = vec![0_u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|error| AppError::Forbidden(format!("no secure random numbers available: {error}")))?;
    Ok(hex(&bytes))
}

/// The hash under which a secret is stored.
pub(crate) fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

impl App {
    /// Creates a token for `workspace` with `role`. Local callers and admin
    /// tokens of the workspace may do this.
    pub async fn create_token(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        role: Role,
        name: &str,
    ) -> Result<NewToken> {
        self.create_token_for(caller, workspace, role, name, None).await
    }

    /// Creates a token that lives for `ttl` (default [`DEFAULT_TOKEN_TTL`],
    /// at most [`MAX_TOKEN_TTL`]).
    pub async fn create_token_for(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        role: Role,
        name: &str,
        ttl: Option<Span>,
    ) -> Result<NewToken> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_admin()?;
        caller.require_own_identity("issues tokens")?;
        let at = self.clock.now();
        let expires_at = token_expiry(at, ttl)?;
        check_holder(caller, &row, role, name, &self.registered(&row, name).await?)?;
        let mut tx = self.store.begin().await?;
        let token = issue(&mut tx, &row, caller, role, name, at, expires_at).await?;
        self.commit(tx, &row).await?;
        Ok(token)
    }

    /// The workspace's tokens, newest first (admins only).
    pub async fn list_tokens(&self, caller: &Caller, workspace: &WorkspaceName) -> Result<Vec<TokenInfo>> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_admin()?;
        let now = self.clock.now();
        Ok(self.store.tokens(row.id).await?.into_iter().map(|token| info(token, now)).collect())
    }

    /// Revokes a token: it stops working at once in this process and within
    /// [`TOKEN_CACHE_TTL`] in every other (admins only).
    pub async fn revoke_token(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
    ) -> Result<TokenInfo> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_admin()?;
        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        let token = revoke(&mut tx, &row, caller, id, at).await?;
        self.commit(tx, &row).await?;
        self.forget_token(id);
        Ok(info(token, at))
    }

    /// Replaces a token with a new secret of the same name and role, and
    /// revokes the old one, in one transaction (admins only). The new one
    /// lives for `ttl` (default [`DEFAULT_TOKEN_TTL`]).
    pub async fn rotate_token(
        &self,
        caller: &Caller,
        workspace: &WorkspaceName,
        id: &str,
        ttl: Option<Span>,
    ) -> Result<NewToken> {
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_admin()?;
        caller.require_own_identity("issues tokens")?;
        let at = self.clock.now();
        let expires_at = token_expiry(at, ttl)?;
        let mut tx = self.store.begin().await?;
        let old = revoke(&mut tx, &row, caller, id, at).await?;
        // The holder must still hold the role; the installation's own admin
        // token, held by no one registered, rotates as it was issued.
        let registered = self.registered(&row, &old.name).await?;
        if !(old.role == Role::Admin && registered == Registered::No) {
            check_holder(caller, &row, old.role, &old.name, &registered)?;
        }
        let token = issue(&mut tx, &row, caller, old.role, &old.name, at, expires_at).await?;
        self.commit(tx, &row).await?;
        self.forget_token(id);
        Ok(token)
    }

    fn forget_token(&self, id: &str) {
        let mut tokens = self.cache.tokens.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.retain(|_, (caller, _)| !matches!(caller, Caller::Token { token_id, .. } if token_id == id));
    }
}

/// When a token created at `at` for `ttl` expires.
fn token_expiry(at: Timestamp, ttl: Option<Span>) -> Result<Timestamp> {
    let ttl = ttl.unwrap_or(DEFAULT_TOKEN_TTL);
    let problem = if ttl.as_secs() == 0 {
        Some(format!("ttl: {ttl} is not a lifetime; give a positive one such as 30d"))
    } else if ttl > MAX_TOKEN_TTL {
        Some(format!("ttl: {ttl} is longer than the longest a token lives, {MAX_TOKEN_TTL}"))
    } else {
        None
    };
    match problem
        .or_else(|| at.plus(ttl).is_none().then(|| format!("ttl: {ttl} from now is past the end of time")))
    {
        Some(problem) => Err(AppError::Invalid { what: "token".into(), problems: vec![problem] }),
        None => Ok(at.plus(ttl).unwrap_or(at)),
    }
}

fn info(token: charter_store::TokenRow, now: Timestamp) -> TokenInfo {
    let state = if token.revoked_at.is_some() {
        "revoked"
    } else if token.expires_at.is_some_and(|expires| expires <= now) {
        "expired"
    } else {
        "active"
    };
    TokenInfo {
        id: token.id,
        name: token.name,
        role: token.role,
        created_at: token.created_at,
        expires_at: token.expires_at,
        last_used_at: token.last_used_at,
        revoked_at: token.revoked_at,
        state,
    }
}

/// Revokes token `id` of `row` inside `tx`, with its audit event.
async fn revoke(
    tx: &mut charter_store::WriteTx,
    row: &charter_store::WorkspaceRow,
    caller: &Caller,
    id: &str,
    at: Timestamp,
) -> Result<charter_store::TokenRow> {
    let token = tx.token(row.id, id).await?.ok_or_else(|| AppError::Invalid {
        what: "token".into(),
        problems: vec![format!("no token \"{id}\" in this workspace")],
    })?;
    if !tx.revoke_token(row.id, id, at).await? {
        return Err(AppError::Invalid {
            what: "token".into(),
            problems: vec![format!("token \"{id}\" was already revoked")],
        });
    }
    let value = serde_json::json!({ "id": id, "name": token.name, "role": token.role.as_str(), "revoked_at": at.to_string() });
    let change = AuditChange {
        action: "revoke".into(),
        kind: "token".into(),
        subject: id.to_owned(),
        version: None,
        prev_version: None,
        value: Some(charter_model::canonical::to_string(&value)),
    };
    crate::core::audit::append(tx, row, caller.actor(), at, vec![change]).await?;
    Ok(charter_store::TokenRow { revoked_at: Some(at), ..token })
}

/// Fails unless `holder`, registered as `registered`, may hold a token of
/// `role` in the workspace `row`: a registered person who holds the role,
/// or a registered agent (operator tokens only: agents ask for decisions
/// and declare operations). The one exception is the installation's own
/// admin token: a local caller may issue one to itself, registered or not
/// (what needs a registered actor then refuses it like anyone else).
fn check_holder(
    caller: &Caller,
    row: &charter_store::WorkspaceRow,
    role: Role,
    holder: &str,
    registered: &Registered,
) -> Result<()> {
    let refused = |problem: String| AppError::invalid("token", vec![problem]);
    match registered {
        Registered::Person(roles) if roles.contains(&role) => Ok(()),
        Registered::Person(roles) => {
            let held: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            Err(refused(format!(
                "role: {holder} holds [{}], not {role}; a token carries one of its holder's roles",
                held.join(", ")
            )))
        }
        Registered::Agent if role == Role::Operator => Ok(()),
        Registered::Agent => {
            Err(refused(format!("role: agent {holder} may hold an operator token, not {role}")))
        }
        Registered::No
            if matches!(caller, Caller::Local { .. }) && role == Role::Admin && holder == caller.actor() =>
        {
            Ok(())
        }
        Registered::No => Err(refused(format!(
            "name: \"{holder}\" is neither a person nor an agent registered in workspace {}: \
             a token is bound to its holder",
            row.name
        ))),
    }
}

/// Creates a token inside `tx`, with its audit event.
async fn issue(
    tx: &mut charter_store::WriteTx,
    row: &charter_store::WorkspaceRow,
    caller: &Caller,
    role: Role,
    name: &str,
    at: Timestamp,
    expires_at: Timestamp,
) -> Result<NewToken> {
    let workspace = &row.name;
    {
        let name = name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(AppError::Invalid {
                what: "token".into(),
                problems: vec![format!("name: must be 1 to 128 printable characters, got \"{name}\"")],
            });
        }
        let token = NewToken {
            id: format!("tok_{}", random_hex(8)?),
            secret: format!("{SECRET_PREFIX}{}", random_hex(32)?),
            workspace: workspace.clone(),
            role,
            name: name.to_owned(),
            expires_at,
        };
        tx.insert_token(&charter_store::NewTokenRow {
            id: &token.id,
            workspace: row.id,
            role,
            name: &token.name,
            secret_hash: &secret_hash(&token.secret),
            created_at: at,
            expires_at,
        })
        .await?;
        let value = serde_json::json!({
            "id": token.id, "name": token.name, "role": role.as_str(), "expires_at": expires_at.to_string()
        });
        let change = AuditChange {
            action: audit::action::CREATE.into(),
            kind: "token".into(),
            subject: token.id.clone(),
            version: None,
            prev_version: None,
            value: Some(charter_model::canonical::to_string(&value)),
        };
        crate::core::audit::append(tx, row, caller.actor(), at, vec![change]).await?;
        Ok(token)
    }
}

impl App {
    /// The caller a bearer secret stands for, if it is a live token:
    /// neither revoked nor expired.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Caller>> {
        if !secret.starts_with(SECRET_PREFIX) {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        let tokens = &self.cache.tokens;
        let cached = tokens.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&hash).cloned();
        if let Some((caller, read)) = cached
            && read.elapsed() < TOKEN_CACHE_TTL
        {
            return Ok(Some(caller));
        }
        let now = self.clock.now();
        let found = self.store.token_by_hash(&hash).await?;
        let found = found.filter(|(token, _)| token.expires_at.is_none_or(|expires| now < expires));
        if let Some((token, _)) = &found
            && token
                .last_used_at
                .is_none_or(|used| used.plus(LAST_USED_PRECISION).is_none_or(|due| due <= now))
        {
            // Bookkeeping only: a failure to note the use never refuses it.
            if let Err(error) = self.store.touch_token(&token.id, now).await {
                tracing::warn!(%error, token = %token.id, "could not note the token's use");
            }
        }
        let caller = found.map(|(token, workspace)| Caller::Token {
            token_id: token.id,
            name: token.name,
            workspace,
            role: token.role,
        });
        if let Some(caller) = &caller {
            let mut tokens = tokens.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if tokens.len() >= TOKEN_CACHE_SIZE {
                tokens.retain(|_, (_, read)| read.elapsed() < TOKEN_CACHE_TTL);
                if tokens.len() >= TOKEN_CACHE_SIZE {
                    tokens.clear();
                }
            }
            tokens.insert(hash, (caller.clone(), std::time::Instant::now()));
        }
        Ok(caller)
    }
}

/// How long an authenticated token is trusted without asking the database
/// again: a token revoked in the database stops working within this time.
/// Unknown tokens are never cached.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Most tokens remembered at once.
const TOKEN_CACHE_SIZE: usize = 10_000;
