//! Reusable pieces of the messenger screen.

pub mod chat_list;
pub mod chat_view;
pub mod connection_badge;
pub mod directory;
pub mod rich_text;
pub mod tab;
pub mod time;
