//! `spawn_app`: the real server on 127.0.0.1:0 with a fresh database, and helpers to
//! talk to it like a browser would.

use std::collections::HashMap;

use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use server::{Application, Config};

/// Which stack a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file, no Redis.
    Sqlite,
    /// Production: PostgreSQL and Redis.
    Postgres,
}

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "correct horse battery";

fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A running server and what a test needs to reach it.
pub struct TestApp {
    pub address: String,
    pub db: sea_orm::DatabaseConnection,
    /// A browser with its own cookie jar.
    pub client: Client,
    /// The settings it was started with.
    vars: HashMap<String, String>,
    _dir: std::sync::Arc<tempfile::TempDir>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the application on a free port with a brand-new database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra environment variables.
pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut vars: HashMap<String, String> = HashMap::from([
        ("PORT".into(), "0".into()),
        ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
    ]);
    match backend {
        Backend::Sqlite => {
            let file = dir.path().join("messenger.db");
            vars.insert("DATABASE_URL".into(), format!("sqlite://{}?mode=rwc", file.display()));
        }
        Backend::Postgres => {
            let name = format!("msgtest_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(format!("{}/postgres", postgres_server())).await.expect("PostgreSQL");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            admin.close().await.ok();
            vars.insert("DATABASE_URL".into(), format!("{}/{name}", postgres_server()));
            vars.insert("REDIS_URL".into(), redis_url());
        }
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    start(vars, std::sync::Arc::new(dir)).await
}

/// A brand-new, empty PostgreSQL database (`msgtest_…`, like [`spawn_app_with`]'s): its URL.
pub async fn fresh_postgres_database() -> String {
    let name = format!("msgtest_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(format!("{}/postgres", postgres_server())).await.expect("PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    admin.close().await.ok();
    format!("{}/{name}", postgres_server())
}

/// Like [`spawn_app`] on PostgreSQL + Redis, but the server reaches its fresh database by
/// the URL `route` returns for the real one (a test's proxy in between, say).
pub async fn spawn_app_through(route: impl FnOnce(&str) -> String) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = fresh_postgres_database().await;
    let vars: HashMap<String, String> = HashMap::from([
        ("PORT".into(), "0".into()),
        ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("DATABASE_URL".into(), route(&database)),
        ("REDIS_URL".into(), redis_url()),
    ]);
    start(vars, std::sync::Arc::new(dir)).await
}

async fn start(vars: HashMap<String, String>, dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration");
    let app = Application::build(config).await.expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().ctx.messenger.db.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp { address, db, client: browser(), vars, _dir: dir, _stop: stop }
}

/// A new browser: its own cookies, no redirects followed.
pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

impl TestApp {
    /// Another node of the same installation: the same database and Redis, its own port.
    /// Dropping a node stops it.
    pub async fn another_node(&self) -> TestApp {
        start(self.vars.clone(), self._dir.clone()).await
    }

    /// Another node of the same installation with some settings changed (the same database
    /// and Redis).
    pub async fn another_node_with(&self, changed: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        vars.extend(changed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        start(vars, self._dir.clone()).await
    }

    /// A setting it was started with.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, client: &Client, path: &str, body: Value) -> Response {
        client.post(self.url(path)).json(&body).send().await.expect("request")
    }

    pub async fn register_with(&self, client: &Client, email: &str, name: &str, password: &str) -> Response {
        self.post_json(client, "/api/v1/auth/register", json!({ "email": email, "name": name, "password": password }))
            .await
    }

    /// Registers someone in a fresh browser, asserting success; returns that browser and the user.
    pub async fn register(&self, email: &str, name: &str) -> (Client, Value) {
        let person = self.person(email, name).await;
        (person.client, person.user)
    }

    /// Registers someone and keeps what a test needs to act as them.
    pub async fn person(&self, email: &str, name: &str) -> Person {
        let client = browser();
        let response = self.register_with(&client, email, name, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
        let cookie = session_cookie(&response);
        let user: Value = response.json().await.expect("user json");
        Person { id: user["id"].as_i64().expect("user id"), user, client, cookie }
    }

    /// Opens a WebSocket as this person (a new tab).
    pub async fn socket(&self, person: &Person) -> Socket {
        self.socket_with(Some(&person.cookie), None).await.expect("socket opens")
    }

    /// Tries to open a WebSocket with an optional cookie and Origin.
    pub async fn socket_with(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let mut socket = Socket { ws: self.handshake(cookie, origin).await? };
        let hello = socket.next().await;
        assert_eq!(hello["type"], "hello", "{hello}");
        Ok(socket)
    }

    /// Opens a WebSocket as this person and reads its first frame: `None` when it was a
    /// `hello`, or the close code when the server closed it instead.
    pub async fn socket_without_hello(&self, person: &Person) -> Option<u16> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let mut ws = self.handshake(Some(&person.cookie), None).await.expect("upgrade");
        // The greeting is queued before anything else can reach the socket.
        let first = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("a frame");
        match first {
            Some(Ok(Message::Close(Some(frame)))) => Some(frame.code.into()),
            Some(Ok(Message::Text(text))) => {
                assert!(text.contains("hello"), "{text}");
                None
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    async fn handshake(
        &self,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        handshake_to(&self.address, cookie, origin).await
    }

    /// Opens (or finds) the chat between two people, as `me`.
    pub async fn open_chat(&self, me: &Person, peer_id: i64) -> Value {
        let response = self.post_json(&me.client, "/api/v1/chats", json!({ "peer_id": peer_id })).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("chat json")
    }

    /// `GET` as a person, returning the status and JSON body.
    pub async fn get(&self, me: &Person, path: &str) -> (StatusCode, Value) {
        let response = me.client.get(self.url(path)).send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_json(client, "/api/v1/auth/login", json!({ "email": email, "password": password })).await
    }

    pub async fn me(&self, client: &Client) -> Response {
        client.get(self.url("/api/v1/me")).send().await.expect("request")
    }
}

/// Someone registered for a test.
pub struct Person {
    pub id: i64,
    pub user: Value,
    /// Their browser (cookie jar).
    pub client: Client,
    /// `session=...`, for WebSocket handshakes.
    pub cookie: String,
}

/// The `session=...` pair from a response that signed someone in.
pub fn session_cookie(response: &Response) -> String {
    let header = response.headers()[reqwest::header::SET_COOKIE].to_str().expect("cookie text");
    header.split(';').next().expect("cookie pair").to_owned()
}

/// Opens a WebSocket with a session cookie (`session=...`) on the server at `address`
/// (another node, or a proxy in front of the nodes) and reads its `hello`.
pub async fn socket_to(address: &str, cookie: &str) -> Socket {
    try_socket_to(address, cookie).await.expect("socket opens")
}

/// [`socket_to`], with the handshake's failure when the server refused it.
pub async fn try_socket_to(address: &str, cookie: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut socket = Socket { ws: handshake_to(address, Some(cookie), None).await? };
    assert_eq!(socket.next().await["type"], "hello");
    Ok(socket)
}

/// A node as its own `messenger` process, which a test can stop (SIGTERM), kill (SIGKILL)
/// and start again on the same port. The binary is `MESSENGER_BIN` when set (`make
/// deploy-test` points it at the release build), else this build's.
pub struct NodeProcess {
    pub address: String,
    port: u16,
    vars: Vec<(String, String)>,
    process: Option<std::process::Child>,
}

impl NodeProcess {
    /// Starts the binary with the settings of `like` (its database and Redis) on a free port.
    pub async fn start_like(like: &TestApp) -> Self {
        let names = [
            "DATABASE_URL",
            "REDIS_URL",
            "ADMIN_EMAIL",
            "ADMIN_PASSWORD",
            "PRESENCE_TTL",
            "PUBLIC_URL",
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_API_URL",
            "TELEGRAM_LEASE_TTL",
            "TELEGRAM_NOTIFY_DELAY",
            "TELEGRAM_POLL_TIMEOUT",
        ];
        let vars = names.iter().filter_map(|name| Some((*name, like.setting(name)?))).collect::<Vec<_>>();
        Self::start(&vars, free_port()).await
    }

    /// Starts the binary with these settings on this port, and waits until it answers.
    pub async fn start(vars: &[(&str, &str)], port: u16) -> Self {
        let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut node = Self { address: format!("http://127.0.0.1:{port}"), port, vars, process: None };
        node.restart().await;
        node
    }

    /// Starts it again (after [`NodeProcess::stop`] or [`NodeProcess::kill`]).
    pub async fn restart(&mut self) {
        let binary = std::env::var("MESSENGER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_messenger").to_owned());
        let mut command = std::process::Command::new(binary);
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "warn");
        command.envs(self.vars.iter().map(|(k, v)| (k, v))).env("PORT", self.port.to_string());
        self.process = Some(command.stdout(std::process::Stdio::null()).spawn().expect("the messenger binary"));
        for _ in 0..300 {
            if reqwest::get(format!("{}/healthz", self.address)).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the node on port {} did not start", self.port);
    }

    /// SIGTERM, then waits for it to exit (a graceful stop); returns whether it exited cleanly.
    pub async fn stop(&mut self) -> bool {
        let Some(mut process) = self.process.take() else { return true };
        let _ = std::process::Command::new("kill").arg("-TERM").arg(process.id().to_string()).status();
        for _ in 0..400 {
            if let Ok(Some(status)) = process.try_wait() {
                return status.success();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = process.kill();
        let _ = process.wait();
        false
    }

    /// SIGKILL: dies at once, telling nobody.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port()
}

async fn handshake_to(
    address: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/api/v1/ws", address.replacen("http", "ws", 1));
    let mut request = url.into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse().expect("cookie header"));
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().expect("origin header"));
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket as a client sees it: JSON frames in and out.
pub struct Socket {
    ws: Ws,
}

impl Socket {
    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: String) {
        use futures::SinkExt;
        self.ws.send(tokio_tungstenite::tungstenite::Message::text(text)).await.expect("frame sent");
    }

    /// The next JSON frame (pings and `presence` frames skipped). Fails the test after 10 s of silence.
    pub async fn next(&mut self) -> Value {
        self.try_next().await.expect("a frame, not the end of the connection")
    }

    /// The next JSON frame other than `presence`, or `None` when the server closed the connection.
    pub async fn try_next(&mut self) -> Option<Value> {
        loop {
            let frame = self.try_next_any().await?;
            if frame["type"] != "presence" {
                return Some(frame);
            }
        }
    }

    /// The next `presence` frame (other frames skipped).
    pub async fn next_presence(&mut self) -> Value {
        loop {
            let frame = self.try_next_any().await.expect("a frame, not the end of the connection");
            if frame["type"] == "presence" {
                return frame;
            }
        }
    }

    /// The next JSON frame of any type, or `None` when the server closed the connection.
    pub async fn try_next_any(&mut self) -> Option<Value> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s");
            match frame {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).expect("JSON frame")),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads until the server closes the connection (frames skipped); the close code, or
    /// `None` when the connection ended without a close frame. Fails after `within`.
    pub async fn close_code(&mut self, within: std::time::Duration) -> Option<u16> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let read_all = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    None | Some(Err(_)) => return None,
                }
            }
        };
        tokio::time::timeout(within, read_all).await.expect("the server closes the connection in time")
    }

    /// Closes the connection as a browser would.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The `{"error": {...}}` body of a failed request.
pub async fn error_of(response: Response) -> Value {
    let body: Value = response.json().await.expect("error json");
    body["error"].clone()
}

/// Runs each named `async fn(Backend)` on SQLite and on PostgreSQL + Redis.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Postgres).await })*
        }
    };
}
