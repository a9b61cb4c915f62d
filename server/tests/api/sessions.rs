//! My sessions: listing them, ending one or all others, the absolute lifetime, and live
//! connections that close (code 4001, sign in again) when their session ends, however it ends.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, Person, TestApp, session_cookie, spawn_app, spawn_app_with};
use crate::on_both_backends;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
/// Signed out: the client must sign in again rather than reconnect.
const SIGNED_OUT: Option<u16> = Some(4001);

/// Signs `person` in again from another browser; that browser's session as a `Person`.
async fn sign_in_from(app: &TestApp, person: &Person, user_agent: &str) -> Person {
    let client = Client::builder().cookie_store(true).user_agent(user_agent).build().expect("client");
    let email = person.user["email"].as_str().expect("email");
    let response = app.login(&client, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = session_cookie(&response);
    Person { id: person.id, user: person.user.clone(), client, cookie }
}

async fn sessions_of(app: &TestApp, person: &Person) -> Vec<Value> {
    let (status, body) = app.get(person, "/api/v1/sessions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("a list").clone()
}

async fn signed_in(app: &TestApp, person: &Person) -> bool {
    app.get(person, "/api/v1/me").await.0 == StatusCode::OK
}

async fn my_sessions_are_listed_with_their_device_and_this_one_marked(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let on_laptop = sign_in_from(&app, &ann, FIREFOX).await;
    let on_phone = sign_in_from(&app, &ann, IPHONE).await;
    let bob = app.person("bob@example.com", "Bob").await;

    let listed = sessions_of(&app, &on_laptop).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let devices: Vec<&str> = listed.iter().filter_map(|s| s["device"].as_str()).collect();
    assert!(devices.contains(&"Firefox on Linux") && devices.contains(&"Safari on iPhone"), "{devices:?}");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Linux");
    assert_eq!(sessions_of(&app, &on_phone).await.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(sessions_of(&app, &bob).await.len(), 1, "only my own");
}

async fn ending_a_session_signs_it_out_and_closes_its_sockets_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let on_phone = sign_in_from(&app, &ann, IPHONE).await;
    let mut phone_socket = app.socket(&on_phone).await;
    let mut laptop_socket = app.socket(&ann).await;
    let phone_id =
        sessions_of(&app, &on_phone).await.into_iter().find(|s| s["current"] == true).expect("current")["id"].clone();

    // Someone else cannot end it.
    let bob = app.person("bob@example.com", "Bob").await;
    let response = bob.client.delete(app.url(&format!("/api/v1/sessions/{phone_id}"))).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(signed_in(&app, &on_phone).await);

    let response = ann.client.delete(app.url(&format!("/api/v1/sessions/{phone_id}"))).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(phone_socket.close_code(Duration::from_secs(10)).await, SIGNED_OUT);
    assert!(!signed_in(&app, &on_phone).await);
    assert!(signed_in(&app, &ann).await, "the laptop stays signed in");
    // The laptop's socket is still open: a ping is answered (after Bob's arrival).
    laptop_socket.send(json!({ "type": "ping" })).await;
    assert_eq!(laptop_socket.next().await["type"], "user_joined");
    assert_eq!(laptop_socket.next().await["type"], "pong");
}

async fn signing_out_other_devices_keeps_only_this_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let others = [sign_in_from(&app, &ann, IPHONE).await, sign_in_from(&app, &ann, FIREFOX).await];
    let mut sockets = Vec::new();
    for other in &others {
        sockets.push(app.socket(other).await);
    }
    let mut mine = app.socket(&ann).await;

    let response = app.post_json(&ann.client, "/api/v1/sessions/end-others", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({ "ended": 2 }));
    for socket in &mut sockets {
        assert_eq!(socket.close_code(Duration::from_secs(10)).await, SIGNED_OUT);
    }
    for other in &others {
        assert!(!signed_in(&app, other).await);
    }
    assert_eq!(sessions_of(&app, &ann).await.len(), 1);
    mine.send(json!({ "type": "ping" })).await;
    assert_eq!(mine.next().await["type"], "pong");
}

async fn signing_out_closes_the_socket_with_the_signed_out_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut socket = app.socket(&ann).await;
    let response = app.post_json(&ann.client, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(socket.close_code(Duration::from_secs(10)).await, SIGNED_OUT);
}

async fn a_session_ends_after_90_days_however_often_it_is_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    assert!(signed_in(&app, &ann).await);
    // Signed in 91 days ago and used all along.
    let started = (chrono::Utc::now() - chrono::Duration::days(91)).to_rfc3339();
    let backdate = [
        "UPDATE sessions SET created_at = $1::timestamptz WHERE user_id = $2",
        "UPDATE sessions SET created_at = ? WHERE user_id = ?",
    ];
    execute(&app, backdate, [started.into(), ann.id.into()]).await;
    assert!(!signed_in(&app, &ann).await, "older than 90 days");
    assert!(sessions_of_status(&app, &ann).await == StatusCode::UNAUTHORIZED);
}

/// Runs a statement on the app's database: `[PostgreSQL's spelling, SQLite's]`.
async fn execute(app: &TestApp, sql: [&str; 2], values: [sea_orm::Value; 2]) {
    let backend = app.db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Postgres { sql[0] } else { sql[1] };
    app.db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await.expect(sql);
}

async fn sessions_of_status(app: &TestApp, person: &Person) -> StatusCode {
    app.get(person, "/api/v1/sessions").await.0
}

on_both_backends!(
    my_sessions_are_listed_with_their_device_and_this_one_marked,
    ending_a_session_signs_it_out_and_closes_its_sockets_everywhere,
    signing_out_other_devices_keeps_only_this_one,
    signing_out_closes_the_socket_with_the_signed_out_code,
    a_session_ends_after_90_days_however_often_it_is_used,
    changing_my_password_needs_the_current_one_and_signs_out_my_other_devices,
    new_passwords_are_long_and_uncommon_but_older_short_ones_still_sign_in,
);

#[tokio::test]
async fn a_socket_whose_session_vanished_without_a_word_closes_at_the_next_heartbeat() {
    let app = spawn_app_with(Backend::Sqlite, &[("WS_HEARTBEAT", "1")]).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut socket = app.socket(&ann).await;
    // The session row goes away with no event (as when a node's publication was lost).
    app.db.execute_unprepared("DELETE FROM sessions").await.expect("delete");
    assert_eq!(socket.close_code(Duration::from_secs(5)).await, SIGNED_OUT);
}

#[tokio::test]
async fn on_two_nodes_signing_out_other_devices_closes_their_sockets_on_the_other_node() {
    let node1 = spawn_app(Backend::Postgres).await;
    let node2 = node1.another_node().await;
    let ann = node1.person("ann@example.com", "Ann").await;
    let phone = sign_in_from(&node1, &ann, IPHONE).await;
    let mut phone_on_2 = node2.socket(&phone).await;
    let response = node1.post_json(&ann.client, "/api/v1/sessions/end-others", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(phone_on_2.close_code(Duration::from_secs(10)).await, SIGNED_OUT);
}

async fn changing_my_password_needs_the_current_one_and_signs_out_my_other_devices(backend: Backend) {
    let app = spawn_app(backend).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let phone = sign_in_from(&app, &ann, IPHONE).await;
    let mut phone_socket = app.socket(&phone).await;
    let change = |current: &str, new: &str| {
        let body = json!({ "current_password": current, "new_password": new });
        app.post_json(&ann.client, "/api/v1/me/password", body)
    };

    let error = crate::helpers::error_of(change("not my password", "a brand new secret").await).await;
    assert_eq!(error["fields"]["current_password"], "this is not your current password");
    let error = crate::helpers::error_of(change(PASSWORD, "too short").await).await;
    assert_eq!(error["fields"]["new_password"], "a password has at least 12 characters");
    let error = crate::helpers::error_of(change(PASSWORD, "password1234").await).await;
    assert!(error["fields"]["new_password"].as_str().expect("why").contains("too easy to guess"), "{error}");
    let error = crate::helpers::error_of(change(PASSWORD, PASSWORD).await).await;
    assert_eq!(error["fields"]["new_password"], "the new password is the same as the current one");
    assert!(signed_in(&app, &phone).await, "nothing changed yet");

    let response = change(PASSWORD, "a brand new secret").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(phone_socket.close_code(Duration::from_secs(10)).await, SIGNED_OUT);
    assert!(!signed_in(&app, &phone).await, "the other device is signed out");
    assert!(signed_in(&app, &ann).await, "this one stays");
    let fresh = crate::helpers::browser();
    assert_eq!(app.login(&fresh, "ann@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&fresh, "ann@example.com", "a brand new secret").await.status(), StatusCode::OK);
}

async fn new_passwords_are_long_and_uncommon_but_older_short_ones_still_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let short = app.register_with(&app.client, "zed@example.com", "Zed", "elevenchars").await;
    assert_eq!(crate::helpers::error_of(short).await["fields"]["password"], "a password has at least 12 characters");
    let common = app.register_with(&app.client, "zed@example.com", "Zed", "qwertyuiop12").await;
    let error = crate::helpers::error_of(common).await;
    assert!(error["fields"]["password"].as_str().expect("why").contains("too easy to guess"), "{error}");

    // Someone who chose an 8-character password under the old rule still signs in.
    let ann = app.person("ann@example.com", "Ann").await;
    let old_hash = domain::passwords::Hashing::new(1, 4).hash("8chars!!".to_owned()).await.expect("hash");
    let older =
        ["UPDATE users SET password_hash = $1 WHERE id = $2", "UPDATE users SET password_hash = ? WHERE id = ?"];
    execute(&app, older, [old_hash.into(), ann.id.into()]).await;
    assert_eq!(app.login(&crate::helpers::browser(), "ann@example.com", "8chars!!").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_socket_that_stopped_reading_is_dropped_once_its_session_ends() {
    let app = spawn_app_with(Backend::Sqlite, &[("RATE_LIMITS", "off")]).await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let chat = app.open_chat(&bob, ann.id).await;
    // Ann's tab stops reading (a frozen page): it never reads another frame.
    let _frozen = app.socket(&ann).await;
    // Bob writes enough for her connection's buffers to fill, so the server's writes to it block.
    let mut bob_socket = app.socket(&bob).await;
    let text = "x".repeat(4_000);
    const SENT: usize = 3_000;
    for i in 0..SENT {
        bob_socket
            .send(json!({ "type": "send", "chat_id": chat["id"], "client_id": format!("f{i}"), "text": text }))
            .await;
    }
    let mut acked = 0;
    while acked < SENT {
        if bob_socket.next().await["type"] == "ack" {
            acked += 1;
        }
    }
    // Ann signs out (from another tab). Her frozen socket cannot take the close frame; the
    // server's write times out and the connection goes: she is offline for Bob.
    let response = app.post_json(&ann.client, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = app.get(&bob, "/api/v1/users?q=Ann").await;
        if page["users"][0]["online"] == false {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the frozen socket is still open: {page}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
