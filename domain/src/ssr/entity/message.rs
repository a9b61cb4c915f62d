//! `messages`.

use sea_orm::entity::prelude::*;

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The chat it belongs to.
    pub chat_id: i64,
    /// Position in the chat: 1, 2, 3 ... with no gaps; unique per chat.
    pub seq: i64,
    /// Who wrote it.
    pub sender_id: i64,
    /// The sender's idempotency key; unique per sender.
    pub client_id: String,
    /// The trimmed text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// When the server stored it.
    pub created_at: DateTimeUtc,
    /// When it was last edited (not used yet).
    pub edited_at: Option<DateTimeUtc>,
    /// When it was deleted (not used yet).
    pub deleted_at: Option<DateTimeUtc>,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<Model> for crate::model::Message {
    fn from(message: Model) -> Self {
        Self {
            id: message.id,
            chat_id: message.chat_id,
            seq: message.seq,
            sender_id: message.sender_id,
            client_id: message.client_id,
            text: message.body,
            created_at: message.created_at,
        }
    }
}
