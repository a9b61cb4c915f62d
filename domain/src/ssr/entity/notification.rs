//! `notification_outbox`.

use sea_orm::entity::prelude::*;

/// A Telegram notification owed for one message, written in the transaction that stored
/// the message; the worker sends it (several of one chat as one) and marks it done.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_outbox")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who is to be told (offline when the message was stored, linked to Telegram).
    pub recipient_id: i64,
    /// The chat the message went to.
    pub chat_id: i64,
    /// The message.
    pub message_id: i64,
    /// Its seq in the chat.
    pub seq: i64,
    /// When the message was stored.
    pub created_at: DateTimeUtc,
    /// Not before this (a retry waits here; a worker that took the row pushes it on).
    pub due_at: DateTimeUtc,
    /// Failed tries so far.
    pub attempts: i32,
    /// When it was settled; `None` while pending.
    pub done_at: Option<DateTimeUtc>,
    /// How: `sent`, `skipped` (read or back online in time, or unlinked), `failed`.
    pub outcome: Option<String>,
    /// The Telegram chat it went to, once sent.
    pub telegram_chat_id: Option<i64>,
    /// Telegram's id of the notification, once sent (a reply to it answers this chat).
    pub telegram_message_id: Option<i64>,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
