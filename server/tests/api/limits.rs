//! Rate limits an attacker cannot turn against a victim: sign-ins counted per client
//! address and per (address, email), sign-ups per address, sends and opened chats per
//! person; the client address from `X-Forwarded-For` only behind a trusted proxy.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, PASSWORD, TestApp, browser, error_of, spawn_app, spawn_app_with,
};
use crate::on_both_backends;

/// A sign-in as if from `address`, through a trusted proxy that says so.
async fn sign_in_from(app: &TestApp, address: &str, email: &str, password: &str) -> StatusCode {
    browser()
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request")
        .status()
}

async fn guessing_from_one_address_is_slowed_down_but_the_owner_signs_in_from_theirs(backend: Backend) {
    let app = spawn_app_with(backend, &[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    app.register("kim@example.com", "Kim").await;
    // A burst of 10 guesses is allowed; after that one every 6 s. However slow this
    // machine is, 40 quick guesses cannot all be let through.
    let mut answered = 0;
    loop {
        match sign_in_from(&app, "203.0.113.9", "KIM@example.com", "guess guess").await {
            StatusCode::TOO_MANY_REQUESTS => break,
            status => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
        answered += 1;
        assert!(answered < 40, "never limited");
    }
    assert!(answered >= 10, "limited after only {answered} attempts");
    // Kim, from her own address, is not held up by the guesser.
    assert_eq!(sign_in_from(&app, "198.51.100.7", "kim@example.com", PASSWORD).await, StatusCode::OK);
    // Nor is another account from the guesser's address.
    assert_eq!(sign_in_from(&app, "203.0.113.9", ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK);
}

async fn a_made_up_forwarded_address_changes_nothing_without_a_trusted_proxy(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("kim@example.com", "Kim").await;
    // Each guess claims another address; none is believed, so all count as one.
    let mut answered = 0;
    loop {
        let claimed = format!("198.51.100.{answered}");
        match sign_in_from(&app, &claimed, "kim@example.com", "guess guess").await {
            StatusCode::TOO_MANY_REQUESTS => break,
            status => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
        answered += 1;
        assert!(answered < 40, "never limited");
    }
}

async fn sign_ups_are_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIGN_UPS_PER_HOUR", "3"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let sign_up = |i: u32, address: &'static str| {
        let body = json!({ "email": format!("p{i}@example.com"), "name": "P", "password": PASSWORD });
        browser().post(app.url("/api/v1/auth/register")).header("x-forwarded-for", address).json(&body).send()
    };
    for i in 0..3 {
        assert_eq!(sign_up(i, "203.0.113.9").await.expect("request").status(), StatusCode::CREATED);
    }
    let refused = sign_up(3, "203.0.113.9").await.expect("request");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_of(refused).await["code"], "rate_limited");
    assert_eq!(sign_up(4, "198.51.100.7").await.expect("request").status(), StatusCode::CREATED, "another address");
}

async fn a_flood_of_sends_is_slowed_down_and_nothing_is_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&ann, bob.id).await;

    // Over the socket: 400 at once. A burst of 200 passes, then 50 a second; the rest get
    // `rate_limited` with their client ids, and go through when sent again later.
    let mut socket = app.socket(&ann).await;
    const SENT: usize = 400;
    for i in 0..SENT {
        let frame =
            json!({ "type": "send", "chat_id": chat["id"], "client_id": format!("w{i}"), "text": format!("{i}") });
        socket.send(frame).await;
    }
    let (mut acked, mut limited) = (Vec::new(), Vec::new());
    while acked.len() + limited.len() < SENT {
        let frame = socket.next().await;
        match frame["type"].as_str() {
            Some("ack") => acked.push(frame["client_id"].as_str().expect("id").to_owned()),
            Some("error") => {
                assert_eq!(frame["error"]["code"], "rate_limited", "{frame}");
                limited.push(frame["client_id"].as_str().expect("id").to_owned());
            }
            _ => {}
        }
    }
    assert!(acked.len() >= 200, "the burst passes: {} acked", acked.len());
    assert!(!limited.is_empty(), "400 at once were all let through");
    // Sent again the way the browser does, after a pause, until taken.
    for client_id in &limited {
        let i: usize = client_id[1..].parse().expect("number");
        let frame = json!({ "type": "send", "chat_id": chat["id"], "client_id": client_id, "text": format!("{i}") });
        'taken: for _ in 0..100 {
            socket.send(frame.clone()).await;
            loop {
                let answer = socket.next().await;
                if answer["client_id"] != *client_id {
                    continue;
                }
                if answer["type"] == "ack" {
                    break 'taken;
                }
                assert_eq!(answer["error"]["code"], "rate_limited", "{answer}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                break;
            }
        }
    }
    let (_, last) = app.get(&ann, &format!("/api/v1/chats/{}/messages?limit=1", chat["id"])).await;
    assert_eq!(last[0]["seq"], SENT, "every message stored once");

    // Over REST: 429 with Retry-After once the budget is spent.
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let mut refused = None;
    for i in 0..400 {
        let response = app.post_json(&ann.client, &path, json!({ "client_id": format!("r{i}"), "text": "x" })).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let refused = refused.expect("REST sends are limited too");
    assert!(refused.headers().contains_key("retry-after"));
    // Bob is not slowed down by Ann's flood.
    let bobs = app.post_json(&bob.client, &path, json!({ "client_id": "b1", "text": "hi" })).await;
    assert_eq!(bobs.status(), StatusCode::CREATED);
}

async fn opening_chats_is_limited_per_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut refused = false;
    for _ in 0..200 {
        let response = app.post_json(&ann.client, "/api/v1/chats", json!({ "peer_id": ann.id })).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert!(refused, "200 chats opened at once were all let through");
    let other: Client = app.person("bob@example.com", "Bob").await.client;
    let response = app.post_json(&other, "/api/v1/chats", json!({ "peer_id": ann.id })).await;
    assert_eq!(response.status(), StatusCode::OK, "others are not affected");
    let _: Value = response.json().await.expect("chat");
}

#[tokio::test]
async fn one_client_address_holds_at_most_so_many_live_connections() {
    let app = spawn_app_with(Backend::Sqlite, &[("SOCKETS_PER_ADDRESS", "3")]).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let first = app.socket(&ann).await;
    let _second = app.socket(&ann).await;
    let _third = app.socket(&bob).await;
    match app.socket_with(Some(&bob.cookie), None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a fourth connection from one address was let in"),
    }
    // One closes: there is room again.
    first.close().await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = app.socket_with(Some(&bob.cookie), None).await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "the closed connection's place was given back");
}

on_both_backends!(
    guessing_from_one_address_is_slowed_down_but_the_owner_signs_in_from_theirs,
    a_made_up_forwarded_address_changes_nothing_without_a_trusted_proxy,
    sign_ups_are_limited_per_address,
    a_flood_of_sends_is_slowed_down_and_nothing_is_lost,
    opening_chats_is_limited_per_person,
);
