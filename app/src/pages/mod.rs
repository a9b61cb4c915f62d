//! One module per screen.

pub mod auth;
pub mod messenger;
pub mod settings;
