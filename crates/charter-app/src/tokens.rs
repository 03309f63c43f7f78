//! API tokens: bearer secrets scoped to one workspace and one role, stored
//! only as their SHA-256.

use charter_model::{Role, WorkspaceName, audit};
use sha2::{Digest, Sha256};

use crate::audit::Change;
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
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn random_hex(len: usize) -> Result<String> {
    let mut bytes = vec![0_u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|error| AppError::Forbidden(format!("no secure random numbers available: {error}")))?;
    Ok(hex(&bytes))
}

/// The hash under which a secret is stored.
fn secret_hash(secret: &str) -> String {
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
        let row = self.visible_workspace(caller, workspace).await?;
        caller.require_admin()?;
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
        };
        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.insert_token(&token.id, row.id, role, &token.name, &secret_hash(&token.secret), at).await?;
        let value = serde_json::json!({ "id": token.id, "name": token.name, "role": role.as_str() });
        let change = Change {
            action: audit::action::CREATE.into(),
            kind: "token".into(),
            subject: token.id.clone(),
            version: None,
            prev_version: None,
            value: Some(charter_model::canonical::to_string(&value)),
        };
        crate::audit::append(&mut tx, &row, caller.actor(), at, vec![change]).await?;
        self.commit(tx, &row).await?;
        Ok(token)
    }

    /// The caller a bearer secret stands for, if it is a live token.
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
        let found = self.store.token_by_hash(&hash).await?;
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
