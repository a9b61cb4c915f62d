//! `/api/v1/auth/*` and `/api/v1/me`.

use app::server_context::{SESSION_COOKIE, ServerContext};
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use domain::input::NewAccount;
use domain::model::{LoginRequest, RegisterRequest, User};

use super::{ApiError, ApiJson, Caller};

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

/// 201 with the new user, signed in.
pub async fn register(
    State(ctx): State<ServerContext>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let account = NewAccount::parse(&body.email, &body.name, &body.password)?;
    let (user, token) = ctx.messenger.sign_up(account, user_agent(&headers)).await?;
    Ok((StatusCode::CREATED, jar.add(ctx.cookies.issue(token)), ApiJson(user)))
}

/// 200 with the user; sets the session cookie.
pub async fn login(
    State(ctx): State<ServerContext>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = ctx.messenger.sign_in(&body.email, &body.password, user_agent(&headers)).await?;
    Ok((jar.add(ctx.cookies.issue(token)), ApiJson(user)))
}

/// 204; the session is revoked on the server.
pub async fn logout(State(ctx): State<ServerContext>, jar: CookieJar) -> Result<impl IntoResponse, ApiError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        ctx.messenger.sign_out(cookie.value()).await?;
    }
    Ok((StatusCode::NO_CONTENT, jar.add(ctx.cookies.clear())))
}

/// 200 with the signed-in user, or 401.
pub async fn me(Caller(session): Caller) -> ApiJson<User> {
    ApiJson(session.user)
}
