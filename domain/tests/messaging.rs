//! The directory, chats and messages, against a fresh database per test, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]

use std::sync::Arc;
use std::time::Duration;

use domain::Db;
use domain::bus::LocalBus;
use domain::directory::{self, DirectoryQuery};
use domain::error::DomainError;
use domain::input::NewAccount;
use domain::input::NewMessage;
use domain::live::Hub;
use domain::messages::Sent;
use domain::model::{CHAT_PAGE_MAX, ChatSummary, User, UserSort};
use domain::passwords::Hashing;
use domain::writer::{Writer, WriterConfig};
use domain::{accounts, chats, messages};
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database};

/// A fresh, migrated database and what it takes to throw it away.
struct TestDb {
    db: Db,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn postgres_server() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn connect(url: String, max_connections: u32) -> Db {
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false).max_connections(max_connections).acquire_timeout(Duration::from_secs(30));
    Database::connect(options).await.expect("database")
}

impl TestDb {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let db = connect(format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()), 4).await;
        migration::Migrator::up(&db, None).await.expect("migrations");
        Self { db, postgres_name: None, _dir: Some(dir) }
    }

    async fn postgres() -> Self {
        let name = format!("msgtest_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(format!("{}/postgres", postgres_server()), 1).await;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let db = connect(format!("{}/{name}", postgres_server()), 5).await;
        migration::Migrator::up(&db, None).await.expect("migrations");
        Self { db, postgres_name: Some(name), _dir: None }
    }

    /// Closes the pool and drops the PostgreSQL database (kept when the test failed, to look at).
    async fn finish(self) {
        self.db.close().await.ok();
        if let Some(name) = self.postgres_name {
            let admin = connect(format!("{}/postgres", postgres_server()), 1).await;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await.ok();
            admin.close().await.ok();
        }
    }
}

/// Runs each named `async fn(Db)` on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = super::TestDb::sqlite().await;
                    super::$name(test.db.clone()).await;
                    test.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = super::TestDb::postgres().await;
                    super::$name(test.db.clone()).await;
                    test.finish().await;
                }
            )*
        }
    };
}

/// A writer whose loop is not running yet, so that sends pile up in its queue.
fn stalled_writer(db: &Db, queue_capacity: usize) -> (Writer, domain::writer::WriterTask) {
    Writer::new(
        db.clone(),
        Arc::new(LocalBus::new(Hub::default())),
        WriterConfig { queue_capacity, batch_max: 1024, lanes: 1, telegram: false },
    )
}

async fn a_batch_in_which_some_sends_fail_stores_the_others_in_order(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    let saved = chats::open_with(&db, ann.id, ann.id).await.unwrap();
    let eve = user(&db, "eve@example.com", "Eve").await;
    let (writer, task) = stalled_writer(&db, 100);
    let parse = |client_id: &str, chat_id: i64, text: &str| NewMessage::parse(chat_id, client_id, text).unwrap();
    let sends = vec![
        writer.send(ann.id, parse("a1", chat.id, "one")),
        writer.send(ann.id, parse("x1", chat.id + 1000, "to a chat that does not exist")),
        writer.send(eve.id, parse("e1", chat.id, "to a chat that is not hers")),
        writer.send(bob.id, parse("b1", chat.id, "two")),
        writer.send(ann.id, parse("a1", saved.id, "the same client id in another chat")),
        writer.send(ann.id, parse("s1", saved.id, "a note to self")),
        writer.send(ann.id, parse("a1", chat.id, "a retry of the first, in the same batch")),
        writer.send(bob.id, parse("b2", chat.id, "three")),
    ];
    let mut all = Box::pin(futures::future::join_all(sends));
    // The first poll queues every send; then the writer takes them as one batch.
    assert!(futures::poll!(&mut all).is_pending());
    tokio::spawn(task.run());
    let outcomes = all.await;

    let seq_of = |i: usize| outcomes[i].as_ref().map(|sent| (sent.message.seq, sent.created)).ok();
    assert_eq!(seq_of(0), Some((1, true)));
    assert!(matches!(outcomes[1], Err(DomainError::NotFound("chat"))));
    assert!(matches!(outcomes[2], Err(DomainError::NotFound("chat"))));
    assert_eq!(seq_of(3), Some((2, true)));
    assert!(matches!(&outcomes[4], Err(DomainError::Invalid(f)) if f.contains_key("client_id")));
    assert_eq!(seq_of(5), Some((1, true)));
    assert_eq!(seq_of(6), Some((1, false)), "a repeated client id returns the first message");
    assert_eq!(seq_of(7), Some((3, true)));

    let history = messages::history(&db, ann.id, chat.id, None, 100).await.unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(chats::summary(&db, ann.id, saved.id).await.unwrap().last_seq, 1);
}

async fn a_full_queue_refuses_with_busy_and_the_retry_is_stored_once(db: Db) {
    let (ann, _bob, chat) = ann_and_bob(&db).await;
    let (writer, task) = stalled_writer(&db, 1);
    let message = |client_id: &str| NewMessage::parse(chat.id, client_id, "hello").unwrap();
    let mut first = Box::pin(writer.send(ann.id, message("first")));
    assert!(futures::poll!(&mut first).is_pending(), "queued");
    assert!(matches!(writer.send(ann.id, message("second")).await, Err(DomainError::Busy)));
    assert_eq!(DomainError::Busy.public().code, "busy");

    tokio::spawn(task.run());
    assert_eq!(first.await.unwrap().message.seq, 1);
    let retried = writer.send(ann.id, message("second")).await.unwrap();
    assert_eq!((retried.message.seq, retried.created), (2, true));
    let again = writer.send(ann.id, message("second")).await.unwrap();
    assert_eq!((again.message.seq, again.created), (2, false));
    assert_eq!(messages::history(&db, ann.id, chat.id, None, 100).await.unwrap().len(), 2);
}

on_both_backends!(
    a_batch_in_which_some_sends_fail_stores_the_others_in_order,
    a_full_queue_refuses_with_busy_and_the_retry_is_stored_once,
    one_chat_per_pair_whichever_side_opens_it,
    saved_messages_is_the_chat_with_oneself,
    opening_a_chat_with_an_unknown_or_deactivated_user_is_not_found,
    twenty_concurrent_sends_get_seq_1_to_20_without_gaps,
    the_same_client_id_twice_stores_once_and_returns_the_first_message,
    text_and_client_id_are_checked,
    an_outsider_can_neither_send_nor_read_nor_mark_nor_see_the_chat,
    history_pages_back_by_before_seq_and_each_page_is_oldest_first,
    since_returns_what_came_after_oldest_first,
    unread_counts_only_the_peers_messages_and_falls_to_zero_after_mark_read,
    the_read_marker_never_moves_backwards,
    the_list_orders_by_latest_activity_and_includes_the_preview,
    pages_of_my_chats_follow_the_order_through_ties_without_gaps_or_repeats,
    the_directory_pages_and_sorts_active_users_both_ways,
    the_directory_searches_name_prefixes_ignoring_case_and_never_emails,
    the_directory_refuses_bad_paging,
);

async fn user(db: &Db, email: &str, name: &str) -> User {
    accounts::register(
        db,
        &Hashing::per_core(),
        NewAccount::parse(email, name, "correct horse battery").expect("valid account"),
    )
    .await
    .expect("registration")
}

/// Ann and Bob, and their chat.
async fn ann_and_bob(db: &Db) -> (User, User, ChatSummary) {
    let ann = user(db, "ann@example.com", "Ann").await;
    let bob = user(db, "bob@example.com", "Bob").await;
    let chat = chats::open_with(db, ann.id, bob.id).await.expect("open chat");
    (ann, bob, chat)
}

/// Sends through a writer of its own, as one node would (so concurrent calls are concurrent writers).
async fn send_message(db: &Db, me: i64, chat_id: i64, client_id: &str, text: &str) -> Result<Sent, DomainError> {
    let message = NewMessage::parse(chat_id, client_id, text)?;
    let writer = Writer::spawn(db.clone(), Arc::new(LocalBus::new(Hub::default())), WriterConfig::default());
    writer.send(me, message).await
}

async fn send(db: &Db, me: &User, chat_id: i64, client_id: &str, text: &str) -> domain::model::Message {
    let sent = send_message(db, me.id, chat_id, client_id, text).await.expect("send");
    assert!(sent.created, "{client_id} was stored anew");
    sent.message
}

/// Every chat of `me`: the first page, which holds them all in these tests.
async fn my_chats(db: &Db, me: i64) -> Vec<ChatSummary> {
    let page = chats::page(db, me, None, CHAT_PAGE_MAX).await.expect("my chats");
    assert_eq!(page.next_cursor, None, "one page holds them all");
    page.chats
}

fn seqs(messages: &[domain::model::Message]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, DomainError>, field: &str) {
    match result {
        Err(DomainError::Invalid(fields)) => assert!(fields.contains_key(field), "{field} not in {fields:?}"),
        other => panic!("expected {field} to be invalid, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, DomainError>, what: &str) {
    match result {
        Err(DomainError::NotFound(thing)) => assert_eq!(thing, what),
        other => panic!("expected NotFound({what}), got {other:?}"),
    }
}

async fn one_chat_per_pair_whichever_side_opens_it(db: Db) {
    let (ann, bob, from_ann) = ann_and_bob(&db).await;
    let from_bob = chats::open_with(&db, bob.id, ann.id).await.unwrap();
    let again = chats::open_with(&db, ann.id, bob.id).await.unwrap();
    assert_eq!(from_ann.id, from_bob.id);
    assert_eq!(from_ann.id, again.id);
    assert_eq!(from_ann.peer, bob.as_person());
    assert_eq!(from_bob.peer, ann.as_person());
    assert!(!from_ann.is_saved_messages);
    assert_eq!((from_ann.last_seq, from_ann.last_read_seq, from_ann.unread), (0, 0, 0));
    assert_eq!(from_ann.last_message, None);
    assert_eq!(chats::participants(&db, bob.id, from_ann.id).await.unwrap(), (ann.id.min(bob.id), ann.id.max(bob.id)));
    assert_eq!(my_chats(&db, ann.id).await.len(), 1);
    assert_eq!(my_chats(&db, bob.id).await.len(), 1);

    // Both sides opening at the same moment still make one chat.
    let carol = user(&db, "carol@example.com", "Carol").await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let db = db.clone();
            let (me, peer) = if i % 2 == 0 { (carol.id, ann.id) } else { (ann.id, carol.id) };
            tokio::spawn(async move { chats::open_with(&db, me, peer).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one chat for Ann and Carol: {ids:?}");
    assert_eq!(my_chats(&db, ann.id).await.len(), 2);
}

async fn saved_messages_is_the_chat_with_oneself(db: Db) {
    let ann = user(&db, "ann@example.com", "Ann").await;
    let saved = chats::open_with(&db, ann.id, ann.id).await.unwrap();
    assert!(saved.is_saved_messages);
    assert_eq!(saved.peer, ann.as_person());
    assert_eq!(chats::open_with(&db, ann.id, ann.id).await.unwrap().id, saved.id);
    assert_eq!(chats::participants(&db, ann.id, saved.id).await.unwrap(), (ann.id, ann.id));

    send(&db, &ann, saved.id, "note-1", "buy milk").await;
    let summary = chats::summary(&db, ann.id, saved.id).await.unwrap();
    assert_eq!(summary.last_seq, 1);
    assert_eq!(summary.unread, 0, "one's own notes are never unread");
    assert_eq!(summary.last_message.map(|m| m.text), Some("buy milk".into()));
    let list = my_chats(&db, ann.id).await;
    assert_eq!(list.len(), 1);
    assert!(list[0].is_saved_messages);
}

async fn opening_a_chat_with_an_unknown_or_deactivated_user_is_not_found(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    assert_not_found(chats::open_with(&db, ann.id, bob.id + 1000).await, "user");
    accounts::set_active(&db, bob.id, false).await.unwrap();
    assert_not_found(chats::open_with(&db, ann.id, bob.id).await, "user");
    // The existing conversation stays readable.
    let summary = chats::summary(&db, ann.id, chat.id).await.unwrap();
    assert_eq!(summary.peer.id, bob.id);
    assert_eq!(my_chats(&db, ann.id).await.len(), 1);
}

async fn twenty_concurrent_sends_get_seq_1_to_20_without_gaps(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            let sender = if i % 2 == 0 { ann.id } else { bob.id };
            tokio::spawn(async move { send_message(&db, sender, chat.id, &format!("c-{i}"), &format!("m{i}")).await })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        let sent = task.await.unwrap().expect("send");
        assert!(sent.created);
        assert_eq!(sent.participants, (ann.id.min(bob.id), ann.id.max(bob.id)));
        got.push(sent.message.seq);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=20).collect::<Vec<_>>());

    let history = messages::history(&db, ann.id, chat.id, None, 100).await.unwrap();
    assert_eq!(seqs(&history), (1..=20).collect::<Vec<_>>());
    let summary = chats::summary(&db, ann.id, chat.id).await.unwrap();
    assert_eq!(summary.last_seq, 20);
    assert_eq!(summary.last_message.map(|m| m.seq), Some(20));
    assert_eq!(summary.unread, 10);
}

async fn the_same_client_id_twice_stores_once_and_returns_the_first_message(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    let first = send(&db, &ann, chat.id, "same-id", "first").await;
    let again = send_message(&db, ann.id, chat.id, "same-id", "second").await.unwrap();
    assert!(!again.created);
    assert_eq!(again.message, first);
    assert_eq!(again.message.text, "first");
    assert_eq!(again.message.client_id, "same-id");
    // The client id belongs to the sender: Bob may use the same one.
    let bobs = send(&db, &bob, chat.id, "same-id", "bob's").await;
    assert_eq!(bobs.seq, 2);

    // Retries racing each other still store one message.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { send_message(&db, ann.id, chat.id, "raced", "hello").await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().expect("send"));
    }
    assert_eq!(results.iter().filter(|s| s.created).count(), 1);
    assert!(results.iter().all(|s| s.message == results[0].message));
    let history = messages::history(&db, ann.id, chat.id, None, 100).await.unwrap();
    assert_eq!(seqs(&history), [1, 2, 3]);

    // Reusing it in another chat is refused.
    let saved = chats::open_with(&db, ann.id, ann.id).await.unwrap();
    assert_invalid(send_message(&db, ann.id, saved.id, "same-id", "elsewhere").await, "client_id");
}

async fn text_and_client_id_are_checked(db: Db) {
    let (ann, _bob, chat) = ann_and_bob(&db).await;
    assert_invalid(send_message(&db, ann.id, chat.id, "c1", "  \n\t ").await, "text");
    assert_invalid(send_message(&db, ann.id, chat.id, "c2", &"x".repeat(4001)).await, "text");
    let longest = send(&db, &ann, chat.id, "c3", &format!("  {}  ", "ж".repeat(4000))).await;
    assert_eq!(longest.text.chars().count(), 4000);
    let trimmed = send(&db, &ann, chat.id, "c4", "  hi there \n").await;
    assert_eq!(trimmed.text, "hi there");

    for bad in ["", "has space", "ünïcode", "semi;colon", &"a".repeat(65)] {
        assert_invalid(send_message(&db, ann.id, chat.id, bad, "hello").await, "client_id");
    }
    send(&db, &ann, chat.id, &"A-z_0".repeat(12), "64 is fine").await;
    // Both problems are reported at once.
    let Err(DomainError::Invalid(fields)) = send_message(&db, ann.id, chat.id, "", "").await else {
        panic!("expected field errors");
    };
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["client_id", "text"]);
    // Nothing invalid was stored.
    assert_eq!(chats::summary(&db, ann.id, chat.id).await.unwrap().last_seq, 3);
}

async fn an_outsider_can_neither_send_nor_read_nor_mark_nor_see_the_chat(db: Db) {
    let (ann, _bob, chat) = ann_and_bob(&db).await;
    send(&db, &ann, chat.id, "c1", "private").await;
    let eve = user(&db, "eve@example.com", "Eve").await;
    assert_not_found(send_message(&db, eve.id, chat.id, "e1", "hi").await, "chat");
    assert_not_found(messages::history(&db, eve.id, chat.id, None, 50).await, "chat");
    assert_not_found(messages::since(&db, eve.id, chat.id, 0, 50).await, "chat");
    assert_not_found(chats::mark_read(&db, eve.id, chat.id, 1).await, "chat");
    assert_not_found(chats::summary(&db, eve.id, chat.id).await, "chat");
    assert_not_found(chats::participants(&db, eve.id, chat.id).await, "chat");
    assert!(my_chats(&db, eve.id).await.is_empty());
    // A chat that does not exist looks the same.
    let missing = chat.id + 1000;
    assert_not_found(send_message(&db, ann.id, missing, "c2", "hi").await, "chat");
    assert_not_found(messages::history(&db, ann.id, missing, None, 50).await, "chat");
    assert_not_found(chats::summary(&db, ann.id, missing).await, "chat");
    assert_not_found(chats::mark_read(&db, ann.id, missing, 1).await, "chat");
    // Eve's attempts left no trace.
    assert_eq!(chats::summary(&db, ann.id, chat.id).await.unwrap().last_seq, 1);
}

async fn history_pages_back_by_before_seq_and_each_page_is_oldest_first(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    for i in 1..=7 {
        let who = if i % 2 == 0 { &bob } else { &ann };
        send(&db, who, chat.id, &format!("c{i}"), &format!("message {i}")).await;
    }
    let newest = messages::history(&db, bob.id, chat.id, None, 3).await.unwrap();
    assert_eq!(seqs(&newest), [5, 6, 7]);
    assert_eq!(newest[0].text, "message 5");
    assert_eq!(newest[0].sender_id, ann.id);
    let older = messages::history(&db, bob.id, chat.id, Some(newest[0].seq), 3).await.unwrap();
    assert_eq!(seqs(&older), [2, 3, 4]);
    let oldest = messages::history(&db, bob.id, chat.id, Some(older[0].seq), 3).await.unwrap();
    assert_eq!(seqs(&oldest), [1]);
    assert!(messages::history(&db, bob.id, chat.id, Some(1), 3).await.unwrap().is_empty());
    assert_eq!(seqs(&messages::history(&db, bob.id, chat.id, None, 100).await.unwrap()), [1, 2, 3, 4, 5, 6, 7]);
    assert_invalid(messages::history(&db, bob.id, chat.id, None, 0).await, "limit");
    assert_invalid(messages::history(&db, bob.id, chat.id, None, 101).await, "limit");
}

async fn since_returns_what_came_after_oldest_first(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    for i in 1..=5 {
        send(&db, &ann, chat.id, &format!("c{i}"), &format!("message {i}")).await;
    }
    assert_eq!(seqs(&messages::since(&db, bob.id, chat.id, 0, 100).await.unwrap()), [1, 2, 3, 4, 5]);
    assert_eq!(seqs(&messages::since(&db, bob.id, chat.id, 2, 2).await.unwrap()), [3, 4]);
    assert!(messages::since(&db, bob.id, chat.id, 5, 100).await.unwrap().is_empty());
    send(&db, &bob, chat.id, "b1", "while you were away").await;
    let missed = messages::since(&db, ann.id, chat.id, 5, 100).await.unwrap();
    assert_eq!(seqs(&missed), [6]);
    assert_eq!(missed[0].text, "while you were away");
    assert_invalid(messages::since(&db, bob.id, chat.id, 0, 0).await, "limit");
    assert_invalid(messages::since(&db, bob.id, chat.id, 0, 101).await, "limit");
}

async fn unread_counts_only_the_peers_messages_and_falls_to_zero_after_mark_read(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    send(&db, &ann, chat.id, "a1", "hi").await;
    send(&db, &ann, chat.id, "a2", "are you there?").await;
    send(&db, &bob, chat.id, "b1", "yes").await;
    send(&db, &bob, chat.id, "b2", "sorry").await;
    send(&db, &bob, chat.id, "b3", "busy").await;
    let for_ann = chats::summary(&db, ann.id, chat.id).await.unwrap();
    let for_bob = chats::summary(&db, bob.id, chat.id).await.unwrap();
    assert_eq!((for_ann.unread, for_bob.unread), (3, 2));

    let read = chats::mark_read(&db, ann.id, chat.id, 5).await.unwrap();
    assert_eq!((read.unread, read.last_read_seq, read.last_seq), (0, 5, 5));
    let partly = chats::mark_read(&db, bob.id, chat.id, 1).await.unwrap();
    assert_eq!((partly.unread, partly.last_read_seq), (1, 1));

    send(&db, &bob, chat.id, "b4", "back").await;
    send(&db, &ann, chat.id, "a3", "ok").await;
    assert_eq!(chats::summary(&db, ann.id, chat.id).await.unwrap().unread, 1);
    let ann_list = my_chats(&db, ann.id).await;
    assert_eq!(ann_list[0].unread, 1);
    assert_eq!(ann_list[0].last_read_seq, 5);
    assert_eq!(my_chats(&db, bob.id).await[0].unread, 2);
}

async fn the_read_marker_never_moves_backwards(db: Db) {
    let (ann, bob, chat) = ann_and_bob(&db).await;
    for i in 1..=5 {
        send(&db, &bob, chat.id, &format!("b{i}"), "x").await;
    }
    assert_eq!(chats::mark_read(&db, ann.id, chat.id, 4).await.unwrap().last_read_seq, 4);
    let stale = chats::mark_read(&db, ann.id, chat.id, 2).await.unwrap();
    assert_eq!((stale.last_read_seq, stale.unread), (4, 1));
    assert_eq!(chats::mark_read(&db, ann.id, chat.id, -7).await.unwrap().last_read_seq, 4);
    // Beyond the newest message is clamped to it.
    let all = chats::mark_read(&db, ann.id, chat.id, 1_000).await.unwrap();
    assert_eq!((all.last_read_seq, all.unread), (5, 0));
    send(&db, &bob, chat.id, "b6", "x").await;
    assert_eq!(chats::summary(&db, ann.id, chat.id).await.unwrap().unread, 1);
    // Marking an empty chat read is harmless.
    let saved = chats::open_with(&db, ann.id, ann.id).await.unwrap();
    assert_eq!(chats::mark_read(&db, ann.id, saved.id, 3).await.unwrap().last_read_seq, 0);
}

async fn the_list_orders_by_latest_activity_and_includes_the_preview(db: Db) {
    let (ann, bob, with_bob) = ann_and_bob(&db).await;
    let carol = user(&db, "carol@example.com", "Carol").await;
    let with_carol = chats::open_with(&db, carol.id, ann.id).await.unwrap();
    let saved = chats::open_with(&db, ann.id, ann.id).await.unwrap();
    let order = |list: &[ChatSummary]| list.iter().map(|c| c.id).collect::<Vec<_>>();

    // Nothing sent yet: the most recently opened first.
    assert_eq!(order(&my_chats(&db, ann.id).await), [saved.id, with_carol.id, with_bob.id]);

    send(&db, &bob, with_bob.id, "b1", "hello Ann").await;
    send(&db, &ann, with_carol.id, "a1", "hi Carol").await;
    let list = my_chats(&db, ann.id).await;
    assert_eq!(order(&list), [with_carol.id, with_bob.id, saved.id]);
    assert_eq!(list[0].peer, carol.as_person());
    assert_eq!(list[0].last_message.as_ref().map(|m| m.text.as_str()), Some("hi Carol"));
    assert_eq!(list[0].unread, 0);
    assert_eq!(list[1].peer, bob.as_person());
    assert_eq!(list[1].last_message.as_ref().map(|m| (m.text.as_str(), m.sender_id)), Some(("hello Ann", bob.id)));
    assert_eq!(list[1].unread, 1);
    assert!(list[2].is_saved_messages);
    assert_eq!(list[2].last_message, None);

    send(&db, &ann, with_bob.id, "a2", "hello Bob").await;
    let list = my_chats(&db, ann.id).await;
    assert_eq!(order(&list), [with_bob.id, with_carol.id, saved.id]);
    assert_eq!(list[0].last_message.as_ref().map(|m| (m.text.as_str(), m.seq)), Some(("hello Bob", 2)));
    assert_eq!(list[0].last_seq, 2);

    // Bob sees only his chat, from his side.
    let bobs = my_chats(&db, bob.id).await;
    assert_eq!(order(&bobs), [with_bob.id]);
    assert_eq!(bobs[0].peer, ann.as_person());
    assert_eq!(bobs[0].unread, 1);
}

async fn pages_of_my_chats_follow_the_order_through_ties_without_gaps_or_repeats(db: Db) {
    use chrono::{DateTime, TimeZone, Utc};
    use domain::chats::ChatCursor;
    use domain::entity::chat;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let ann = user(&db, "ann@example.com", "Ann").await;
    let mut ids = vec![chats::open_with(&db, ann.id, ann.id).await.unwrap().id];
    for i in 0..7 {
        let peer = user(&db, &format!("p{i}@example.com"), &format!("Peer {i}")).await;
        ids.push(chats::open_with(&db, ann.id, peer.id).await.unwrap().id);
    }
    // Someone else's chat never shows.
    let (bob, carol) = (user(&db, "bob@example.com", "Bob").await, user(&db, "carol@example.com", "Carol").await);
    chats::open_with(&db, bob.id, carol.id).await.unwrap();

    // Ties everywhere: two chats with the same newest message, three with the same creation
    // (fractions of a second included), and empty ones; the id decides among equals.
    let at = |micros: i64| Utc.timestamp_micros(1_795_700_000_000_000 + micros).unwrap();
    let keys: Vec<(Option<DateTime<Utc>>, DateTime<Utc>)> = vec![
        (None, at(500_123)),
        (Some(at(9_000_001)), at(100)),
        (Some(at(9_000_001)), at(100)),
        (Some(at(7_000_000)), at(2_000_000)),
        (None, at(500_123)),
        (None, at(600_000)),
        (Some(at(9_000_001)), at(300)),
        (None, at(500_123)),
    ];
    for (id, (last, created)) in ids.iter().zip(&keys) {
        chat::Entity::update_many()
            .col_expr(chat::Column::LastMessageAt, Expr::value(*last))
            .col_expr(chat::Column::CreatedAt, Expr::value(*created))
            .filter(chat::Column::Id.eq(*id))
            .exec(&db)
            .await
            .unwrap();
    }
    let mut expected: Vec<(i64, Option<DateTime<Utc>>, DateTime<Utc>)> =
        ids.iter().zip(&keys).map(|(id, (last, created))| (*id, *last, *created)).collect();
    // Newest activity first, empty chats last; then newest created; then highest id.
    expected.sort_by_key(|&(id, last, created)| std::cmp::Reverse((last.is_some(), last, created, id)));
    let expected: Vec<i64> = expected.into_iter().map(|(id, ..)| id).collect();
    assert_eq!(my_chats(&db, ann.id).await.iter().map(|c| c.id).collect::<Vec<_>>(), expected);

    for limit in 1..=5 {
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = chats::page(&db, ann.id, cursor, limit).await.unwrap();
            pages += 1;
            assert!(page.chats.len() as u64 <= limit);
            seen.extend(page.chats.iter().map(|c| c.id));
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(page.chats.len() as u64, limit, "only the last page is short");
                    cursor = Some(ChatCursor::parse(&next).unwrap());
                }
                None => break,
            }
            assert!(pages <= ids.len(), "paging with limit {limit} does not end");
        }
        assert_eq!(seen, expected, "limit {limit}");
    }

    assert_invalid(chats::page(&db, ann.id, None, 0).await, "limit");
    assert_invalid(chats::page(&db, ann.id, None, CHAT_PAGE_MAX + 1).await, "limit");
    assert!(chats::page(&db, carol.id, None, 1).await.unwrap().next_cursor.is_none());
}

/// Five people registered in this order; the directory's examples.
async fn people(db: &Db) -> Vec<User> {
    let mut people = Vec::new();
    for (email, name) in [
        ("carol@example.com", "Carol"),
        ("ann_lee@example.com", "Ann"),
        ("bob@example.com", "bob"),
        ("annxlee@example.com", "Annie"),
        ("dave@example.com", "Dave"),
    ] {
        people.push(user(db, email, name).await);
    }
    people
}

async fn names(db: &Db, query: DirectoryQuery) -> (Vec<String>, u64) {
    let page = directory::page(db, query).await.expect("directory page");
    (page.users.into_iter().map(|u| u.name).collect(), page.total)
}

async fn the_directory_pages_and_sorts_active_users_both_ways(db: Db) {
    let people = people(&db).await;
    let all = directory::page(&db, DirectoryQuery::default()).await.unwrap();
    assert_eq!((all.total, all.page, all.per_page), (5, 1, 20));
    accounts::set_active(&db, people[4].id, false).await.unwrap();

    let sorted = |sort| DirectoryQuery { sort, ..Default::default() };
    let by_name = ["Ann", "Annie", "bob", "Carol"].map(String::from).to_vec();
    assert_eq!(names(&db, sorted(UserSort::NameAsc)).await, (by_name.clone(), 4), "deactivated Dave is hidden");
    assert_eq!(names(&db, sorted(UserSort::NameDesc)).await.0, by_name.into_iter().rev().collect::<Vec<_>>());
    let by_age = ["Carol", "Ann", "bob", "Annie"].map(String::from).to_vec();
    assert_eq!(names(&db, sorted(UserSort::CreatedAsc)).await.0, by_age);
    assert_eq!(names(&db, sorted(UserSort::CreatedDesc)).await.0, by_age.into_iter().rev().collect::<Vec<_>>());

    let paged = |page| DirectoryQuery { page, per_page: 3, sort: UserSort::CreatedAsc, q: None };
    assert_eq!(names(&db, paged(1)).await, (vec!["Carol".into(), "Ann".into(), "bob".into()], 4));
    assert_eq!(names(&db, paged(2)).await, (vec!["Annie".into()], 4));
    assert_eq!(names(&db, paged(3)).await, (vec![], 4));
    assert_eq!(names(&db, paged(u64::MAX)).await, (vec![], 4));
    let second = directory::page(&db, paged(2)).await.unwrap();
    assert_eq!((second.page, second.per_page), (2, 3));
    assert_eq!(second.users[0], people[3].as_person());

    accounts::set_active(&db, people[4].id, true).await.unwrap();
    assert_eq!(names(&db, sorted(UserSort::NameAsc)).await.1, 5);
}

async fn the_directory_searches_name_prefixes_ignoring_case_and_never_emails(db: Db) {
    let people = people(&db).await;
    let search = |q: &str| DirectoryQuery { q: Some(q.into()), ..Default::default() };
    assert_eq!(names(&db, search("AN")).await, (vec!["Ann".into(), "Annie".into()], 2));
    assert_eq!(names(&db, search("  annie ")).await.0, ["Annie"]);
    // Emails are private: searching by one finds nobody.
    assert_eq!(names(&db, search("BOB@EXAMPLE")).await, (vec![], 0));
    assert_eq!(names(&db, search("caROL")).await.0, ["Carol"]);
    // A prefix, not a substring.
    assert_eq!(names(&db, search("example")).await, (vec![], 0));
    assert_eq!(names(&db, search("nn")).await, (vec![], 0));
    // LIKE's wildcards are plain characters.
    assert_eq!(names(&db, search("ann_")).await, (vec![], 0), "as a wildcard, _ would match Annie");
    assert_eq!(names(&db, search("%")).await, (vec![], 0));
    assert_eq!(names(&db, search("a%e")).await, (vec![], 0));
    // Blank means everyone.
    assert_eq!(names(&db, search("   ")).await.1, 5);
    // Deactivated users are not found.
    assert_eq!(names(&db, search("dave")).await.0, ["Dave"]);
    accounts::set_active(&db, people[4].id, false).await.unwrap();
    assert_eq!(names(&db, search("dave")).await, (vec![], 0));
    assert_eq!(names(&db, search("d")).await, (vec![], 0));
    // Search, sort and paging combine.
    let query = DirectoryQuery { page: 2, per_page: 1, sort: UserSort::NameDesc, q: Some("a".into()) };
    assert_eq!(names(&db, query).await, (vec!["Ann".into()], 2));
}

async fn the_directory_refuses_bad_paging(db: Db) {
    user(&db, "ann@example.com", "Ann").await;
    let query = |page, per_page| DirectoryQuery { page, per_page, ..Default::default() };
    assert_invalid(directory::page(&db, query(1, 101)).await, "per_page");
    assert_invalid(directory::page(&db, query(1, 0)).await, "per_page");
    assert_invalid(directory::page(&db, query(0, 20)).await, "page");
    assert_eq!(directory::page(&db, query(1, 100)).await.unwrap().total, 1);
    let long = DirectoryQuery { q: Some("a".repeat(255)), ..Default::default() };
    assert_invalid(directory::page(&db, long).await, "q");
    let longest = DirectoryQuery { q: Some("a".repeat(254)), ..Default::default() };
    assert_eq!(directory::page(&db, longest).await.unwrap().total, 0);
}
