//! The WebSocket: delivery to every tab, order, idempotent retry, bad frames, resume.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app};

fn send(chat_id: &Value, client_id: &str, text: &str) -> Value {
    json!({ "type": "send", "chat_id": chat_id, "client_id": client_id, "text": text })
}

async fn a_message_reaches_every_tab_of_both_people_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_tab1 = app.socket(&ann).await;
    let mut ann_tab2 = app.socket(&ann).await;
    let mut bob_phone = app.socket(&bob).await;

    for (i, text) in ["first", "second", "third"].iter().enumerate() {
        ann_tab1.send(send(&chat["id"], &format!("m{i}"), text)).await;
    }
    // The sending tab gets each message and its ack; order within the socket is kept.
    let mut acks = Vec::new();
    let mut seen = Vec::new();
    while acks.len() < 3 || seen.len() < 3 {
        let frame = ann_tab1.next().await;
        match frame["type"].as_str().unwrap() {
            "ack" => acks.push(frame["client_id"].as_str().unwrap().to_owned()),
            "message" => seen.push(frame["message"]["seq"].as_i64().unwrap()),
            other => panic!("unexpected {other}: {frame}"),
        }
    }
    assert_eq!(acks, ["m0", "m1", "m2"]);
    assert_eq!(seen, [1, 2, 3]);
    for socket in [&mut ann_tab2, &mut bob_phone] {
        let texts: Vec<Value> = [socket.next().await, socket.next().await, socket.next().await]
            .into_iter()
            .map(|f| f["message"]["text"].clone())
            .collect();
        assert_eq!(texts, ["first", "second", "third"]);
    }
}

async fn a_send_retried_with_the_same_client_id_is_acked_with_the_first_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_socket = app.socket(&ann).await;
    let mut bob_socket = app.socket(&bob).await;

    ann_socket.send(send(&chat["id"], "retry-me", "hello")).await;
    let first = ann_socket.next().await; // message to all tabs
    let ack = ann_socket.next().await;
    assert_eq!(first["type"], "message");
    assert_eq!(ack["type"], "ack");
    ann_socket.send(send(&chat["id"], "retry-me", "hello")).await;
    let again = ann_socket.next().await;
    assert_eq!(again["type"], "ack", "a retry is acked, not delivered again: {again}");
    assert_eq!(again["message"]["id"], ack["message"]["id"]);

    assert_eq!(bob_socket.next().await["message"]["text"], "hello");
    ann_socket.send(json!({ "type": "ping" })).await;
    bob_socket.send(json!({ "type": "ping" })).await;
    assert_eq!(bob_socket.next().await["type"], "pong", "Bob got the message only once");
    let (_, history) = app.get(&bob, &format!("/api/v1/chats/{}/messages", chat["id"])).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}

async fn malformed_and_oversized_frames_get_an_error_and_everyone_carries_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let chat = app.open_chat(&ann, ann.id).await;
    let mut socket = app.socket(&ann).await;

    socket.send_text("this is not json".into()).await;
    let error = socket.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["code"], "malformed_frame");

    socket.send(json!({ "type": "launch_rockets" })).await;
    assert_eq!(socket.next().await["error"]["code"], "malformed_frame");

    socket.send(send(&chat["id"], "big", &"x".repeat(100_000))).await;
    assert_eq!(socket.next().await["error"]["code"], "frame_too_large");

    socket.send(send(&chat["id"], "long", &"x".repeat(4001))).await;
    let refused = socket.next().await;
    assert_eq!(refused["client_id"], "long");
    assert_eq!(refused["error"]["code"], "invalid_input");

    // Still connected, still working.
    socket.send(send(&chat["id"], "ok", "still here")).await;
    assert_eq!(socket.next().await["message"]["text"], "still here");
}

async fn strangers_cannot_send_to_or_read_a_chat_over_the_socket(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let eve = app.person("eve@example.com", "Eve").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut eve_socket = app.socket(&eve).await;
    eve_socket.send(send(&chat["id"], "intrude", "hi")).await;
    let refused = eve_socket.next().await;
    assert_eq!(refused["error"]["code"], "not_found");
    eve_socket.send(json!({ "type": "read", "chat_id": chat["id"], "seq": 1 })).await;
    assert_eq!(eve_socket.next().await["error"]["code"], "not_found");
    let (_, history) = app.get(&ann, &format!("/api/v1/chats/{}/messages", chat["id"])).await;
    assert_eq!(history, json!([]));
}

async fn the_socket_needs_a_session_and_our_own_origin(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let refused = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    let anonymous = app.socket_with(None, None).await.err().map(refused);
    assert_eq!(anonymous, Some(StatusCode::UNAUTHORIZED.as_u16()));
    let cross_site = app.socket_with(Some(&ann.cookie), Some("https://evil.example")).await.err().map(refused);
    assert_eq!(cross_site, Some(StatusCode::FORBIDDEN.as_u16()));
    assert!(app.socket_with(Some(&ann.cookie), Some(&app.address)).await.is_ok());
}

async fn signing_out_closes_that_sessions_sockets(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut socket = app.socket(&ann).await;
    let logout = ann.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(socket.try_next().await, None, "the socket was closed");
}

async fn reading_in_one_tab_updates_the_unread_count_in_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut bob_tab1 = app.socket(&bob).await;
    let mut bob_tab2 = app.socket(&bob).await;
    let mut ann_socket = app.socket(&ann).await;
    ann_socket.send(send(&chat["id"], "r1", "read me")).await;
    assert_eq!(bob_tab1.next().await["type"], "message");
    assert_eq!(bob_tab2.next().await["type"], "message");

    bob_tab1.send(json!({ "type": "read", "chat_id": chat["id"], "seq": 1 })).await;
    for tab in [&mut bob_tab1, &mut bob_tab2] {
        let read = tab.next().await;
        assert_eq!(read["type"], "read");
        assert_eq!(read["chat"]["unread"], 0);
        assert_eq!(read["chat"]["last_read_seq"], 1);
    }
}

async fn someone_registering_is_announced_to_everyone_online(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut socket = app.socket(&ann).await;
    app.person("newcomer@example.com", "Newcomer").await;
    let joined = socket.next().await;
    assert_eq!(joined["type"], "user_joined");
    assert_eq!(joined["user"]["name"], "Newcomer");
}

async fn after_a_dropped_socket_the_client_gets_what_it_missed_and_nothing_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let mut bob_socket = app.socket(&bob).await;
    let mut ann_socket = app.socket(&ann).await;

    ann_socket.send(send(&chat["id"], "before", "before the drop")).await;
    let held = bob_socket.next().await["message"]["seq"].as_i64().unwrap();
    assert_eq!(ann_socket.next().await["type"], "message");
    assert_eq!(ann_socket.next().await["type"], "ack");
    bob_socket.close().await;

    for i in 0..3 {
        ann_socket.send(send(&chat["id"], &format!("while-{i}"), &format!("missed {i}"))).await;
    }
    // Ann's first message frame and ack were read above; wait for the three new acks.
    let mut acks = 0;
    while acks < 3 {
        if ann_socket.next().await["type"] == "ack" {
            acks += 1;
        }
    }
    // Bob wrote this while offline; his first attempt may or may not have reached the server.
    app.post_json(&bob.client, &path, json!({ "text": "queued offline", "client_id": "bob-q1" })).await;

    let mut bob_socket = app.socket(&bob).await;
    let (_, missed) = app.get(&bob, &format!("{path}?after_seq={held}")).await;
    let texts: Vec<&str> = missed.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["missed 0", "missed 1", "missed 2", "queued offline"]);
    // The client then resends its queue with the same client_ids: acked, not stored again.
    bob_socket.send(send(&chat["id"], "bob-q1", "queued offline")).await;
    let ack = bob_socket.next().await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["message"]["seq"], 5);
    let (_, all) = app.get(&bob, &path).await;
    let seqs: Vec<i64> = all.as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

crate::on_both_backends!(
    a_message_reaches_every_tab_of_both_people_in_order,
    a_send_retried_with_the_same_client_id_is_acked_with_the_first_message,
    malformed_and_oversized_frames_get_an_error_and_everyone_carries_on,
    strangers_cannot_send_to_or_read_a_chat_over_the_socket,
    the_socket_needs_a_session_and_our_own_origin,
    signing_out_closes_that_sessions_sockets,
    reading_in_one_tab_updates_the_unread_count_in_the_others,
    someone_registering_is_announced_to_everyone_online,
    after_a_dropped_socket_the_client_gets_what_it_missed_and_nothing_twice,
);
