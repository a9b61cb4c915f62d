//! Telegram: accounts linked to a chat with the bot, the one-time tokens that link them,
//! and the outbox of notifications owed to people who were offline when a message came.
//! The bot and the worker that talk to Telegram live in the server; this is their data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use super::entity::{chat_read, message, notification, telegram_link, telegram_link_token, user};
use super::sessions::{digest, random_token};
use super::{Db, settings};
use crate::error::DomainError;
use crate::model::{ChatId, User, UserId};

/// A linking token works this long after it was made.
pub const LINK_TOKEN_TTL: Duration = Duration::minutes(10);

/// Longest token Telegram passes in a `/start` deep link.
pub const LINK_TOKEN_MAX: usize = 64;

/// A link token as the bot received it: 1-64 of `A-Z a-z 0-9 _ -` (what Telegram allows
/// in a deep link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    /// `None` for anything that cannot be a token.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (1..=LINK_TOKEN_MAX).contains(&raw.len())
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        valid.then(|| Self(raw.to_owned()))
    }
}

/// My link: `None` when not linked, else whether previews are on.
pub async fn link_of(db: &Db, me: UserId) -> Result<Option<telegram_link::Model>, DomainError> {
    Ok(telegram_link::Entity::find_by_id(me).one(db).await?)
}

/// A new one-time token for my account (older ones of mine stop working), and when it expires.
pub async fn new_link_token(db: &Db, me: UserId) -> Result<(String, DateTime<Utc>), DomainError> {
    let token = random_token();
    let now = Utc::now();
    let expires_at = now + LINK_TOKEN_TTL;
    let txn = db.begin().await?;
    telegram_link_token::Entity::delete_many()
        .filter(telegram_link_token::Column::UserId.eq(me).or(telegram_link_token::Column::ExpiresAt.lt(now)))
        .exec(&txn)
        .await?;
    telegram_link_token::ActiveModel {
        token_hash: Set(digest(&token)),
        user_id: Set(me),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((token, expires_at))
}

/// What `/start <token>` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// The Telegram chat is now linked to this account (any earlier chat of the account
    /// is unlinked).
    Linked(User),
    /// The Telegram chat is already linked to another account; nothing changed and the
    /// token still works (after `/stop`).
    ChatTaken,
    /// Unknown, used or expired.
    Invalid,
}

/// Links the Telegram chat that sent a token to the account that asked for the token;
/// the token is used up. `language` is the one the bot speaks there.
pub async fn redeem(
    db: &Db,
    token: &LinkToken,
    telegram_chat_id: i64,
    language: &str,
) -> Result<Redeemed, DomainError> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let Some(found) = telegram_link_token::Entity::find_by_id(digest(&token.0))
        .filter(telegram_link_token::Column::ExpiresAt.gt(now))
        .one(&txn)
        .await?
    else {
        return Ok(Redeemed::Invalid);
    };
    let holder = telegram_link::Entity::find()
        .filter(telegram_link::Column::TelegramChatId.eq(telegram_chat_id))
        .one(&txn)
        .await?;
    if holder.is_some_and(|link| link.user_id != found.user_id) {
        return Ok(Redeemed::ChatTaken);
    }
    let Some(account) =
        user::Entity::find_by_id(found.user_id).filter(user::Column::IsActive.eq(true)).one(&txn).await?
    else {
        return Ok(Redeemed::Invalid);
    };
    telegram_link_token::Entity::delete_by_id(found.token_hash).exec(&txn).await?;
    let previews = telegram_link::Entity::find_by_id(found.user_id).one(&txn).await?.is_none_or(|l| l.previews);
    telegram_link::Entity::delete_by_id(found.user_id).exec(&txn).await?;
    telegram_link::ActiveModel {
        user_id: Set(found.user_id),
        telegram_chat_id: Set(telegram_chat_id),
        previews: Set(previews),
        language: Set(language.chars().take(8).collect()),
        linked_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Redeemed::Linked(account.into()))
}

/// Unlinks my account; false when it was not linked. Pending notifications are dropped.
pub async fn unlink_user(db: &Db, me: UserId) -> Result<bool, DomainError> {
    let txn = db.begin().await?;
    let gone = telegram_link::Entity::delete_by_id(me).exec(&txn).await?.rows_affected > 0;
    settle_pending(&txn, me, "skipped").await?;
    txn.commit().await?;
    Ok(gone)
}

/// Unlinks whichever account a Telegram chat is linked to (`/stop`, or the person
/// blocked the bot); returns it.
pub async fn unlink_chat(db: &Db, telegram_chat_id: i64) -> Result<Option<UserId>, DomainError> {
    let Some(link) = linked_account(db, telegram_chat_id).await? else {
        return Ok(None);
    };
    unlink_user(db, link.user_id).await?;
    Ok(Some(link.user_id))
}

/// The link of a Telegram chat, if it has one.
pub async fn linked_account(db: &Db, telegram_chat_id: i64) -> Result<Option<telegram_link::Model>, DomainError> {
    Ok(telegram_link::Entity::find().filter(telegram_link::Column::TelegramChatId.eq(telegram_chat_id)).one(db).await?)
}

/// Switches the text in my notifications on or off; `NotFound` when I am not linked.
pub async fn set_previews(db: &Db, me: UserId, previews: bool) -> Result<(), DomainError> {
    let updated = telegram_link::Entity::update_many()
        .col_expr(telegram_link::Column::Previews, Expr::value(previews))
        .filter(telegram_link::Column::UserId.eq(me))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::NotFound("telegram link"));
    }
    Ok(())
}

/// Marks every pending notification of a recipient as settled with `outcome`.
async fn settle_pending(db: &impl ConnectionTrait, recipient: UserId, outcome: &str) -> Result<(), DomainError> {
    notification::Entity::update_many()
        .col_expr(notification::Column::DoneAt, Expr::value(Utc::now()))
        .col_expr(notification::Column::Outcome, Expr::value(outcome))
        .filter(notification::Column::RecipientId.eq(recipient))
        .filter(notification::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A message stored for someone who may be owed a notification.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owed {
    pub recipient: UserId,
    pub chat_id: ChatId,
    pub message_id: i64,
    pub seq: i64,
}

/// Inside the transaction that stores the messages: an outbox row for each one whose
/// recipient is linked to Telegram (the caller passes only recipients who were offline).
pub(crate) async fn write_outbox(
    txn: &impl ConnectionTrait,
    owed: &[Owed],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if owed.is_empty() {
        return Ok(());
    }
    let recipients: Vec<UserId> = owed.iter().map(|o| o.recipient).collect();
    let linked: Vec<UserId> = telegram_link::Entity::find()
        .select_only()
        .column(telegram_link::Column::UserId)
        .filter(telegram_link::Column::UserId.is_in(recipients))
        .into_tuple()
        .all(txn)
        .await?;
    let rows: Vec<notification::ActiveModel> = owed
        .iter()
        .filter(|o| linked.contains(&o.recipient))
        .map(|o| notification::ActiveModel {
            recipient_id: Set(o.recipient),
            chat_id: Set(o.chat_id),
            message_id: Set(o.message_id),
            seq: Set(o.seq),
            created_at: Set(now),
            due_at: Set(now),
            attempts: Set(0),
            done_at: Set(None),
            outcome: Set(None),
            telegram_chat_id: Set(None),
            telegram_message_id: Set(None),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        notification::Entity::insert_many(rows).exec(txn).await?;
    }
    Ok(())
}

/// The notifications owed to one person for one chat, to be sent as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The outbox rows it settles.
    pub ids: Vec<i64>,
    /// Who is told.
    pub recipient: UserId,
    /// Which chat.
    pub chat_id: ChatId,
    /// Where to: `None` when the recipient is no longer linked.
    pub telegram_chat_id: Option<i64>,
    /// The link's preview setting.
    pub previews: bool,
    /// The language the bot speaks to the recipient: the one they chose in the web app, else
    /// their Telegram's.
    pub language: String,
    /// The sender's name.
    pub sender_name: String,
    /// The texts, oldest first, of the messages the recipient has not read yet (empty:
    /// everything was read meanwhile).
    pub unread: Vec<String>,
    /// Failed tries of the oldest row.
    pub attempts: i32,
    /// When the newest of them was stored.
    pub newest_at: DateTime<Utc>,
    /// When the oldest of them was stored.
    pub oldest_at: DateTime<Utc>,
}

/// Most outbox rows read in one pass of the worker.
pub const DUE_MAX: u64 = 500;

/// Pending notifications that are due, grouped by recipient and chat, oldest first.
pub async fn due(db: &Db, now: DateTime<Utc>) -> Result<Vec<Batch>, DomainError> {
    let rows = notification::Entity::find()
        .filter(notification::Column::DoneAt.is_null())
        .filter(notification::Column::DueAt.lte(now))
        .order_by_asc(notification::Column::Id)
        .limit(DUE_MAX)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut groups: BTreeMap<(UserId, ChatId), Vec<notification::Model>> = BTreeMap::new();
    for row in rows {
        groups.entry((row.recipient_id, row.chat_id)).or_default().push(row);
    }
    let recipients: Vec<UserId> = groups.keys().map(|(r, _)| *r).collect();
    let links: HashMap<UserId, telegram_link::Model> = telegram_link::Entity::find()
        .filter(telegram_link::Column::UserId.is_in(recipients.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.user_id, l))
        .collect();
    // The language each recipient chose in the web app, which wins over their Telegram's.
    let chosen: HashMap<UserId, String> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Language])
        .filter(user::Column::Id.is_in(recipients.clone()))
        .into_tuple::<(i64, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(id, language)| Some((id, language?)))
        .collect();
    let message_ids: Vec<i64> = groups.values().flatten().map(|r| r.message_id).collect();
    let messages: HashMap<i64, message::Model> = message::Entity::find()
        .filter(message::Column::Id.is_in(message_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let senders: Vec<UserId> = messages.values().map(|m| m.sender_id).collect();
    let names: HashMap<UserId, String> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::Name])
        .filter(user::Column::Id.is_in(senders))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let chat_ids: Vec<ChatId> = groups.keys().map(|(_, c)| *c).collect();
    let reads: HashMap<(ChatId, UserId), i64> = chat_read::Entity::find()
        .filter(chat_read::Column::ChatId.is_in(chat_ids))
        .filter(chat_read::Column::UserId.is_in(recipients))
        .all(db)
        .await?
        .into_iter()
        .map(|r| ((r.chat_id, r.user_id), r.last_read_seq))
        .collect();

    let mut batches = Vec::with_capacity(groups.len());
    for ((recipient, chat_id), mut rows) in groups {
        rows.sort_by_key(|r| r.seq);
        let read = reads.get(&(chat_id, recipient)).copied().unwrap_or(0);
        let link = links.get(&recipient);
        let unread: Vec<String> = rows
            .iter()
            .filter(|r| r.seq > read)
            .filter_map(|r| messages.get(&r.message_id).map(|m| m.body.clone()))
            .collect();
        let sender_name = rows
            .iter()
            .rev()
            .find_map(|r| messages.get(&r.message_id).and_then(|m| names.get(&m.sender_id)))
            .cloned()
            .unwrap_or_default();
        batches.push(Batch {
            ids: rows.iter().map(|r| r.id).collect(),
            recipient,
            chat_id,
            telegram_chat_id: link.map(|l| l.telegram_chat_id),
            previews: link.is_none_or(|l| l.previews),
            language: chosen
                .get(&recipient)
                .cloned()
                .unwrap_or_else(|| link.map_or_else(|| "en".to_owned(), |l| l.language.clone())),
            sender_name,
            unread,
            attempts: rows.iter().map(|r| r.attempts).max().unwrap_or(0),
            newest_at: rows.iter().map(|r| r.created_at).max().unwrap_or_default(),
            oldest_at: rows.iter().map(|r| r.created_at).min().unwrap_or_default(),
        });
    }
    Ok(batches)
}

/// Takes pending rows for one try: pushes their due time to `until`, so that no other
/// worker takes them meanwhile. False (and nothing changed) when any of them was taken or
/// settled by someone else first.
pub async fn claim(db: &Db, ids: &[i64], now: DateTime<Utc>, until: DateTime<Utc>) -> Result<bool, DomainError> {
    let txn = db.begin().await?;
    let claimed = notification::Entity::update_many()
        .col_expr(notification::Column::DueAt, Expr::value(until))
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::DoneAt.is_null())
        .filter(notification::Column::DueAt.lte(now))
        .exec(&txn)
        .await?
        .rows_affected;
    if claimed != ids.len() as u64 {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

/// Settles rows: sent (with Telegram's chat and message id), or not to be sent.
pub async fn settle(db: &Db, ids: &[i64], outcome: &str, sent_as: Option<(i64, i64)>) -> Result<(), DomainError> {
    let (chat, message) = sent_as.unzip();
    notification::Entity::update_many()
        .col_expr(notification::Column::DoneAt, Expr::value(Utc::now()))
        .col_expr(notification::Column::Outcome, Expr::value(outcome))
        .col_expr(notification::Column::TelegramChatId, Expr::value(chat))
        .col_expr(notification::Column::TelegramMessageId, Expr::value(message))
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Puts rows back to be tried again at `due_at`; `failed` counts the try as a failure.
pub async fn retry_later(db: &Db, ids: &[i64], due_at: DateTime<Utc>, failed: bool) -> Result<(), DomainError> {
    let mut update = notification::Entity::update_many().col_expr(notification::Column::DueAt, Expr::value(due_at));
    if failed {
        update = update.col_expr(notification::Column::Attempts, Expr::col(notification::Column::Attempts).add(1));
    }
    update
        .filter(notification::Column::Id.is_in(ids.iter().copied()))
        .filter(notification::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The chat a notification was about, and its recipient, from the Telegram message that
/// carried it (a reply to it answers there).
pub async fn reply_target(
    db: &Db,
    telegram_chat_id: i64,
    telegram_message_id: i64,
) -> Result<Option<(UserId, ChatId)>, DomainError> {
    Ok(notification::Entity::find()
        .select_only()
        .columns([notification::Column::RecipientId, notification::Column::ChatId])
        .filter(notification::Column::TelegramChatId.eq(telegram_chat_id))
        .filter(notification::Column::TelegramMessageId.eq(telegram_message_id))
        .into_tuple()
        .one(db)
        .await?)
}

/// Pending notifications, and how long the oldest has waited (for `/metrics`).
pub async fn backlog(db: &Db, now: DateTime<Utc>) -> Result<(u64, Duration), DomainError> {
    let (count, oldest): (i64, Option<DateTime<Utc>>) = notification::Entity::find()
        .select_only()
        .column_as(notification::Column::Id.count(), "count")
        .column_as(notification::Column::CreatedAt.min(), "oldest")
        .filter(notification::Column::DoneAt.is_null())
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or((0, None));
    Ok((u64::try_from(count).unwrap_or(0), oldest.map_or(Duration::zero(), |t| now - t)))
}

/// Deletes settled rows older than `keep` (replies to such old notifications no longer
/// find their chat) and expired link tokens.
pub async fn purge(db: &Db, keep: Duration) -> Result<(), DomainError> {
    let now = Utc::now();
    notification::Entity::delete_many().filter(notification::Column::DoneAt.lt(now - keep)).exec(db).await?;
    telegram_link_token::Entity::delete_many().filter(telegram_link_token::Column::ExpiresAt.lt(now)).exec(db).await?;
    Ok(())
}

/// Where the bot's next long poll starts (Telegram's `offset`): the id after the last
/// update handled, kept so that a node taking over does not handle old updates again.
pub async fn update_offset(db: &Db) -> Result<i64, DomainError> {
    Ok(settings::get(db, UPDATE_OFFSET).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Records where the next long poll starts.
pub async fn save_update_offset(db: &Db, offset: i64) -> Result<(), DomainError> {
    settings::set(db, UPDATE_OFFSET, &offset.to_string()).await
}

const UPDATE_OFFSET: &str = "telegram_update_offset";
