//! `/api/v1/sessions`: my signed-in browsers and clients, and ending them.

use app::server_context::ServerContext;
use axum::extract::State;
use axum::http::StatusCode;
use domain::model::{SessionInfo, SessionsEnded};

use super::messaging::ApiPath;
use super::{ApiError, ApiJson, Caller, ErrorBody};

/// `GET /api/v1/sessions`: my sessions.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "auth",
    summary = "My sessions",
    description = "Every browser or client signed in to my account, most recently used first; `current` marks the one making this request.",
    security(("session" = [])),
    responses(
        (status = OK, description = "My sessions", body = Vec<SessionInfo>),
    )
)]
pub async fn list(State(ctx): State<ServerContext>, Caller(me): Caller) -> Result<ApiJson<Vec<SessionInfo>>, ApiError> {
    Ok(ApiJson(ctx.messenger.sessions(me.user.id, me.session_id).await?))
}

/// `DELETE /api/v1/sessions/{id}`: 204.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "auth",
    summary = "End a session",
    description = "Signs one of my sessions out (this one too, when it is its id). Its live connections close with code 4001 on every node.",
    params(("id" = i64, Path, description = "The session's id")),
    security(("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Ended"),
        (status = NOT_FOUND, description = "`not_found`: no such session of mine", body = ErrorBody),
    )
)]
pub async fn end(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    ctx.messenger.end_session(me.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/sessions/end-others`: signs out every other device.
#[utoipa::path(
    post,
    path = "/sessions/end-others",
    tag = "auth",
    summary = "Sign out other devices",
    description = "Ends every session of mine except the one making this request; their live connections close with code 4001 on every node.",
    security(("session" = [])),
    responses(
        (status = OK, description = "How many sessions ended", body = SessionsEnded),
    )
)]
pub async fn end_others(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
) -> Result<ApiJson<SessionsEnded>, ApiError> {
    let ended = ctx.messenger.end_other_sessions(me.user.id, me.session_id).await?;
    Ok(ApiJson(SessionsEnded { ended }))
}
