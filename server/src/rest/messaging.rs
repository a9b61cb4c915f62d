//! `/api/v1/users`, `/api/v1/chats...`: the directory, chats, history, send and read.

use app::server_context::ServerContext;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::directory::DirectoryQuery;
use domain::input::NewMessage;
use domain::model::{ChatSummary, Message, OpenChatRequest, ReadRequest, SendRequest, UserPage, UserSort};
use serde::Deserialize;

use super::{ApiError, ApiJson, Caller};

/// Query strings with rejections in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters with rejections in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `?page=&per_page=&sort=&q=`
#[derive(Deserialize)]
pub struct UsersParams {
    page: Option<u64>,
    per_page: Option<u64>,
    sort: Option<String>,
    q: Option<String>,
}

/// `GET /api/v1/users`: a page of the directory.
pub async fn users(
    State(ctx): State<ServerContext>,
    _caller: Caller,
    ApiQuery(params): ApiQuery<UsersParams>,
) -> Result<ApiJson<UserPage>, ApiError> {
    let defaults = DirectoryQuery::default();
    let sort = match params.sort.as_deref() {
        None | Some("") => UserSort::default(),
        Some(raw) => UserSort::parse(raw)
            .ok_or_else(|| domain::DomainError::invalid("sort", "sort by one of: name, -name, created, -created"))?,
    };
    let query = DirectoryQuery {
        page: params.page.unwrap_or(defaults.page),
        per_page: params.per_page.unwrap_or(defaults.per_page),
        sort,
        q: params.q,
    };
    Ok(ApiJson(ctx.messenger.directory(query).await?))
}

/// `GET /api/v1/chats`: my chats, newest activity first.
pub async fn chats(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
) -> Result<ApiJson<Vec<ChatSummary>>, ApiError> {
    Ok(ApiJson(ctx.messenger.my_chats(me.user.id).await?))
}

/// `POST /api/v1/chats {peer_id}`: the one chat with that peer (oneself: Saved Messages).
pub async fn open_chat(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<OpenChatRequest>,
) -> Result<ApiJson<ChatSummary>, ApiError> {
    Ok(ApiJson(ctx.messenger.open_chat(me.user.id, body.peer_id).await?))
}

/// `?before_seq=&limit=` (a page of history) or `?after_seq=&limit=` (what came after).
#[derive(Deserialize)]
pub struct HistoryParams {
    before_seq: Option<i64>,
    after_seq: Option<i64>,
    limit: Option<u64>,
}

/// Messages per page when the client does not say.
const DEFAULT_LIMIT: u64 = 50;

/// `GET /api/v1/chats/{id}/messages`: oldest first within the page.
pub async fn history(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiPath(chat_id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<ApiJson<Vec<Message>>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    let page = match params.after_seq {
        Some(after) => ctx.messenger.since(me.user.id, chat_id, after, limit).await?,
        None => ctx.messenger.history(me.user.id, chat_id, params.before_seq, limit).await?,
    };
    Ok(ApiJson(page))
}

/// `POST /api/v1/chats/{id}/messages {text, client_id}`: 201 with the message (the first
/// one again for a repeated client_id).
pub async fn send(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiPath(chat_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let message = NewMessage::parse(chat_id, &body.client_id, &body.text)?;
    let message = ctx.messenger.send(me.user.id, message).await?;
    Ok((StatusCode::CREATED, ApiJson(message)))
}

/// `POST /api/v1/chats/{id}/read {seq}`: 204.
pub async fn read(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiPath(chat_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    ctx.messenger.mark_read(me.user.id, chat_id, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}
