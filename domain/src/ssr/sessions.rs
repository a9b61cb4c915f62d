//! Sign-in sessions: opaque random tokens handed to the client, stored only as SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::Db;
use super::entity::{session, user};
use crate::error::DomainError;
use crate::model::User;

/// A session lives this long after its last use.
pub const SESSION_TTL: Duration = Duration::days(30);
/// Expiry is pushed forward at most this often, so reads stay reads.
const RENEW_EVERY: Duration = Duration::minutes(10);
/// Longest stored user agent.
const USER_AGENT_MAX: usize = 256;

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What is stored instead of a token.
pub(crate) fn digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in caller of a request.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    /// The session's id, to find its sockets when it is revoked.
    pub session_id: i64,
    /// Who is signed in.
    pub user: User,
}

/// Starts a session for a user and returns the token for the cookie.
pub async fn start(db: &impl ConnectionTrait, user_id: i64, user_agent: Option<&str>) -> Result<String, DomainError> {
    let token = random_token();
    let now = Utc::now();
    session::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(digest(&token)),
        created_at: Set(now),
        expires_at: Set(now + SESSION_TTL),
        last_used_at: Set(now),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Finds the live session a token belongs to, renewing its expiry on use.
/// Expired sessions and deactivated users resolve to `None`.
pub async fn resolve(db: &Db, token: &str) -> Result<Option<CurrentSession>, DomainError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(digest(token)))
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    let Some((session, Some(user))) = found else { return Ok(None) };
    let now = Utc::now();
    if session.expires_at <= now || !user.is_active {
        return Ok(None);
    }
    let session_id = session.id;
    if now - session.last_used_at >= RENEW_EVERY {
        let mut renewed: session::ActiveModel = session.into();
        renewed.last_used_at = Set(now);
        renewed.expires_at = Set(now + SESSION_TTL);
        renewed.update(db).await?;
        user::Entity::update_many()
            .col_expr(user::Column::LastSeenAt, sea_orm::sea_query::Expr::value(now))
            .filter(user::Column::Id.eq(user.id))
            .exec(db)
            .await?;
    }
    Ok(Some(CurrentSession { session_id, user: user.into() }))
}

/// Revokes the session a token belongs to; returns its id when there was one.
pub async fn revoke(db: &Db, token: &str) -> Result<Option<i64>, DomainError> {
    let Some(found) = session::Entity::find().filter(session::Column::TokenHash.eq(digest(token))).one(db).await?
    else {
        return Ok(None);
    };
    session::Entity::delete_by_id(found.id).exec(db).await?;
    Ok(Some(found.id))
}

/// Revokes every session of a user (deactivation, password change).
pub async fn revoke_all(db: &Db, user_id: i64) -> Result<u64, DomainError> {
    let deleted = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(deleted.rows_affected)
}
