//! `/api/v1/telegram`: my link to the Telegram bot.

use app::server_context::ServerContext;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::model::{TelegramLinkOffer, TelegramSettings, TelegramStatus};

use super::{ApiError, ApiJson, Caller, ErrorBody};

/// `GET /api/v1/telegram`: whether the bot runs, and my link to it.
#[utoipa::path(
    get,
    path = "/telegram",
    tag = "telegram",
    summary = "Telegram status",
    description = "Whether the server has a Telegram bot (`configured`), its username once Telegram answered, and whether my account is linked to it.",
    security(("session" = [])),
    responses(
        (status = OK, description = "The status", body = TelegramStatus),
    )
)]
pub async fn status(State(ctx): State<ServerContext>, Caller(me): Caller) -> Result<ApiJson<TelegramStatus>, ApiError> {
    Ok(ApiJson(ctx.messenger.telegram_status(me.user.id).await?))
}

/// `PATCH /api/v1/telegram {previews}`: my notification settings.
#[utoipa::path(
    patch,
    path = "/telegram",
    tag = "telegram",
    summary = "Telegram settings",
    description = "Switches the message text in my notifications on or off (on by default).",
    request_body = TelegramSettings,
    security(("session" = [])),
    responses(
        (status = OK, description = "The status after the change", body = TelegramStatus),
        (status = NOT_FOUND, description = "`not_found`: my account is not linked to Telegram", body = ErrorBody),
    )
)]
pub async fn settings(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<TelegramSettings>,
) -> Result<ApiJson<TelegramStatus>, ApiError> {
    Ok(ApiJson(ctx.messenger.telegram_previews(me.user.id, body.previews).await?))
}

/// `POST /api/v1/telegram/link`: a one-time link to the bot.
#[utoipa::path(
    post,
    path = "/telegram/link",
    tag = "telegram",
    summary = "Link Telegram",
    description = "A one-time `https://t.me/<bot>?start=<token>` link, valid for 10 minutes, and its QR code. Opening it in Telegram and pressing Start links that Telegram chat to my account (earlier links of mine stop working). My open sockets get a `telegram` frame once it is linked.",
    security(("session" = [])),
    responses(
        (status = CREATED, description = "The link", body = TelegramLinkOffer),
        (status = CONFLICT, description = "`telegram_not_configured`: the server has no Telegram bot", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "`telegram_unavailable`: the bot has not reached Telegram yet; try again in a moment", body = ErrorBody),
    )
)]
pub async fn link(State(ctx): State<ServerContext>, Caller(me): Caller) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::CREATED, ApiJson(ctx.messenger.telegram_link(me.user.id).await?)))
}

/// `DELETE /api/v1/telegram/link`: 204.
#[utoipa::path(
    delete,
    path = "/telegram/link",
    tag = "telegram",
    summary = "Unlink Telegram",
    description = "Unlinks my account from its Telegram chat (no more notifications). Also done by sending /stop to the bot.",
    security(("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Unlinked (or was not linked)"),
    )
)]
pub async fn unlink(State(ctx): State<ServerContext>, Caller(me): Caller) -> Result<StatusCode, ApiError> {
    ctx.messenger.telegram_unlink(me.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
