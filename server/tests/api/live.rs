//! The WebSocket: delivery to every tab, order, idempotent retry, bad frames, resume.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Socket, spawn_app, spawn_app_with};

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
    // The sending tab gets each message as its ack, in order.
    let mut acks = Vec::new();
    for _ in 0..3 {
        let frame = ann_tab1.next().await;
        assert_eq!(frame["type"], "ack", "{frame}");
        acks.push((frame["client_id"].as_str().unwrap().to_owned(), frame["message"]["seq"].as_i64().unwrap()));
    }
    assert_eq!(acks, [("m0".into(), 1), ("m1".into(), 2), ("m2".into(), 3)]);
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
    let ack = ann_socket.next().await;
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
    let ack = socket.next().await;
    assert_eq!((&ack["type"], &ack["message"]["text"]), (&json!("ack"), &json!("still here")));
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
    assert!(joined["user"].get("email").is_none(), "a newcomer's email is not announced: {joined}");
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
    assert_eq!(ann_socket.next().await["type"], "ack");
    bob_socket.close().await;

    for i in 0..3 {
        ann_socket.send(send(&chat["id"], &format!("while-{i}"), &format!("missed {i}"))).await;
    }
    for _ in 0..3 {
        assert_eq!(ann_socket.next().await["type"], "ack");
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

/// Reads `socket` until it holds `count` messages of the chat (its own sends arrive as
/// acks); returns their seqs in arrival order and the client ids it got acks for.
async fn read_messages(socket: &mut Socket, count: usize) -> (Vec<i64>, Vec<String>) {
    let (mut seqs, mut acked) = (Vec::new(), Vec::new());
    while seqs.len() < count {
        let frame = socket.next().await;
        match frame["type"].as_str() {
            Some("message") => seqs.push(frame["message"]["seq"].as_i64().unwrap()),
            Some("ack") => {
                seqs.push(frame["message"]["seq"].as_i64().unwrap());
                acked.push(frame["client_id"].as_str().unwrap().to_owned());
            }
            _ => panic!("unexpected frame {frame}"),
        }
    }
    (seqs, acked)
}

async fn two_hundred_concurrent_sends_from_two_people_in_two_tabs_reach_every_socket_in_seq_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut tabs = [app.socket(&ann).await, app.socket(&ann).await, app.socket(&bob).await, app.socket(&bob).await];

    // 45 sends from each of the four tabs without waiting for acks, and 20 over REST from
    // Bob's third device, all at once.
    for (t, tab) in tabs.iter_mut().enumerate() {
        for i in 0..45 {
            tab.send(send(&chat["id"], &format!("tab{t}-{i}"), &format!("tab {t} says {i}"))).await;
        }
    }
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let rest_sends = (0..20).map(|i| {
        let body = json!({ "text": format!("rest {i}"), "client_id": format!("rest-{i}") });
        app.post_json(&bob.client, &path, body)
    });
    let (statuses, reads) = tokio::join!(
        futures::future::join_all(rest_sends),
        futures::future::join_all(tabs.iter_mut().map(|tab| read_messages(tab, 200)))
    );
    assert!(statuses.iter().all(|r| r.status() == StatusCode::CREATED));
    for (t, (seqs, acked)) in reads.into_iter().enumerate() {
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "tab {t} saw the messages in seq order, no gaps");
        let mine: Vec<String> = (0..45).map(|i| format!("tab{t}-{i}")).collect();
        assert_eq!(acked, mine, "tab {t} got an ack for each of its sends, in order");
    }
    let (_, history) = app.get(&ann, &format!("{path}?after_seq=0&limit=100")).await;
    assert_eq!(history.as_array().unwrap().len(), 100);
    let (_, rest) = app.get(&ann, &format!("{path}?after_seq=100&limit=100")).await;
    assert_eq!(rest.as_array().unwrap().last().unwrap()["seq"], 200, "stored once each");
}

async fn messages_sent_just_before_the_socket_closes_still_reach_the_peer(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut bob_socket = app.socket(&bob).await;
    let mut ann_socket = app.socket(&ann).await;
    for i in 0..30 {
        ann_socket.send(send(&chat["id"], &format!("last-{i}"), &format!("parting words {i}"))).await;
    }
    drop(ann_socket); // the connection goes away without waiting for a single ack

    let (seqs, _) = read_messages(&mut bob_socket, 30).await;
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    let (_, history) = app.get(&bob, &format!("/api/v1/chats/{}/messages", chat["id"])).await;
    assert_eq!(history.as_array().unwrap().len(), 30);
}

async fn a_full_send_queue_answers_busy_and_a_retry_is_stored_once(backend: Backend) {
    // A queue of one send, one send per transaction: a burst overflows it.
    let app = spawn_app_with(backend, &[("SEND_QUEUE_CAPACITY", "1"), ("SEND_BATCH_MAX", "1")]).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_socket = app.socket(&ann).await;
    let mut bob_socket = app.socket(&bob).await;
    for i in 0..100 {
        ann_socket.send(send(&chat["id"], &format!("b{i}"), &format!("burst {i}"))).await;
    }
    let mut busy = Vec::new();
    let mut acked = 0;
    while acked + busy.len() < 100 {
        let frame = ann_socket.next().await;
        match frame["type"].as_str() {
            Some("ack") => acked += 1,
            Some("error") => {
                assert_eq!(frame["error"]["code"], "busy", "{frame}");
                busy.push(frame["client_id"].as_str().unwrap().to_owned());
            }
            _ => panic!("unexpected frame {frame}"),
        }
    }
    assert!(!busy.is_empty(), "a queue of one overflowed");
    // The client retries the refused sends with the same ids, one at a time.
    for client_id in &busy {
        let i = client_id.trim_start_matches('b');
        ann_socket.send(send(&chat["id"], client_id, &format!("burst {i}"))).await;
        let ack = ann_socket.next().await;
        assert_eq!((&ack["type"], &ack["client_id"]), (&json!("ack"), &json!(client_id)));
    }
    let (seqs, _) = read_messages(&mut bob_socket, 100).await;
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    let path = format!("/api/v1/chats/{}/messages?after_seq=0&limit=100", chat["id"]);
    let (_, history) = app.get(&bob, &path).await;
    let mut texts: Vec<String> =
        history.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    texts.sort();
    let mut expected: Vec<String> = (0..100).map(|i| format!("burst {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected, "every message stored exactly once");
}

async fn a_message_with_a_nul_byte_is_refused_and_the_sends_around_it_are_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_socket = app.socket(&ann).await;
    ann_socket.send(send(&chat["id"], "before", "before")).await;
    ann_socket.send(send(&chat["id"], "nul", "a\u{0}b")).await;
    ann_socket.send(send(&chat["id"], "after", "after")).await;
    let frames = [ann_socket.next().await, ann_socket.next().await, ann_socket.next().await];
    let refused = frames.iter().find(|f| f["type"] == "error").expect("an error frame");
    assert_eq!((&refused["client_id"], &refused["error"]["code"]), (&json!("nul"), &json!("invalid_input")));
    assert!(refused["error"]["fields"]["text"].is_string());
    let acked: Vec<&Value> = frames.iter().filter(|f| f["type"] == "ack").map(|f| &f["message"]["text"]).collect();
    assert_eq!(acked, [&json!("before"), &json!("after")]);

    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let response = app.post_json(&ann.client, &path, json!({ "text": "x\u{0}", "client_id": "rest-nul" })).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, history) = app.get(&bob, &path).await;
    assert_eq!(history.as_array().unwrap().len(), 2);
}

async fn a_seventeenth_socket_of_one_person_is_closed_at_once_and_the_others_carry_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let chat = app.open_chat(&ann, ann.id).await;
    let mut tabs = Vec::new();
    for _ in 0..16 {
        tabs.push(app.socket(&ann).await);
    }
    let refused = app.socket_without_hello(&ann).await;
    assert_eq!(refused, Some(4008), "the seventeenth gets a close frame with code 4008");
    tabs[0].send(send(&chat["id"], "still", "sixteen tabs work")).await;
    assert_eq!(tabs[0].next().await["type"], "ack");
    assert_eq!(tabs[15].next().await["message"]["text"], "sixteen tabs work");
    // Closing one frees its place (as soon as the server has seen the close).
    tabs.pop().unwrap().close().await;
    let mut reopened = false;
    for _ in 0..100 {
        if app.socket_without_hello(&ann).await.is_none() {
            reopened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened, "a place was freed");
}

crate::on_both_backends!(
    a_seventeenth_socket_of_one_person_is_closed_at_once_and_the_others_carry_on,
    a_message_with_a_nul_byte_is_refused_and_the_sends_around_it_are_stored,
    two_hundred_concurrent_sends_from_two_people_in_two_tabs_reach_every_socket_in_seq_order,
    messages_sent_just_before_the_socket_closes_still_reach_the_peer,
    a_full_send_queue_answers_busy_and_a_retry_is_stored_once,
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
