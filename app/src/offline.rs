//! What the page keeps in this browser (`localStorage`) so that it works without a network:
//! the outbox (messages typed but not yet stored by the server), my chats, and the newest
//! messages of my recent chats. Each key carries my user id, so another account signed in
//! on the same browser never sees them, and signing out removes them.
//!
//! The outbox survives a reload and a closed tab: the next page of mine puts its messages
//! back as pending, and they go when the live connection is up, with their original
//! `client_id`, so the server stores each once however many tabs send it.

use std::collections::HashMap;

use domain::model::{ChatId, ChatSummary, Message, UserId};
use serde::{Deserialize, Serialize};

use crate::store::{ChatLog, Pending};

/// Messages kept per chat.
pub const MESSAGES_KEPT: usize = 50;
/// Chats whose messages are kept (the most recently active).
pub const CHATS_KEPT: usize = 20;

/// One message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// Its idempotency key, the same on every try.
    pub client_id: String,
    /// Where it goes.
    pub chat_id: ChatId,
    /// What was typed.
    pub text: String,
}

/// What is kept of one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// Messages not yet stored by the server, oldest first.
    pub outbox: Vec<Queued>,
    /// My chats as last seen.
    pub chats: Vec<ChatSummary>,
    /// The newest messages of my recent chats.
    pub messages: HashMap<ChatId, Vec<Message>>,
}

impl Kept {
    /// What to keep of the page's state: the sends still pending (not the refused ones),
    /// the chats, and the newest [`MESSAGES_KEPT`] messages of the [`CHATS_KEPT`] most
    /// recently active chats whose history was loaded.
    pub fn of(pending: &[Pending], chats: &[ChatSummary], logs: &HashMap<ChatId, ChatLog>) -> Self {
        let outbox = pending
            .iter()
            .filter(|p| p.failed.is_none())
            .map(|p| Queued { client_id: p.client_id.clone(), chat_id: p.chat_id, text: p.text.clone() })
            .collect();
        let messages = chats
            .iter()
            .filter_map(|chat| logs.get(&chat.id).filter(|log| log.loaded).map(|log| (chat.id, log)))
            .take(CHATS_KEPT)
            .map(|(id, log)| (id, log.messages[log.messages.len().saturating_sub(MESSAGES_KEPT)..].to_vec()))
            .collect();
        Self { outbox, chats: chats.to_vec(), messages }
    }

    /// The kept messages as loaded logs (older ones may exist on the server, unless the
    /// first message of the chat is among them).
    pub fn logs(&self) -> HashMap<ChatId, ChatLog> {
        self.messages
            .iter()
            .map(|(id, messages)| {
                let has_older = messages.first().is_none_or(|m| m.seq > 1);
                (*id, ChatLog { messages: messages.clone(), has_older, loaded: true })
            })
            .collect()
    }

    /// The outbox as pending sends.
    pub fn pending(&self) -> Vec<Pending> {
        self.outbox
            .iter()
            .map(|q| Pending { client_id: q.client_id.clone(), chat_id: q.chat_id, text: q.text.clone(), failed: None })
            .collect()
    }
}

/// The storage key of an account's kept state.
pub fn key(user: UserId) -> String {
    format!("messenger.kept.{user}")
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;

    use super::{Kept, key};
    use crate::store::Store;

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    /// What this browser kept of the account, if anything (nothing readable: nothing).
    pub fn load(user: domain::model::UserId) -> Kept {
        storage()
            .and_then(|s| s.get_item(&key(user)).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    /// Forgets what this browser kept of the account (signing out).
    pub fn forget(user: domain::model::UserId) {
        if let Some(storage) = storage() {
            let _ = storage.remove_item(&key(user));
        }
    }

    /// Puts what was kept into the store once the page is hydrated (the server rendered it
    /// without them): the outbox as pending sends, the messages of the chats whose history
    /// is not loaded yet, and the kept chats merged with the page's (offline, the page may be
    /// an older copy). Then keeps the store's state as it changes.
    pub fn restore_and_keep(store: Store) {
        let me = store.my_id();
        Effect::new(move |_| {
            let kept = load(me);
            if !kept.outbox.is_empty() {
                store.pending.update(|pending| {
                    for queued in kept.pending() {
                        if !pending.iter().any(|p| p.client_id == queued.client_id) {
                            pending.push(queued);
                        }
                    }
                });
            }
            store.logs.update(|logs| {
                for (id, log) in kept.logs() {
                    logs.entry(id).or_insert(log);
                }
            });
            if !kept.chats.is_empty() {
                store.merge_chats(kept.chats);
            }
            // From here on, what the store holds is kept.
            Effect::new(move |_| {
                let kept = store
                    .pending
                    .with(|pending| store.chats.with(|chats| store.logs.with(|logs| Kept::of(pending, chats, logs))));
                if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&kept)) {
                    // Full storage: the page goes on; only the offline copy falls behind.
                    let _ = storage.set_item(&key(me), &json);
                }
            });
        });
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{forget, restore_and_keep};

#[cfg(test)]
mod tests {
    use super::*;

    fn message(chat_id: ChatId, seq: i64) -> Message {
        Message {
            id: chat_id * 1000 + seq,
            chat_id,
            seq,
            sender_id: 2,
            client_id: format!("c{chat_id}-{seq}"),
            text: format!("message {seq}"),
            created_at: chrono::Utc::now(),
        }
    }

    fn chat(id: ChatId) -> ChatSummary {
        let peer = domain::model::Person {
            id: 2,
            name: "Bob".into(),
            created_at: chrono::Utc::now(),
            online: false,
            last_seen_at: None,
        };
        ChatSummary { id, peer, is_saved_messages: false, last_message: None, last_seq: 0, last_read_seq: 0, unread: 0 }
    }

    #[test]
    fn the_outbox_keeps_what_waits_but_not_what_the_server_refused() {
        let waiting = Pending { client_id: "a".into(), chat_id: 1, text: "hello".into(), failed: None };
        let refused = Pending {
            failed: Some(domain::PublicError::new(domain::ErrorKind::Invalid, "invalid_input", "too long")),
            client_id: "b".into(),
            ..waiting.clone()
        };
        let kept = Kept::of(&[waiting.clone(), refused], &[], &HashMap::new());
        assert_eq!(kept.outbox, vec![Queued { client_id: "a".into(), chat_id: 1, text: "hello".into() }]);
        assert_eq!(kept.pending(), vec![waiting], "back as the same pending send, same client id");
    }

    #[test]
    fn the_newest_messages_of_the_recent_loaded_chats_are_kept_and_come_back_as_loaded_logs() {
        let chats: Vec<ChatSummary> = (1..=CHATS_KEPT as i64 + 5).map(chat).collect();
        let mut logs = HashMap::new();
        for c in &chats {
            let mut log = ChatLog { loaded: true, ..ChatLog::default() };
            log.merge((1..=80).map(|seq| message(c.id, seq)));
            logs.insert(c.id, log);
        }
        // Not loaded: nothing of it is kept.
        logs.get_mut(&1).unwrap().loaded = false;
        let kept = Kept::of(&[], &chats, &logs);
        assert_eq!(kept.chats.len(), chats.len());
        assert_eq!(kept.messages.len(), CHATS_KEPT);
        assert!(!kept.messages.contains_key(&1));
        let two = &kept.messages[&2];
        assert_eq!((two.len(), two[0].seq, two[MESSAGES_KEPT - 1].seq), (MESSAGES_KEPT, 31, 80));

        let json = serde_json::to_string(&kept).unwrap();
        let back: Kept = serde_json::from_str(&json).unwrap();
        let log = &back.logs()[&2];
        assert!(log.loaded && log.has_older, "older messages are on the server");
        assert_eq!(log.last_seq(), 80);
    }
}
