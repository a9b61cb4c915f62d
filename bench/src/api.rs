//! The server's public API as a client sees it: sign-up, opening a chat, and an
//! authenticated WebSocket that has said hello.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The password of every bench user.
const PASSWORD: &str = "bench-password-1";
/// How long one HTTP request may take (a sign-up waits behind others' argon2).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the hello may take after the handshake.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// A signed-up user.
#[derive(Clone, Debug)]
pub struct Account {
    /// The user id.
    pub id: i64,
    /// `session=...`, for WebSocket handshakes and REST calls.
    pub cookie: String,
}

/// The HTTP client every call shares.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(REQUEST_TIMEOUT).no_proxy().build()?)
}

#[derive(Deserialize)]
struct WithId {
    id: i64,
}

/// Signs up `count` users, `concurrency` at a time (each costs the server an argon2 hash).
/// `run` keeps the e-mail addresses unique across runs against the same server.
pub async fn register_many(
    http: &reqwest::Client,
    base: &str,
    run: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Account>> {
    let started = Instant::now();
    let mut done = 0usize;
    let mut accounts = Vec::with_capacity(count);
    let mut stream = futures::stream::iter(0..count).map(|i| register(http, base, run, i)).buffered(concurrency.max(1));
    while let Some(account) = stream.try_next().await? {
        accounts.push(account);
        done += 1;
        if count >= 200 && done.is_multiple_of(200) {
            eprintln!("  signed up {done}/{count} ({:.1} s)", started.elapsed().as_secs_f64());
        }
    }
    Ok(accounts)
}

/// The e-mail address of the `i`th user `register_many` signs up in run `run`.
pub fn email_of(run: &str, i: usize) -> String {
    format!("u{i}.{run}@bench.test")
}

async fn register(http: &reqwest::Client, base: &str, run: &str, i: usize) -> anyhow::Result<Account> {
    let email = email_of(run, i);
    let body = serde_json::json!({ "email": email, "name": format!("Bench {i}"), "password": PASSWORD });
    let response =
        http.post(format!("{base}/api/v1/auth/register")).json(&body).send().await.context("POST /auth/register")?;
    let status = response.status();
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    if status != reqwest::StatusCode::CREATED {
        bail!("sign-up of {email} answered {status}: {}", response.text().await.unwrap_or_default());
    }
    let user: WithId = response.json().await.context("sign-up answer")?;
    let cookie = cookie.filter(|c| c.starts_with("session=")).context("sign-up set no session cookie")?;
    Ok(Account { id: user.id, cookie })
}

/// Opens (or finds) the chat between `me` and `peer`; returns its id.
pub async fn open_chat(http: &reqwest::Client, base: &str, me: &Account, peer: i64) -> anyhow::Result<i64> {
    let response = http
        .post(format!("{base}/api/v1/chats"))
        .header(reqwest::header::COOKIE, &me.cookie)
        .json(&serde_json::json!({ "peer_id": peer }))
        .send()
        .await
        .context("POST /chats")?;
    let status = response.status();
    if !status.is_success() {
        bail!("opening a chat answered {status}: {}", response.text().await.unwrap_or_default());
    }
    let chat: WithId = response.json().await.context("chat answer")?;
    Ok(chat.id)
}

/// Where a socket connects: the messenger's `/api/v1/ws` with a cookie, or a relay path.
#[derive(Clone, Debug)]
pub struct WsTarget {
    /// `ws://127.0.0.1:PORT/...`.
    pub url: String,
    /// `session=...`, when the endpoint needs one.
    pub cookie: Option<String>,
}

impl WsTarget {
    /// The messenger's socket for a signed-up user.
    pub fn messenger(base: &str, account: &Account) -> Self {
        Self { url: format!("{}/api/v1/ws", base.replacen("http", "ws", 1)), cookie: Some(account.cookie.clone()) }
    }
}

/// Socket buffers: roomy for traffic, small for the idle test's thousands of sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffers {
    /// tungstenite's defaults (128 KiB reads; writes batched until flushed).
    Traffic,
    /// 4 KiB each way.
    Small,
}

/// Opens a socket and waits for the server's `hello`.
pub async fn connect(target: &WsTarget, buffers: Buffers) -> anyhow::Result<Ws> {
    let mut request = target.url.as_str().into_client_request()?;
    if let Some(cookie) = &target.cookie {
        request.headers_mut().insert("cookie", cookie.parse().context("cookie header")?);
    }
    let config = match buffers {
        Buffers::Traffic => WebSocketConfig::default(),
        Buffers::Small => WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096),
    };
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .with_context(|| format!("opening {}", target.url))?;
    let hello = tokio::time::timeout(HELLO_TIMEOUT, async {
        while let Some(frame) = ws.next().await {
            match frame? {
                Message::Text(text) => return Ok(text),
                Message::Close(close) => bail!("closed before hello: {close:?}"),
                _ => {}
            }
        }
        bail!("closed before hello")
    })
    .await
    .context("no hello in time")??;
    let kind = serde_json::from_str::<serde_json::Value>(hello.as_str())
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned));
    if kind.as_deref() != Some("hello") {
        bail!("the first frame was not a hello: {}", hello.as_str());
    }
    Ok(ws)
}
