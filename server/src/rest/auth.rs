//! `/api/v1/auth/*` and `/api/v1/me`.

use app::server_context::ServerContext;
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use domain::input::NewAccount;
use domain::model::{ChangePasswordRequest, LanguageRequest, LoginRequest, RegisterRequest, User};

use super::{ApiError, ApiJson, Caller, ClientAddress, ErrorBody};

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

/// 201 with the new user, signed in.
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    summary = "Create an account and sign in",
    description = "Creates the account and starts a session: the response sets the `session` cookie.",
    request_body = RegisterRequest,
    responses(
        (status = CREATED, description = "The new user, signed in", body = User,
            headers(("Set-Cookie" = String, description = "`session=…; HttpOnly; SameSite=Lax; Path=/` (and `Secure` behind HTTPS), for 30 days"))),
        (status = CONFLICT, description = "`email_taken`: an account with this email exists (`fields.email` says so)", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`rate_limited`: too many sign-ups from this address (`SIGN_UPS_PER_HOUR`, 60 by default); retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: a field is missing or out of range; `fields` names each one (`email`, `name`, `password`)", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "`busy` (too many password hashes under way) or `unavailable` (the database cannot be reached for the moment): retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn register(
    State(ctx): State<ServerContext>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let account = NewAccount::parse(&body.email, &body.name, &body.password)?;
    let (user, token) = ctx.messenger.sign_up(account, user_agent(&headers), address).await?;
    Ok((StatusCode::CREATED, jar.add(ctx.cookies.issue(token)), ApiJson(user)))
}

/// 200 with the user; sets the session cookie.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    summary = "Sign in",
    description = "Checks the password and starts a session: the response sets the `session` cookie. \
        Attempts are limited per email address.",
    request_body = LoginRequest,
    responses(
        (status = OK, description = "The user, signed in", body = User,
            headers(("Set-Cookie" = String, description = "`session=…; HttpOnly; SameSite=Lax; Path=/` (and `Secure` behind HTTPS), for 30 days"))),
        (status = UNAUTHORIZED, description = "`bad_credentials`: unknown email or wrong password (the same answer for both)", body = ErrorBody),
        (status = FORBIDDEN, description = "`account_disabled`: an administrator deactivated the account; or `bad_origin`: the request came from another site", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`rate_limited`: too many attempts for this email; retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
        (status = SERVICE_UNAVAILABLE, description = "`busy` (too many password checks under way) or `unavailable` (the database cannot be reached for the moment): retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn login(
    State(ctx): State<ServerContext>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, token) = ctx.messenger.sign_in(&body.email, &body.password, user_agent(&headers), address).await?;
    Ok((jar.add(ctx.cookies.issue(token)), ApiJson(user)))
}

/// 204; the session is revoked on the server.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    summary = "Sign out",
    description = "Revokes the session on the server (its sockets close) and clears the cookie. \
        Without a session cookie it only clears the cookie.",
    security((), ("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Signed out",
            headers(("Set-Cookie" = String, description = "Removes the `session` cookie"))),
    )
)]
pub async fn logout(State(ctx): State<ServerContext>, jar: CookieJar) -> Result<impl IntoResponse, ApiError> {
    if let Some(cookie) = jar.get(ctx.cookies.name()) {
        ctx.messenger.sign_out(cookie.value()).await?;
    }
    Ok((StatusCode::NO_CONTENT, jar.add(ctx.cookies.clear())))
}

/// 200 with the signed-in user, or 401.
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    summary = "Who am I",
    description = "The signed-in user (with their email and role).",
    security(("session" = [])),
    responses(
        (status = OK, description = "The signed-in user", body = User),
    )
)]
pub async fn me(Caller(session): Caller) -> ApiJson<User> {
    ApiJson(session.user)
}

/// `PUT /api/v1/me/language {language}`: 204.
#[utoipa::path(
    put,
    path = "/me/language",
    tag = "auth",
    summary = "Keep my interface language",
    description = "The language (`en` or `ru`) the web app speaks to me on every device I sign in on, and the Telegram bot in my notifications. Signing in sets the browser's `lang` cookie to it.",
    request_body = LanguageRequest,
    security(("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Kept"),
    )
)]
pub async fn set_language(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<LanguageRequest>,
) -> Result<StatusCode, ApiError> {
    ctx.messenger.set_language(me.user.id, body.language).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/password {current_password, new_password}`: 204.
#[utoipa::path(
    post,
    path = "/me/password",
    tag = "auth",
    summary = "Change my password",
    description = "Needs the current password. The new one has 12 to 128 characters and must not be common or easy to guess. Every other session of mine ends (their live connections close with code 4001); this one stays signed in.",
    request_body = ChangePasswordRequest,
    security(("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Changed"),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: `fields.current_password` (not the current password) or `fields.new_password` (too short, too long, too easy to guess, or unchanged)", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`rate_limited`: too many tries; wait a minute", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn change_password(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    ctx.messenger.change_password(&me.user, me.session_id, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
