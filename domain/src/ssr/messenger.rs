//! The messenger as the edges see it: each call does its domain work, and after the
//! commit tells the affected users' open sockets through the bus. REST handlers, server
//! functions and the WebSocket handler all call these, so the rules and the fan-out live
//! in one place. Sends go through the node's one writer (group commit).

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::bus::{Bus, Event, LocalBus};
use super::live::{ConnectionRef, Hub};
use super::passwords::Hashing;
use super::writer::{Writer, WriterConfig};
use super::{Db, accounts, chats, directory, messages, sessions};
use crate::error::DomainError;
use crate::input::{NewAccount, NewMessage};
use crate::model::{ChatSummary, Message, User, UserPage};

/// Sign-in attempts allowed per email address: a burst of this many, then one more
/// every 60/N seconds.
const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 10;
/// Forget idle rate-limit entries once this many addresses are tracked.
const SIGN_IN_KEYS_KEPT: usize = 10_000;

/// The database, the message writer, the bus and this node's open sockets. Cheap to clone.
#[derive(Clone)]
pub struct Messenger {
    /// The database.
    pub db: Db,
    /// Open sockets on this node.
    pub hub: Hub,
    bus: Arc<dyn Bus>,
    writer: Writer,
    hashing: Hashing,
    sign_in_attempts: Arc<DefaultKeyedRateLimiter<String>>,
}

impl Messenger {
    /// A messenger over a database, with no sockets yet. Its writer stores messages
    /// through `writer_db` (on SQLite, a pool of one connection: the only writer) and runs
    /// on the current Tokio runtime; passwords are hashed through `hashing`.
    pub fn new(db: Db, writer_db: Db, config: WriterConfig, hashing: Hashing) -> Self {
        let hub = Hub::default();
        let bus: Arc<dyn Bus> = Arc::new(LocalBus::new(hub.clone()));
        let writer = Writer::spawn(writer_db, bus.clone(), config);
        let per_minute = NonZeroU32::new(SIGN_IN_ATTEMPTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let sign_in_attempts = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
        Self { db, hub, bus, writer, hashing, sign_in_attempts }
    }

    /// Creates an account and signs it in (returns the session token); everyone online
    /// sees the newcomer appear.
    pub async fn sign_up(&self, account: NewAccount, user_agent: Option<&str>) -> Result<(User, String), DomainError> {
        let user = accounts::register(&self.db, &self.hashing, account).await?;
        let token = sessions::start(&self.db, user.id, user_agent).await?;
        self.bus.publish(vec![Event::UserJoined { user: user.as_person() }]);
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
        let user = accounts::authenticate(&self.db, &self.hashing, email, password).await?;
        let token = sessions::start(&self.db, user.id, user_agent).await?;
        Ok((user, token))
    }

    /// Ends a session and closes the sockets it opened.
    pub async fn sign_out(&self, token: &str) -> Result<(), DomainError> {
        if let Some(session_id) = sessions::revoke(&self.db, token).await? {
            self.bus.publish(vec![Event::SessionEnded { session_id }]);
        }
        Ok(())
    }

    /// A page of the directory.
    pub async fn directory(&self, query: directory::DirectoryQuery) -> Result<UserPage, DomainError> {
        directory::page(&self.db, query).await
    }

    /// Stores a message (once per client_id) and delivers it to both participants'
    /// sockets, every tab and device; returns it once it is stored.
    pub async fn send(&self, me: i64, message: NewMessage) -> Result<Message, DomainError> {
        Ok(self.writer.send(me, message).await?.message)
    }

    /// Queues a message sent on a socket; that socket hears `ack` or `error` in order with
    /// the frames it receives. `Busy` when the writer's queue is full.
    pub fn send_from_socket(&self, me: i64, message: NewMessage, socket: ConnectionRef) -> Result<(), DomainError> {
        self.writer.submit(me, message, socket)
    }

    /// My chats, newest activity first.
    pub async fn my_chats(&self, me: i64) -> Result<Vec<ChatSummary>, DomainError> {
        chats::list(&self.db, me).await
    }

    /// The one chat with a peer (oneself: Saved Messages), created on first open.
    pub async fn open_chat(&self, me: i64, peer_id: i64) -> Result<ChatSummary, DomainError> {
        chats::open_with(&self.db, me, peer_id).await
    }

    /// A page of a chat's history: before `before_seq` (or the newest), oldest first.
    pub async fn history(
        &self,
        me: i64,
        chat_id: i64,
        before_seq: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Message>, DomainError> {
        messages::history(&self.db, me, chat_id, before_seq, limit).await
    }

    /// What came after `after_seq` in a chat, oldest first (resume after a reconnect).
    pub async fn since(&self, me: i64, chat_id: i64, after_seq: i64, limit: u64) -> Result<Vec<Message>, DomainError> {
        messages::since(&self.db, me, chat_id, after_seq, limit).await
    }

    /// Moves my read marker; my other tabs update their unread counts.
    pub async fn mark_read(&self, me: i64, chat_id: i64, seq: i64) -> Result<ChatSummary, DomainError> {
        let chat = chats::mark_read(&self.db, me, chat_id, seq).await?;
        self.bus.publish(vec![Event::ReadMoved { user_id: me, chat: chat.clone() }]);
        Ok(chat)
    }
}
