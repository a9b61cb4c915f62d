//! Table mappings (sea-orm). Only `domain` queries them.

pub mod chat;
pub mod chat_read;
pub mod message;
pub mod session;
pub mod user;
