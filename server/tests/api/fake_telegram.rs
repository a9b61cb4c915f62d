//! A fake Telegram Bot API server for black-box tests of the Telegram bot.
//!
//! [`FakeTelegram::start`] serves, on 127.0.0.1 and a free port, the few Bot API methods the bot
//! uses, the way `https://api.telegram.org` answers them to `teloxide-core` 0.13: requests are
//! `POST /bot<token>/<Method>` with a JSON body (teloxide spells methods in PascalCase, e.g.
//! `GetUpdates`; Telegram matches names case-insensitively, and so does this fake), and every
//! answer is `{"ok":true,"result":...}` or `{"ok":false,"error_code":N,"description":"..."}`.
//!
//! The test plays the Telegram users: it queues their messages with [`FakeTelegram::push_text`]
//! (delivered to the bot by `getUpdates`), and reads what the bot sent with
//! [`FakeTelegram::sent`] or [`FakeTelegram::wait_for_sent`]. It can also make Telegram misbehave:
//! re-deliver updates, refuse sends ([`FakeTelegram::fail_next_sends`]), reject the token
//! ([`FakeTelegram::set_unauthorized`]), and it answers two overlapping `getUpdates` with a 409
//! conflict as Telegram does when two bot instances poll with one token.

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The bot's Telegram user id (the number before the colon of a real token; the fake accepts any
/// token, so it uses this fixed id in getMe and as `from` of every message the bot sent).
const BOT_ID: i64 = 7_000_000_001;
/// The first update_id handed out; real ones are large numbers too, distinct from message ids.
const FIRST_UPDATE_ID: i64 = 500_000_001;
/// Long polls wait at most this long, whatever `timeout` the bot asked for, to keep tests fast.
const LONG_POLL_CAP: Duration = Duration::from_secs(1);
/// Telegram's limit on a message text, in characters.
const MAX_TEXT_CHARS: usize = 4096;
/// What Telegram answers the older of two overlapping getUpdates.
const CONFLICT: &str =
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";

/// A fake Telegram Bot API server; cheap to clone, every clone drives the same server.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

/// How the next sendMessage calls fail (see [`FakeTelegram::fail_next_sends`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Flood control: HTTP 429 "Too Many Requests: retry after N" with `parameters.retry_after`
    /// = N seconds; teloxide returns `RequestError::RetryAfter(Seconds(N))`.
    RetryAfter(u32),
    /// HTTP 403 "Forbidden: bot was blocked by the user"; teloxide returns
    /// `RequestError::Api(ApiError::BotBlocked)`.
    Blocked,
    /// HTTP 502 with `{"ok":false,"error_code":502,"description":"Bad Gateway"}`, as Telegram's
    /// front answers when the Bot API server is down; teloxide sleeps 10 s on any 5xx before
    /// reading the body, then returns `RequestError::Api(ApiError::Unknown("Bad Gateway"))`.
    ServerError,
    /// HTTP 401 "Unauthorized" (a revoked token); teloxide returns
    /// `RequestError::Api(ApiError::InvalidToken)`.
    Unauthorized,
}

/// One message (or reaction) the bot made through the fake, as recorded by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// For sendMessage: the id the fake gave the new message. For setMessageReaction: the id of
    /// the message reacted to.
    pub message_id: i64,
    /// The chat it went to (the user's id, for a private chat).
    pub chat_id: i64,
    /// The text sent; for a reaction, the emoji of its reactions concatenated (a non-emoji
    /// reaction as its JSON; empty when the bot removed its reaction).
    pub text: String,
    /// For sendMessage: the message it replied to, if any. For setMessageReaction: the message
    /// reacted to (the same as `message_id`), so `reply_to == Some(incoming)` finds both answers.
    pub reply_to: Option<i64>,
    /// The Bot API method, in Telegram's spelling: "sendMessage" or "setMessageReaction".
    pub method: String,
}

/// The server's side, shared by the handlers and every [`FakeTelegram`] clone.
struct Inner {
    state: Mutex<World>,
    /// Woken whenever an update is queued or a newer getUpdates takes over, so that long polls
    /// answer at once.
    wake_polls: Notify,
}

/// One queued update, waiting to be confirmed by a getUpdates `offset` above its id.
struct Pending {
    update_id: i64,
    update: Value,
    /// A re-delivery (see [`FakeTelegram::repeat_update`]) not yet handed to the bot: it is
    /// returned by the next getUpdates even if the bot's offset already confirmed its id.
    redelivery: bool,
}

/// Everything the fake remembers; the lock is never held across an `.await`.
struct World {
    username: String,
    unauthorized: bool,
    next_update_id: i64,
    next_message_id: i64,
    /// Updates not yet confirmed, in delivery order.
    queue: Vec<Pending>,
    /// Every update ever queued, by update_id.
    updates: HashMap<i64, Value>,
    /// The update that carried each user message first.
    first_update_of: HashMap<i64, i64>,
    /// Every message in any chat (the users' and the bot's), by message_id: (chat id, Message).
    messages: HashMap<i64, (i64, Value)>,
    /// The private chats the fake knows (a user wrote to the bot): chat id -> first name.
    chats: HashMap<i64, String>,
    sent: Vec<SentMessage>,
    send_times: Vec<Instant>,
    failures: VecDeque<Failure>,
    commands: Value,
    get_updates_calls: usize,
    conflicts: usize,
    /// Numbers the getUpdates calls; `active_poll` is the one currently allowed to wait.
    poll_counter: u64,
    active_poll: Option<u64>,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, World> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 and a free port; the bot it emulates is called `username`
    /// (getMe answers it for any token, unless [`FakeTelegram::set_unauthorized`] is on).
    /// The server runs on the calling test's Tokio runtime and stops with it.
    pub async fn start(username: &str) -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(World {
                username: username.to_owned(),
                unauthorized: false,
                next_update_id: FIRST_UPDATE_ID,
                next_message_id: 1,
                queue: Vec::new(),
                updates: HashMap::new(),
                first_update_of: HashMap::new(),
                messages: HashMap::new(),
                chats: HashMap::new(),
                sent: Vec::new(),
                send_times: Vec::new(),
                failures: VecDeque::new(),
                commands: json!([]),
                get_updates_calls: 0,
                conflicts: 0,
                poll_counter: 0,
                active_poll: None,
            }),
            wake_polls: Notify::new(),
        });
        let app = Router::new()
            .route("/{token}/{method}", get(handle).post(handle))
            .fallback(|| async { method_not_found() })
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Telegram");
        let addr = listener.local_addr().expect("the fake Telegram's address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the fake Telegram server");
        });
        FakeTelegram { inner, addr }
    }

    /// The base URL to give teloxide: `Bot::new(token).set_api_url(fake.url().parse().unwrap())`
    /// (teloxide appends `bot<token>/<Method>` to it).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Emulates a Telegram user writing to the bot: queues an incoming private text message from
    /// user `chat_id` (a private chat has the user's id) called `name`, replying to message
    /// `reply_to` if given (the quoted message is embedded as Telegram does: the bot's message
    /// with that id if the fake knows it, else a plausible one from the bot in that chat). Text
    /// starting with a command (`/start`, `/link@bot`) carries a "bot_command" entity. The message
    /// goes out in one new update with a fresh update_id; returns the new message's id.
    pub fn push_text(&self, chat_id: i64, name: &str, text: &str, reply_to: Option<i64>) -> i64 {
        let mut st = self.inner.state();
        st.chats.insert(chat_id, name.to_owned());
        let message_id = st.take_message_id();
        let mut message = json!({
            "message_id": message_id,
            "from": {"id": chat_id, "is_bot": false, "first_name": name, "language_code": "en"},
            "chat": private_chat(chat_id, name),
            "date": unix_now(),
            "text": text,
        });
        if let Some(length) = command_length(text) {
            message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": length}]);
        }
        if let Some(quoted_id) = reply_to {
            message["reply_to_message"] = st.quoted_message(chat_id, name, quoted_id);
        }
        st.messages.insert(message_id, (chat_id, message.clone()));
        let update_id = st.queue_update(message);
        st.first_update_of.insert(message_id, update_id);
        drop(st);
        self.inner.wake_polls.notify_waiters();
        message_id
    }

    /// Emulates Telegram re-delivering an update: queues update `update_id` again, unchanged
    /// (same update_id, same message). The next getUpdates returns it even if the bot's offset
    /// already confirmed that id (as after a crash before confirming); then an offset above it
    /// drops it. Panics if the fake never made that update.
    pub fn repeat_update(&self, update_id: i64) {
        let mut st = self.inner.state();
        let update = st.updates.get(&update_id).cloned().unwrap_or_else(|| panic!("no update {update_id} was made"));
        st.queue.push(Pending { update_id, update, redelivery: true });
        drop(st);
        self.inner.wake_polls.notify_waiters();
    }

    /// Emulates Telegram re-delivering a message in a new update: queues a new update (fresh
    /// update_id) carrying user message `message_id` unchanged (same id, chat, text). Panics if no
    /// user message has that id.
    pub fn repeat_message_in_new_update(&self, message_id: i64) {
        let mut st = self.inner.state();
        if !st.first_update_of.contains_key(&message_id) {
            panic!("no user message {message_id} was pushed");
        }
        let Some((_, message)) = st.messages.get(&message_id).cloned() else {
            panic!("no user message {message_id} was pushed");
        };
        st.queue_update(message);
        drop(st);
        self.inner.wake_polls.notify_waiters();
    }

    /// The update_id of the update that first carried user message `message_id`.
    pub fn update_id_of(&self, message_id: i64) -> Option<i64> {
        self.inner.state().first_update_of.get(&message_id).copied()
    }

    /// Every sendMessage and setMessageReaction the fake accepted, in order (refused ones are not
    /// here; see [`FakeTelegram::send_times`]).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.inner.state().sent.clone()
    }

    /// Waits (checking every 20 ms) until `pred` holds for some recorded message, for at most
    /// `timeout`; returns the first such message, or panics listing everything that was sent.
    pub async fn wait_for_sent(&self, timeout: Duration, pred: impl Fn(&SentMessage) -> bool) -> SentMessage {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.sent();
            if let Some(found) = sent.iter().find(|m| pred(m)) {
                return found.clone();
            }
            if Instant::now() >= deadline {
                panic!("nothing matching was sent to the fake Telegram within {timeout:?}; sent: {sent:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Makes the next `n` sendMessage calls fail with `failure` (after any failures already
    /// queued); later calls are answered normally again. See [`Failure`] for the exact answers.
    pub fn fail_next_sends(&self, n: usize, failure: Failure) {
        self.inner.state().failures.extend(std::iter::repeat_n(failure, n));
    }

    /// While `on`, every call (any method, any token) is answered 401 "Unauthorized", as
    /// Telegram answers a wrong or revoked token; teloxide maps it to `ApiError::InvalidToken`.
    pub fn set_unauthorized(&self, on: bool) {
        self.inner.state().unauthorized = on;
    }

    /// How many getUpdates requests arrived so far, however they were answered.
    pub fn get_updates_calls(&self) -> usize {
        self.inner.state().get_updates_calls
    }

    /// How many getUpdates were cut short with 409 Conflict. As real Telegram does, when a
    /// getUpdates arrives while another is still waiting, the OLDER one is answered at once with
    /// 409 "Conflict: terminated by other getUpdates request; make sure that only one bot
    /// instance is running" (teloxide: `ApiError::TerminatedByOtherGetUpdates`), and the newer
    /// one is served.
    pub fn conflicts(&self) -> usize {
        self.inner.state().conflicts
    }

    /// When each sendMessage request arrived, in order, including the refused ones (so a test
    /// can check that a retry came `retry_after` seconds after the 429).
    pub fn send_times(&self) -> Vec<Instant> {
        self.inner.state().send_times.clone()
    }
}

impl World {
    fn take_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    /// Wraps `message` in a new update, queues it and returns its update_id.
    fn queue_update(&mut self, message: Value) -> i64 {
        let update_id = self.next_update_id;
        self.next_update_id += 1;
        let update = json!({"update_id": update_id, "message": message});
        self.updates.insert(update_id, update.clone());
        self.queue.push(Pending { update_id, update, redelivery: false });
        update_id
    }

    /// The `reply_to_message` of a user's reply to message `quoted_id` in chat `chat_id`: the
    /// stored message if it is in that chat, else one from the bot. Telegram never nests a
    /// further `reply_to_message` inside it.
    fn quoted_message(&self, chat_id: i64, name: &str, quoted_id: i64) -> Value {
        match self.messages.get(&quoted_id) {
            Some((chat, message)) if *chat == chat_id => {
                let mut quoted = message.clone();
                if let Some(fields) = quoted.as_object_mut() {
                    fields.remove("reply_to_message");
                }
                quoted
            }
            _ => json!({
                "message_id": quoted_id,
                "from": self.bot_user(),
                "chat": private_chat(chat_id, name),
                "date": unix_now(),
                "text": "An earlier message from the bot",
            }),
        }
    }

    fn bot_user(&self) -> Value {
        json!({"id": BOT_ID, "is_bot": true, "first_name": self.username, "username": self.username})
    }
}

/// A private chat object as Telegram sends it.
fn private_chat(chat_id: i64, name: &str) -> Value {
    json!({"id": chat_id, "first_name": name, "type": "private"})
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The length (UTF-16 units, ASCII here) of a leading bot command such as `/start` or
/// `/start@my_bot`, which Telegram marks with a "bot_command" entity.
fn command_length(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('/')?;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let name = rest.chars().take_while(|&c| is_word(c)).count();
    if name == 0 {
        return None;
    }
    let mut length = 1 + name;
    if let Some(mention) = rest[name..].strip_prefix('@') {
        let bot = mention.chars().take_while(|&c| is_word(c)).count();
        if bot > 0 {
            length += 1 + bot;
        }
    }
    Some(length)
}

// ---- answers ----

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn error(status: StatusCode, description: &str) -> Response {
    let body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    (status, Json(body)).into_response()
}

fn bad_request(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, &format!("Bad Request: {description}"))
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "Unauthorized")
}

fn method_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found: method not found")
}

fn failure_response(failure: Failure) -> Response {
    match failure {
        Failure::RetryAfter(seconds) => {
            let body = json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {seconds}"),
                "parameters": {"retry_after": seconds},
            });
            (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
        }
        Failure::Blocked => error(StatusCode::FORBIDDEN, "Forbidden: bot was blocked by the user"),
        Failure::ServerError => error(StatusCode::BAD_GATEWAY, "Bad Gateway"),
        Failure::Unauthorized => unauthorized(),
    }
}

// ---- reading parameters ----

/// An integer parameter, sent as a JSON number or (query string, or `chat_id`) as a string.
fn int_param(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An object or array parameter, sent as JSON or (query string) as a string holding JSON.
fn json_param(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

/// Routes `/<bot token>/<method>`: the query string and a JSON object body give the parameters.
async fn handle(
    State(inner): State<Arc<Inner>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Bytes,
) -> Response {
    let Ok(Path((token_segment, method))) = path else {
        return method_not_found();
    };
    if !token_segment.starts_with("bot") {
        return method_not_found();
    }
    let Ok(Query(query)) = query else {
        return bad_request("can't parse the query string");
    };
    let mut params: serde_json::Map<String, Value> =
        query.into_iter().map(|(key, value)| (key, Value::String(value))).collect();
    if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            Ok(Value::Null) => {}
            _ => return bad_request("can't parse JSON object of the request"),
        }
    }
    let method = method.to_ascii_lowercase();
    {
        let mut st = inner.state();
        if method == "getupdates" {
            st.get_updates_calls += 1;
        }
        if method == "sendmessage" {
            st.send_times.push(Instant::now());
        }
        if st.unauthorized {
            return unauthorized();
        }
    }
    match method.as_str() {
        "getme" => {
            let st = inner.state();
            let mut me = st.bot_user();
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok(me)
        }
        "getupdates" => get_updates(inner, &params).await,
        "sendmessage" => send_message(&inner, &params),
        "setmessagereaction" => set_message_reaction(&inner, &params),
        "deletewebhook" => ok(json!(true)),
        "setmycommands" => match json_param(params.get("commands")) {
            Some(commands @ Value::Array(_)) => {
                inner.state().commands = commands;
                ok(json!(true))
            }
            _ => bad_request("parameter \"commands\" is required"),
        },
        "getmycommands" => ok(inner.state().commands.clone()),
        _ => method_not_found(),
    }
}

/// Clears `active_poll` when the getUpdates that set it ends, even if the client went away.
struct PollGuard {
    inner: Arc<Inner>,
    poll: u64,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        let mut st = self.inner.state();
        if st.active_poll == Some(self.poll) {
            st.active_poll = None;
        }
    }
}

/// getUpdates: `offset` confirms (drops) the updates below it and returns those from it on
/// (a negative offset keeps only the last -offset updates), at most `limit` (1-100, default 100);
/// with nothing to return, waits up to `timeout` seconds (capped at one second) for an update.
async fn get_updates(inner: Arc<Inner>, params: &serde_json::Map<String, Value>) -> Response {
    let offset = int_param(params.get("offset"));
    let limit = int_param(params.get("limit")).unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int_param(params.get("timeout")).unwrap_or(0).max(0) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout).min(LONG_POLL_CAP);

    let poll = {
        let mut st = inner.state();
        st.poll_counter += 1;
        let poll = st.poll_counter;
        if st.active_poll.replace(poll).is_some() {
            st.conflicts += 1;
        }
        match offset {
            Some(offset) if offset < 0 => {
                let keep = offset.unsigned_abs() as usize;
                let drop_count = st.queue.len().saturating_sub(keep);
                st.queue.drain(..drop_count);
            }
            Some(offset) => st.queue.retain(|p| p.update_id >= offset || p.redelivery),
            None => {}
        }
        poll
    };
    // Wakes the poll this one superseded, so that it answers 409 now.
    inner.wake_polls.notify_waiters();
    let _guard = PollGuard { inner: inner.clone(), poll };

    loop {
        let woken = inner.wake_polls.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        {
            let mut st = inner.state();
            if st.active_poll != Some(poll) {
                return error(StatusCode::CONFLICT, CONFLICT);
            }
            let mut batch = Vec::new();
            for pending in st.queue.iter_mut() {
                if batch.len() == limit {
                    break;
                }
                if pending.redelivery || offset.is_none_or(|offset| offset < 0 || pending.update_id >= offset) {
                    pending.redelivery = false;
                    batch.push(pending.update.clone());
                }
            }
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                return ok(Value::Array(batch));
            }
        }
        let _ = tokio::time::timeout_at(deadline, woken).await;
    }
}

/// sendMessage to a private chat the fake knows (else 400 "chat not found", as Telegram answers
/// for a user who never wrote to the bot), optionally replying to a message of that chat
/// (`reply_parameters.message_id`, or the legacy `reply_to_message_id`); answers the new Message.
fn send_message(inner: &Inner, params: &serde_json::Map<String, Value>) -> Response {
    let mut st = inner.state();
    if let Some(failure) = st.failures.pop_front() {
        return failure_response(failure);
    }
    let Some(chat_id) = int_param(params.get("chat_id")) else {
        return if params.contains_key("chat_id") {
            bad_request("chat not found")
        } else {
            bad_request("chat_id is empty")
        };
    };
    let text = match params.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        _ => return bad_request("message text is empty"),
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return bad_request("message is too long");
    }
    let Some(name) = st.chats.get(&chat_id).cloned() else {
        return bad_request("chat not found");
    };
    let reply_parameters = json_param(params.get("reply_parameters"));
    let reply_target = match &reply_parameters {
        Some(reply) => int_param(reply.get("message_id")),
        None => int_param(params.get("reply_to_message_id")),
    };
    let allow_without_reply = reply_parameters
        .as_ref()
        .and_then(|reply| reply.get("allow_sending_without_reply"))
        .or_else(|| params.get("allow_sending_without_reply"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let quoted = match reply_target {
        Some(target) => match st.messages.get(&target) {
            Some((chat, message)) if *chat == chat_id => {
                let mut quoted = message.clone();
                if let Some(fields) = quoted.as_object_mut() {
                    fields.remove("reply_to_message");
                }
                Some((target, quoted))
            }
            _ if allow_without_reply => None,
            _ => return bad_request("message to be replied not found"),
        },
        None => None,
    };

    let message_id = st.take_message_id();
    let mut message = json!({
        "message_id": message_id,
        "from": st.bot_user(),
        "chat": private_chat(chat_id, &name),
        "date": unix_now(),
        "text": text,
    });
    let reply_to = quoted.map(|(target, quoted)| {
        message["reply_to_message"] = quoted;
        target
    });
    st.messages.insert(message_id, (chat_id, message.clone()));
    st.sent.push(SentMessage { message_id, chat_id, text, reply_to, method: "sendMessage".to_owned() });
    ok(message)
}

/// setMessageReaction: records the reaction (its emoji) on `message_id` in `chat_id`; answers true.
fn set_message_reaction(inner: &Inner, params: &serde_json::Map<String, Value>) -> Response {
    let Some(chat_id) = int_param(params.get("chat_id")) else {
        return bad_request("chat not found");
    };
    let Some(message_id) = int_param(params.get("message_id")) else {
        return bad_request("message identifier is not specified");
    };
    let reactions = match json_param(params.get("reaction")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(reactions)) => reactions,
        Some(_) => return bad_request("can't parse reaction types JSON object"),
    };
    let text: String = reactions
        .iter()
        .map(|reaction| match reaction.get("emoji").and_then(Value::as_str) {
            Some(emoji) => emoji.to_owned(),
            None => reaction.to_string(),
        })
        .collect();
    let mut st = inner.state();
    if !st.chats.contains_key(&chat_id) {
        return bad_request("chat not found");
    }
    st.sent.push(SentMessage {
        message_id,
        chat_id,
        text,
        reply_to: Some(message_id),
        method: "setMessageReaction".to_owned(),
    });
    ok(json!(true))
}

/// Self-tests: each drives the fake with the real teloxide-core client, so they also check that
/// what the fake answers is what teloxide parses.
#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Failure, FakeTelegram};
    use serde_json::Value;
    use teloxide_core::{
        ApiError, Bot, RequestError,
        prelude::*,
        types::{AllowedUpdate, MessageId, ReactionType, ReplyParameters, Seconds, Update, UpdateKind},
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn bot(fake: &FakeTelegram) -> Bot {
        Bot::new("123:ABC").set_api_url(fake.url().parse().expect("the fake's URL parses"))
    }

    fn message(update: &Update) -> &teloxide_core::types::Message {
        match &update.kind {
            UpdateKind::Message(message) => message,
            other => panic!("not a message update: {other:?}"),
        }
    }

    /// One raw HTTP/1.1 request to the fake; returns the status and the JSON body.
    async fn raw(fake: &FakeTelegram, verb: &str, path: &str, body: &str) -> (u16, Value) {
        let addr = fake.url().trim_start_matches("http://").trim_end_matches('/').to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "{verb} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let (_, body) = response.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
    }

    #[tokio::test]
    async fn get_me_answers_the_username_and_401_is_invalid_token() {
        let fake = FakeTelegram::start("fake_bot").await;
        let bot = bot(&fake);
        let me = bot.get_me().await.unwrap();
        assert_eq!(me.username(), "fake_bot");
        assert!(me.user.is_bot);

        fake.set_unauthorized(true);
        let err = bot.get_me().await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");
        let err = bot.get_updates().await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");

        fake.set_unauthorized(false);
        assert_eq!(bot.get_me().await.unwrap().username(), "fake_bot");
        bot.delete_webhook().await.unwrap();
        bot.set_my_commands(vec![teloxide_core::types::BotCommand::new("start", "Link your account")]).await.unwrap();
        let commands = bot.get_my_commands().await.unwrap();
        assert_eq!(commands.len(), 1);
        assert_eq!(commands[0].command, "start");
    }

    #[tokio::test]
    async fn updates_carry_messages_replies_and_honour_offset_and_long_polling() {
        let fake = FakeTelegram::start("fake_bot").await;
        let bot = bot(&fake);

        let first = fake.push_text(42, "Alice", "/start@fake_bot now", None);
        let bot_message = bot.send_message(ChatId(42), "Hello Alice").await.unwrap();
        let reply = fake.push_text(42, "Alice", "a reply", Some(bot_message.id.0 as i64));
        let reply_to_unknown = fake.push_text(42, "Alice", "replying to an old one", Some(999));

        let updates = bot.get_updates().timeout(5).allowed_updates(vec![AllowedUpdate::Message]).await.unwrap();
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0].id.0 as i64, fake.update_id_of(first).unwrap());
        let start = message(&updates[0]);
        assert_eq!(start.id, MessageId(first as i32));
        assert_eq!(start.text(), Some("/start@fake_bot now"));
        assert_eq!(start.chat.id, ChatId(42));
        assert!(start.chat.is_private());
        let from = start.from.as_ref().unwrap();
        assert_eq!((from.id.0, from.first_name.as_str(), from.is_bot), (42, "Alice", false));
        let entities = start.parse_entities().unwrap();
        assert_eq!(entities.len(), 1);
        assert_eq!(entities[0].text(), "/start@fake_bot");
        assert!(start.reply_to_message().is_none());

        let answer = message(&updates[1]);
        assert_eq!(answer.id, MessageId(reply as i32));
        assert!(answer.entities().unwrap_or_default().is_empty());
        let quoted = answer.reply_to_message().unwrap();
        assert_eq!(quoted.id, bot_message.id);
        assert_eq!(quoted.text(), Some("Hello Alice"));
        assert_eq!(quoted.from.as_ref().unwrap().id, bot.get_me().await.unwrap().id);
        let quoted = message(&updates[2]).reply_to_message().unwrap();
        assert_eq!((quoted.id, quoted.chat.id), (MessageId(999), ChatId(42)));
        assert!(quoted.from.as_ref().unwrap().is_bot);
        assert_eq!(message(&updates[2]).id, MessageId(reply_to_unknown as i32));

        // Unconfirmed updates come again; limit caps the batch; an offset confirms the older ones.
        assert_eq!(bot.get_updates().await.unwrap().len(), 3);
        let limited = bot.get_updates().limit(1).await.unwrap();
        assert_eq!(limited.len(), 1);
        assert_eq!(limited[0].id, updates[0].id);
        let rest = bot.get_updates().offset(updates[0].id.as_offset()).await.unwrap();
        assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), vec![updates[1].id, updates[2].id]);
        let next_offset = updates[2].id.as_offset();

        // Nothing queued: a long poll waits the capped second, then answers [].
        let started = Instant::now();
        assert!(bot.get_updates().offset(next_offset).timeout(30).await.unwrap().is_empty());
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "{waited:?}");

        // An update pushed during a long poll is answered at once.
        let pusher = fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            pusher.push_text(43, "Bob", "hi", None);
        });
        let started = Instant::now();
        let updates = bot.get_updates().offset(next_offset).timeout(30).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(150) && waited < Duration::from_millis(800), "{waited:?}");
        assert_eq!(updates.len(), 1);
        assert_eq!(message(&updates[0]).chat.id, ChatId(43));
        assert_eq!(message(&updates[0]).text(), Some("hi"));

        // A negative offset keeps only the last updates.
        fake.push_text(44, "Carol", "one", None);
        fake.push_text(44, "Carol", "two", None);
        let last = bot.get_updates().offset(-1).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(message(&last[0]).text(), Some("two"));
        assert_eq!(fake.get_updates_calls(), 7);
        assert_eq!(fake.conflicts(), 0);
    }

    #[tokio::test]
    async fn repeats_redeliver_the_update_or_the_message() {
        let fake = FakeTelegram::start("fake_bot").await;
        let bot = bot(&fake);
        let first = fake.push_text(42, "Alice", "hello", None);
        let update_id = fake.update_id_of(first).unwrap();
        let updates = bot.get_updates().await.unwrap();
        assert_eq!(updates.len(), 1);
        let offset = updates[0].id.as_offset();
        assert!(bot.get_updates().offset(offset).await.unwrap().is_empty());

        // The same update again, although the offset already confirmed it; then it is dropped.
        fake.repeat_update(update_id);
        let again = bot.get_updates().offset(offset).await.unwrap();
        assert_eq!(again, updates);
        assert!(bot.get_updates().offset(offset).await.unwrap().is_empty());

        // The same message in a new update.
        fake.repeat_message_in_new_update(first);
        let renewed = bot.get_updates().offset(offset).await.unwrap();
        assert_eq!(renewed.len(), 1);
        assert!(renewed[0].id.0 as i64 > update_id);
        assert_eq!(message(&renewed[0]), message(&updates[0]));
        assert_eq!(fake.update_id_of(first), Some(update_id));
        assert_eq!(fake.update_id_of(12345), None);
    }

    #[tokio::test]
    async fn sends_and_reactions_are_recorded() {
        let fake = FakeTelegram::start("fake_bot").await;
        let bot = bot(&fake);

        let err = bot.send_message(ChatId(42), "to a stranger").await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::ChatNotFound)), "{err:?}");

        let incoming = fake.push_text(42, "Alice", "/start", None);
        let plain = bot.send_message(ChatId(42), "Welcome").await.unwrap();
        assert!(plain.id.0 as i64 > incoming);
        assert_eq!(plain.text(), Some("Welcome"));
        assert_eq!(plain.chat.id, ChatId(42));
        assert!(plain.from.as_ref().unwrap().is_bot);
        assert!(plain.reply_to_message().is_none());

        let reply = bot
            .send_message(ChatId(42), "Linked")
            .reply_parameters(ReplyParameters::new(MessageId(incoming as i32)))
            .await
            .unwrap();
        assert_eq!(reply.reply_to_message().unwrap().id, MessageId(incoming as i32));
        assert_eq!(reply.reply_to_message().unwrap().text(), Some("/start"));

        let err =
            bot.send_message(ChatId(42), "x").reply_parameters(ReplyParameters::new(MessageId(999))).await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::MessageToReplyNotFound)), "{err:?}");
        let err = bot.send_message(ChatId(42), " ").await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::MessageTextIsEmpty)), "{err:?}");

        bot.set_message_reaction(ChatId(42), MessageId(incoming as i32))
            .reaction(vec![ReactionType::Emoji { emoji: "👍".to_owned() }])
            .await
            .unwrap();

        let sent = fake.sent();
        assert_eq!(sent.len(), 3);
        assert_eq!(
            (sent[0].message_id, sent[0].chat_id, sent[0].text.as_str(), sent[0].reply_to, sent[0].method.as_str()),
            (plain.id.0 as i64, 42, "Welcome", None, "sendMessage")
        );
        assert_eq!((sent[1].text.as_str(), sent[1].reply_to), ("Linked", Some(incoming)));
        assert_eq!(
            (sent[2].message_id, sent[2].text.as_str(), sent[2].reply_to, sent[2].method.as_str()),
            (incoming, "👍", Some(incoming), "setMessageReaction")
        );
        let found = fake
            .wait_for_sent(Duration::from_secs(1), |m| m.method == "setMessageReaction" && m.message_id == incoming)
            .await;
        assert_eq!(found, sent[2]);
        // Refused sends are timed too.
        assert_eq!(fake.send_times().len(), 5);

        let background = bot.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            background.send_message(ChatId(42), "later").await.unwrap();
        });
        let later = fake.wait_for_sent(Duration::from_secs(5), |m| m.text == "later").await;
        assert_eq!(later.chat_id, 42);
    }

    #[tokio::test]
    #[should_panic(expected = "nothing matching was sent")]
    async fn wait_for_sent_panics_with_what_was_sent() {
        let fake = FakeTelegram::start("fake_bot").await;
        fake.wait_for_sent(Duration::from_millis(100), |m| m.text == "never").await;
    }

    #[tokio::test]
    async fn failed_sends_surface_as_teloxide_errors_then_recover() {
        let fake = FakeTelegram::start("fake_bot").await;
        let bot = bot(&fake);
        fake.push_text(42, "Alice", "hi", None);

        fake.fail_next_sends(1, Failure::RetryAfter(2));
        fake.fail_next_sends(1, Failure::Blocked);
        fake.fail_next_sends(1, Failure::Unauthorized);
        let err = bot.send_message(ChatId(42), "a").await.unwrap_err();
        assert!(matches!(err, RequestError::RetryAfter(s) if s == Seconds::from_seconds(2)), "{err:?}");
        let err = bot.send_message(ChatId(42), "a").await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
        let err = bot.send_message(ChatId(42), "a").await.unwrap_err();
        assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");
        bot.send_message(ChatId(42), "a").await.unwrap();
        assert_eq!(fake.sent().len(), 1);
        assert_eq!(fake.send_times().len(), 4);

        // teloxide waits 10 s after any 5xx before it reads the body.
        fake.fail_next_sends(1, Failure::ServerError);
        let started = Instant::now();
        let err = bot.send_message(ChatId(42), "b").await.unwrap_err();
        assert!(matches!(&err, RequestError::Api(ApiError::Unknown(d)) if d == "Bad Gateway"), "{err:?}");
        assert!(started.elapsed() >= Duration::from_secs(10));
        bot.send_message(ChatId(42), "b").await.unwrap();
        let times = fake.send_times();
        assert_eq!(times.len(), 6);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(fake.sent().iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[tokio::test]
    async fn overlapping_long_polls_end_the_older_with_409() {
        let fake = FakeTelegram::start("fake_bot").await;
        let first = bot(&fake);
        let second = bot(&fake);
        let older = tokio::spawn(async move { first.get_updates().timeout(30).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let newer = tokio::spawn(async move { second.get_updates().timeout(30).await });
        let err = older.await.unwrap().unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(matches!(err, RequestError::Api(ApiError::TerminatedByOtherGetUpdates)), "{err:?}");
        assert!(newer.await.unwrap().unwrap().is_empty());
        assert_eq!(fake.conflicts(), 1);
        assert_eq!(fake.get_updates_calls(), 2);

        // Polls one after the other do not conflict.
        let bot = bot(&fake);
        bot.get_updates().await.unwrap();
        bot.get_updates().await.unwrap();
        assert_eq!(fake.conflicts(), 1);
    }

    #[tokio::test]
    async fn raw_requests_case_insensitive_methods_and_errors() {
        let fake = FakeTelegram::start("fake_bot").await;
        let (status, body) = raw(&fake, "GET", "/bot123:ABC/getme", "").await;
        assert_eq!((status, body["result"]["username"].as_str()), (200, Some("fake_bot")));
        let (status, body) = raw(&fake, "POST", "/bot123:ABC/GETME", "{}").await;
        assert_eq!((status, body["ok"].as_bool()), (200, Some(true)));

        fake.push_text(42, "Alice", "hi", None);
        let (status, body) = raw(&fake, "GET", "/bot1:x/getUpdates?limit=5&timeout=0", "").await;
        assert_eq!((status, body["result"][0]["message"]["text"].as_str()), (200, Some("hi")));
        let (status, body) =
            raw(&fake, "POST", "/bot1:x/sendMessage?chat_id=42", r#"{"text":"yo","reply_to_message_id":1}"#).await;
        assert_eq!((status, body["result"]["reply_to_message"]["message_id"].as_i64()), (200, Some(1)));
        assert_eq!(fake.sent()[0].reply_to, Some(1));

        let (status, body) = raw(&fake, "POST", "/bot1:x/sendPhoto", "{}").await;
        assert_eq!((status, body["description"].as_str()), (404, Some("Not Found: method not found")));
        let (status, _) = raw(&fake, "POST", "/nottoken/getMe", "{}").await;
        assert_eq!(status, 404);
        let (status, _) = raw(&fake, "POST", "/bot1:x/getMe/extra", "{}").await;
        assert_eq!(status, 404);
        let (status, body) = raw(&fake, "POST", "/bot1:x/sendMessage", "{not json").await;
        assert_eq!((status, body["error_code"].as_i64()), (400, Some(400)));
        let (status, _) = raw(&fake, "POST", "/bot1:x/sendMessage", r#"{"chat_id":[1],"text":"x"}"#).await;
        assert_eq!(status, 400);
        let (status, _) = raw(&fake, "POST", "/bot1:x/setMessageReaction", r#"{"chat_id":42,"message_id":"x"}"#).await;
        assert_eq!(status, 400);
        let (status, _) = raw(&fake, "POST", "/bot1:x/getUpdates", r#"{"offset":"x","limit":-5,"timeout":-1}"#).await;
        assert_eq!(status, 200);
    }
}
