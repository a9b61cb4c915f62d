//! The browser's picture of the messenger: chats, loaded history, pending sends, drafts.
//! Updated by server-function results and by frames from the live connection.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::PublicError;
use domain::model::{ChatId, ChatSummary, Message, Person, User, UserId};
use leptos::prelude::*;

use crate::i18n::{Locale, td_string};

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

/// Whether someone is online, as the server last said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// A connection of theirs is open somewhere.
    pub online: bool,
    /// When they were last online.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// How long a peer's `typing` shows without another one, in milliseconds.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

/// A send the server could not take for a moment (`busy`, `unavailable`) goes again after
/// this many milliseconds, doubling with each refusal up to [`RESEND_MAX_MS`].
pub const RESEND_FIRST_MS: u32 = 1_000;

/// The longest wait before such a send goes again.
pub const RESEND_MAX_MS: u32 = 10_000;

/// A message typed here that the server has not confirmed yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The idempotency key sent with it (and with every retry).
    pub client_id: String,
    /// Where it goes.
    pub chat_id: ChatId,
    /// What was typed.
    pub text: String,
    /// Why the server refused it, when it did (said in the reader's language when shown).
    pub failed: Option<PublicError>,
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
    /// Messages held back per chat while the gap before them is being fetched.
    pub held_back: StoredValue<HashMap<ChatId, Vec<Message>>>,
    /// Who is online, from the lists fetched and the `presence` frames since.
    pub presence: RwSignal<HashMap<UserId, Seen>>,
    /// Chats whose peer is typing, until when (milliseconds since the epoch).
    pub typing: RwSignal<HashMap<ChatId, f64>>,
    /// Per pending send (by client_id) that the server could not take for a moment, the
    /// last wait before sending it again, in milliseconds.
    pub resend_waits: StoredValue<HashMap<String, u32>>,
    /// Whether my account is linked to Telegram, as last told by a `telegram` frame
    /// (`None` until one comes; the settings page fetches the status itself).
    pub telegram_linked: RwSignal<Option<bool>>,
    /// What screen readers announce (a polite live region): who just wrote in a chat that is
    /// not the open one. The open chat's log announces its own messages.
    pub announcement: RwSignal<String>,
}

/// What [`Store::receive`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Shown (or already held).
    Applied,
    /// Its chat is not in the list yet: the caller refetches the list.
    UnknownChat,
    /// It is more than one past the newest message held: the messages after `after`
    /// must be fetched first. It was held back and is shown once the gap is filled.
    Gap {
        /// The newest seq held in that chat.
        after: i64,
        /// True when a fetch for this chat is already under way.
        filling: bool,
    },
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
            held_back: StoredValue::new(HashMap::new()),
            presence: RwSignal::new(HashMap::new()),
            typing: RwSignal::new(HashMap::new()),
            resend_waits: StoredValue::new(HashMap::new()),
            telegram_linked: RwSignal::new(None),
            announcement: RwSignal::new(String::new()),
        }
    }

    /// Takes who is online from people fetched just now.
    pub fn note_presence<'a>(&self, people: impl IntoIterator<Item = &'a Person>) {
        self.presence.update(|presence| {
            for person in people {
                presence.insert(person.id, Seen { online: person.online, last_seen_at: person.last_seen_at });
            }
        });
    }

    /// A `presence` frame: someone came online or went offline.
    pub fn set_presence(&self, user_id: UserId, online: bool, last_seen_at: Option<DateTime<Utc>>) {
        self.presence.update(|presence| {
            let held = presence.entry(user_id).or_insert(Seen { online, last_seen_at });
            held.online = online;
            held.last_seen_at = last_seen_at.or(held.last_seen_at);
        });
    }

    /// Whether someone is online (reactive): the newest the server said, or what their
    /// record says.
    pub fn seen(&self, person: &Person) -> Seen {
        self.presence
            .with(|presence| presence.get(&person.id).copied())
            .unwrap_or(Seen { online: person.online, last_seen_at: person.last_seen_at })
    }

    /// My peer is typing in a chat, as of `now` (milliseconds since the epoch).
    pub fn peer_typing(&self, chat_id: ChatId, now: f64) {
        self.typing.update(|typing| {
            typing.insert(chat_id, now + TYPING_SHOWN_MS);
        });
    }

    /// Forgets typing that has run out by `now`, or the typing in a chat whose peer's message arrived.
    pub fn typing_over(&self, now: f64, chat_id: Option<ChatId>) {
        self.typing.update(|typing| typing.retain(|chat, until| *until > now && Some(*chat) != chat_id));
    }

    /// My id.
    pub fn my_id(&self) -> i64 {
        self.me.with_value(|me| me.id)
    }

    /// Adds a chat summary, or merges it into the one held: a summary computed before
    /// messages that are already here never takes them away (see [`newest_of`]).
    pub fn upsert_chat(&self, chat: ChatSummary) {
        self.merge_chats(vec![chat]);
    }

    /// [`Store::upsert_chat`] for many at once (a page of my chats), in one update: chats
    /// held and not among them stay.
    pub fn merge_chats(&self, incoming: Vec<ChatSummary>) {
        self.note_presence(incoming.iter().map(|c| &c.peer));
        self.chats.update(|chats| {
            for chat in incoming {
                match chats.iter_mut().find(|c| c.id == chat.id) {
                    Some(held) => *held = newest_of(held, chat),
                    None => chats.push(chat),
                }
            }
            sort_by_activity(chats);
        });
    }

    /// A new message arrived (or was acknowledged): add it to the log and the chat list,
    /// unless messages before it are missing here (see [`Received::Gap`]).
    pub fn receive(&self, message: Message) -> Received {
        let chat_id = message.chat_id;
        let newest_held =
            self.logs.with_untracked(|logs| logs.get(&chat_id).filter(|l| l.loaded).map(ChatLog::last_seq));
        if let Some(after) = newest_held.filter(|after| message.seq > after + 1) {
            let mut filling = false;
            self.held_back.update_value(|held| {
                let waiting = held.entry(chat_id).or_default();
                filling = !waiting.is_empty();
                waiting.push(message);
            });
            return Received::Gap { after, filling };
        }
        if self.apply(message) { Received::Applied } else { Received::UnknownChat }
    }

    /// Announces a message that arrived live, if someone else wrote it in a chat that is
    /// not open: "New message from Ann" (the chat's peer, when the chat is listed), in the
    /// reader's language.
    pub fn announce_arrival(&self, locale: Locale, message: &Message) {
        if message.sender_id == self.my_id() || self.active.get_untracked() == Some(message.chat_id) {
            return;
        }
        let from = self
            .chats
            .with_untracked(|chats| chats.iter().find(|c| c.id == message.chat_id).map(|c| c.peer.name.clone()));
        self.announcement.set(match from {
            Some(name) => td_string!(locale, messenger.new_message_from, name = name).to_string(),
            None => td_string!(locale, messenger.new_message).to_string(),
        });
    }

    /// The missing messages of a gap arrived: shows them, then what was held back.
    pub fn fill_gap(&self, chat_id: ChatId, missing: Vec<Message>) {
        let held = self.held_back.try_update_value(|held| held.remove(&chat_id)).flatten().unwrap_or_default();
        for message in missing.into_iter().chain(held) {
            self.apply(message);
        }
    }

    /// Shows a message in its log and the chat list; false when the chat is not listed.
    fn apply(&self, message: Message) -> bool {
        let me = self.my_id();
        let chat_id = message.chat_id;
        if message.sender_id != me && self.typing.with_untracked(|t| t.contains_key(&chat_id)) {
            self.typing.update(|typing| {
                typing.remove(&chat_id);
            });
        }
        if message.sender_id == me
            && self.pending.with_untracked(|p| p.iter().any(|p| p.client_id == message.client_id))
        {
            // Sent from another tab of mine too (the outbox is shared): stored once, shown once.
            self.forget_resend(&message.client_id);
            self.pending.update(|p| p.retain(|p| p.client_id != message.client_id));
        }
        let open = self.active.get_untracked() == Some(chat_id);
        self.logs.update(|logs| match logs.get_mut(&chat_id) {
            Some(log) if log.loaded => log.merge([message.clone()]),
            // The open chat's first page is on its way, and may have been read before this
            // message was stored: keep it, the page is merged with it.
            _ if open => logs.entry(chat_id).or_default().merge([message.clone()]),
            _ => {}
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
    pub fn acknowledge(&self, client_id: &str, message: Message) -> Received {
        self.forget_resend(client_id);
        self.pending.update(|p| p.retain(|p| p.client_id != client_id));
        self.receive(message)
    }

    /// The server refused a send: the pending bubble shows why and offers a retry.
    pub fn fail(&self, client_id: &str, why: PublicError) {
        self.forget_resend(client_id);
        self.pending.update(|pending| {
            if let Some(p) = pending.iter_mut().find(|p| p.client_id == client_id) {
                p.failed = Some(why);
            }
        });
    }

    /// The server could not take a send for a moment (an error of kind `unavailable`:
    /// `busy`, `unavailable`); nothing was stored. It stays pending, and the caller sends
    /// it again with the same client_id after the wait returned, in milliseconds:
    /// [`RESEND_FIRST_MS`], doubling with each refusal up to [`RESEND_MAX_MS`]. `None`
    /// when it is no longer waiting (acknowledged, failed, or unknown here).
    pub fn postpone(&self, client_id: &str) -> Option<u32> {
        self.resend_due(client_id)?;
        self.resend_waits.try_update_value(|waits| {
            let wait = waits.get(client_id).map_or(RESEND_FIRST_MS, |last| last.saturating_mul(2).min(RESEND_MAX_MS));
            waits.insert(client_id.to_owned(), wait);
            wait
        })
    }

    /// A postponed send whose wait is over: what to send again, when it is still waiting
    /// for the server (neither acknowledged nor failed meanwhile).
    pub fn resend_due(&self, client_id: &str) -> Option<Pending> {
        self.pending
            .try_with_untracked(|pending| {
                pending.iter().find(|p| p.client_id == client_id && p.failed.is_none()).cloned()
            })
            .flatten()
    }

    fn forget_resend(&self, client_id: &str) {
        self.resend_waits.try_update_value(|waits| waits.remove(client_id));
    }
}

/// The newer picture of one chat. Summaries travel separately from messages (a read
/// marker's summary is computed on the server while newer messages are already on their
/// way), so neither the newest message nor the read marker ever moves back. Where the two
/// disagree, the unread count is adjusted by the messages one of them has not seen.
pub fn newest_of(held: &ChatSummary, incoming: ChatSummary) -> ChatSummary {
    let last_read_seq = held.last_read_seq.max(incoming.last_read_seq);
    let mut chat = if incoming.last_seq >= held.last_seq {
        // Read here beyond the incoming marker: those messages (at most) are no longer unread.
        let read_since = u64::try_from(held.last_read_seq - incoming.last_read_seq).unwrap_or(0);
        let unread = incoming.unread.saturating_sub(read_since);
        ChatSummary { unread, ..incoming }
    } else {
        let unseen = u64::try_from(held.last_seq - incoming.last_seq).unwrap_or(0);
        let unread = if incoming.last_read_seq > held.last_read_seq {
            held.unread.min(incoming.unread + unseen)
        } else {
            held.unread
        };
        ChatSummary { unread, ..held.clone() }
    };
    chat.last_read_seq = last_read_seq;
    if last_read_seq >= chat.last_seq {
        chat.unread = 0;
    }
    chat
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

    fn summary(last_seq: i64, last_read_seq: i64, unread: u64) -> ChatSummary {
        let peer = domain::model::Person {
            id: 2,
            name: "Bob".into(),
            created_at: chrono::Utc::now(),
            online: false,
            last_seen_at: None,
        };
        let last_message = (last_seq > 0).then(|| message(last_seq));
        ChatSummary { id: 1, peer, is_saved_messages: false, last_message, last_seq, last_read_seq, unread }
    }

    /// The signed-in user of these tests.
    fn ann() -> User {
        User {
            id: 1,
            email: "ann@example.com".into(),
            name: "Ann".into(),
            is_admin: false,
            created_at: chrono::Utc::now(),
            language: None,
        }
    }

    #[test]
    fn only_messages_from_others_in_chats_not_open_are_announced() {
        Owner::new_root(None).with(|| {
            let store = Store::new(ann());
            store.chats.set(vec![summary(1, 1, 0)]);
            store.announce_arrival(Locale::en, &message(2));
            assert_eq!(store.announcement.get_untracked(), "New message from Bob");
            store.announce_arrival(Locale::ru, &message(2));
            assert_eq!(store.announcement.get_untracked(), "Новое сообщение от Bob");

            store.announcement.set(String::new());
            store.active.set(Some(1));
            store.announce_arrival(Locale::en, &message(3));
            assert_eq!(store.announcement.get_untracked(), "", "the open chat's log speaks for itself");

            store.active.set(None);
            store.announce_arrival(Locale::en, &Message { sender_id: 1, ..message(4) });
            assert_eq!(store.announcement.get_untracked(), "", "my own message, sent from another tab");

            store.announce_arrival(Locale::en, &Message { chat_id: 9, ..message(5) });
            assert_eq!(store.announcement.get_untracked(), "New message");
        });
    }

    #[test]
    fn a_message_past_a_gap_waits_until_the_missing_ones_are_fetched() {
        // Signals live in a reactive owner.
        Owner::new_root(None).with(a_message_past_a_gap_waits);
    }

    fn a_message_past_a_gap_waits() {
        let store = Store::new(ann());
        store.chats.set(vec![summary(1, 1, 0)]);
        store.logs.update(|logs| {
            let log = logs.entry(1).or_default();
            log.loaded = true;
            log.merge([message(1)]);
        });
        let seqs = || store.logs.with_untracked(|logs| logs[&1].messages.iter().map(|m| m.seq).collect::<Vec<_>>());

        assert_eq!(store.receive(message(2)), Received::Applied);
        // 3 and 4 were lost on the way: 5 and 6 are held back, and only the first asks for a fetch.
        assert_eq!(store.receive(message(5)), Received::Gap { after: 2, filling: false });
        assert_eq!(store.receive(message(6)), Received::Gap { after: 2, filling: true });
        assert_eq!(seqs(), [1, 2]);
        assert_eq!(store.chats.with_untracked(|c| c[0].last_seq), 2, "the list does not jump ahead either");

        // The fetch returns 3 to 6 (5 and 6 are stored too); each is shown once, in order.
        store.fill_gap(1, (3..=6).map(message).collect());
        assert_eq!(seqs(), [1, 2, 3, 4, 5, 6]);
        let chat = store.chats.with_untracked(|c| c[0].clone());
        assert_eq!((chat.last_seq, chat.unread), (6, 5));
        assert_eq!(store.receive(message(7)), Received::Applied);
    }

    #[test]
    fn a_message_that_comes_before_the_open_chats_first_page_is_kept() {
        Owner::new_root(None).with(a_message_before_the_first_page_is_kept);
    }

    fn a_message_before_the_first_page_is_kept() {
        let store = Store::new(ann());
        store.chats.set(vec![summary(1, 1, 0)]);
        store.active.set(Some(1));
        // Sent (and acknowledged) while the first page, read before it was stored, is on its way.
        assert_eq!(store.receive(message(2)), Received::Applied);
        let log = store.logs.with_untracked(|logs| logs[&1].clone());
        assert!(!log.loaded);
        // The page arrives without it (as `load_page` merges it): both are shown.
        store.logs.update(|logs| {
            let log = logs.entry(1).or_default();
            log.loaded = true;
            log.merge([message(1)]);
        });
        let seqs = store.logs.with_untracked(|logs| logs[&1].messages.iter().map(|m| m.seq).collect::<Vec<_>>());
        assert_eq!(seqs, [1, 2]);
        // A chat that is not open keeps no log of its own until it is opened.
        let mut elsewhere = message(1);
        elsewhere.chat_id = 9;
        store.receive(elsewhere);
        assert!(store.logs.with_untracked(|logs| !logs.contains_key(&9)));
    }

    #[test]
    fn a_send_the_server_could_not_take_stays_pending_and_waits_longer_each_time() {
        Owner::new_root(None).with(a_send_the_server_could_not_take_waits);
    }

    fn a_send_the_server_could_not_take_waits() {
        let store = Store::new(ann());
        let pending =
            |client_id: &str| Pending { client_id: client_id.into(), chat_id: 1, text: "hi".into(), failed: None };
        store.pending.set(vec![pending("a"), pending("b")]);

        // 1 s, doubling up to 10 s, for each message on its own; it stays pending, not failed.
        let waits: Vec<_> = (0..6).map(|_| store.postpone("a")).collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000].map(Some));
        assert_eq!(store.postpone("b"), Some(1_000));
        assert_eq!(store.resend_due("a"), Some(pending("a")), "due again with the same client_id");

        // Acknowledged meanwhile (a resend after a reconnect got through): nothing left to send.
        let mut stored = message(1);
        stored.client_id = "a".into();
        store.acknowledge("a", stored);
        assert_eq!((store.resend_due("a"), store.postpone("a")), (None, None));

        // Refused for good: it fails as before, and no timer sends it again.
        store.fail("b", PublicError::new(domain::ErrorKind::NotFound, "not_found", "not found"));
        assert_eq!((store.resend_due("b"), store.postpone("b")), (None, None));
        // Retried by hand, a new refusal waits the shortest time again.
        store.pending.update(|p| p[0].failed = None);
        assert_eq!(store.postpone("b"), Some(1_000));
        assert_eq!(store.postpone("never-sent"), None);
    }

    #[test]
    fn a_stale_read_summary_never_takes_back_newer_messages() {
        // Held: 7 messages, read up to 3, 4 unread. The server's answer to "read up to 5"
        // was computed when the chat had 5 messages.
        let merged = newest_of(&summary(7, 3, 4), summary(5, 5, 0));
        assert_eq!((merged.last_seq, merged.last_read_seq, merged.unread), (7, 5, 2));
        assert_eq!(merged.last_message.map(|m| m.seq), Some(7));
        // A newer summary wins, but an older marker in it does not move the held one back.
        let merged = newest_of(&summary(7, 7, 0), summary(8, 6, 2));
        assert_eq!((merged.last_seq, merged.last_read_seq, merged.unread), (8, 7, 1));
        let merged = newest_of(&summary(7, 7, 0), summary(9, 7, 2));
        assert_eq!((merged.last_seq, merged.unread), (9, 2));
    }

    #[test]
    fn a_page_of_chats_merges_into_those_held() {
        Owner::new_root(None).with(a_page_merges);
    }

    fn a_page_merges() {
        let store = Store::new(ann());
        let with_id = |id: i64, chat: ChatSummary| ChatSummary { id, ..chat };
        // Held: chat 1 with 7 messages (a page computed at 5 must not take 6 and 7 away),
        // and chat 9, from a later page, which the first page no longer holds.
        store.chats.set(vec![with_id(1, summary(7, 3, 4)), with_id(9, summary(0, 0, 0))]);
        store.merge_chats(vec![with_id(1, summary(5, 5, 0)), with_id(4, summary(2, 0, 2))]);
        let held = store.chats.get_untracked();
        let ids: Vec<i64> = held.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert_eq!(ids[2], 9, "a chat without messages comes last");
        let one = held.iter().find(|c| c.id == 1).unwrap();
        assert_eq!((one.last_seq, one.last_read_seq, one.unread), (7, 5, 2));
        assert_eq!(held.iter().find(|c| c.id == 4).map(|c| c.unread), Some(2));
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
