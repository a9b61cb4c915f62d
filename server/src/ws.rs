//! `GET /api/v1/ws`: the live connection. A reader and a writer under one `select!`; the
//! writer drains this socket's bounded queue in the hub.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::ORIGIN;
use axum::response::{IntoResponse, Response};
use domain::input::NewMessage;
use domain::live::{Batch, ConnectionRef, SOCKETS_PER_USER_MAX, encode};
use domain::messenger::Messenger;
use domain::protocol::{ClientFrame, MAX_FRAME_BYTES, PROTOCOL_VERSION, ServerFrame};
use domain::sessions::CurrentSession;
use domain::{ErrorKind, PublicError};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::http::origin_allowed;
use crate::rest::{ApiError, Caller, ClientAddress};
use crate::state::AppState;

/// How often the server pings a socket and checks that its session is still good, unless
/// `WS_HEARTBEAT` says otherwise.
pub const HEARTBEAT: Duration = Duration::from_secs(25);
/// A write (a batch of frames, a ping, a close) that the client does not take within this
/// long ends the connection: a client that stopped reading cannot hold it open.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket silent for this long (not even a pong) is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Frames above this size break the connection (tungstenite's own limit); frames between
/// `MAX_FRAME_BYTES` and this get an error frame and the connection carries on.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Close code telling the client to reconnect and fetch what it missed.
const CLOSE_RESYNC: u16 = 4000;
/// Close code for a socket refused because its user has too many open.
const CLOSE_TOO_MANY: u16 = 4008;
/// Close code when the node is stopping: reconnect (another node answers) and resync.
const CLOSE_RESTART: u16 = 1012;
/// Close code when the socket's session ended (signed out here or elsewhere, deactivated,
/// expired): do not reconnect; sign in again.
const CLOSE_SIGNED_OUT: u16 = 4001;

/// Checks the Origin and the session cookie, then upgrades.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "live",
    operation_id = "websocket",
    summary = "The live connection (WebSocket)",
    description = "Upgrades to a WebSocket: JSON text frames tagged by `type` (`hello`, `message`, `ack`, `read`, \
        `presence`, `typing`, `error`, `pong` from the server; `send`, `read`, `typing`, `ping` from the client). \
        The frames, their order, close codes and errors are documented in \
        [docs/protocol.md](/api-docs/protocol.md) (`docs/protocol.md` in the repository). \
        The handshake needs the `session` cookie and, from a browser, an `Origin` of this site. \
        Swagger UI cannot open WebSockets: use a WebSocket client.",
    security(("session" = [])),
    responses(
        (status = SWITCHING_PROTOCOLS, description = "Switching Protocols: the connection is a WebSocket from now on; its first frame is `hello`",
            headers(("Upgrade" = String, description = "`websocket`"))),
        (status = BAD_REQUEST, description = "Not a WebSocket handshake (plain text, from the WebSocket extractor)", body = String),
        (status = UPGRADE_REQUIRED, description = "The connection cannot be upgraded (plain text)", body = String),
        (status = UNAUTHORIZED, description = "`unauthenticated`: no valid `session` cookie", body = crate::rest::error::ErrorBody),
        (status = FORBIDDEN, description = "`bad_origin`: the handshake came from a page of another site", body = crate::rest::error::ErrorBody),
        (status = TOO_MANY_REQUESTS, description = "`too_many_connections`: this client address holds `SOCKETS_PER_ADDRESS` live connections already", body = crate::rest::error::ErrorBody),
    )
)]
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<Response, ApiError> {
    // Browsers always send Origin on a WebSocket handshake; a page of another site must not
    // ride on our cookie (cross-site WebSocket hijacking). Non-browser clients send none.
    if let Some(origin) = headers.get(ORIGIN)
        && !origin_allowed(origin.to_str().unwrap_or(""), &state.public_origin, &headers)
    {
        return Err(ApiError(PublicError::new(ErrorKind::Forbidden, "bad_origin", "this origin may not connect")));
    }
    let Caller(session) = caller?;
    let Some(slot) = state.sockets_per_address.take(address) else {
        let message = format!("at most {} live connections from one address", state.sockets_per_address.cap);
        return Err(ApiError(PublicError::new(ErrorKind::RateLimited, "too_many_connections", message)));
    };
    let messenger = state.ctx.messenger.clone();
    let heartbeat = state.heartbeat;
    // A 2 KiB read buffer (frames are small; a larger one grows it for as long as it lasts)
    // and no write buffer keep an idle socket under 10 KiB of server memory.
    Ok(ws
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| async move {
            serve(socket, messenger, session, heartbeat).await;
            drop(slot);
        })
        .into_response())
}

async fn serve(mut socket: WebSocket, messenger: Messenger, session: CurrentSession, every: Duration) {
    let user_id = session.user.id;
    let session_id = session.session_id;
    let hello = encode(&ServerFrame::Hello { version: PROTOCOL_VERSION, user: session.user.clone() });
    // Boxed, like the disconnect below: their Redis round trips would otherwise make every
    // idle socket's task as large as their state.
    let Some(connection) = Box::pin(messenger.connect(user_id, session.session_id, hello)).await else {
        let close = if messenger.hub.is_shutting_down() {
            CloseFrame { code: CLOSE_RESTART, reason: "the server is restarting; reconnect".into() }
        } else {
            CloseFrame {
                code: CLOSE_TOO_MANY,
                reason: format!("at most {SOCKETS_PER_USER_MAX} connections per person").into(),
            }
        };
        let _ = socket.send(WsMessage::Close(Some(close))).await;
        return;
    };
    let _open = OpenSocket::counted();
    // Signed out while this socket was being upgraded: the event that closes the
    // session's sockets may have come before it was registered.
    if let Ok(false) = Box::pin(domain::sessions::is_live(&messenger.db, session_id)).await {
        connection.signed_out.store(true, std::sync::atomic::Ordering::SeqCst);
        connection.closed.cancel();
    }
    let me = ConnectionRef { user_id, id: connection.id };
    let replies = connection.replies.clone();

    let (mut sink, mut stream) = socket.split();
    let closed = connection.closed.clone();
    let hub = messenger.hub.clone();
    let mut frames = connection.frames;
    let signed_out = connection.signed_out.clone();
    let db = messenger.db.clone();
    let writer = async move {
        let mut heartbeat = tokio::time::interval(every);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                () = closed.cancelled() => {
                    let close = if signed_out.load(std::sync::atomic::Ordering::SeqCst) {
                        signed_out_frame()
                    } else if hub.is_shutting_down() {
                        CloseFrame { code: CLOSE_RESTART, reason: "the server is restarting; reconnect".into() }
                    } else {
                        CloseFrame { code: CLOSE_RESYNC, reason: "reconnect and resync".into() }
                    };
                    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(WsMessage::Close(Some(close)))).await;
                    break;
                }
                batch = frames.recv() => {
                    let Some(batch) = batch else { break };
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, write_batch(&mut sink, batch)).await, Ok(Ok(()))) {
                        break;
                    }
                }
                _ = heartbeat.tick() => {
                    // The session may have ended where no event reached this node (a lost
                    // publication, a database edited by hand): ask the database. Boxed, so
                    // that an idle socket's task does not carry the query's state.
                    if let Ok(false) = Box::pin(domain::sessions::is_live(&db, session_id)).await {
                        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(WsMessage::Close(Some(signed_out_frame())))).await;
                        break;
                    }
                    let ping = sink.send(WsMessage::Ping(Default::default()));
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, ping).await, Ok(Ok(()))) {
                        break;
                    }
                }
            }
        }
    };
    let reader = async {
        let mut typing = Typing::default();
        loop {
            let incoming = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
                Ok(Some(Ok(incoming))) => incoming,
                // Dead peer, broken connection, or the client closed.
                Err(_) | Ok(None) | Ok(Some(Err(_))) => break,
            };
            match incoming {
                // Boxed: an idle socket should not carry the handling state in its task.
                WsMessage::Text(text) => Box::pin(handle(&messenger, me, &replies, &mut typing, text.as_str())).await,
                WsMessage::Binary(_) => {
                    reply_error(&replies, None, malformed("frames are JSON text, not binary")).await
                }
                WsMessage::Close(_) => break,
                WsMessage::Ping(_) | WsMessage::Pong(_) => {}
            }
        }
    };
    tokio::select! {
        () = writer => {},
        () = reader => {},
    }
    Box::pin(messenger.disconnect(user_id, connection.id)).await;
}

fn signed_out_frame() -> CloseFrame {
    CloseFrame { code: CLOSE_SIGNED_OUT, reason: "signed out; sign in again".into() }
}

/// How many live sockets each client address holds, and the most it may (`SOCKETS_PER_ADDRESS`).
#[derive(Clone)]
pub struct SocketsPerAddress {
    /// The most one address may hold.
    pub cap: usize,
    open: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

impl SocketsPerAddress {
    /// At most `cap` sockets per address.
    pub fn new(cap: usize) -> Self {
        Self { cap, open: Default::default() }
    }

    /// A slot for one more socket from `address`, given back when dropped; `None` when it
    /// holds `cap` already.
    fn take(&self, address: std::net::IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_default();
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot { sockets: self.clone(), address })
    }
}

/// One socket's place in its address's count.
struct AddressSlot {
    sockets: SocketsPerAddress,
    address: std::net::IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.sockets.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// A registered socket, counted in `messenger_websockets_open` until it is dropped (when
/// `serve` returns, however it ends).
struct OpenSocket;

impl OpenSocket {
    fn counted() -> Self {
        metrics::gauge!("messenger_websockets_open").increment(1.0);
        Self
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!("messenger_websockets_open").decrement(1.0);
    }
}

/// Writes a batch of frames and flushes once.
async fn write_batch(
    sink: &mut futures::stream::SplitSink<WebSocket, WsMessage>,
    batch: Batch,
) -> Result<(), axum::Error> {
    for frame in batch {
        sink.feed(WsMessage::Text(frame.as_ref().into())).await?;
    }
    sink.flush().await
}

fn malformed(message: &str) -> PublicError {
    PublicError::new(ErrorKind::Invalid, "malformed_frame", message)
}

/// Replies go through the socket's own queue. When it is full the reader waits, and so
/// stops reading the client's frames until the client reads its own.
async fn reply(replies: &mpsc::Sender<Batch>, frame: &ServerFrame) {
    let _ = replies.send(vec![encode(frame)]).await;
}

async fn reply_error(replies: &mpsc::Sender<Batch>, client_id: Option<String>, error: PublicError) {
    reply(replies, &ServerFrame::Error { client_id, error }).await;
}

/// Handles one frame. A send is only queued here: the writer answers this socket with
/// `ack` or `error` in order with everything else it receives, so the reader never waits
/// for a send's commit and a socket can have many sends in flight.
async fn handle(
    messenger: &Messenger,
    socket: ConnectionRef,
    replies: &mpsc::Sender<Batch>,
    typing: &mut Typing,
    text: &str,
) {
    if text.len() > MAX_FRAME_BYTES {
        let message = format!("a frame has at most {MAX_FRAME_BYTES} bytes");
        return reply_error(replies, None, PublicError::new(ErrorKind::TooLarge, "frame_too_large", message)).await;
    }
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            return reply_error(replies, None, malformed(&format!("not a frame this server understands: {e}"))).await;
        }
    };
    let me = socket.user_id;
    match frame {
        ClientFrame::Send { chat_id, client_id, text } => {
            let queued = NewMessage::parse(chat_id, &client_id, &text)
                .and_then(|message| messenger.send_from_socket(me, message, socket));
            if let Err(e) = queued {
                reply_error(replies, Some(client_id), domain::report(e)).await;
            }
        }
        ClientFrame::Read { chat_id, seq } => {
            if let Err(e) = messenger.mark_read(me, chat_id, seq).await {
                reply_error(replies, None, domain::report(e)).await;
            }
        }
        ClientFrame::Typing { chat_id } => {
            if typing.allows(chat_id)
                && let Err(e) = messenger.typing(me, chat_id).await
            {
                reply_error(replies, None, domain::report(e)).await;
            }
        }
        ClientFrame::Ping => reply(replies, &ServerFrame::Pong).await,
    }
}

/// At most one `typing` per chat per [`TYPING_INTERVAL`] from a socket passes; the
/// others are dropped silently (the peer's indicator is already showing).
#[derive(Default)]
struct Typing {
    last: Option<(i64, std::time::Instant)>,
}

/// The shortest time between two `typing` frames that reach the peer.
const TYPING_INTERVAL: Duration = Duration::from_secs(1);

impl Typing {
    fn allows(&mut self, chat_id: i64) -> bool {
        let now = std::time::Instant::now();
        let recent = self.last.is_some_and(|(chat, at)| chat == chat_id && now.duration_since(at) < TYPING_INTERVAL);
        if !recent {
            self.last = Some((chat_id, now));
        }
        !recent
    }
}
