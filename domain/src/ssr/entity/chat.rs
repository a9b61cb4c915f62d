//! `chats`.

use sea_orm::entity::prelude::*;

/// One conversation between two users (or a user and themselves: Saved Messages).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The smaller participant id.
    pub user_lo: i64,
    /// The larger participant id (equal to `user_lo` for Saved Messages).
    pub user_hi: i64,
    /// The seq of the newest message; 0 when empty.
    pub last_seq: i64,
    /// When it was first opened.
    pub created_at: DateTimeUtc,
    /// When the newest message was sent.
    pub last_message_at: Option<DateTimeUtc>,
}

/// No navigable relations: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// True when `user_id` is one of the two participants.
    pub fn has_participant(&self, user_id: i64) -> bool {
        self.user_lo == user_id || self.user_hi == user_id
    }

    /// The participant who is not `me` (`me` again for Saved Messages).
    pub fn peer_of(&self, me: i64) -> i64 {
        if self.user_lo == me { self.user_hi } else { self.user_lo }
    }

    /// True for the chat with oneself.
    pub fn is_saved_messages(&self) -> bool {
        self.user_lo == self.user_hi
    }
}
