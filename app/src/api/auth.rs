//! Registration, sign-in, sign-out and who-am-I for the UI.

use domain::model::User;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::api::edge;
use crate::error::UiError;

/// Creates an account and signs it in.
#[server(prefix = "/_fn", endpoint = "register")]
pub async fn register(email: String, name: String, password: String) -> Result<User, UiError> {
    let ctx = edge::context()?;
    let account = domain::input::NewAccount::parse(&email, &name, &password)?;
    let (user, token) =
        ctx.messenger.sign_up(account, edge::user_agent().as_deref(), edge::client_address().await).await?;
    edge::set_cookie(ctx.cookies.issue(token));
    Ok(user)
}

/// Signs in with email and password.
#[server(prefix = "/_fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<User, UiError> {
    let ctx = edge::context()?;
    let (user, token) =
        ctx.messenger.sign_in(&email, &password, edge::user_agent().as_deref(), edge::client_address().await).await?;
    edge::set_cookie(ctx.cookies.issue(token));
    // The language chosen on another device comes along.
    if let Some(language) = user.language {
        edge::set_cookie(ctx.cookies.language(language));
    }
    Ok(user)
}

/// Signs out: the session is revoked on the server and the cookie removed.
#[server(prefix = "/_fn", endpoint = "logout")]
pub async fn logout() -> Result<(), UiError> {
    let ctx = edge::context()?;
    if let Some(token) = edge::session_token().await {
        ctx.messenger.sign_out(&token).await?;
    }
    edge::set_cookie(ctx.cookies.clear());
    Ok(())
}

/// The signed-in user, or `None`.
#[server(prefix = "/_fn", endpoint = "me")]
pub async fn me() -> Result<Option<User>, UiError> {
    let ctx = edge::context()?;
    match edge::caller(&ctx).await {
        Ok(session) => Ok(Some(session.user)),
        Err(domain::DomainError::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
