//! Directory, chats, history, send and read over REST.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, error_of, spawn_app};

async fn the_directory_pages_sorts_and_searches_active_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    app.person("bob@example.com", "Bob").await;
    app.person("carla@example.com", "Carla").await;

    // The administrator is a user too: admin, Ann, Bob, Carla.
    let (status, page) = app.get(&ann, "/api/v1/users?per_page=2&page=1&sort=name").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 4);
    let names: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Administrator", "Ann"]);

    let (_, page) = app.get(&ann, "/api/v1/users?sort=-name").await;
    assert_eq!(page["users"][0]["name"], "Carla");
    let (_, page) = app.get(&ann, "/api/v1/users?q=CAR").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["users"][0]["name"], "Carla");
    // Emails are private: not shown, and not searchable.
    assert!(page["users"][0].get("email").is_none() && page["users"][0].get("is_admin").is_none());
    let (_, page) = app.get(&ann, "/api/v1/users?q=bob%40").await;
    assert_eq!(page["total"], 0);
    // Letters beyond ASCII fold too, on both databases.
    app.person("boris@example.com", "Борис").await;
    for q in ["%D0%B1%D0%BE%D1%80", "%D0%91%D0%9E%D0%A0"] {
        let (_, page) = app.get(&ann, &format!("/api/v1/users?q={q}")).await;
        assert_eq!(page["total"], 1, "{q}: {page}");
        assert_eq!(page["users"][0]["name"], "Борис");
    }

    // A NUL byte in a search is a clear 422 (PostgreSQL cannot take it as a parameter).
    let (status, body) = app.get(&ann, "/api/v1/users?q=a%00b").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["fields"]["q"].is_string());

    let (status, body) = app.get(&ann, "/api/v1/users?per_page=101").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["per_page"].is_string(), "{body}");
    let (status, _) = app.get(&ann, "/api/v1/users?sort=age").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = reqwest::get(app.url("/api/v1/users")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn there_is_one_chat_per_pair_and_saved_messages_is_the_chat_with_oneself(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;

    let from_ann = app.open_chat(&ann, bob.id).await;
    let from_bob = app.open_chat(&bob, ann.id).await;
    assert_eq!(from_ann["id"], from_bob["id"]);
    assert_eq!(from_ann["peer"]["name"], "Bob");
    assert_eq!(from_bob["peer"]["name"], "Ann");
    assert!(from_ann["peer"].get("email").is_none(), "a peer's email stays private: {from_ann}");
    let (_, me) = app.get(&ann, "/api/v1/me").await;
    assert_eq!(me["email"], "ann@example.com", "my own email is mine to see");

    let saved = app.open_chat(&ann, ann.id).await;
    assert_eq!(saved["is_saved_messages"], true);
    assert_ne!(saved["id"], from_ann["id"]);

    let missing = app.post_json(&ann.client, "/api/v1/chats", json!({ "peer_id": 999_999 })).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn sending_stores_in_order_and_a_retry_with_the_same_client_id_is_stored_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);

    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        let sent = app.post_json(&ann.client, &path, json!({ "text": text, "client_id": format!("c{i}") })).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        assert_eq!(sent.json::<Value>().await.unwrap()["seq"], i as i64 + 1);
    }
    let again = app.post_json(&ann.client, &path, json!({ "text": "two (retry)", "client_id": "c1" })).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["seq"], 2);
    assert_eq!(again["text"], "two");

    let (status, history) = app.get(&bob, &path).await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = history.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
}

async fn history_pages_go_backwards_by_seq_oldest_first_within_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let chat = app.open_chat(&ann, ann.id).await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    for i in 1..=7 {
        app.post_json(&ann.client, &path, json!({ "text": format!("note {i}"), "client_id": format!("n{i}") })).await;
    }
    let seqs = |page: &Value| page.as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect::<Vec<_>>();
    let (_, newest) = app.get(&ann, &format!("{path}?limit=3")).await;
    assert_eq!(seqs(&newest), [5, 6, 7]);
    let (_, older) = app.get(&ann, &format!("{path}?limit=3&before_seq=5")).await;
    assert_eq!(seqs(&older), [2, 3, 4]);
    let (_, missed) = app.get(&ann, &format!("{path}?after_seq=5")).await;
    assert_eq!(seqs(&missed), [6, 7]);
    let (status, _) = app.get(&ann, &format!("{path}?limit=101")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn bad_message_text_is_refused_with_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let chat = app.open_chat(&ann, ann.id).await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let empty = app.post_json(&ann.client, &path, json!({ "text": "  \n ", "client_id": "e1" })).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(empty).await["fields"]["text"], "a message cannot be empty");
    let long = app.post_json(&ann.client, &path, json!({ "text": "x".repeat(4001), "client_id": "e2" })).await;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let just_right = app.post_json(&ann.client, &path, json!({ "text": "x".repeat(4000), "client_id": "e3" })).await;
    assert_eq!(just_right.status(), StatusCode::CREATED);
    let bad_id = app.post_json(&ann.client, &path, json!({ "text": "hi", "client_id": "" })).await;
    assert_eq!(bad_id.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn only_the_two_participants_can_see_or_touch_a_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let eve = app.person("eve@example.com", "Eve").await;
    let chat = app.open_chat(&ann, bob.id).await;
    let id = chat["id"].as_i64().unwrap();
    app.post_json(&ann.client, &format!("/api/v1/chats/{id}/messages"), json!({ "text": "secret", "client_id": "s1" }))
        .await;

    let (status, body) = app.get(&eve, &format!("/api/v1/chats/{id}/messages")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let send = app
        .post_json(&eve.client, &format!("/api/v1/chats/{id}/messages"), json!({ "text": "hi", "client_id": "x" }))
        .await;
    assert_eq!(send.status(), StatusCode::NOT_FOUND);
    let read = app.post_json(&eve.client, &format!("/api/v1/chats/{id}/read"), json!({ "seq": 1 })).await;
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    // A chat that does not exist answers exactly the same.
    let (status, nothing) = app.get(&eve, "/api/v1/chats/987654/messages").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(nothing, body);
    let (_, chats) = app.get(&eve, "/api/v1/chats").await;
    assert_eq!(chats, json!({ "chats": [], "next_cursor": null }));
}

async fn my_chats_show_the_preview_and_unread_count_until_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let carla = app.person("carla@example.com", "Carla").await;
    let with_ann = app.open_chat(&bob, ann.id).await;
    let with_carla = app.open_chat(&bob, carla.id).await;
    for (i, text) in ["hi Bob", "are you there?"].iter().enumerate() {
        let path = format!("/api/v1/chats/{}/messages", with_ann["id"]);
        app.post_json(&ann.client, &path, json!({ "text": text, "client_id": format!("a{i}") })).await;
    }
    let path = format!("/api/v1/chats/{}/messages", with_carla["id"]);
    app.post_json(&carla.client, &path, json!({ "text": "lunch?", "client_id": "c0" })).await;

    let (_, page) = app.get(&bob, "/api/v1/chats").await;
    let chats = &page["chats"];
    assert_eq!(chats[0]["peer"]["name"], "Carla", "newest activity first: {chats}");
    assert_eq!(chats[0]["last_message"]["text"], "lunch?");
    assert_eq!(chats[1]["peer"]["name"], "Ann");
    assert_eq!(chats[1]["unread"], 2);

    let read = app.post_json(&bob.client, &format!("/api/v1/chats/{}/read", with_ann["id"]), json!({ "seq": 2 })).await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    let (_, page) = app.get(&bob, "/api/v1/chats").await;
    let chats = &page["chats"];
    assert_eq!(chats[1]["unread"], 0);
    // Ann's own messages are never unread for her.
    let (_, page) = app.get(&ann, "/api/v1/chats").await;
    let chats = &page["chats"];
    assert_eq!(chats[0]["unread"], 0);
}

async fn my_chats_come_in_pages_newest_activity_first_without_gaps_or_repeats(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut peers = Vec::new();
    for i in 0..6 {
        peers.push(app.person(&format!("p{i}@example.com"), &format!("Peer {i}")).await);
    }
    // Seven chats, opened in this order (the last two by the peer).
    let saved = app.open_chat(&ann, ann.id).await["id"].as_i64().unwrap();
    let mut chat = Vec::new();
    for (i, peer) in peers.iter().enumerate() {
        let opened = if i < 4 { app.open_chat(&ann, peer.id).await } else { app.open_chat(peer, ann.id).await };
        chat.push(opened["id"].as_i64().unwrap());
    }
    let send = |who: &crate::helpers::Person, chat_id: i64, text: &str| {
        let body = json!({ "text": text, "client_id": text });
        let path = format!("/api/v1/chats/{chat_id}/messages");
        let (client, app) = (who.client.clone(), &app);
        async move { assert_eq!(app.post_json(&client, &path, body).await.status(), StatusCode::CREATED) }
    };
    // Activity in an order of its own: Peer 2, then Ann to Peer 0, Peer 4 (read), Peer 0 back,
    // a note to self. Peers 1, 3 and 5 never write.
    send(&peers[2], chat[2], "p2-1").await;
    send(&peers[2], chat[2], "p2-2").await;
    send(&ann, chat[0], "ann-to-p0").await;
    send(&peers[4], chat[4], "p4-1").await;
    let read = app.post_json(&ann.client, &format!("/api/v1/chats/{}/read", chat[4]), json!({ "seq": 1 })).await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    send(&peers[0], chat[0], "p0-1").await;
    send(&ann, saved, "note").await;

    // (chat, last message, unread), newest activity first; then the empty ones, newest first.
    let expected: Vec<(i64, Value, u64)> = vec![
        (saved, json!("note"), 0),
        (chat[0], json!("p0-1"), 1),
        (chat[4], json!("p4-1"), 0),
        (chat[2], json!("p2-2"), 2),
        (chat[5], Value::Null, 0),
        (chat[3], Value::Null, 0),
        (chat[1], Value::Null, 0),
    ];
    let summary =
        |c: &Value| (c["id"].as_i64().unwrap(), c["last_message"]["text"].clone(), c["unread"].as_u64().unwrap());

    for limit in [2, 3, 7, 50] {
        let (mut seen, mut pages, mut path) = (Vec::new(), 0, format!("/api/v1/chats?limit={limit}"));
        loop {
            let (status, page) = app.get(&ann, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            pages += 1;
            let chats = page["chats"].as_array().unwrap();
            assert!(chats.len() <= limit, "{page}");
            seen.extend(chats.iter().map(summary));
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    assert_eq!(chats.len(), limit, "only the last page is short: {page}");
                    path = format!("/api/v1/chats?limit={limit}&cursor={cursor}");
                }
                None => {
                    assert_eq!(page["next_cursor"], Value::Null, "{page}");
                    break;
                }
            }
            assert!(pages <= 7, "paging with limit {limit} does not end");
        }
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(pages, 7usize.div_ceil(limit), "limit {limit}");
    }
    // Without a limit: 50, here all of them; a peer sees only their own chat.
    let (_, page) = app.get(&ann, "/api/v1/chats").await;
    assert_eq!(page["chats"].as_array().unwrap().len(), 7);
    let (_, page) = app.get(&peers[2], "/api/v1/chats?cursor=").await;
    assert_eq!(
        page["chats"].as_array().unwrap().iter().map(summary).collect::<Vec<_>>(),
        [(chat[2], json!("p2-2"), 0)]
    );
    assert_eq!(page["chats"][0]["peer"]["name"], "Ann");

    for bad in ["nope", "MXwtfDEwLjB8Nw%3D", "%00", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let (status, body) = app.get(&ann, &format!("/api/v1/chats?cursor={bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(body["error"]["fields"]["cursor"].is_string(), "{bad}: {body}");
    }
    for bad in [0, 101] {
        let (status, body) = app.get(&ann, &format!("/api/v1/chats?limit={bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"]["fields"]["limit"].is_string(), "{bad}: {body}");
    }
}

crate::on_both_backends!(
    the_directory_pages_sorts_and_searches_active_users,
    there_is_one_chat_per_pair_and_saved_messages_is_the_chat_with_oneself,
    sending_stores_in_order_and_a_retry_with_the_same_client_id_is_stored_once,
    history_pages_go_backwards_by_seq_oldest_first_within_a_page,
    bad_message_text_is_refused_with_a_clear_error,
    only_the_two_participants_can_see_or_touch_a_chat,
    my_chats_show_the_preview_and_unread_count_until_read,
    my_chats_come_in_pages_newest_activity_first_without_gaps_or_repeats,
);
