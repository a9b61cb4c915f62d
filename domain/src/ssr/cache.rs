//! A cache in front of the two reads every client makes first: each chat's newest page of
//! history and the directory's pages. In Redis when `REDIS_URL` is set (shared by the
//! nodes), in this process otherwise (moka).
//!
//! A cached history page is never served stale: every read checks the chat's `last_seq`
//! (the same primary-key lookup that checks the reader is a participant) against the page's
//! newest message, and goes to the database when they differ. The node that stores
//! messages appends them to the cached page after the commit (write-through), so a chat
//! in use keeps hitting. Directory pages are dropped whenever someone registers, and
//! expire after [`DIRECTORY_TTL`] in any case. A Redis error counts as a miss.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fred::clients::Client;
use fred::interfaces::{HashesInterface, KeysInterface};
use fred::types::Expiration;
use tokio::sync::mpsc;

use super::bus::{Bus, Event};
use super::cluster::Cluster;
use crate::model::{ChatId, HISTORY_LIMIT_MAX, Message, UserPage};

/// Messages kept per chat: the largest page a client may ask for.
pub const NEWEST_PAGE: usize = HISTORY_LIMIT_MAX as usize;
/// A chat's cached page lives this long after its last message or read.
pub const HISTORY_TTL: Duration = Duration::from_secs(30 * 60);
/// A directory page lives at most this long.
pub const DIRECTORY_TTL: Duration = Duration::from_secs(5 * 60);
/// Chats whose page this process keeps without Redis.
const LOCAL_CHATS: u64 = 10_000;
/// Stored messages waiting to be appended to their pages; beyond that they are skipped
/// (their pages then miss once and are read again).
const APPENDS_WAITING: usize = 1024;

/// Hits and misses, per kind of read.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// History pages served from the cache.
    pub history_hits: AtomicU64,
    /// History pages read from the database.
    pub history_misses: AtomicU64,
    /// Directory pages served from the cache.
    pub directory_hits: AtomicU64,
    /// Directory pages read from the database.
    pub directory_misses: AtomicU64,
}

/// Counts a read in `stats` and in `messenger_cache_requests_total{kind, result}`.
fn count(counter: &AtomicU64, kind: &'static str, result: &'static str) {
    counter.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("messenger_cache_requests_total", "kind" => kind, "result" => result).increment(1);
}

#[derive(Clone)]
enum Store {
    Local {
        /// Each page behind its own lock, so that appends change it in place.
        history: moka::future::Cache<ChatId, Arc<Mutex<Vec<Message>>>>,
        directory: moka::future::Cache<String, Arc<UserPage>>,
    },
    Redis {
        client: Client,
        prefix: Arc<str>,
    },
}

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    store: Store,
    appends: mpsc::Sender<Vec<Message>>,
    /// Hits and misses so far.
    pub stats: Arc<CacheStats>,
}

impl Cache {
    /// In this process (one node).
    pub fn local() -> Self {
        let history = moka::future::Cache::builder().max_capacity(LOCAL_CHATS).time_to_idle(HISTORY_TTL).build();
        let directory = moka::future::Cache::builder().max_capacity(1_000).time_to_live(DIRECTORY_TTL).build();
        Self::start(Store::Local { history, directory })
    }

    /// In Redis, shared by the nodes of the installation.
    pub fn shared(cluster: &Cluster) -> Self {
        Self::start(Store::Redis { client: cluster.client.clone(), prefix: cluster.prefix.clone() })
    }

    fn start(store: Store) -> Self {
        let (appends, waiting) = mpsc::channel(APPENDS_WAITING);
        let cache = Self { store, appends, stats: Arc::default() };
        tokio::spawn(cache.clone().append_stored(waiting));
        cache
    }

    /// The newest page of a chat whose newest seq is `last_seq`, at most `limit` messages,
    /// oldest first; `None` when the cache cannot tell (the caller reads the database).
    pub async fn newest(&self, chat_id: ChatId, last_seq: i64, limit: usize) -> Option<Vec<Message>> {
        let page = self.newest_page(chat_id).await;
        let fresh = page.as_ref().filter(|page| {
            let newest = page.last().map_or(0, |m| m.seq);
            let whole_chat = page.first().is_none_or(|m| m.seq == 1);
            newest == last_seq && (page.len() >= limit || whole_chat)
        });
        match fresh {
            Some(page) => {
                count(&self.stats.history_hits, "history", "hit");
                Some(page[page.len().saturating_sub(limit)..].to_vec())
            }
            None => {
                count(&self.stats.history_misses, "history", "miss");
                None
            }
        }
    }

    async fn newest_page(&self, chat_id: ChatId) -> Option<Vec<Message>> {
        match &self.store {
            Store::Local { history, .. } => history.get(&chat_id).await.map(|page| lock(&page).clone()),
            Store::Redis { client, prefix } => {
                let key = format!("{prefix}history:{chat_id}");
                let json: Option<String> = client.get(&key).await.map_err(warn).ok()?;
                let _: Result<(), _> = client.expire(&key, HISTORY_TTL.as_secs() as i64, None).await.map_err(warn);
                serde_json::from_str(&json?).ok()
            }
        }
    }

    /// Keeps a chat's newest page (at most [`NEWEST_PAGE`] messages, oldest first), read
    /// from the database.
    pub async fn keep_newest(&self, chat_id: ChatId, page: Vec<Message>) {
        match &self.store {
            Store::Local { history, .. } => history.insert(chat_id, Arc::new(Mutex::new(page))).await,
            Store::Redis { client, prefix } => {
                let Ok(json) = serde_json::to_string(&page) else { return };
                let expiry = Some(Expiration::EX(HISTORY_TTL.as_secs() as i64));
                let _: Result<(), _> =
                    client.set(format!("{prefix}history:{chat_id}"), json, expiry, None, false).await.map_err(warn);
            }
        }
    }

    /// A directory page, when cached.
    pub async fn directory(&self, key: &str) -> Option<UserPage> {
        let page = match &self.store {
            Store::Local { directory, .. } => directory.get(key).await.map(|page| page.as_ref().clone()),
            Store::Redis { client, prefix } => {
                let json: Option<String> =
                    client.hget(format!("{prefix}directory"), key).await.map_err(warn).ok().flatten();
                json.and_then(|json| serde_json::from_str(&json).ok())
            }
        };
        match page {
            Some(_) => count(&self.stats.directory_hits, "directory", "hit"),
            None => count(&self.stats.directory_misses, "directory", "miss"),
        }
        page
    }

    /// Keeps a directory page.
    pub async fn keep_directory(&self, key: &str, page: &UserPage) {
        match &self.store {
            Store::Local { directory, .. } => directory.insert(key.to_owned(), Arc::new(page.clone())).await,
            Store::Redis { client, prefix } => {
                let Ok(json) = serde_json::to_string(page) else { return };
                let pages = format!("{prefix}directory");
                let _: Result<(), _> = client.hset(&pages, (key, json)).await.map_err(warn);
                // The first page kept starts the clock; registrations drop them all sooner.
                let _: Result<(), _> = client
                    .expire(&pages, DIRECTORY_TTL.as_secs() as i64, Some(fred::types::ExpireOptions::NX))
                    .await
                    .map_err(warn);
            }
        }
    }

    /// Forgets every directory page (someone registered).
    pub async fn drop_directory(&self) {
        match &self.store {
            Store::Local { directory, .. } => directory.invalidate_all(),
            Store::Redis { client, prefix } => {
                let _: Result<(), _> = client.del(format!("{prefix}directory")).await.map_err(warn);
            }
        }
    }

    /// Appends messages stored on this node to their chats' cached pages, in the
    /// background. A page whose newest message is not the one just before them is dropped
    /// instead (it missed something: another node stored in between, or an append was skipped).
    async fn append_stored(self, mut waiting: mpsc::Receiver<Vec<Message>>) {
        let mut batches = Vec::new();
        while waiting.recv_many(&mut batches, 64).await > 0 {
            let mut by_chat: BTreeMap<ChatId, Vec<Message>> = BTreeMap::new();
            for message in batches.drain(..).flatten() {
                by_chat.entry(message.chat_id).or_default().push(message);
            }
            for (chat_id, mut stored) in by_chat {
                stored.sort_by_key(|m| m.seq);
                if !self.append(chat_id, stored).await {
                    self.forget_history(chat_id).await;
                }
            }
        }
    }

    /// Appends messages to a chat's cached page; false when they do not follow on from it
    /// (the page must go). A chat without a cached page is left alone.
    async fn append(&self, chat_id: ChatId, stored: Vec<Message>) -> bool {
        match &self.store {
            Store::Local { history, .. } => {
                // In place: no copy of the page per batch.
                let Some(page) = history.get(&chat_id).await else { return true };
                extend_page(&mut lock(&page), stored)
            }
            Store::Redis { .. } => {
                let Some(mut page) = self.newest_page(chat_id).await else { return true };
                let follows = extend_page(&mut page, stored);
                if follows {
                    self.keep_newest(chat_id, page).await;
                }
                follows
            }
        }
    }

    async fn forget_history(&self, chat_id: ChatId) {
        match &self.store {
            Store::Local { history, .. } => history.invalidate(&chat_id).await,
            Store::Redis { client, prefix } => {
                let _: Result<(), _> = client.del(format!("{prefix}history:{chat_id}")).await.map_err(warn);
            }
        }
    }
}

/// Adds messages (in seq order) to a page when they follow on from it, keeping the
/// newest [`NEWEST_PAGE`]; false (and the page unchanged) when they do not.
fn extend_page(page: &mut Vec<Message>, stored: Vec<Message>) -> bool {
    let follows = stored.first().is_some_and(|m| m.seq == page.last().map_or(0, |p| p.seq) + 1);
    let contiguous = stored.windows(2).all(|w| w[1].seq == w[0].seq + 1);
    if !(follows && contiguous) {
        return false;
    }
    page.extend(stored);
    let surplus = page.len().saturating_sub(NEWEST_PAGE);
    page.drain(..surplus);
    true
}

fn lock(page: &Mutex<Vec<Message>>) -> MutexGuard<'_, Vec<Message>> {
    page.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn warn(error: fred::error::Error) {
    tracing::warn!(%error, "Redis cache unavailable; reading the database");
}

/// A bus that also keeps the cache in step with what it publishes: messages stored on
/// this node are appended to their pages.
pub struct CachingBus {
    /// The bus that tells the sockets.
    pub inner: Arc<dyn Bus>,
    /// The cache to keep in step.
    pub cache: Cache,
}

impl Bus for CachingBus {
    fn publish(&self, events: Vec<Event>) {
        let stored: Vec<Message> = events
            .iter()
            .filter_map(|event| match event {
                Event::MessageStored { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect();
        // Skipped when the appender is behind: those pages then miss once.
        if !stored.is_empty() && self.cache.appends.try_send(stored).is_err() {
            tracing::debug!("cache appends behind; some pages will be read again");
        }
        self.inner.publish(events);
    }
}
