//! Chats: one per pair of users (Saved Messages for oneself), my chats a page at a time,
//! read markers.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, NullOrdering, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::entity::{chat, chat_read, message, user};
use super::{Db, accounts, is_unique_violation};
use crate::error::{DomainError, Problem};
use crate::model::{CHAT_PAGE_MAX, ChatPage, ChatSummary, Person};

/// Opens (creating on first use) the chat between `me` and an active user; `peer_id == me` is Saved Messages.
pub async fn open_with(db: &Db, me: i64, peer_id: i64) -> Result<ChatSummary, DomainError> {
    if accounts::find_active(db, peer_id).await?.is_none() {
        return Err(DomainError::NotFound("user"));
    }
    let (lo, hi) = (me.min(peer_id), me.max(peer_id));
    let chat = match find_pair(db, lo, hi).await? {
        Some(chat) => chat,
        None => {
            let created = chat::ActiveModel {
                user_lo: Set(lo),
                user_hi: Set(hi),
                last_seq: Set(0),
                created_at: Set(Utc::now()),
                last_message_at: Set(None),
                ..Default::default()
            }
            .insert(db)
            .await;
            match created {
                Ok(chat) => chat,
                // The other side opened it at the same moment: the pair index decides.
                Err(e) if is_unique_violation(&e) => find_pair(db, lo, hi)
                    .await?
                    .ok_or_else(|| DomainError::internal(format!("chat {lo}/{hi} vanished after a conflict")))?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    one_summary(db, me, chat).await
}

async fn find_pair(db: &Db, lo: i64, hi: i64) -> Result<Option<chat::Model>, DomainError> {
    Ok(chat::Entity::find().filter(chat::Column::UserLo.eq(lo)).filter(chat::Column::UserHi.eq(hi)).one(db).await?)
}

/// Where a page of my chats ended: the sort key of its last chat (newest message, then
/// creation, then id). Clients hold it as the opaque string of [`ChatCursor::encode`] and
/// give it back; [`ChatCursor::parse`] reads it at the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatCursor {
    last_message_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    id: i64,
}

/// The version tag in front of every cursor, so that a change of the order can refuse old ones.
const CURSOR_VERSION: &str = "1";
/// Longest cursor accepted, in bytes (the ones handed out have about 60).
const CURSOR_MAX: usize = 200;

impl ChatCursor {
    /// The position just after `chat`.
    fn after(chat: &chat::Model) -> Self {
        Self { last_message_at: chat.last_message_at, created_at: chat.created_at, id: chat.id }
    }

    /// The opaque, URL-safe string handed to clients.
    pub fn encode(&self) -> String {
        let at = |t: DateTime<Utc>| format!("{}.{}", t.timestamp(), t.timestamp_subsec_nanos());
        let last = self.last_message_at.map_or_else(|| "-".to_owned(), at);
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}|{last}|{}|{}", at(self.created_at), self.id))
    }

    /// Reads a string made by [`ChatCursor::encode`]; anything else is `Invalid` on `cursor`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::decode(raw).ok_or_else(|| {
            DomainError::invalid(
                "cursor",
                Problem::new("unknown_cursor", "this is not a cursor the server gave; start again from the first page"),
            )
        })
    }

    fn decode(raw: &str) -> Option<Self> {
        if raw.len() > CURSOR_MAX {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        let [version, last, created, id]: [&str; 4] = text.split('|').collect::<Vec<_>>().try_into().ok()?;
        if version != CURSOR_VERSION {
            return None;
        }
        let last_message_at = match last {
            "-" => None,
            at => Some(instant(at)?),
        };
        Some(Self { last_message_at, created_at: instant(created)?, id: number::<i64>(id).filter(|id| *id > 0)? })
    }

    /// The chats that come after this position in the order of [`page`].
    fn rest(&self) -> Condition {
        let after_among_equals = Condition::any()
            .add(chat::Column::CreatedAt.lt(self.created_at))
            .add(Condition::all().add(chat::Column::CreatedAt.eq(self.created_at)).add(chat::Column::Id.lt(self.id)));
        match self.last_message_at {
            // Older activity, the same activity but later in the tie-break, or no messages at all.
            Some(at) => Condition::any()
                .add(chat::Column::LastMessageAt.lt(at))
                .add(Condition::all().add(chat::Column::LastMessageAt.eq(at)).add(after_among_equals))
                .add(chat::Column::LastMessageAt.is_null()),
            // Among the chats without messages, which come last.
            None => Condition::all().add(chat::Column::LastMessageAt.is_null()).add(after_among_equals),
        }
    }
}

/// A number in its one decimal spelling (no plus sign, no leading zeros), so that a
/// cursor that parses is exactly the one that was handed out.
fn number<T: std::str::FromStr + ToString>(text: &str) -> Option<T> {
    text.parse::<T>().ok().filter(|n| n.to_string() == text)
}

/// `<seconds>.<nanoseconds>` since the Unix epoch, each a whole number (not a decimal fraction).
fn instant(text: &str) -> Option<DateTime<Utc>> {
    let (secs, nanos) = text.split_once('.')?;
    let nanos = number::<u32>(nanos).filter(|n| *n < 1_000_000_000)?;
    DateTime::from_timestamp(number(secs)?, nanos)
}

/// A page of my chats, newest activity first (chats without messages last, newest first),
/// after `cursor` (from the start without one); `limit` is 1 to [`CHAT_PAGE_MAX`].
///
/// One indexed query finds the page (`chats_pair` for the chats where I am `user_lo`,
/// `chats_user_hi` for the others), then [`summarize`] fills it in a fixed number of
/// queries, whatever the page's size.
pub async fn page(db: &Db, me: i64, cursor: Option<ChatCursor>, limit: u64) -> Result<ChatPage, DomainError> {
    if !(1..=CHAT_PAGE_MAX).contains(&limit) {
        return Err(DomainError::invalid(
            "limit",
            Problem::new("out_of_range", format!("a page has at least 1 and at most {CHAT_PAGE_MAX} chats")),
        ));
    }
    let mut query =
        chat::Entity::find().filter(Condition::any().add(chat::Column::UserLo.eq(me)).add(chat::Column::UserHi.eq(me)));
    if let Some(cursor) = &cursor {
        query = query.filter(cursor.rest());
    }
    // One more than asked for tells whether there is a next page.
    let mut chats = query
        .order_by_with_nulls(chat::Column::LastMessageAt, Order::Desc, NullOrdering::Last)
        .order_by_desc(chat::Column::CreatedAt)
        .order_by_desc(chat::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = chats.len() as u64 > limit;
    chats.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { chats.last().map(|last| ChatCursor::after(last).encode()) } else { None };
    Ok(ChatPage { chats: summarize(db, me, chats).await?, next_cursor })
}

/// One chat as `me` sees it; `NotFound("chat")` when it does not exist or is not theirs.
pub async fn summary(db: &Db, me: i64, chat_id: i64) -> Result<ChatSummary, DomainError> {
    let chat = find_mine(db, me, chat_id).await?;
    one_summary(db, me, chat).await
}

/// Everyone who shares a chat with `user` (Saved Messages aside): who sees their presence live.
pub async fn partners(db: &Db, user: i64) -> Result<Vec<i64>, DomainError> {
    let chats = chat::Entity::find()
        .filter(Condition::any().add(chat::Column::UserLo.eq(user)).add(chat::Column::UserHi.eq(user)))
        .all(db)
        .await?;
    Ok(chats.into_iter().map(|c| c.peer_of(user)).filter(|peer| *peer != user).collect())
}

/// The two participants `(user_lo, user_hi)` of a chat of `me`; `NotFound("chat")` otherwise.
pub async fn participants(db: &Db, me: i64, chat_id: i64) -> Result<(i64, i64), DomainError> {
    let chat = find_mine(db, me, chat_id).await?;
    Ok((chat.user_lo, chat.user_hi))
}

/// The newest seq of a chat of `me` (0 when empty); `NotFound("chat")` otherwise.
pub async fn last_seq(db: &Db, me: i64, chat_id: i64) -> Result<i64, DomainError> {
    Ok(find_mine(db, me, chat_id).await?.last_seq)
}

/// Moves the read marker of `me` forward to `seq` (clamped to the chat's messages) and returns the summary.
pub async fn mark_read(db: &Db, me: i64, chat_id: i64, seq: i64) -> Result<ChatSummary, DomainError> {
    let chat = find_mine(db, me, chat_id).await?;
    let seq = seq.clamp(0, chat.last_seq.max(0));
    let marker = chat_read::ActiveModel { chat_id: Set(chat.id), user_id: Set(me), last_read_seq: Set(seq) };
    // Insert, or raise the existing marker; never lower it (a stale tab may report an old seq).
    let upsert = OnConflict::columns([chat_read::Column::ChatId, chat_read::Column::UserId])
        .update_column(chat_read::Column::LastReadSeq)
        .action_and_where(chat_read::Column::LastReadSeq.lt(seq))
        .to_owned();
    chat_read::Entity::insert(marker).on_conflict(upsert).exec_without_returning(db).await?;
    one_summary(db, me, chat).await
}

/// A chat that exists and has `me` as a participant.
pub(crate) async fn find_mine(db: &Db, me: i64, chat_id: i64) -> Result<chat::Model, DomainError> {
    chat::Entity::find_by_id(chat_id)
        .one(db)
        .await?
        .filter(|chat| chat.has_participant(me))
        .ok_or(DomainError::NotFound("chat"))
}

async fn one_summary(db: &Db, me: i64, chat: chat::Model) -> Result<ChatSummary, DomainError> {
    summarize(db, me, vec![chat]).await?.pop().ok_or_else(|| DomainError::internal("a chat summary went missing"))
}

/// Summaries of `chats` as `me` sees them, in the same order, in three more queries
/// whatever their number: each names the chats by an `IN (...)` list of their ids, and
/// finds their messages through the `messages_chat_seq` index (chat_id, seq).
async fn summarize(db: &Db, me: i64, chats: Vec<chat::Model>) -> Result<Vec<ChatSummary>, DomainError> {
    // Here only: it gives every number `min` and `max` too.
    use sea_orm::sea_query::ExprTrait;

    if chats.is_empty() {
        return Ok(Vec::new());
    }
    let chat_ids: Vec<i64> = chats.iter().map(|c| c.id).collect();

    // The peers, in one query (deactivated ones too: the conversation stays readable).
    let peer_ids: HashSet<i64> = chats.iter().map(|c| c.peer_of(me)).collect();
    let peers: HashMap<i64, Person> = user::Entity::find()
        .filter(user::Column::Id.is_in(peer_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, Person::from(u)))
        .collect();

    // The newest message of each non-empty chat: its messages joined on seq = last_seq.
    let with_messages: Vec<i64> = chats.iter().filter(|c| c.last_seq > 0).map(|c| c.id).collect();
    let mut last_messages: HashMap<i64, message::Model> = HashMap::new();
    if !with_messages.is_empty() {
        let mut newest = message::Entity::find().filter(chat::Column::Id.is_in(with_messages));
        QueryTrait::query(&mut newest).inner_join(
            chat::Entity,
            Expr::col((chat::Entity, chat::Column::Id))
                .equals((message::Entity, message::Column::ChatId))
                .and(Expr::col((chat::Entity, chat::Column::LastSeq)).equals((message::Entity, message::Column::Seq))),
        );
        last_messages = newest.all(db).await?.into_iter().map(|m| (m.chat_id, m)).collect();
    }

    // My read marker in each chat (0 without one) and the peer's messages after it, in one
    // grouped query: each chat, left-joined to my marker and to the messages past it.
    let marker = || {
        Expr::from(Func::coalesce([Expr::col((chat_read::Entity, chat_read::Column::LastReadSeq)), Expr::val(0i64)]))
    };
    let mut reads = chat::Entity::find()
        .select_only()
        .column(chat::Column::Id)
        .expr(marker())
        .expr(message::Column::Id.count())
        .filter(chat::Column::Id.is_in(chat_ids))
        .group_by(chat::Column::Id)
        .group_by(Expr::col((chat_read::Entity, chat_read::Column::LastReadSeq)));
    QueryTrait::query(&mut reads)
        .left_join(
            chat_read::Entity,
            Expr::col((chat_read::Entity, chat_read::Column::ChatId))
                .equals((chat::Entity, chat::Column::Id))
                .and(Expr::col((chat_read::Entity, chat_read::Column::UserId)).eq(me)),
        )
        .left_join(
            message::Entity,
            Expr::col((message::Entity, message::Column::ChatId))
                .equals((chat::Entity, chat::Column::Id))
                .and(Expr::col((message::Entity, message::Column::Seq)).gt(marker()))
                .and(Expr::col((message::Entity, message::Column::SenderId)).ne(me)),
        );
    let (read, unread): (HashMap<i64, i64>, HashMap<i64, i64>) = reads
        .into_tuple::<(i64, i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, marker, unread)| ((id, marker), (id, unread)))
        .unzip();

    chats
        .into_iter()
        .map(|chat| {
            let peer_id = chat.peer_of(me);
            let peer = peers
                .get(&peer_id)
                .cloned()
                .ok_or_else(|| DomainError::internal(format!("user {peer_id} of chat {} is missing", chat.id)))?;
            Ok(ChatSummary {
                id: chat.id,
                peer,
                is_saved_messages: chat.is_saved_messages(),
                last_message: last_messages.remove(&chat.id).map(Into::into),
                last_seq: chat.last_seq,
                last_read_seq: read.get(&chat.id).copied().unwrap_or(0),
                unread: u64::try_from(unread.get(&chat.id).copied().unwrap_or(0)).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).unwrap()
    }

    #[test]
    fn a_cursor_reads_back_as_it_was_to_the_nanosecond() {
        let cursors = [
            ChatCursor {
                last_message_at: Some(at(1_795_701_193, 123_456_789)),
                created_at: at(1_795_700_000, 0),
                id: 42,
            },
            ChatCursor { last_message_at: None, created_at: at(1_795_700_000, 5), id: i64::MAX },
            ChatCursor { last_message_at: Some(at(-1, 999_999_999)), created_at: at(0, 0), id: 1 },
        ];
        for cursor in cursors {
            let encoded = cursor.encode();
            assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{encoded}");
            assert!(encoded.len() <= CURSOR_MAX, "{encoded}");
            assert_eq!(ChatCursor::parse(&encoded).unwrap(), cursor);
        }
    }

    #[test]
    fn anything_but_a_cursor_the_server_gave_is_refused_on_the_cursor_field() {
        let encoded = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let bad = [
            String::new(),
            "not a cursor".into(),
            "%%%".into(),
            encoded(""),
            encoded("1|-|10.0"),
            encoded("1|-|10.0|7|8"),
            encoded("2|-|10.0|7"),
            encoded("1|-|10.0|0"),
            encoded("1|-|10.0|-7"),
            encoded("1|-|10.0|07"),
            encoded("1|-|10|7"),
            encoded("1|-|+10.0|7"),
            encoded("1|-|10.1000000000|7"),
            encoded("1|x.1|10.0|7"),
            encoded("1|-|99999999999999999.0|7"),
            format!("{}=", encoded("1|-|10.0|7")),
            "A".repeat(CURSOR_MAX + 1),
        ];
        for raw in bad {
            let Err(DomainError::Invalid(fields)) = ChatCursor::parse(&raw) else {
                panic!("{raw:?} was accepted");
            };
            assert_eq!(fields.keys().collect::<Vec<_>>(), ["cursor"], "{raw:?}");
        }
        assert!(ChatCursor::parse(&encoded("1|-|10.0|7")).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_cursor_round_trips(
            last in proptest::option::of((-1_000_000_000_000i64..1_000_000_000_000, 0u32..1_000_000_000)),
            created in (-1_000_000_000_000i64..1_000_000_000_000, 0u32..1_000_000_000),
            id in 1i64..,
        ) {
            let cursor = ChatCursor { last_message_at: last.map(|(s, n)| at(s, n)), created_at: at(created.0, created.1), id };
            prop_assert_eq!(ChatCursor::parse(&cursor.encode()).unwrap(), cursor);
        }

        #[test]
        fn a_string_that_parses_is_the_one_its_cursor_encodes(raw in "[A-Za-z0-9_=%-]{0,80}") {
            if let Ok(cursor) = ChatCursor::parse(&raw) {
                prop_assert_eq!(cursor.encode(), raw);
            }
        }

        #[test]
        fn a_mangled_cursor_never_panics(text in "[0-9|.+-]{0,40}") {
            if let Ok(cursor) = ChatCursor::parse(&URL_SAFE_NO_PAD.encode(&text)) {
                prop_assert_eq!(URL_SAFE_NO_PAD.decode(cursor.encode()).unwrap(), text.as_bytes());
            }
        }
    }
}
