//! The messenger as the edges call it, on SQLite with the in-process cache and bus: the
//! cache in front of history and the directory (the black-box suite runs the same reads
//! through Redis) hits when it can and never serves a stale page; a deactivation closes
//! the account's sockets; a sign-up is one transaction.
#![cfg(feature = "ssr")]

use std::sync::atomic::Ordering;
use std::time::Duration;

use domain::directory::DirectoryQuery;
use domain::input::{NewAccount, NewMessage};
use domain::messenger::Messenger;
use domain::model::{Message, User};
use domain::passwords::Hashing;

/// The address sign-ups come from in these tests.
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
use domain::writer::WriterConfig;
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database};

/// A messenger (one node, in-process cache) on a SQLite file.
async fn node(file: &std::path::Path) -> Messenger {
    let connect = |max: u32| {
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", file.display()));
        options.sqlx_logging(false).max_connections(max).acquire_timeout(Duration::from_secs(30));
        options.map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(10)));
        options
    };
    let db = Database::connect(connect(4)).await.expect("database");
    migration::Migrator::up(&db, None).await.expect("migrations");
    let writer_db = Database::connect(connect(1)).await.expect("writer database");
    let config = WriterConfig { lanes: 1, ..WriterConfig::default() };
    Messenger::new(db, writer_db, config, Hashing::new(2, 16), None).await.expect("messenger")
}

async fn sign_up(messenger: &Messenger, name: &str) -> User {
    let email = format!("{}@example.com", name.to_lowercase());
    let account = NewAccount::parse(&email, name, "correct horse battery").expect("account");
    messenger.sign_up(account, None, LOCAL).await.expect("sign-up").0
}

async fn say(messenger: &Messenger, from: &User, chat_id: i64, text: &str) -> Message {
    let message = NewMessage::parse(chat_id, &uuid::Uuid::new_v4().simple().to_string(), text).expect("message");
    messenger.send(from.id, message).await.expect("stored")
}

fn texts(page: &[Message]) -> Vec<&str> {
    page.iter().map(|m| m.text.as_str()).collect()
}

#[tokio::test]
async fn the_newest_page_comes_from_the_cache_and_follows_new_messages() {
    let dir = tempfile::tempdir().unwrap();
    let messenger = node(&dir.path().join("m.db")).await;
    let ann = sign_up(&messenger, "Ann").await;
    let bob = sign_up(&messenger, "Bob").await;
    let chat = messenger.open_chat(ann.id, bob.id).await.unwrap();
    for text in ["one", "two", "three"] {
        say(&messenger, &ann, chat.id, text).await;
    }
    let stats = messenger.cache_stats();

    assert_eq!(texts(&messenger.history(bob.id, chat.id, None, 50).await.unwrap()), ["one", "two", "three"]);
    assert_eq!(texts(&messenger.history(bob.id, chat.id, None, 2).await.unwrap()), ["two", "three"]);
    assert_eq!(stats.history_hits.load(Ordering::Relaxed), 1, "the second read was a hit");

    // A new message is appended to the cached page after its commit: every read is
    // right, and once the append has happened reads hit again.
    say(&messenger, &bob, chat.id, "four").await;
    let hits_before = stats.history_hits.load(Ordering::Relaxed);
    let mut hit = false;
    for _ in 0..50 {
        let page = messenger.history(ann.id, chat.id, None, 50).await.unwrap();
        assert_eq!(texts(&page), ["one", "two", "three", "four"]);
        if stats.history_hits.load(Ordering::Relaxed) > hits_before {
            hit = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(hit, "the page with the new message was served from the cache");

    // Only participants read, cached or not.
    let eve = sign_up(&messenger, "Eve").await;
    assert!(messenger.history(eve.id, chat.id, None, 50).await.is_err());
}

#[tokio::test]
async fn a_page_cached_on_one_node_is_not_served_after_another_node_stored_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.db");
    let node1 = node(&file).await;
    let node2 = node(&file).await;
    let ann = sign_up(&node1, "Ann").await;
    let bob = sign_up(&node1, "Bob").await;
    let chat = node1.open_chat(ann.id, bob.id).await.unwrap();
    say(&node1, &ann, chat.id, "hello").await;
    node1.history(bob.id, chat.id, None, 50).await.unwrap();
    node1.history(bob.id, chat.id, None, 50).await.unwrap();
    assert_eq!(node1.cache_stats().history_hits.load(Ordering::Relaxed), 1, "cached on node 1");

    // Node 2 stores a message node 1's cache never heard of.
    say(&node2, &bob, chat.id, "hi Ann").await;
    let page = node1.history(ann.id, chat.id, None, 50).await.unwrap();
    assert_eq!(texts(&page), ["hello", "hi Ann"], "never a stale page");
}

#[tokio::test]
async fn directory_pages_are_cached_until_someone_registers() {
    let dir = tempfile::tempdir().unwrap();
    let messenger = node(&dir.path().join("m.db")).await;
    sign_up(&messenger, "Ann").await;
    let names = |page: domain::model::UserPage| page.users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    let stats = messenger.cache_stats();

    assert_eq!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()), ["Ann"]);
    assert_eq!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()), ["Ann"]);
    assert_eq!((stats.directory_misses.load(Ordering::Relaxed), stats.directory_hits.load(Ordering::Relaxed)), (1, 1));

    sign_up(&messenger, "Bob").await;
    assert_eq!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()), ["Ann", "Bob"]);
}

#[tokio::test]
async fn a_deactivated_account_leaves_the_directory_and_its_sockets_close() {
    let dir = tempfile::tempdir().unwrap();
    let messenger = node(&dir.path().join("m.db")).await;
    let ann = sign_up(&messenger, "Ann").await;
    let bob = sign_up(&messenger, "Bob").await;
    let names = |page: domain::model::UserPage| page.users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert_eq!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()), ["Ann", "Bob"]);
    let bobs_tab = messenger.connect(bob.id, 1, "hello".into()).await.unwrap();
    let anns_tab = messenger.connect(ann.id, 2, "hello".into()).await.unwrap();

    messenger.set_active(bob.id, false).await.unwrap();
    assert!(bobs_tab.closed.is_cancelled(), "Bob's socket closed");
    assert!(!anns_tab.closed.is_cancelled());
    assert_eq!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()), ["Ann"], "not a cached page");
}

#[tokio::test]
async fn a_sign_up_whose_session_cannot_be_stored_leaves_no_account_behind_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let messenger = node(&dir.path().join("m.db")).await;
    use sea_orm::ConnectionTrait;
    let refuse = "CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'refused'); END";
    messenger.db.execute_unprepared(refuse).await.unwrap();
    let account = || NewAccount::parse("ann@example.com", "Ann", "correct horse battery").unwrap();
    assert!(messenger.sign_up(account(), None, LOCAL).await.is_err(), "the session could not be stored");
    let names = |page: domain::model::UserPage| page.users.into_iter().map(|u| u.name).collect::<Vec<_>>();
    assert!(names(messenger.directory(DirectoryQuery::default()).await.unwrap()).is_empty(), "no account left");

    messenger.db.execute_unprepared("DROP TRIGGER refuse_sessions").await.unwrap();
    let (user, token) =
        messenger.sign_up(account(), None, LOCAL).await.expect("the retry is not told the email is taken");
    assert_eq!(user.name, "Ann");
    assert!(!token.is_empty());
}
