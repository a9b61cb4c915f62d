//! The messenger as the edges see it: each call does its domain work, and after the
//! commit tells the affected users' open sockets. REST handlers, server functions and
//! the WebSocket handler all call these, so the rules and the fan-out live in one place.

use super::live::Hub;
use super::{Db, accounts, chats, directory, messages, sessions};
use crate::error::DomainError;
use crate::input::NewAccount;
use crate::model::{ChatSummary, Message, User, UserPage};
use crate::protocol::ServerFrame;

/// The database plus this node's open sockets. Cheap to clone.
#[derive(Clone)]
pub struct Messenger {
    /// The database.
    pub db: Db,
    /// Open sockets on this node.
    pub hub: Hub,
}

impl Messenger {
    /// A messenger over a database, with no sockets yet.
    pub fn new(db: Db) -> Self {
        Self { db, hub: Hub::default() }
    }

    /// Creates an account; everyone online sees the newcomer appear.
    pub async fn register(&self, account: NewAccount) -> Result<User, DomainError> {
        let user = accounts::register(&self.db, account).await?;
        self.hub.deliver_to_everyone(&ServerFrame::UserJoined { user: user.clone() });
        Ok(user)
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
