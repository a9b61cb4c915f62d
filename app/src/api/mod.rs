//! Server functions: each finds its caller, makes one domain call and maps the result.

pub mod account;
pub mod auth;
pub mod messenger;
pub mod telegram;

#[cfg(feature = "ssr")]
pub(crate) mod edge {
    //! What every server function needs from the request it runs in.

    use axum::http::header::{SET_COOKIE, USER_AGENT};
    use axum::http::{HeaderValue, request::Parts};
    use axum_extra::extract::CookieJar;
    use domain::DomainError;
    use domain::sessions::CurrentSession;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::error::UiError;
    use crate::server_context::ServerContext;

    /// The server's shared state.
    pub fn context() -> Result<ServerContext, UiError> {
        use_context::<ServerContext>().ok_or_else(|| DomainError::internal("server context missing").into())
    }

    /// The session token the browser sent, if any.
    pub async fn session_token() -> Option<String> {
        let jar: CookieJar = leptos_axum::extract().await.ok()?;
        let name = context().ok()?.cookies.name();
        jar.get(name).map(|c| c.value().to_owned())
    }

    /// The signed-in caller, or `Unauthenticated`. (A `DomainError`, so that a caller that
    /// tolerates anonymity does not mark the response as failed.)
    pub async fn caller(ctx: &ServerContext) -> Result<CurrentSession, DomainError> {
        let token = session_token().await.ok_or(DomainError::Unauthenticated)?;
        domain::sessions::resolve(&ctx.messenger.db, &token).await?.ok_or(DomainError::Unauthenticated)
    }

    /// The caller's address (the TCP peer, or behind a trusted proxy the client it names).
    pub async fn client_address() -> std::net::IpAddr {
        let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .map(|info| info.0.ip())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        match (context(), use_context::<Parts>()) {
            (Ok(ctx), Some(parts)) => ctx.client_address(peer, &parts.headers),
            _ => peer,
        }
    }

    /// The caller's browser, as it names itself.
    pub fn user_agent() -> Option<String> {
        let parts = use_context::<Parts>()?;
        parts.headers.get(USER_AGENT)?.to_str().ok().map(str::to_owned)
    }

    /// Adds a `Set-Cookie` header to the response.
    pub fn set_cookie(cookie: cookie::Cookie<'static>) {
        if let (Some(response), Ok(value)) =
            (use_context::<ResponseOptions>(), HeaderValue::from_str(&cookie.to_string()))
        {
            response.append_header(SET_COOKIE, value);
        }
    }
}
