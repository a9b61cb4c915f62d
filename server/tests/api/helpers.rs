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
    _dir: tempfile::TempDir,
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
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration");
    let app = Application::build(config).await.expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().ctx.messenger.db.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp { address, db, client: browser(), _dir: dir, _stop: stop }
}

/// A new browser: its own cookies, no redirects followed.
pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

impl TestApp {
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
        let client = browser();
        let response = self.register_with(&client, email, name, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
        let user = response.json().await.expect("user json");
        (client, user)
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_json(client, "/api/v1/auth/login", json!({ "email": email, "password": password })).await
    }

    pub async fn me(&self, client: &Client) -> Response {
        client.get(self.url("/api/v1/me")).send().await.expect("request")
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
