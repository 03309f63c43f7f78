//! Sessions of the web console. A token's holder signs in once with the
//! token; the session that results is an opaque secret kept in a cookie and
//! stored only as its SHA-256, like tokens. It stands for the same caller
//! as its token, lives at most [`SESSION_TTL`], and ends earlier when it is
//! signed out or its token is revoked or expires. Signing in and out are
//! recorded in the ledger (kind `session`). Signing in is authentication,
//! not a decision: the token already says who may do what, and every
//! request of the session is decided as the token's would be.

use crate::core::audit::AuditChange;
use charter_model::{Span, Timestamp};
use sha2::{Digest, Sha256};

use super::tokens::{hex, random_hex, secret_hash};
use crate::{App, AppError, Caller, Result};

/// How a session secret begins.
pub(crate) const SESSION_PREFIX: &str = "charter_session_";

/// The longest a session lives.
pub const SESSION_TTL: Span = Span::from_secs(8 * 3_600);

/// The audit kind of sessions.
pub(crate) const SESSION_KIND: &str = "session";

/// A session just opened. Its secret goes into the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Public id (recorded in the ledger).
    pub id: String,
    /// The secret.
    pub secret: String,
    /// Who it stands for.
    pub caller: Caller,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
}

/// What a session secret stands for now.
#[derive(Debug, Clone)]
pub enum SessionState {
    /// A live session.
    Live {
        /// Its public id.
        id: String,
        /// Who it stands for.
        caller: Caller,
        /// When it ends at the latest.
        expires_at: Timestamp,
    },
    /// A session that was live and has expired (or whose token expired).
    Expired,
    /// No session: never one, signed out, or its token revoked.
    Unknown,
}

/// The CSRF token of a session: a hash of its secret that the pages carry
/// in their forms. Only the holder of the cookie can know it, and it does
/// not reveal the secret.
pub fn csrf_token(session_secret: &str) -> String {
    let digest =
        Sha256::new().chain_update(b"charter console csrf\0").chain_update(session_secret).finalize();
    hex(&digest[..16])
}

impl App {
    /// Opens a console session for the holder of a live token secret;
    /// `None` when the secret is no live token.
    pub async fn open_console_session(&self, token_secret: &str) -> Result<Option<NewSession>> {
        let Some(caller) = self.authenticate(token_secret).await? else { return Ok(None) };
        let Caller::Token { token_id, name, workspace, .. } = &caller else { return Ok(None) };
        let row = self
            .store
            .workspace(workspace)
            .await?
            .ok_or_else(|| AppError::WorkspaceNotFound(workspace.clone()))?;
        let at = self.clock.now();
        let expires_at =
            at.plus(SESSION_TTL).ok_or_else(|| AppError::internal("the session's end is out of range"))?;
        let id = format!("ses_{}", random_hex(8)?);
        let secret = format!("{SESSION_PREFIX}{}", random_hex(32)?);
        let mut tx = self.store.begin().await?;
        tx.insert_session(&id, &secret_hash(&secret), token_id, at, expires_at).await?;
        let value = serde_json::json!({ "id": id, "token": token_id, "expires_at": expires_at.to_string() });
        let change = AuditChange {
            action: "sign_in".into(),
            kind: SESSION_KIND.into(),
            subject: id.clone(),
            version: None,
            prev_version: None,
            value: Some(charter_model::canonical::to_string(&value)),
        };
        crate::core::audit::append(&mut tx, &row, name, at, vec![change]).await?;
        self.commit(tx, &row).await?;
        Ok(Some(NewSession { id, secret, caller, expires_at }))
    }

    /// What a session secret stands for now.
    pub async fn console_session(&self, secret: &str) -> Result<SessionState> {
        if !secret.starts_with(SESSION_PREFIX) {
            return Ok(SessionState::Unknown);
        }
        let Some((id, expires_at, token, workspace)) =
            self.store.session_by_hash(&secret_hash(secret)).await?
        else {
            return Ok(SessionState::Unknown);
        };
        let now = self.clock.now();
        if expires_at <= now || token.expires_at.is_some_and(|expires| expires <= now) {
            return Ok(SessionState::Expired);
        }
        let caller = Caller::Token { token_id: token.id, name: token.name, workspace, role: token.role };
        Ok(SessionState::Live { id, caller, expires_at })
    }

    /// Ends a session (signing out); whether it was live.
    pub async fn end_console_session(&self, secret: &str) -> Result<bool> {
        let SessionState::Live { id, caller, .. } = self.console_session(secret).await? else {
            return Ok(false);
        };
        let Caller::Token { workspace, .. } = &caller else { return Ok(false) };
        let row = self.visible_workspace(&caller, workspace).await?;
        let at = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.revoke_session(&id, at).await? {
            return Ok(false);
        }
        let change = AuditChange {
            action: "sign_out".into(),
            kind: SESSION_KIND.into(),
            subject: id.clone(),
            version: None,
            prev_version: None,
            value: None,
        };
        crate::core::audit::append(&mut tx, &row, caller.actor(), at, vec![change]).await?;
        self.commit(tx, &row).await?;
        Ok(true)
    }
}
