//! The Telegram bot against a fake Bot API server: linking with one-time tokens, the
//! notifications of messages that arrive while someone is offline, answers from Telegram,
//! Telegram's limits and failures, and one bot for many nodes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_telegram::{Failure, FakeTelegram, SentMessage};
use crate::helpers::{Backend, NodeProcess, Person, TestApp, error_of, spawn_app, spawn_app_with};
use crate::on_both_backends;

const BOT: &str = "messenger_test_bot";
const WAIT: Duration = Duration::from_secs(15);

/// A server whose bot talks to a fake Telegram: long polls of a second, a lease of three,
/// and notifications once a chat has been quiet for `delay_ms`.
async fn with_bot(backend: Backend, delay_ms: &str) -> (TestApp, FakeTelegram) {
    let fake = FakeTelegram::start(BOT).await;
    let url = fake.url();
    let vars = [
        ("TELEGRAM_BOT_TOKEN", "123456:TEST-token"),
        ("TELEGRAM_API_URL", url.as_str()),
        ("TELEGRAM_POLL_TIMEOUT", "1"),
        ("TELEGRAM_LEASE_TTL", "3"),
        ("TELEGRAM_NOTIFY_DELAY", delay_ms),
    ];
    let app = spawn_app_with(backend, &vars).await;
    let anyone = app.person("watcher@example.com", "Watcher").await;
    wait_until(|| async { status(&app, &anyone).await["bot_username"] == BOT }).await;
    (app, fake)
}

async fn wait_until<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status(app: &TestApp, person: &Person) -> Value {
    let (code, body) = app.get(person, "/api/v1/telegram").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body
}

/// A fresh linking link for `person`: its URL and token.
async fn link_url(app: &TestApp, person: &Person) -> (String, String) {
    let response = app.post_json(&person.client, "/api/v1/telegram/link", json!({})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let offer: Value = response.json().await.expect("json");
    let url = offer["url"].as_str().expect("url").to_owned();
    let token = url.rsplit_once("?start=").expect("a deep link").1.to_owned();
    (url, token)
}

/// The bot's answer to a message in a Telegram chat.
async fn answer_to(fake: &FakeTelegram, chat: i64, incoming: i64) -> SentMessage {
    fake.wait_for_sent(WAIT, |m| m.chat_id == chat && m.reply_to == Some(incoming)).await
}

/// Links `person` to the Telegram chat `chat` the way a person does: a link from the web
/// app, then `/start <token>` in Telegram.
async fn link(app: &TestApp, fake: &FakeTelegram, person: &Person, chat: i64) {
    let (_, token) = link_url(app, person).await;
    let start =
        fake.push_text(chat, person.user["name"].as_str().unwrap_or("someone"), &format!("/start {token}"), None);
    let answer = answer_to(fake, chat, start).await;
    assert!(answer.text.starts_with("Linked to"), "{}", answer.text);
}

async fn send(app: &TestApp, from: &Person, chat_id: &Value, client_id: &str, text: &str) -> Value {
    let path = format!("/api/v1/chats/{chat_id}/messages");
    let response = app.post_json(&from.client, &path, json!({ "client_id": client_id, "text": text })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("message")
}

/// Notifications the bot sent to a Telegram chat (not its answers to commands).
fn notifications(fake: &FakeTelegram, chat: i64) -> Vec<SentMessage> {
    fake.sent().into_iter().filter(|m| m.chat_id == chat && m.reply_to.is_none()).collect()
}

async fn next_frame_of_type(socket: &mut crate::helpers::Socket, kind: &str) -> Value {
    loop {
        let frame = socket.next().await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[tokio::test]
async fn without_a_token_the_app_runs_and_says_telegram_is_not_configured() {
    let app = spawn_app(Backend::Sqlite).await;
    let ann = app.person("ann@example.com", "Ann").await;
    assert_eq!(
        status(&app, &ann).await,
        json!({ "configured": false, "bot_username": null, "linked": false, "previews": true })
    );
    let response = app.post_json(&ann.client, "/api/v1/telegram/link", json!({})).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_of(response).await["code"], "telegram_not_configured");
    let response = app.client.get(app.url("/api/v1/telegram")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "only for the signed-in");
}

#[tokio::test]
async fn a_token_telegram_refuses_is_retried_and_never_stops_the_web_app() {
    let fake = FakeTelegram::start(BOT).await;
    fake.set_unauthorized(true);
    let url = fake.url();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[("TELEGRAM_BOT_TOKEN", "123456:WRONG"), ("TELEGRAM_API_URL", url.as_str()), ("TELEGRAM_POLL_TIMEOUT", "1")],
    )
    .await;
    let ann = app.person("ann@example.com", "Ann").await;
    let status_now = status(&app, &ann).await;
    assert_eq!((status_now["configured"].clone(), status_now["bot_username"].clone()), (json!(true), Value::Null));
    let response = app.post_json(&ann.client, "/api/v1/telegram/link", json!({})).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_of(response).await["code"], "telegram_unavailable");
    // Once Telegram accepts the token, the bot comes up by itself.
    fake.set_unauthorized(false);
    wait_until(|| async { status(&app, &ann).await["bot_username"] == BOT }).await;
}

async fn linking_takes_a_one_time_token_and_updates_open_settings_live(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let mut settings_tab = app.socket(&ann).await;

    let response = app.post_json(&ann.client, "/api/v1/telegram/link", json!({})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let offer: Value = response.json().await.expect("json");
    let url = offer["url"].as_str().expect("url");
    let token = url.strip_prefix(&format!("https://t.me/{BOT}?start=")).expect("a t.me deep link");
    assert!(
        (1..=64).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)),
        "{token}"
    );
    assert!(offer["qr_svg"].as_str().expect("qr").contains("<svg"), "a QR code of the link");
    let expires: chrono::DateTime<chrono::Utc> = offer["expires_at"].as_str().expect("expiry").parse().expect("time");
    let minutes = (expires - chrono::Utc::now()).num_seconds();
    assert!((590..=600).contains(&minutes), "valid for 10 minutes, not {minutes} s");

    let start = fake.push_text(1001, "Ann", &format!("/start {token}"), None);
    let answer = answer_to(&fake, 1001, start).await;
    assert!(
        answer.text.contains("Ann") && answer.text.contains("ann@example.com"),
        "names the account: {}",
        answer.text
    );
    assert_eq!(next_frame_of_type(&mut settings_tab, "telegram").await, json!({ "type": "telegram", "linked": true }));
    let linked = status(&app, &ann).await;
    assert_eq!((linked["linked"].clone(), linked["previews"].clone()), (json!(true), json!(true)));

    // The same token again, from another Telegram chat: used up.
    let again = fake.push_text(2002, "Mallory", &format!("/start {token}"), None);
    assert!(answer_to(&fake, 2002, again).await.text.starts_with("This link has expired or was already used"));
    // A made-up one.
    let made_up = fake.push_text(2002, "Mallory", "/start not-a-real-token", None);
    assert!(answer_to(&fake, 2002, made_up).await.text.starts_with("This link has expired or was already used"));
    // A new link makes the one before it useless.
    let (_, first) = link_url(&app, &ann).await;
    let (_, second) = link_url(&app, &ann).await;
    let stale = fake.push_text(1001, "Ann", &format!("/start {first}"), None);
    assert!(answer_to(&fake, 1001, stale).await.text.starts_with("This link has expired"));
    let fresh = fake.push_text(1001, "Ann", &format!("/start {second}"), None);
    assert!(answer_to(&fake, 1001, fresh).await.text.starts_with("Linked to"));
}

async fn an_email_typed_to_the_bot_links_nothing(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let typed = fake.push_text(3003, "Mallory", "ann@example.com", None);
    let answer = answer_to(&fake, 3003, typed).await;
    assert!(answer.text.contains("never link an account by its email address"), "{}", answer.text);
    let help = fake.push_text(3003, "Mallory", "/help", None);
    assert!(answer_to(&fake, 3003, help).await.text.contains("/stop"));
    assert_eq!(status(&app, &ann).await["linked"], false);
}

async fn one_telegram_chat_belongs_to_one_account_and_unlinking_works_both_ways(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    let mut ann_tab = app.socket(&ann).await;
    link(&app, &fake, &ann, 1001).await;
    assert_eq!(next_frame_of_type(&mut ann_tab, "telegram").await["linked"], true);

    // Bob's link opened in Ann's Telegram chat: refused, and Bob's token still works.
    let (_, bobs) = link_url(&app, &bob).await;
    let taken = fake.push_text(1001, "Ann", &format!("/start {bobs}"), None);
    assert!(answer_to(&fake, 1001, taken).await.text.contains("already linked to another account"));
    assert_eq!(status(&app, &bob).await["linked"], false);
    let bobs_chat = fake.push_text(1002, "Bob", &format!("/start {bobs}"), None);
    assert!(answer_to(&fake, 1002, bobs_chat).await.text.starts_with("Linked to Bob"));

    // /stop in Telegram; the open tab hears it.
    let stop = fake.push_text(1001, "Ann", "/stop", None);
    assert!(answer_to(&fake, 1001, stop).await.text.starts_with("Unlinked"));
    assert_eq!(next_frame_of_type(&mut ann_tab, "telegram").await["linked"], false);
    assert_eq!(status(&app, &ann).await["linked"], false);
    let stop_again = fake.push_text(1001, "Ann", "/stop", None);
    assert!(answer_to(&fake, 1001, stop_again).await.text.starts_with("This chat is not linked"));

    // Unlinking from the web app.
    let response = bob.client.delete(app.url("/api/v1/telegram/link")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(status(&app, &bob).await["linked"], false);
    let response = bob.client.patch(app.url("/api/v1/telegram")).json(&json!({ "previews": false })).send().await;
    assert_eq!(response.expect("request").status(), StatusCode::NOT_FOUND, "no settings without a link");
}

async fn an_offline_person_is_told_once_and_a_burst_becomes_one_notification(backend: Backend) {
    let (app, fake) = with_bot(backend, "300").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    link(&app, &fake, &bob, 1002).await;
    let chat = app.open_chat(&ann, bob.id).await;

    // Ann writes three messages at once while Bob has no tab open.
    let texts: Vec<(String, String)> = (1..=3).map(|i| (format!("c{i}"), format!("part {i}"))).collect();
    let sends = texts.iter().map(|(client_id, text)| send(&app, &ann, &chat["id"], client_id, text));
    futures::future::join_all(sends).await;
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1002 && m.reply_to.is_none()).await;
    // The texts in the chat's order.
    let (_, history) = app.get(&ann, &format!("/api/v1/chats/{}/messages?limit=10", chat["id"])).await;
    let in_order: Vec<&str> = history.as_array().expect("history").iter().filter_map(|m| m["text"].as_str()).collect();
    let expected = format!("3 new messages from Ann:\n• {}\n\n", in_order.join("\n• "));
    assert!(told.text.starts_with(&expected), "{}", told.text);
    assert!(told.text.contains(&format!("/?chat={}", chat["id"])), "links the chat: {}", told.text);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(notifications(&fake, 1002).len(), 1, "one notification, never again");

    // Without previews: who and how many, not what.
    let response = bob.client.patch(app.url("/api/v1/telegram")).json(&json!({ "previews": false })).send().await;
    let body: Value = response.expect("request").json().await.expect("json");
    assert_eq!(body["previews"], false);
    send(&app, &ann, &chat["id"], "c4", "the secret plan").await;
    let told = fake
        .wait_for_sent(WAIT, |m| {
            m.chat_id == 1002 && m.reply_to.is_none() && m.text.contains("from Ann") && !m.text.starts_with("3")
        })
        .await;
    assert!(told.text.starts_with("New message from Ann\n"), "{}", told.text);
    assert!(!told.text.contains("secret"), "{}", told.text);
}

async fn the_language_chosen_in_the_web_app_is_the_notifications_language(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    // Bob's Telegram speaks English (the fake's users do), but he chose Russian in the app.
    link(&app, &fake, &bob, 1012).await;
    let response = bob.client.put(app.url("/api/v1/me/language")).json(&json!({ "language": "ru" })).send().await;
    assert_eq!(response.expect("request").status(), reqwest::StatusCode::NO_CONTENT);
    let chat = app.open_chat(&ann, bob.id).await;
    send(&app, &ann, &chat["id"], "ru1", "привет").await;
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1012 && m.reply_to.is_none() && m.text.contains("Ann")).await;
    assert!(told.text.starts_with("Новое сообщение от Ann: привет"), "{}", told.text);
}

async fn nobody_is_told_who_is_online_read_it_in_time_or_wrote_to_themselves(backend: Backend) {
    let (app, fake) = with_bot(backend, "1500").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    link(&app, &fake, &bob, 1002).await;
    link(&app, &fake, &ann, 1001).await;
    let chat = app.open_chat(&ann, bob.id).await;

    // Bob is online: the message reaches his tab, not Telegram.
    let bob_tab = app.socket(&bob).await;
    send(&app, &ann, &chat["id"], "online-1", "you are here").await;
    // Ann writes to herself (Saved Messages) while offline.
    let saved = app.open_chat(&ann, ann.id).await;
    send(&app, &ann, &saved["id"], "saved-1", "note to self").await;
    bob_tab.close().await;

    // Bob is offline, but reads the chat (in another app, say) before the notification goes.
    let message = send(&app, &ann, &chat["id"], "offline-1", "read it fast").await;
    let response = app
        .post_json(&bob.client, &format!("/api/v1/chats/{}/read", chat["id"]), json!({ "seq": message["seq"] }))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    tokio::time::sleep(Duration::from_millis(3_000)).await;
    assert!(notifications(&fake, 1002).is_empty(), "{:?}", notifications(&fake, 1002));
    assert!(notifications(&fake, 1001).is_empty(), "Saved Messages never notify: {:?}", notifications(&fake, 1001));
}

async fn a_reply_in_telegram_lands_in_the_chat_once(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    link(&app, &fake, &bob, 1002).await;
    let chat = app.open_chat(&ann, bob.id).await;
    let mut ann_tab = app.socket(&ann).await;
    send(&app, &ann, &chat["id"], "q1", "lunch?").await;
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1002 && m.reply_to.is_none()).await;

    let reply = fake.push_text(1002, "Bob", "on my way", Some(told.message_id));
    let frame = loop {
        let frame = next_frame_of_type(&mut ann_tab, "message").await;
        if frame["message"]["text"] == "on my way" {
            break frame;
        }
    };
    assert_eq!(frame["message"]["sender_id"], bob.id);
    assert_eq!(frame["message"]["chat_id"], chat["id"]);
    let confirmation = answer_to(&fake, 1002, reply).await;
    assert_eq!(confirmation.text, "✓ Sent to Ann");

    // Telegram delivers it again: as the same update, and in a new one.
    fake.repeat_update(fake.update_id_of(reply).expect("its update"));
    fake.repeat_message_in_new_update(reply);
    // A message after them, to know they were handled.
    let help = fake.push_text(1002, "Bob", "/help", None);
    answer_to(&fake, 1002, help).await;
    let (_, history) = app.get(&ann, &format!("/api/v1/chats/{}/messages?limit=100", chat["id"])).await;
    let replies = history.as_array().expect("history").iter().filter(|m| m["text"] == "on my way").count();
    assert_eq!(replies, 1, "stored once: {history}");
    let confirmations = fake.sent().into_iter().filter(|m| m.reply_to == Some(reply)).count();
    assert_eq!(confirmations, 1, "confirmed once");

    // A reply to something that is not a notification goes nowhere.
    let stray = fake.push_text(1002, "Bob", "hello?", Some(help));
    assert!(answer_to(&fake, 1002, stray).await.text.starts_with("To answer, reply to a notification"));
}

async fn telegram_flood_control_is_honoured_and_a_blocked_bot_unlinks(backend: Backend) {
    let (app, fake) = with_bot(backend, "200").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let bob = app.person("bob@example.com", "Bob").await;
    link(&app, &fake, &bob, 1002).await;
    let chat = app.open_chat(&ann, bob.id).await;
    let tried_before = fake.send_times().len();

    fake.fail_next_sends(1, Failure::RetryAfter(2));
    send(&app, &ann, &chat["id"], "f1", "first").await;
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1002 && m.reply_to.is_none()).await;
    assert!(told.text.contains("first"));
    let times = fake.send_times();
    let (refused, accepted) = (times[tried_before], times[times.len() - 1]);
    assert!(accepted - refused >= Duration::from_secs(2), "waited {:?}, not retry_after", accepted - refused);
    assert_eq!(notifications(&fake, 1002).len(), 1);

    // Bob blocks the bot: the next notification unlinks him, and nothing more is tried.
    fake.fail_next_sends(1, Failure::Blocked);
    send(&app, &ann, &chat["id"], "f2", "second").await;
    wait_until(|| async { status(&app, &bob).await["linked"] == false }).await;
    send(&app, &ann, &chat["id"], "f3", "third").await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(notifications(&fake, 1002).len(), 1, "{:?}", notifications(&fake, 1002));
}

async fn notifications_pending_at_a_restart_are_sent_once_after_it(backend: Backend) {
    // A node that waits a minute before notifying: it stops with the notification pending.
    let (first, fake) = with_bot(backend, "60000").await;
    let ann = first.person("ann@example.com", "Ann").await;
    let bob = first.person("bob@example.com", "Bob").await;
    link(&first, &fake, &bob, 1002).await;
    let chat = first.open_chat(&ann, bob.id).await;
    send(&first, &ann, &chat["id"], "r1", "while you were away").await;
    let restarted = first.another_node_with(&[("TELEGRAM_NOTIFY_DELAY", "200")]).await;
    drop(first);
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1002 && m.reply_to.is_none()).await;
    assert!(told.text.contains("while you were away"));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(notifications(&fake, 1002).len(), 1);
    drop(restarted);
}

async fn notifications_to_one_telegram_chat_are_a_second_apart(backend: Backend) {
    let (app, fake) = with_bot(backend, "100").await;
    let ann = app.person("ann@example.com", "Ann").await;
    let carol = app.person("carol@example.com", "Carol").await;
    let bob = app.person("bob@example.com", "Bob").await;
    link(&app, &fake, &bob, 1002).await;
    let with_ann = app.open_chat(&ann, bob.id).await;
    let with_carol = app.open_chat(&carol, bob.id).await;
    let tried_before = fake.send_times().len();
    // Two chats, two notifications, both due at once, to the same Telegram chat.
    tokio::join!(
        send(&app, &ann, &with_ann["id"], "a1", "from Ann"),
        send(&app, &carol, &with_carol["id"], "c1", "from Carol"),
    );
    wait_until(|| async { notifications(&fake, 1002).len() == 2 }).await;
    let times = fake.send_times();
    assert_eq!(times.len(), tried_before + 2);
    let gap = times[tried_before + 1] - times[tried_before];
    assert!(gap >= Duration::from_millis(900), "Telegram allows one a second per chat; the gap was {gap:?}");
}

on_both_backends!(
    notifications_to_one_telegram_chat_are_a_second_apart,
    linking_takes_a_one_time_token_and_updates_open_settings_live,
    an_email_typed_to_the_bot_links_nothing,
    one_telegram_chat_belongs_to_one_account_and_unlinking_works_both_ways,
    an_offline_person_is_told_once_and_a_burst_becomes_one_notification,
    the_language_chosen_in_the_web_app_is_the_notifications_language,
    nobody_is_told_who_is_online_read_it_in_time_or_wrote_to_themselves,
    a_reply_in_telegram_lands_in_the_chat_once,
    telegram_flood_control_is_honoured_and_a_blocked_bot_unlinks,
    notifications_pending_at_a_restart_are_sent_once_after_it,
);

#[tokio::test]
async fn one_node_at_a_time_runs_the_bot_and_another_takes_over_when_it_is_killed() {
    // The first node holds the lease; a second node (a process of its own) waits.
    let (first, fake) = with_bot(Backend::Postgres, "200").await;
    let mut second = NodeProcess::start_like(&first).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fake.conflicts(), 0, "two nodes polled at once");
    let help = fake.push_text(1001, "Ann", "/help", None);
    answer_to(&fake, 1001, help).await;

    // A message stored by the second node is notified by the first, once.
    let ann = first.person("ann@example.com", "Ann").await;
    let bob = first.person("bob@example.com", "Bob").await;
    link(&first, &fake, &bob, 1002).await;
    let chat = first.open_chat(&ann, bob.id).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/chats/{}/messages", second.address, chat["id"]))
        .header("cookie", &ann.cookie)
        .json(&json!({ "client_id": "n1", "text": "through the other node" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let told = fake.wait_for_sent(WAIT, |m| m.chat_id == 1002 && m.reply_to.is_none()).await;
    assert!(told.text.contains("through the other node"), "{}", told.text);

    // A node without the bot, to start more nodes like the first one later.
    let template = first.another_node_with(&[("TELEGRAM_BOT_TOKEN", "")]).await;
    // The first stops: the second takes over.
    drop(first);
    let help = fake.push_text(1001, "Ann", "/help", None);
    answer_to(&fake, 1001, help).await;

    // A third node joins; the second (the bot's node now) is killed without a word.
    let third = template.another_node_with(&[("TELEGRAM_BOT_TOKEN", "123456:TEST-token")]).await;
    second.kill();
    let killed_at = std::time::Instant::now();
    let help = fake.push_text(1001, "Ann", "/help", None);
    answer_to(&fake, 1001, help).await;
    assert!(killed_at.elapsed() < Duration::from_secs(10), "taken over in {:?}", killed_at.elapsed());
    assert_eq!(fake.conflicts(), 0);
    assert_eq!(notifications(&fake, 1002).len(), 1, "nothing notified twice across the takeovers");
    drop(third);
}
