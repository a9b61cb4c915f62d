//! PostgreSQL out of reach for a moment: sends fail with a clear, retryable error (never a
//! 500), the server reconnects by itself, and the same sends tried again are stored once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Person, TestApp, spawn_app_through};

fn send(chat_id: &Value, client_id: &str, text: &str) -> Value {
    json!({ "type": "send", "chat_id": chat_id, "client_id": client_id, "text": text })
}

/// A TCP proxy in front of PostgreSQL. Down, it closes every connection through it and
/// refuses new ones (nothing listens on its port); up, it listens again on the same port.
struct Proxy {
    port: u16,
    /// `host:port` of the real server, learnt from the database's URL.
    target: Arc<Mutex<String>>,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start() -> Self {
        let (port, listener) = listen_on_a_fixed_port().await;
        let (up, _) = watch::channel(true);
        let target = Arc::new(Mutex::new(String::new()));
        tokio::spawn(serve(listener, port, target.clone(), up.subscribe()));
        Self { port, target, up }
    }

    /// Takes the URL of the real database; returns the same database through the proxy.
    fn route(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a database URL");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), authority),
        };
        let host = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
        *self.target.lock().unwrap() = host;
        format!("{scheme}://{user}127.0.0.1:{}/{path}", self.port)
    }

    fn down(&self) {
        self.up.send_replace(false);
    }

    fn up(&self) {
        self.up.send_replace(true);
    }
}

/// A listener on a port below Linux's range of ephemeral ports (32768-60999), so that no
/// outgoing connection can take the port while the proxy is down and it can listen there again.
async fn listen_on_a_fixed_port() -> (u16, TcpListener) {
    for _ in 0..200 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return (port, listener);
        }
    }
    panic!("no free port between 20000 and 32000");
}

async fn serve(listener: TcpListener, port: u16, target: Arc<Mutex<String>>, mut up: watch::Receiver<bool>) {
    let pipes = up.clone();
    let mut listener = Some(listener);
    loop {
        if up.wait_for(|up| *up).await.is_err() {
            return;
        }
        let listening = match listener.take() {
            Some(listening) => listening,
            None => listen_again(port).await,
        };
        loop {
            tokio::select! {
                accepted = listening.accept() => {
                    if let Ok((client, _)) = accepted {
                        let target = target.lock().unwrap().clone();
                        tokio::spawn(pipe(client, target, pipes.clone()));
                    }
                }
                down = up.wait_for(|up| !*up) => match down {
                    Ok(_) => break,
                    Err(_) => return,
                },
            }
        }
        // Dropping the listener: connections to the port are refused until it is up.
    }
}

async fn listen_again(port: u16) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the proxy could not listen on port {port} again");
}

/// Forwards one connection until either side closes it or the proxy goes down (which
/// closes both sides).
async fn pipe(mut client: TcpStream, target: String, mut up: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&target).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}

/// `/readyz` as JSON, with its status.
async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn wait_until_ready(app: &TestApp) {
    for _ in 0..150 {
        if readiness(app).await.0 == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not ready 15 s after the database came back: {:?}", readiness(app).await);
}

/// A REST send as `me`: the status, the `Retry-After` header and the JSON body.
async fn post_message(
    app: &TestApp,
    me: &Person,
    chat_id: &Value,
    client_id: &str,
    text: &str,
) -> (StatusCode, Option<String>, Value) {
    let body = json!({ "client_id": client_id, "text": text });
    let response = app.post_json(&me.client, &format!("/api/v1/chats/{chat_id}/messages"), body).await;
    let status = response.status();
    let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn while_postgres_is_out_of_reach_sends_fail_retryably_and_once_it_is_back_each_is_stored_once() {
    let proxy = Proxy::start().await;
    let app = spawn_app_through(|url| proxy.route(url)).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_tab = app.socket(&ann).await;
    let mut bob_phone = app.socket(&bob).await;

    ann_tab.send(send(&chat["id"], "m1", "before")).await;
    assert_eq!(ann_tab.next().await["type"], "ack");
    assert_eq!(bob_phone.next().await["message"]["seq"], 1);

    // A send that reached the server just before the outage, from a tab that closed before
    // it heard the answer: it is stored (Bob has it), and Ann will send it again.
    let mut ann_flaky_tab = app.socket(&ann).await;
    ann_flaky_tab.send(send(&chat["id"], "early", "just before")).await;
    let early = bob_phone.next().await;
    assert_eq!((early["message"]["client_id"].as_str(), early["message"]["seq"].as_i64()), (Some("early"), Some(2)));
    ann_flaky_tab.close().await;
    assert_eq!(ann_tab.next().await["message"]["client_id"], "early", "Ann's other tab got it too");

    proxy.down();
    let over_the_socket = async {
        ann_tab.send(send(&chat["id"], "d1", "during 1")).await;
        ann_tab.send(send(&chat["id"], "d2", "during 2")).await;
        [ann_tab.next().await, ann_tab.next().await]
    };
    let (errors, over_rest, ready) = tokio::join!(
        over_the_socket,
        post_message(&app, &ann, &chat["id"], "r1", "during, over REST"),
        readiness(&app)
    );
    for (frame, client_id) in errors.iter().zip(["d1", "d2"]) {
        assert_eq!(frame["type"], "error", "{frame}");
        assert_eq!(frame["client_id"], client_id, "{frame}");
        assert_eq!(
            (frame["error"]["kind"].as_str(), frame["error"]["code"].as_str()),
            (Some("unavailable"), Some("unavailable")),
            "{frame}"
        );
    }
    let (status, retry_after, body) = over_rest;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a clear retryable error, not a 500: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert_eq!(body["error"]["kind"], "unavailable", "{body}");
    assert!(retry_after.is_some_and(|s| s.parse::<u32>().is_ok_and(|s| s >= 1)), "Retry-After in seconds");
    let (status, body) = ready;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!((body["ready"].as_bool(), body["database"].as_str()), (Some(false), Some("unreachable")), "{body}");

    // The server reconnects by itself.
    proxy.up();
    wait_until_ready(&app).await;

    // Ann sends again with the same client_ids: the one stored before the outage is
    // acknowledged with its first copy, the others are stored now, each once.
    for (client_id, text) in [("early", "just before"), ("d1", "during 1"), ("d2", "during 2")] {
        ann_tab.send(send(&chat["id"], client_id, text)).await;
    }
    let acks: Vec<(String, i64, Value)> = [ann_tab.next().await, ann_tab.next().await, ann_tab.next().await]
        .into_iter()
        .map(|ack| {
            assert_eq!(ack["type"], "ack", "{ack}");
            let message = &ack["message"];
            (ack["client_id"].as_str().unwrap().to_owned(), message["seq"].as_i64().unwrap(), message["id"].clone())
        })
        .collect();
    let seqs: Vec<(&str, i64)> = acks.iter().map(|(client_id, seq, _)| (client_id.as_str(), *seq)).collect();
    assert_eq!(seqs, [("early", 2), ("d1", 3), ("d2", 4)]);
    assert_eq!(acks[0].2, early["message"]["id"], "the send from before the outage was not stored twice");

    let (status, _, stored) = post_message(&app, &ann, &chat["id"], "r1", "during, over REST").await;
    assert_eq!((status, stored["seq"].as_i64()), (StatusCode::CREATED, Some(5)), "{stored}");
    let (status, _, again) = post_message(&app, &ann, &chat["id"], "r1", "during, over REST").await;
    assert_eq!((status, &again["id"]), (StatusCode::CREATED, &stored["id"]), "a retry returns the same message");
    let r1 = ann_tab.next().await;
    assert_eq!((r1["type"].as_str(), &r1["message"]["id"]), (Some("message"), &stored["id"]), "Ann's tab gets it once");
    ann_tab.send(send(&chat["id"], "d1", "during 1")).await;
    let again = ann_tab.next().await;
    assert_eq!((again["type"].as_str(), &again["message"]["id"]), (Some("ack"), &acks[1].2), "{again}");

    // Bob gets each new message once, in seq order, and nothing else.
    let mut delivered = Vec::new();
    for _ in 0..3 {
        let frame = bob_phone.next().await;
        assert_eq!(frame["type"], "message", "{frame}");
        delivered.push((
            frame["message"]["client_id"].as_str().unwrap().to_owned(),
            frame["message"]["seq"].as_i64().unwrap(),
        ));
    }
    assert_eq!(delivered, [("d1".to_owned(), 3), ("d2".to_owned(), 4), ("r1".to_owned(), 5)]);
    bob_phone.send(json!({ "type": "ping" })).await;
    assert_eq!(bob_phone.next().await["type"], "pong", "no message twice");

    // History: every message once, no gaps.
    let (status, history) = app.get(&bob, &format!("/api/v1/chats/{}/messages", chat["id"])).await;
    assert_eq!(status, StatusCode::OK);
    let history: Vec<(&str, i64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["client_id"].as_str().unwrap(), m["seq"].as_i64().unwrap()))
        .collect();
    assert_eq!(history, [("m1", 1), ("early", 2), ("d1", 3), ("d2", 4), ("r1", 5)]);
    assert_eq!(readiness(&app).await.0, StatusCode::OK);
}
