//! The browser's picture of the messenger: chats, loaded history, pending sends, drafts.
//! Updated by server-function results and by frames from the live connection.

use std::collections::HashMap;

use domain::model::{ChatId, ChatSummary, Message, User};
use leptos::prelude::*;

/// The state of the live connection, shown by the connection badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Opening the socket (first time or after a drop).
    Connecting,
    /// Connected and authenticated.
    Online,
    /// Not connected; a retry is scheduled.
    Offline,
}

/// A message typed here that the server has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The idempotency key sent with it (and with every retry).
    pub client_id: String,
    /// Where it goes.
    pub chat_id: ChatId,
    /// What was typed.
    pub text: String,
    /// Why the server refused it, when it did.
    pub failed: Option<String>,
}

/// The loaded part of one chat's history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatLog {
    /// Messages by seq, oldest first, without duplicates.
    pub messages: Vec<Message>,
    /// True when older messages exist on the server.
    pub has_older: bool,
    /// The first page has been fetched.
    pub loaded: bool,
}

impl ChatLog {
    /// Adds messages, keeping seq order and dropping any already held.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = Message>) {
        for message in incoming {
            match self.messages.binary_search_by_key(&message.seq, |m| m.seq) {
                Ok(_) => {}
                Err(at) => self.messages.insert(at, message),
            }
        }
    }

    /// The newest seq held (0 when none).
    pub fn last_seq(&self) -> i64 {
        self.messages.last().map_or(0, |m| m.seq)
    }

    /// The oldest seq held.
    pub fn first_seq(&self) -> Option<i64> {
        self.messages.first().map(|m| m.seq)
    }
}

/// Everything the messenger screen shows, as signals.
#[derive(Clone, Copy)]
pub struct Store {
    /// The signed-in user.
    pub me: StoredValue<User>,
    /// My chats, newest activity first.
    pub chats: RwSignal<Vec<ChatSummary>>,
    /// The open chat.
    pub active: RwSignal<Option<ChatId>>,
    /// Loaded history per chat.
    pub logs: RwSignal<HashMap<ChatId, ChatLog>>,
    /// Sends waiting for the server, oldest first.
    pub pending: RwSignal<Vec<Pending>>,
    /// Unsent text per chat.
    pub drafts: RwSignal<HashMap<ChatId, String>>,
    /// Scroll position per chat, restored when switching back.
    pub scroll: StoredValue<HashMap<ChatId, i32>>,
    /// The live connection's state.
    pub connection: RwSignal<Connection>,
    /// Bumped when someone registers, to refresh the directory.
    pub directory_version: RwSignal<u64>,
}

impl Store {
    /// An empty store for a signed-in user.
    pub fn new(me: User) -> Self {
        Self {
            me: StoredValue::new(me),
            chats: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            logs: RwSignal::new(HashMap::new()),
            pending: RwSignal::new(Vec::new()),
            drafts: RwSignal::new(HashMap::new()),
            scroll: StoredValue::new(HashMap::new()),
            connection: RwSignal::new(Connection::Connecting),
            directory_version: RwSignal::new(0),
        }
    }

    /// My id.
    pub fn my_id(&self) -> i64 {
        self.me.with_value(|me| me.id)
    }

    /// Replaces or adds a chat summary and keeps the list ordered by activity.
    pub fn upsert_chat(&self, chat: ChatSummary) {
        self.chats.update(|chats| {
            chats.retain(|c| c.id != chat.id);
            chats.push(chat);
            sort_by_activity(chats);
        });
    }

    /// A new message arrived (or was acknowledged): add it to the log and the chat list.
    /// Returns false when its chat is not in the list yet (the caller refetches the list).
    pub fn receive(&self, message: Message) -> bool {
        let me = self.my_id();
        let chat_id = message.chat_id;
        let open = self.active.get_untracked() == Some(chat_id);
        self.logs.update(|logs| {
            if let Some(log) = logs.get_mut(&chat_id).filter(|log| log.loaded) {
                log.merge([message.clone()]);
            }
        });
        let mut known = false;
        self.chats.update(|chats| {
            if let Some(chat) = chats.iter_mut().find(|c| c.id == chat_id) {
                known = true;
                if message.seq > chat.last_seq {
                    if message.sender_id != me && !open {
                        chat.unread += 1;
                    }
                    chat.last_seq = message.seq;
                    chat.last_message = Some(message.clone());
                }
                if message.sender_id == me && message.seq > chat.last_read_seq {
                    // What I write, I have read.
                    chat.last_read_seq = message.seq;
                }
            }
            sort_by_activity(chats);
        });
        known
    }

    /// The server confirmed a send: the pending bubble becomes the stored message.
    pub fn acknowledge(&self, client_id: &str, message: Message) {
        self.pending.update(|p| p.retain(|p| p.client_id != client_id));
        self.receive(message);
    }

    /// The server refused a send: the pending bubble shows why and offers a retry.
    pub fn fail(&self, client_id: &str, why: String) {
        self.pending.update(|pending| {
            if let Some(p) = pending.iter_mut().find(|p| p.client_id == client_id) {
                p.failed = Some(why);
            }
        });
    }
}

fn sort_by_activity(chats: &mut [ChatSummary]) {
    chats.sort_by(|a, b| {
        let at = |c: &ChatSummary| c.last_message.as_ref().map(|m| m.created_at);
        at(b).cmp(&at(a)).then(b.id.cmp(&a.id))
    });
}

/// A fresh idempotency key for a send.
pub fn new_client_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64) -> Message {
        Message {
            id: seq,
            chat_id: 1,
            seq,
            sender_id: 2,
            client_id: format!("c{seq}"),
            text: "hi".into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn merging_keeps_seq_order_and_drops_duplicates() {
        let mut log = ChatLog::default();
        log.merge([message(3), message(1)]);
        log.merge([message(2), message(3)]);
        assert_eq!(log.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log.last_seq(), 3);
        assert_eq!(log.first_seq(), Some(1));
    }
}
