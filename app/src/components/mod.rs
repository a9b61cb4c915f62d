//! Reusable pieces of the messenger screen.

pub mod appearance_settings;
pub mod chat_list;
pub mod chat_view;
pub mod connection_badge;
pub mod directory;
pub mod language_settings;
pub mod password_settings;
pub mod rich_text;
pub mod sessions_settings;
pub mod tab;
pub mod telegram_settings;
pub mod time;
