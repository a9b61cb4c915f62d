//! The deployment as it runs in production: two app nodes (processes; `make deploy-test`
//! runs the release build) behind nginx with deploy/nginx.conf itself, on PostgreSQL and
//! Redis. People chat through nginx, socket upgrade included, while each node in turn is
//! restarted (SIGTERM, then started again): nothing is lost and nothing is doubled.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    NodeProcess, Socket, browser, free_port, fresh_postgres_database, session_cookie, socket_to, try_socket_to,
};

/// nginx with deploy/nginx.conf, in a scratch prefix whose upstream and listen files point
/// at the test's nodes; stopped (SIGQUIT) when dropped.
struct Nginx {
    address: String,
    process: std::process::Child,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    async fn start(node_ports: &[u16]) -> Self {
        let prefix = tempfile::tempdir().expect("temporary folder");
        let dir = prefix.path();
        // Worker processes run as `nobody` when the test runs as root: they must reach the prefix.
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.join("nginx")).unwrap();
        let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf");
        std::os::unix::fs::symlink(config.canonicalize().expect("deploy/nginx.conf"), dir.join("nginx.conf")).unwrap();
        // The same server parameters as deploy/nginx/upstream.conf, with loopback addresses.
        let upstream: String =
            node_ports.iter().map(|port| format!("server 127.0.0.1:{port} max_fails=0;\n")).collect();
        std::fs::write(dir.join("nginx/upstream.conf"), upstream).unwrap();
        let port = free_port();
        std::fs::write(dir.join("nginx/listen.conf"), format!("listen 127.0.0.1:{port};\n")).unwrap();
        let nginx =
            ["/usr/sbin/nginx", "nginx"].into_iter().find(|p| std::path::Path::new(p).exists()).unwrap_or("nginx");
        let process = std::process::Command::new(nginx)
            .arg("-p")
            .arg(format!("{}/", dir.display()))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-e", "stderr", "-g", "daemon off;"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("nginx (Debian package nginx-light) is installed");
        let nginx = Self { address: format!("http://127.0.0.1:{port}"), process, _prefix: prefix };
        for _ in 0..100 {
            if reqwest::get(format!("{}/healthz", nginx.address)).await.is_ok_and(|r| r.status().is_success()) {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nginx did not start");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg("-QUIT").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
    }
}

/// Someone signed up through nginx.
struct Someone {
    id: i64,
    client: reqwest::Client,
    cookie: String,
}

async fn sign_up(site: &str, name: &str) -> Someone {
    let client = browser();
    let email = format!("{}@example.com", name.to_lowercase());
    let body = json!({ "email": email, "name": name, "password": "correct horse battery" });
    let response = client.post(format!("{site}/api/v1/auth/register")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = session_cookie(&response);
    let user: Value = response.json().await.unwrap();
    Someone { id: user["id"].as_i64().unwrap(), client, cookie }
}

/// What Bob's client holds: messages by seq, from frames and from fetches after reconnects.
#[derive(Default)]
struct Held {
    by_seq: BTreeMap<i64, String>,
    frames: usize,
    reconnects: usize,
}

impl Held {
    fn newest(&self) -> i64 {
        self.by_seq.keys().next_back().copied().unwrap_or(0)
    }

    fn take(&mut self, message: &Value) {
        let seq = message["seq"].as_i64().unwrap();
        let client_id = message["client_id"].as_str().unwrap().to_owned();
        if let Some(held) = self.by_seq.insert(seq, client_id.clone()) {
            assert_eq!(held, client_id, "seq {seq} named two messages");
        }
    }
}

/// Bob's client: reads frames; when the socket closes (his node restarts) it reconnects
/// through nginx and fetches what came after the newest message it holds.
async fn follow(site: String, bob: Someone, chat_id: i64, expected: usize) -> Held {
    let mut held = Held::default();
    let mut socket: Socket = socket_to(&site, &bob.cookie).await;
    while held.by_seq.len() < expected {
        match socket.try_next().await {
            Some(frame) if frame["type"] == "message" => {
                held.frames += 1;
                held.take(&frame["message"]);
            }
            Some(_) => {}
            None => {
                // Closed (1012: the node is restarting). Reconnect, then catch up.
                held.reconnects += 1;
                socket = reconnect(&site, &bob.cookie).await;
                let url = format!("{site}/api/v1/chats/{chat_id}/messages?after_seq={}&limit=100", held.newest());
                let missed: Value = bob.client.get(url).send().await.unwrap().json().await.unwrap();
                for message in missed.as_array().unwrap() {
                    held.take(message);
                }
            }
        }
    }
    held
}

/// Reconnects as a browser does: a short wait, then again until a node answers (a few seconds at most).
async fn reconnect(site: &str, cookie: &str) -> Socket {
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Ok(socket) = try_socket_to(site, cookie).await {
            return socket;
        }
    }
    panic!("no node took the socket for 5 s");
}

#[tokio::test]
async fn behind_nginx_a_rolling_restart_of_both_nodes_loses_nothing_and_doubles_nothing() {
    let database = fresh_postgres_database().await;
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let ports = [free_port(), free_port()];
    let site_port = free_port();
    let public_url = format!("http://127.0.0.1:{site_port}");
    let vars = [
        ("DATABASE_URL", database.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("ADMIN_EMAIL", "admin@example.com"),
        ("ADMIN_PASSWORD", "admin-password-1"),
        ("PUBLIC_URL", public_url.as_str()),
    ];
    let mut nodes = [NodeProcess::start(&vars, ports[0]).await, NodeProcess::start(&vars, ports[1]).await];
    let nginx = Nginx::start(&ports).await;
    let site = nginx.address.clone();

    let ann = sign_up(&site, "Ann").await;
    let bob = sign_up(&site, "Bob").await;
    let chat: Value = ann
        .client
        .post(format!("{site}/api/v1/chats"))
        .json(&json!({ "peer_id": bob.id }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let chat_id = chat["id"].as_i64().unwrap();

    const MESSAGES: usize = 60;
    let bob_client = tokio::spawn(follow(site.clone(), bob, chat_id, MESSAGES));

    // Ann sends one message after another over REST, retrying each with the same client id
    // until it is stored, as the browser's queue does; meanwhile each node is restarted.
    let mut retries = 0;
    for i in 0..MESSAGES {
        if i == 20 || i == 40 {
            let node = &mut nodes[i / 20 - 1];
            assert!(node.stop().await, "a node stops cleanly on SIGTERM");
            node.restart().await;
        }
        let body = json!({ "client_id": format!("m{i}"), "text": format!("message {i}") });
        let url = format!("{site}/api/v1/chats/{chat_id}/messages");
        let mut attempts = 0;
        loop {
            attempts += 1;
            let status = ann.client.post(&url).json(&body).send().await.map(|r| r.status());
            if status.as_ref().is_ok_and(|s| s.is_success()) {
                break;
            }
            assert!(attempts < 50, "message {i} was never stored: {status:?}");
            retries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let held = tokio::time::timeout(Duration::from_secs(60), bob_client).await.expect("Bob caught up").unwrap();
    let expected: BTreeMap<i64, String> = (0..MESSAGES).map(|i| (i as i64 + 1, format!("m{i}"))).collect();
    assert_eq!(held.by_seq, expected, "Bob holds every message once, in order ({retries} sends were retried)");
    assert!(held.frames > 0, "messages arrived live through nginx");
    assert!(held.reconnects > 0, "Bob's node restarted under him and his client reconnected");

    let history: Value = ann
        .client
        .get(format!("{site}/api/v1/chats/{chat_id}/messages?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["client_id"].as_str().unwrap()).collect();
    let sent: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    assert_eq!(stored, sent, "stored once each, in the order sent");
}

/// What `make deploy-test` serves: the release site (`cargo xtask build --release`, its WASM
/// shrunk by wasm-opt, its files named after their content) through nginx, precompressed and
/// cached for good. `make unit`
/// skips this one: it runs before any release build exists.
#[tokio::test]
async fn release_site_is_served_optimized_and_compressed_through_nginx() {
    let site_root =
        std::env::var("MESSENGER_SITE").expect("MESSENGER_SITE: the release site (make deploy-test sets it)");
    let database = fresh_postgres_database().await;
    let port = free_port();
    let vars = [
        ("DATABASE_URL", database.as_str()),
        ("ADMIN_EMAIL", "admin@example.com"),
        ("ADMIN_PASSWORD", "admin-password-1"),
        ("LEPTOS_SITE_ROOT", site_root.as_str()),
    ];
    let _node = NodeProcess::start(&vars, port).await;
    let nginx = Nginx::start(&[port]).await;
    let client = reqwest::Client::new();

    let page = client.get(format!("{}/login", nginx.address)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let name = std::fs::read_to_string(format!("{site_root}/pkg/output-name")).expect("the site's pkg/output-name");
    let name = name.trim();
    assert!(name.starts_with("messenger-"), "a hashed name: {name}");
    let (wasm_path, js_path) = (format!("/pkg/{name}.wasm"), format!("/pkg/{name}.js"));
    assert!(html.contains(&js_path) && html.contains(&wasm_path), "{html}");

    let get = |path: &str, encoding: &str| {
        client.get(format!("{}{path}", nginx.address)).header("accept-encoding", encoding).send()
    };
    // Whole, the optimized WASM is well under 2 MB (a debug build is about 8 MB) ...
    let plain = get(&wasm_path, "identity").await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert_eq!(plain.headers()["cache-control"], "public, max-age=31536000, immutable");
    let wasm = plain.bytes().await.unwrap();
    assert!(wasm.starts_with(b"\0asm"), "a WebAssembly module");
    assert!(wasm.len() < 2_000_000, "the WASM is {} bytes: not the optimized build", wasm.len());
    // ... and goes out brotli-compressed, precompressed at build time, to a browser that accepts it.
    let brotli = get(&wasm_path, "br, gzip").await.unwrap();
    assert_eq!(brotli.headers()["content-encoding"], "br");
    let on_the_wire = brotli.bytes().await.unwrap().len();
    assert!(on_the_wire < wasm.len() / 2, "{on_the_wire} bytes compressed of {}", wasm.len());
    let script = get(&js_path, "gzip").await.unwrap();
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert_eq!(script.headers().get_all("cache-control").iter().count(), 1, "one Cache-Control, the app's");
}
