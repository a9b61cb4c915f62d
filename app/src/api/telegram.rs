//! My link to the Telegram bot, for the settings page: its state, a one-time link to it,
//! unlinking, and whether notifications show the message's text.

use domain::model::{TelegramLinkOffer, TelegramStatus};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::edge;
use crate::error::UiError;

/// Whether the server has a bot, its name once Telegram answered, and whether my account
/// is linked to it. (Its request type is named so as not to clash with the domain's
/// `TelegramStatus`.)
#[server(name = GetTelegramStatus, prefix = "/_fn", endpoint = "telegram_status")]
pub async fn telegram_status() -> Result<TelegramStatus, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.telegram_status(me.user.id).await?)
}

/// A one-time `t.me` link (and its QR code) that links my account to the Telegram chat
/// that opens it, valid for 10 minutes; earlier ones stop working.
#[server(prefix = "/_fn", endpoint = "telegram_link")]
pub async fn telegram_link() -> Result<TelegramLinkOffer, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.telegram_link(me.user.id).await?)
}

/// Unlinks my account from Telegram: no more notifications.
#[server(prefix = "/_fn", endpoint = "telegram_unlink")]
pub async fn telegram_unlink() -> Result<(), UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.telegram_unlink(me.user.id).await?)
}

/// Shows or hides the message's text in my notifications; the status after the change.
#[server(prefix = "/_fn", endpoint = "telegram_previews")]
pub async fn telegram_previews(previews: bool) -> Result<TelegramStatus, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.telegram_previews(me.user.id, previews).await?)
}
