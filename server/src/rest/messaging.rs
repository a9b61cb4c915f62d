//! `/api/v1/users`, `/api/v1/chats...`: the directory, chats, history, send and read.

use app::server_context::ServerContext;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use domain::chats::ChatCursor;
use domain::directory::DirectoryQuery;
use domain::input::NewMessage;
use domain::model::{
    CHAT_PAGE_DEFAULT, ChatPage, ChatSummary, Message, OpenChatRequest, ReadRequest, SendRequest, UserPage, UserSort,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ApiError, ApiJson, Caller, ErrorBody};

/// Query strings with rejections in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters with rejections in the API's error shape.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `?page=&per_page=&sort=&q=`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersParams {
    /// The page, from 1 (default 1).
    #[param(minimum = 1)]
    page: Option<u64>,
    /// Users per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u64>,
    /// The order: `name` (default), `-name`, `created` (oldest first) or `-created`.
    #[param(value_type = Option<UserSort>)]
    sort: Option<String>,
    /// Only people whose name starts with this (case does not matter); blank means everyone.
    q: Option<String>,
}

/// `GET /api/v1/users`: a page of the directory.
#[utoipa::path(
    get,
    path = "/users",
    tag = "directory",
    summary = "The directory: a page of users",
    description = "The active accounts, as others see them (never an email), with `total` for paging.",
    params(UsersParams),
    security(("session" = [])),
    responses(
        (status = OK, description = "A page of the directory", body = UserPage),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: `page`, `per_page`, `sort` or `q` out of range (`fields` names it)", body = ErrorBody),
    )
)]
pub async fn users(
    State(ctx): State<ServerContext>,
    _caller: Caller,
    ApiQuery(params): ApiQuery<UsersParams>,
) -> Result<ApiJson<UserPage>, ApiError> {
    let defaults = DirectoryQuery::default();
    let sort = match params.sort.as_deref() {
        None | Some("") => UserSort::default(),
        Some(raw) => UserSort::parse(raw).ok_or_else(|| {
            domain::DomainError::invalid(
                "sort",
                domain::Problem::new("unknown_sort", "sort by one of: name, -name, created, -created"),
            )
        })?,
    };
    let query = DirectoryQuery {
        page: params.page.unwrap_or(defaults.page),
        per_page: params.per_page.unwrap_or(defaults.per_page),
        sort,
        q: params.q,
    };
    Ok(ApiJson(ctx.messenger.directory(query).await?))
}

/// `?cursor=&limit=`
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsParams {
    /// The `next_cursor` of the page before (default, or empty: the first page).
    cursor: Option<String>,
    /// Chats per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

/// `GET /api/v1/chats`: a page of my chats, newest activity first.
#[utoipa::path(
    get,
    path = "/chats",
    tag = "chats",
    summary = "My chats, a page at a time",
    description = "Each with its peer, last message and unread count; newest activity first, chats \
        without messages last. Pass `next_cursor` back as `cursor` for the next page; it is null \
        on the last one.",
    params(ChatsParams),
    security(("session" = [])),
    responses(
        (status = OK, description = "A page of my chats", body = ChatPage),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: `cursor` is not one the server gave, or `limit` is out of range (`fields` names it)", body = ErrorBody),
    )
)]
pub async fn chats(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiQuery(params): ApiQuery<ChatsParams>,
) -> Result<ApiJson<ChatPage>, ApiError> {
    let cursor = params.cursor.as_deref().filter(|c| !c.is_empty()).map(ChatCursor::parse).transpose()?;
    let limit = params.limit.unwrap_or(CHAT_PAGE_DEFAULT);
    Ok(ApiJson(ctx.messenger.my_chats(me.user.id, cursor, limit).await?))
}

/// `POST /api/v1/chats {peer_id}`: the one chat with that peer (oneself: Saved Messages).
#[utoipa::path(
    post,
    path = "/chats",
    tag = "chats",
    summary = "Open the chat with someone",
    description = "The one chat with that person, created on first open; with oneself it is Saved Messages.",
    request_body = OpenChatRequest,
    security(("session" = [])),
    responses(
        (status = OK, description = "The chat", body = ChatSummary),
        (status = NOT_FOUND, description = "`not_found`: no such person", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`rate_limited`: too many chats opened (60 at once, then 2 a second); retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn open_chat(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<OpenChatRequest>,
) -> Result<ApiJson<ChatSummary>, ApiError> {
    Ok(ApiJson(ctx.messenger.open_chat(me.user.id, body.peer_id).await?))
}

/// `?before_seq=&limit=` (a page of history) or `?after_seq=&limit=` (what came after).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// A page of the messages before this seq (default: the newest page).
    before_seq: Option<i64>,
    /// Instead, the messages after this seq (to resume); `before_seq` is then ignored.
    after_seq: Option<i64>,
    /// Messages per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

/// Messages per page when the client does not say.
const DEFAULT_LIMIT: u64 = 50;

/// `GET /api/v1/chats/{id}/messages`: oldest first within the page.
#[utoipa::path(
    get,
    path = "/chats/{id}/messages",
    tag = "chats",
    summary = "A chat's messages",
    description = "A page of history (`before_seq`), or what came after a seq (`after_seq`); oldest first.",
    params(("id" = i64, Path, description = "The chat's id"), HistoryParams),
    security(("session" = [])),
    responses(
        (status = OK, description = "The messages, oldest first", body = Vec<Message>),
        (status = NOT_FOUND, description = "`not_found`: no such chat, or the caller is not one of its two participants", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: `limit` out of range", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/chats/{id}/messages",
    tag = "chats",
    summary = "Send a message",
    description = "Stores the message and delivers it to both participants' sockets. \
        Sending again with the same `client_id` returns the first message: retries are safe.",
    params(("id" = i64, Path, description = "The chat's id")),
    request_body = SendRequest,
    security(("session" = [])),
    responses(
        (status = CREATED, description = "The stored message (for a repeated `client_id`, the one stored the first time)", body = Message),
        (status = NOT_FOUND, description = "`not_found`: no such chat, or the caller is not one of its two participants", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "`invalid_input`: `text` or `client_id` out of range, or the `client_id` was used in another chat (`fields` names it)", body = ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`rate_limited`: too many messages (200 at once, then 50 a second); send again with the same `client_id` after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
        (status = SERVICE_UNAVAILABLE, description = "`busy` (the send queue is full) or `unavailable` (the database cannot be reached for the moment): send again with the same `client_id` after `Retry-After` seconds (a send that was stored after all comes back as the first message)", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    )
)]
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
#[utoipa::path(
    post,
    path = "/chats/{id}/read",
    tag = "chats",
    summary = "Mark read",
    description = "Moves my read marker forward (never backwards; clamped to the newest seq). My other tabs are told.",
    params(("id" = i64, Path, description = "The chat's id")),
    request_body = ReadRequest,
    security(("session" = [])),
    responses(
        (status = NO_CONTENT, description = "Marked"),
        (status = NOT_FOUND, description = "`not_found`: no such chat, or the caller is not one of its two participants", body = ErrorBody),
    )
)]
pub async fn read(
    State(ctx): State<ServerContext>,
    Caller(me): Caller,
    ApiPath(chat_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    ctx.messenger.mark_read(me.user.id, chat_id, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}
