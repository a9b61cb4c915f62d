//! The directory, chats and history for the UI. Sending and read markers travel over the
//! WebSocket (see `live`), through the same domain calls.

use domain::model::{ChatPage, ChatSummary, Message, UserPage, UserSort};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::edge;
use crate::error::UiError;

/// A page of the directory, sorted (`name`, `-name`, `created`, `-created`) and filtered
/// by a name or email prefix.
#[server(prefix = "/_fn", endpoint = "directory")]
pub async fn directory(page: u64, per_page: u64, sort: UserSort, q: String) -> Result<UserPage, UiError> {
    let ctx = edge::context()?;
    edge::caller(&ctx).await?;
    let query = domain::directory::DirectoryQuery { page, per_page, sort, q: Some(q) };
    Ok(ctx.messenger.directory(query).await?)
}

/// A page of my chats, newest activity first: the first one without a cursor, else the one
/// after the `next_cursor` of the page before.
#[server(prefix = "/_fn", endpoint = "my_chats")]
pub async fn my_chats(cursor: Option<String>) -> Result<ChatPage, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    let cursor = cursor.as_deref().map(domain::chats::ChatCursor::parse).transpose()?;
    Ok(ctx.messenger.my_chats(me.user.id, cursor, domain::model::CHAT_PAGE_DEFAULT).await?)
}

/// The one chat with a peer (oneself: Saved Messages), created on first open.
#[server(prefix = "/_fn", endpoint = "open_chat")]
pub async fn open_chat(peer_id: i64) -> Result<ChatSummary, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.open_chat(me.user.id, peer_id).await?)
}

/// A page of history before `before_seq` (or the newest), oldest first.
#[server(prefix = "/_fn", endpoint = "history")]
pub async fn history(chat_id: i64, before_seq: Option<i64>, limit: u64) -> Result<Vec<Message>, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.history(me.user.id, chat_id, before_seq, limit).await?)
}

/// What arrived after `after_seq` (resume after a reconnect), oldest first.
#[server(prefix = "/_fn", endpoint = "since")]
pub async fn since(chat_id: i64, after_seq: i64, limit: u64) -> Result<Vec<Message>, UiError> {
    let ctx = edge::context()?;
    let me = edge::caller(&ctx).await?;
    Ok(ctx.messenger.since(me.user.id, chat_id, after_seq, limit).await?)
}
