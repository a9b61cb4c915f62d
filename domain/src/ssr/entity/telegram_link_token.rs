//! `telegram_link_tokens`.

use sea_orm::entity::prelude::*;

/// A one-time token that links the account that asked for it to the Telegram chat that
/// sends it to the bot (`/start <token>`). Only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telegram_link_tokens")]
pub struct Model {
    /// SHA-256 of the token, URL-safe base64.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// Who asked for it.
    pub user_id: i64,
    /// When.
    pub created_at: DateTimeUtc,
    /// It links nothing after this.
    pub expires_at: DateTimeUtc,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
