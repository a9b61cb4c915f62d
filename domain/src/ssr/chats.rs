//! Chats: one per pair of users (Saved Messages for oneself), the list, read markers.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::{NullOrdering, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entity::{chat, chat_read, message, user};
use super::{Db, accounts, is_unique_violation};
use crate::error::DomainError;
use crate::model::{ChatSummary, Person};

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

/// Every chat of `me`, newest activity first; chats without messages come after, newest first.
pub async fn list(db: &Db, me: i64) -> Result<Vec<ChatSummary>, DomainError> {
    let chats = chat::Entity::find()
        .filter(Condition::any().add(chat::Column::UserLo.eq(me)).add(chat::Column::UserHi.eq(me)))
        .order_by_with_nulls(chat::Column::LastMessageAt, Order::Desc, NullOrdering::Last)
        .order_by_desc(chat::Column::CreatedAt)
        .order_by_desc(chat::Column::Id)
        .all(db)
        .await?;
    summarize(db, me, chats).await
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

/// Summaries of `chats` as `me` sees them, in the same order, in at most four more queries.
async fn summarize(db: &Db, me: i64, chats: Vec<chat::Model>) -> Result<Vec<ChatSummary>, DomainError> {
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

    // The newest message of each non-empty chat, in one query.
    let with_messages: Vec<&chat::Model> = chats.iter().filter(|c| c.last_seq > 0).collect();
    let mut last_messages: HashMap<i64, message::Model> = HashMap::new();
    if !with_messages.is_empty() {
        let newest = with_messages.iter().fold(Condition::any(), |any, c| {
            any.add(Condition::all().add(message::Column::ChatId.eq(c.id)).add(message::Column::Seq.eq(c.last_seq)))
        });
        last_messages =
            message::Entity::find().filter(newest).all(db).await?.into_iter().map(|m| (m.chat_id, m)).collect();
    }

    // My read markers, in one query.
    let read: HashMap<i64, i64> = chat_read::Entity::find()
        .filter(chat_read::Column::UserId.eq(me))
        .filter(chat_read::Column::ChatId.is_in(chat_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.chat_id, r.last_read_seq))
        .collect();

    // Unread messages from the peer, counted per chat in one grouped query; only chats that can have any.
    let behind: Vec<&chat::Model> =
        chats.iter().filter(|c| !c.is_saved_messages() && c.last_seq > read.get(&c.id).copied().unwrap_or(0)).collect();
    let mut unread: HashMap<i64, i64> = HashMap::new();
    if !behind.is_empty() {
        let after_marker = behind.iter().fold(Condition::any(), |any, c| {
            let marker = read.get(&c.id).copied().unwrap_or(0);
            any.add(Condition::all().add(message::Column::ChatId.eq(c.id)).add(message::Column::Seq.gt(marker)))
        });
        unread = message::Entity::find()
            .select_only()
            .column(message::Column::ChatId)
            .column_as(message::Column::Id.count(), "unread")
            .filter(after_marker)
            .filter(message::Column::SenderId.ne(me))
            .group_by(message::Column::ChatId)
            .into_tuple::<(i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
    }

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
