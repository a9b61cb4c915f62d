//! `telegram_links`.

use sea_orm::entity::prelude::*;

/// An account linked to a Telegram chat with the bot (one each way).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telegram_links")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// The private chat between the bot and the person; unique.
    pub telegram_chat_id: i64,
    /// Notifications carry the message's text.
    pub previews: bool,
    /// The language the bot speaks there (`en` or `ru`), from the person's Telegram.
    pub language: String,
    /// When it was linked.
    pub linked_at: DateTimeUtc,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
