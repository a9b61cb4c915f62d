//! `chat_reads`.

use sea_orm::entity::prelude::*;

/// How far one participant has read one chat.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_reads")]
pub struct Model {
    /// The chat.
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: i64,
    /// The reader.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// The newest seq they have read; only ever grows.
    pub last_read_seq: i64,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
