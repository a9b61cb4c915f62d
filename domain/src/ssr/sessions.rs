//! Sign-in sessions: opaque random tokens handed to the client, stored only as SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};

use super::Db;
use super::entity::{session, user};
use crate::error::DomainError;
use crate::model::{SessionInfo, User};

/// A session lives this long after its last use.
pub const SESSION_TTL: Duration = Duration::days(30);
/// And never longer than this after it began, however often it is used.
pub const SESSION_LIFETIME_MAX: Duration = Duration::days(90);
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
    if !is_current(&session, now) || !user.is_active {
        return Ok(None);
    }
    let session_id = session.id;
    if now - session.last_used_at >= RENEW_EVERY {
        let ends = Ord::min(now + SESSION_TTL, session.created_at + SESSION_LIFETIME_MAX);
        let mut renewed: session::ActiveModel = session.into();
        renewed.last_used_at = Set(now);
        renewed.expires_at = Set(ends);
        renewed.update(db).await?;
        user::Entity::update_many()
            .col_expr(user::Column::LastSeenAt, sea_orm::sea_query::Expr::value(now))
            .filter(user::Column::Id.eq(user.id))
            .exec(db)
            .await?;
    }
    Ok(Some(CurrentSession { session_id, user: user.into() }))
}

/// Neither idle too long nor older than [`SESSION_LIFETIME_MAX`].
fn is_current(session: &session::Model, now: chrono::DateTime<Utc>) -> bool {
    session.expires_at > now && session.created_at + SESSION_LIFETIME_MAX > now
}

/// True while a session is still good (not revoked, not expired, its user active): a
/// live socket asks again at every heartbeat.
pub async fn is_live(db: &Db, session_id: i64) -> Result<bool, DomainError> {
    let found = session::Entity::find_by_id(session_id).find_also_related(user::Entity).one(db).await?;
    Ok(matches!(found, Some((session, Some(user))) if user.is_active && is_current(&session, Utc::now())))
}

/// My sessions, the one in use now marked, most recently used first.
pub async fn list(db: &Db, user_id: i64, current: i64) -> Result<Vec<SessionInfo>, DomainError> {
    let now = Utc::now();
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .order_by_desc(session::Column::LastUsedAt)
        .all(db)
        .await?;
    Ok(sessions
        .into_iter()
        .filter(|s| is_current(s, now))
        .map(|s| SessionInfo {
            id: s.id,
            device: device_of(s.user_agent.as_deref()),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            current: s.id == current,
        })
        .collect())
}

/// Ends one of my sessions; `NotFound` when it is not mine (or gone).
pub async fn revoke_mine(db: &Db, user_id: i64, session_id: i64) -> Result<(), DomainError> {
    let deleted = session::Entity::delete_many()
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(DomainError::NotFound("session"));
    }
    Ok(())
}

/// Ends every session of mine but `keep`; returns how many ended.
pub async fn revoke_others(db: &impl ConnectionTrait, user_id: i64, keep: i64) -> Result<u64, DomainError> {
    let deleted = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Id.ne(keep))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Deletes sessions that can no longer be used (idle too long, or too old).
pub async fn purge(db: &Db) -> Result<u64, DomainError> {
    let now = Utc::now();
    let deleted = session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(now).or(session::Column::CreatedAt.lte(now - SESSION_LIFETIME_MAX)))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// "Firefox on Linux", from a user agent; "Unknown device" when there is none.
pub fn device_of(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    // Order matters: Edge and Opera say Chrome too, Chrome says Safari too.
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
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

#[cfg(test)]
mod tests {
    use super::device_of;

    #[test]
    fn devices_are_named_after_the_browser_and_the_system() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_of(Some(chrome)), "Chrome on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_of(Some(iphone)), "Safari on iPhone");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(device_of(Some(edge)), "Edge on Windows");
        assert_eq!(device_of(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(device_of(None), "Unknown device");
    }
}
