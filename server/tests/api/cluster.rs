//! Two nodes as one: two servers sharing PostgreSQL and Redis, people on either, and Redis
//! going away in the middle of a conversation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, NodeProcess, Person, Socket, TestApp, socket_to, spawn_app, spawn_app_with};

fn send(chat_id: &Value, client_id: &str, text: &str) -> Value {
    json!({ "type": "send", "chat_id": chat_id, "client_id": client_id, "text": text })
}

/// Reads a socket until it has seen `count` messages of a chat (as `message` or `ack`);
/// returns their seqs in the order they came.
async fn seqs_seen(socket: &mut Socket, chat_id: &Value, count: usize) -> Vec<i64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        let frame = socket.next().await;
        if matches!(frame["type"].as_str(), Some("message" | "ack")) && frame["message"]["chat_id"] == *chat_id {
            seqs.push(frame["message"]["seq"].as_i64().expect("seq"));
        }
    }
    seqs
}

/// Two nodes of one installation on PostgreSQL and the shared Redis; Ann and Bob with a chat.
async fn two_nodes_with_a_chat() -> (TestApp, TestApp, Person, Person, Value) {
    let node1 = spawn_app(Backend::Postgres).await;
    let node2 = node1.another_node().await;
    let ann = node1.person("ann@example.com", "Ann").await;
    let bob = node1.person("bob@example.com", "Bob").await;
    let chat = node1.open_chat(&ann, bob.id).await;
    (node1, node2, ann, bob, chat)
}

#[tokio::test]
async fn people_on_two_nodes_chat_live_and_every_socket_sees_every_message_once_in_seq_order() {
    let (node1, node2, ann, bob, chat) = two_nodes_with_a_chat().await;
    let mut ann_on_1 = node1.socket(&ann).await;
    let mut ann_on_2 = node2.socket(&ann).await;
    let mut bob_on_2 = node2.socket(&bob).await;

    // Both write at once, each through their own node's writer.
    const EACH: usize = 100;
    for i in 0..EACH {
        ann_on_1.send(send(&chat["id"], &format!("a{i}"), &format!("from Ann {i}"))).await;
        bob_on_2.send(send(&chat["id"], &format!("b{i}"), &format!("from Bob {i}"))).await;
    }
    let all: Vec<i64> = (1..=(2 * EACH) as i64).collect();
    for (who, socket) in [("Ann on node 1", &mut ann_on_1), ("Ann on node 2", &mut ann_on_2), ("Bob", &mut bob_on_2)] {
        assert_eq!(seqs_seen(socket, &chat["id"], 2 * EACH).await, all, "{who}");
    }
    let (status, history) =
        node2.get(&bob, &format!("/api/v1/chats/{}/messages?limit=100&after_seq=100", chat["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history.as_array().unwrap().len(), 100, "nothing lost, nothing doubled");
}

#[tokio::test]
async fn read_markers_typing_presence_and_sign_out_cross_nodes() {
    let (node1, node2, ann, bob, chat) = two_nodes_with_a_chat().await;
    let mut ann_on_1 = node1.socket(&ann).await;
    let eve = node1.person("eve@example.com", "Eve").await;
    let mut eve_on_1 = node1.socket(&eve).await;

    // Bob opens the app on node 2: Ann, on node 1, sees him come online, and so does the
    // directory of either node.
    let mut bob_on_2 = node2.socket(&bob).await;
    let presence = ann_on_1.next_presence().await;
    assert_eq!((presence["user_id"].as_i64(), presence["online"].as_bool()), (Some(bob.id), Some(true)));
    for node in [&node1, &node2] {
        let (_, page) = node.get(&ann, "/api/v1/users?q=Bob").await;
        assert_eq!(page["users"][0]["online"], true, "{page}");
    }
    // Eve shares no chat with Bob: she is not told live (she sees it in the directory).
    let (_, page) = node1.get(&eve, "/api/v1/users?q=Bob").await;
    assert_eq!(page["users"][0]["online"], true, "{page}");
    eve_on_1.send(json!({ "type": "ping" })).await;
    assert_eq!(eve_on_1.try_next_any().await.unwrap()["type"], "pong", "no presence frame for a stranger");

    // Typing on node 2 shows on node 1.
    bob_on_2.send(json!({ "type": "typing", "chat_id": chat["id"] })).await;
    let typing = ann_on_1.next().await;
    assert_eq!(typing, json!({ "type": "typing", "chat_id": chat["id"], "user_id": bob.id }));

    // A message from node 2, read on node 1: Ann's tab on node 2 hears the marker move.
    bob_on_2.send(send(&chat["id"], "b1", "hello Ann")).await;
    assert_eq!(bob_on_2.next().await["type"], "ack");
    assert_eq!(ann_on_1.next().await["message"]["text"], "hello Ann");
    let mut ann_on_2 = node2.socket(&ann).await;
    let (_, page) = node2.get(&ann, "/api/v1/chats").await;
    let chats = &page["chats"];
    assert_eq!(chats[0]["unread"], 1);
    ann_on_1.send(json!({ "type": "read", "chat_id": chat["id"], "seq": 1 })).await;
    let read = ann_on_2.next().await;
    assert_eq!((read["type"].as_str(), read["chat"]["unread"].as_u64()), (Some("read"), Some(0)), "{read}");
    let (_, page) = node2.get(&ann, "/api/v1/chats").await;
    let chats = &page["chats"];
    assert_eq!(chats[0]["unread"], 0);

    // Bob closes the app: Ann sees him go offline, with the time he was last seen.
    bob_on_2.close().await;
    let presence = ann_on_1.next_presence().await;
    assert_eq!((presence["user_id"].as_i64(), presence["online"].as_bool()), (Some(bob.id), Some(false)));
    assert!(presence["last_seen_at"].is_string(), "{presence}");
    let (_, page) = node1.get(&ann, "/api/v1/users?q=Bob").await;
    assert_eq!(page["users"][0]["online"], false, "{page}");
    assert!(page["users"][0]["last_seen_at"].is_string(), "{page}");

    // Signing out on node 1 closes that session's socket on node 2.
    let response = ann.client.post(node1.url("/api/v1/auth/logout")).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(ann_on_2.try_next().await, None, "the socket on the other node closed");
    assert_eq!(ann_on_1.try_next().await, None);
}

/// A Redis server of the test's own, on a free port, that the test can kill and restart.
struct OwnRedis {
    port: u16,
    process: Option<std::process::Child>,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Self { port, process: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let process = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server) is installed");
        self.process = Some(process);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `/readyz` as JSON, with its status.
async fn readiness(node: &TestApp) -> (StatusCode, Value) {
    let response = node.client.get(node.url("/readyz")).send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn wait_until_ready(node: &TestApp) {
    for _ in 0..150 {
        if readiness(node).await.0 == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not ready 15 s after Redis came back: {:?}", readiness(node).await);
}

#[tokio::test]
async fn while_redis_is_down_messages_are_stored_and_delivered_on_their_node_and_nothing_is_lost() {
    let mut redis = OwnRedis::start();
    let node1 = spawn_app_with(Backend::Postgres, &[("REDIS_URL", &redis.url())]).await;
    let node2 = node1.another_node().await;
    let ann = node1.person("ann@example.com", "Ann").await;
    let bob = node1.person("bob@example.com", "Bob").await;
    let chat = node1.open_chat(&ann, bob.id).await;
    let mut ann_tab1 = node1.socket(&ann).await;
    let mut ann_tab2 = node1.socket(&ann).await;
    let mut bob_on_2 = node2.socket(&bob).await;
    ann_tab1.send(send(&chat["id"], "m1", "before")).await;
    assert_eq!(ann_tab1.next().await["type"], "ack");
    assert_eq!(bob_on_2.next().await["message"]["text"], "before");
    assert_eq!(ann_tab2.next().await["message"]["text"], "before");

    redis.kill();
    for (i, text) in ["during 1", "during 2"].iter().enumerate() {
        ann_tab1.send(send(&chat["id"], &format!("d{i}"), text)).await;
        assert_eq!(ann_tab1.next().await["type"], "ack", "stored while Redis is down");
        assert_eq!(ann_tab2.next().await["message"]["text"], *text, "delivered on the same node");
    }
    let (status, body) = readiness(&node1).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_ne!(body["redis"], "ok", "{body}");

    redis.restart();
    wait_until_ready(&node1).await;
    wait_until_ready(&node2).await;
    // Bob's node may have missed events: his socket is closed so that his client resyncs.
    let mut frames = Vec::new();
    while let Some(frame) = bob_on_2.try_next().await {
        frames.push(frame);
    }
    let (_, missed) = node2.get(&bob, &format!("/api/v1/chats/{}/messages?after_seq=1", chat["id"])).await;
    let texts: Vec<&str> = missed.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["during 1", "during 2"], "nothing lost (frames before the close: {frames:?})");

    // Both nodes closed their sockets when their link to Redis came back (they may have
    // missed events); the clients reconnect, and cross-node delivery resumes.
    assert_eq!(ann_tab1.try_next().await, None, "Ann's socket was told to resync too");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut bob_again = node2.socket(&bob).await;
    let mut ann_again = node1.socket(&ann).await;
    ann_again.send(send(&chat["id"], "after", "after")).await;
    let message = bob_again.next().await;
    assert_eq!((message["message"]["text"].as_str(), message["message"]["seq"].as_i64()), (Some("after"), Some(4)));
}

#[tokio::test]
async fn when_a_node_is_killed_its_people_reconnect_to_the_other_and_go_offline_by_themselves() {
    let node1 = spawn_app_with(Backend::Postgres, &[("PRESENCE_TTL", "3")]).await;
    let mut node2 = NodeProcess::start_like(&node1).await;
    let ann = node1.person("ann@example.com", "Ann").await;
    let bob = node1.person("bob@example.com", "Bob").await;
    let chat = node1.open_chat(&ann, bob.id).await;
    let mut ann_on_1 = node1.socket(&ann).await;
    let mut bob_on_2 = socket_to(&node2.address, &bob.cookie).await;
    let online = ann_on_1.next_presence().await;
    assert_eq!((online["user_id"].as_i64(), online["online"].as_bool()), (Some(bob.id), Some(true)));
    bob_on_2.send(send(&chat["id"], "b1", "from node 2")).await;
    assert_eq!(bob_on_2.next().await["type"], "ack");
    assert_eq!(ann_on_1.next().await["message"]["text"], "from node 2");

    // Node 2 dies without a word: Bob's socket drops, and nobody tells Redis he left.
    node2.kill();
    assert_eq!(bob_on_2.try_next().await, None);
    let started = std::time::Instant::now();
    let offline = ann_on_1.next_presence().await;
    assert_eq!((offline["user_id"].as_i64(), offline["online"].as_bool()), (Some(bob.id), Some(false)));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "offline within the TTL and a renewal: {:?}",
        started.elapsed()
    );
    let (_, page) = node1.get(&ann, "/api/v1/users?q=Bob").await;
    assert_eq!(page["users"][0]["online"], false, "{page}");

    // Bob's client reconnects to the node still up, finds what it missed, and carries on.
    let mut bob_on_1 = node1.socket(&bob).await;
    assert_eq!(ann_on_1.next_presence().await["online"], true);
    ann_on_1.send(send(&chat["id"], "a1", "are you there?")).await;
    assert_eq!(bob_on_1.next().await["message"]["text"], "are you there?");
    let (_, history) = node1.get(&bob, &format!("/api/v1/chats/{}/messages", chat["id"])).await;
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["from node 2", "are you there?"]);
}
