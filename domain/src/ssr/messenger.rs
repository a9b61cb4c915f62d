//! The messenger as the edges see it: each call does its domain work, and after the
//! commit tells the affected users' open sockets. REST handlers, server functions and
//! the WebSocket handler all call these, so the rules and the fan-out live in one place.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::live::Hub;
use super::{Db, accounts, chats, directory, messages, sessions};
use crate::error::DomainError;
use crate::input::NewAccount;
use crate::model::{ChatSummary, Message, User, UserPage};
use crate::protocol::ServerFrame;

/// Sign-in attempts allowed per email address: a burst of this many, then one more
/// every 60/N seconds.
const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 10;
/// Forget idle rate-limit entries once this many addresses are tracked.
const SIGN_IN_KEYS_KEPT: usize = 10_000;

/// The database plus this node's open sockets. Cheap to clone.
#[derive(Clone)]
pub struct Messenger {
    /// The database.
    pub db: Db,
    /// Open sockets on this node.
    pub hub: Hub,
    sign_in_attempts: Arc<DefaultKeyedRateLimiter<String>>,
}

impl Messenger {
    /// A messenger over a database, with no sockets yet.
    pub fn new(db: Db) -> Self {
        let per_minute = NonZeroU32::new(SIGN_IN_ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self { db, hub: Hub::default(), sign_in_attempts: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))) }
    }

    /// Creates an account and signs it in (returns the session token); everyone online
    /// sees the newcomer appear.
    pub async fn sign_up(&self, account: NewAccount, user_agent: Option<&str>) -> Result<(User, String), DomainError> {
        let user = accounts::register(&self.db, account).await?;
        let token = sessions::start(&self.db, user.id, user_agent).await?;
        self.hub.deliver_to_everyone(&ServerFrame::UserJoined { user: user.clone() });
        Ok((user, token))
    }

    /// Checks the password and starts a session (returns its token). Attempts are limited
    /// per email address, so guessing one account's password is slow.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        user_agent: Option<&str>,
    ) -> Result<(User, String), DomainError> {
        let key: String = email.trim().to_lowercase().chars().take(crate::input::EMAIL_MAX).collect();
        if self.sign_in_attempts.len() > SIGN_IN_KEYS_KEPT {
            self.sign_in_attempts.retain_recent();
        }
        if self.sign_in_attempts.check_key(&key).is_err() {
            return Err(DomainError::RateLimited);
        }
        let user = accounts::authenticate(&self.db, email, password).await?;
        let token = sessions::start(&self.db, user.id, user_agent).await?;
        Ok((user, token))
    }

    /// Ends a session and closes the sockets it opened.
    pub async fn sign_out(&self, token: &str) -> Result<(), DomainError> {
        if let Some(session_id) = sessions::revoke(&self.db, token).await? {
            self.hub.close_session(session_id);
        }
        Ok(())
    }

    /// A page of the directory.
    pub async fn directory(&self, query: directory::DirectoryQuery) -> Result<UserPage, DomainError> {
        directory::page(&self.db, query).await
    }

    /// Stores a message (once per client_id) and delivers it to both participants'
    /// sockets, every tab and device.
    pub async fn send(&self, me: i64, chat_id: i64, client_id: &str, text: &str) -> Result<Message, DomainError> {
        let sent = messages::send(&self.db, me, chat_id, client_id, text).await?;
        if sent.created {
            let (lo, hi) = sent.participants;
            self.hub.deliver(&[lo, hi], &ServerFrame::Message { message: sent.message.clone() });
        }
        Ok(sent.message)
    }

    /// Moves my read marker; my other tabs update their unread counts.
    pub async fn mark_read(&self, me: i64, chat_id: i64, seq: i64) -> Result<ChatSummary, DomainError> {
        let chat = chats::mark_read(&self.db, me, chat_id, seq).await?;
        self.hub.deliver(&[me], &ServerFrame::Read { chat: chat.clone() });
        Ok(chat)
    }
}
