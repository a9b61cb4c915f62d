//! Messages: sending (idempotent, gap-free seq per chat), history and catching up.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::entity::{chat, message};
use super::{Db, chats, is_unique_violation};
use crate::error::{DomainError, FieldErrors};
use crate::input::MessageText;
use crate::model::{HISTORY_LIMIT_MAX, Message};

/// Longest client id, in characters.
const CLIENT_ID_MAX: usize = 64;

/// The outcome of [`send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The stored message (the first one when the client id was used before).
    pub message: Message,
    /// False when the client id had been used before and nothing new was stored.
    pub created: bool,
    /// The chat's participants `(user_lo, user_hi)`, to know whom to notify.
    pub participants: (i64, i64),
}

/// Stores a message from `me` in a chat of theirs; resending with the same `client_id` returns the first one.
pub async fn send(db: &Db, me: i64, chat_id: i64, client_id: &str, text: &str) -> Result<Sent, DomainError> {
    let mut problems = FieldErrors::new();
    if let Err(problem) = check_client_id(client_id) {
        problems.insert("client_id".into(), problem);
    }
    let text = match MessageText::parse(text) {
        Ok(text) => Some(text),
        Err(DomainError::Invalid(fields)) => {
            problems.extend(fields);
            None
        }
        Err(e) => return Err(e),
    };
    let Some(text) = text.filter(|_| problems.is_empty()) else {
        return Err(DomainError::Invalid(problems));
    };
    let participants = chats::participants(db, me, chat_id).await?;

    if let Some(sent) = already_sent(db, me, chat_id, client_id, participants).await? {
        return Ok(sent);
    }
    let txn = db.begin().await?;
    match store(&txn, me, chat_id, client_id, &text, Utc::now()).await {
        Ok(stored) => {
            txn.commit().await?;
            Ok(Sent { message: stored.into(), created: true, participants })
        }
        Err(e) => {
            txn.rollback().await?;
            if is_unique_violation(&e)
                && let Some(sent) = already_sent(db, me, chat_id, client_id, participants).await?
            {
                // A retry of the same send raced this one, and won.
                return Ok(sent);
            }
            match e {
                DbErr::RecordNotFound(_) => Err(DomainError::NotFound("chat")),
                e => Err(e.into()),
            }
        }
    }
}

/// Checks a client id: 1 to 64 characters out of `A-Z a-z 0-9 _ -`.
fn check_client_id(client_id: &str) -> Result<(), String> {
    if !client_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err("a client id contains only letters, digits, '_' and '-'".into());
    }
    // ASCII from here on, so bytes are characters.
    if client_id.is_empty() || client_id.len() > CLIENT_ID_MAX {
        return Err(format!("a client id has 1 to {CLIENT_ID_MAX} characters"));
    }
    Ok(())
}

/// The earlier message `me` sent with this client id, if any.
async fn already_sent(
    db: &Db,
    me: i64,
    chat_id: i64,
    client_id: &str,
    participants: (i64, i64),
) -> Result<Option<Sent>, DomainError> {
    let found = message::Entity::find()
        .filter(message::Column::SenderId.eq(me))
        .filter(message::Column::ClientId.eq(client_id))
        .one(db)
        .await?;
    match found {
        None => Ok(None),
        Some(first) if first.chat_id == chat_id => {
            Ok(Some(Sent { message: first.into(), created: false, participants }))
        }
        Some(_) => Err(DomainError::invalid("client_id", "this client_id was already used for another chat")),
    }
}

/// The transactional part of a send: takes the chat's next seq and inserts the message.
///
/// The `UPDATE` comes first so that it takes the write lock (the row lock on PostgreSQL,
/// the database lock on SQLite) before anything is read: concurrent senders queue on it and
/// each sees the seq the previous one committed. Several sends may share one transaction,
/// but a failed statement aborts a PostgreSQL transaction, so a batching caller should check
/// client ids first (or wrap each call in a savepoint, `txn.begin()`).
/// A missing chat is `DbErr::RecordNotFound`; a reused client id is a unique violation.
async fn store(
    txn: &DatabaseTransaction,
    sender_id: i64,
    chat_id: i64,
    client_id: &str,
    text: &MessageText,
    now: DateTime<Utc>,
) -> Result<message::Model, DbErr> {
    let bumped = chat::Entity::update_many()
        .col_expr(chat::Column::LastSeq, Expr::col(chat::Column::LastSeq).add(1))
        .col_expr(chat::Column::LastMessageAt, Expr::value(now))
        .filter(chat::Column::Id.eq(chat_id))
        .exec(txn)
        .await?;
    if bumped.rows_affected == 0 {
        return Err(DbErr::RecordNotFound(format!("chat {chat_id}")));
    }
    let seq: i64 = chat::Entity::find_by_id(chat_id)
        .select_only()
        .column(chat::Column::LastSeq)
        .into_tuple()
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("chat {chat_id}")))?;
    message::ActiveModel {
        chat_id: Set(chat_id),
        seq: Set(seq),
        sender_id: Set(sender_id),
        client_id: Set(client_id.to_owned()),
        body: Set(text.as_str().to_owned()),
        created_at: Set(now),
        edited_at: Set(None),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
}

/// Up to `limit` messages before `before_seq` (or the newest ones), oldest first.
pub async fn history(
    db: &Db,
    me: i64,
    chat_id: i64,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<Message>, DomainError> {
    check_limit(limit)?;
    chats::participants(db, me, chat_id).await?;
    let mut query = message::Entity::find().filter(message::Column::ChatId.eq(chat_id));
    if let Some(before) = before_seq {
        query = query.filter(message::Column::Seq.lt(before));
    }
    let mut page: Vec<Message> =
        query.order_by_desc(message::Column::Seq).limit(limit).all(db).await?.into_iter().map(Into::into).collect();
    page.reverse();
    Ok(page)
}

/// Up to `limit` messages after `after_seq`, oldest first: what a reconnecting client missed.
pub async fn since(db: &Db, me: i64, chat_id: i64, after_seq: i64, limit: u64) -> Result<Vec<Message>, DomainError> {
    check_limit(limit)?;
    chats::participants(db, me, chat_id).await?;
    Ok(message::Entity::find()
        .filter(message::Column::ChatId.eq(chat_id))
        .filter(message::Column::Seq.gt(after_seq))
        .order_by_asc(message::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

fn check_limit(limit: u64) -> Result<(), DomainError> {
    if (1..=HISTORY_LIMIT_MAX).contains(&limit) {
        Ok(())
    } else {
        Err(DomainError::invalid("limit", format!("a page has at least 1 and at most {HISTORY_LIMIT_MAX} messages")))
    }
}
