//! My account's devices (its sessions) and its password, for the settings page.

use domain::model::SessionInfo;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::edge;
use crate::error::UiError;

/// The devices signed in to my account, most recently used first; `current` marks this one.
#[server(prefix = "/_fn", endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.sessions(me.user.id, me.session_id).await?)
}

/// Signs one of my devices out (`not_found` when it is not mine or already gone); its
/// live connections close. Ending this device's own session also removes its cookie.
#[server(prefix = "/_fn", endpoint = "end_session")]
pub async fn end_session(id: i64) -> Result<(), UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    ctx.messenger.end_session(me.user.id, id).await?;
    if id == me.session_id {
        edge::set_cookie(ctx.cookies.clear());
    }
    Ok(())
}

/// Signs out every device of mine but this one; how many were signed out.
#[server(prefix = "/_fn", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.end_other_sessions(me.user.id, me.session_id).await?)
}

/// Changes my password, given the current one. Problems come back per field
/// (`current_password`, `new_password`); tries are limited like sign-ins. Every other
/// device of mine is signed out; this one stays signed in.
#[server(prefix = "/_fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.change_password(&me.user, me.session_id, &current_password, &new_password).await?)
}

/// Keeps the interface language I chose (`en`, `ru`) with my account, so that it follows me
/// to every device I sign in on, and in this browser's `lang` cookie.
#[server(prefix = "/_fn", endpoint = "set_language")]
pub async fn set_language(language: String) -> Result<(), UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    let language =
        domain::model::Language::parse(&language).map_err(|why| domain::DomainError::invalid("language", why))?;
    ctx.messenger.set_language(me.user.id, language).await?;
    edge::set_cookie(ctx.cookies.language(language));
    Ok(())
}
