//! Table mappings (sea-orm). Only `domain` queries them.

pub mod chat;
pub mod chat_read;
pub mod lease;
pub mod message;
pub mod notification;
pub mod session;
pub mod telegram_link;
pub mod telegram_link_token;
pub mod user;
