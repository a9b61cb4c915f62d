//! Several nodes as one, through Redis (when `REDIS_URL` is set): the events every node's
//! sockets must hear travel over one pub/sub channel, and who is online is kept in sorted
//! sets whose entries lapse unless their node renews them.
//!
//! Keys live under `messenger:<instance>:`, where the instance id is a random value stored
//! in the database at its first migration: the nodes sharing a database share a namespace,
//! and nothing else on the same Redis sees their keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{
    ClientLike, EventInterface, HashesInterface, KeysInterface, PubsubInterface, SortedSetsInterface,
};
use fred::types::config::{Config, ReconnectPolicy};
use fred::types::{Builder, Limit};
use sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::Db;
use super::bus::{Bus, Event, deliver};
use super::live::Hub;
use crate::error::DomainError;
use crate::model::{ChatId, UserId};

/// A presence entry lapses this long after its node last renewed it, unless configured
/// otherwise (`PRESENCE_TTL`); nodes renew theirs every third of it.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);
/// A Redis command that takes longer fails (the caller falls back or resyncs).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// Publications waiting for Redis before events are dropped (and the nodes resync).
const OUTGOING_CAPACITY: usize = 4096;
/// Messages from Redis waiting for this node before it has to resync its sockets.
const INCOMING_CAPACITY: usize = 4096;

/// This node's connection to Redis and its place among the nodes. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    /// Commands and publications.
    pub client: Client,
    subscriber: SubscriberClient,
    /// `messenger:<instance>:`, before every key.
    pub(crate) prefix: Arc<str>,
    /// This node's random id.
    pub node: Arc<str>,
    /// How long a presence entry lives without renewal.
    presence_ttl: Duration,
}

/// Events on the wire: who sent them, so a node skips its own.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    events: Vec<Event>,
}

impl Cluster {
    /// Connects to Redis (reconnecting by itself after a loss, with back-off) under the
    /// namespace of the installation whose database this is.
    /// Presence entries of a node that stops renewing them lapse after `presence_ttl`.
    pub async fn connect(url: &str, db: &Db, presence_ttl: Duration) -> Result<Self, String> {
        let config = Config::from_url(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let mut builder = Builder::from_config(config);
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .with_performance_config(|perf| {
                perf.default_command_timeout = COMMAND_TIMEOUT;
                perf.broadcast_channel_capacity = INCOMING_CAPACITY;
            })
            .with_connection_config(|connection| {
                connection.connection_timeout = COMMAND_TIMEOUT;
                connection.internal_command_timeout = COMMAND_TIMEOUT;
                connection.max_command_attempts = 1;
            });
        let client = builder.build().map_err(|e| format!("REDIS_URL: {e}"))?;
        let subscriber = builder.build_subscriber_client().map_err(|e| format!("REDIS_URL: {e}"))?;
        client.init().await.map_err(|e| format!("connecting to Redis (REDIS_URL): {e}"))?;
        subscriber.init().await.map_err(|e| format!("connecting to Redis (REDIS_URL): {e}"))?;
        let instance = instance_id(db).await.map_err(|e| format!("reading the instance id: {e:?}"))?;
        let node = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!("messenger:{instance}:").into();
        Ok(Self { client, subscriber, prefix, node: node.into(), presence_ttl })
    }

    fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    fn online_key(&self, user: UserId) -> String {
        format!("{}online:{user}", self.prefix)
    }

    fn last_seen_key(&self) -> String {
        format!("{}last_seen", self.prefix)
    }

    fn entries_key(&self) -> String {
        format!("{}presence", self.prefix)
    }

    fn entry(&self, user: UserId) -> String {
        format!("{user}:{}", self.node)
    }

    /// True when this node's connections to Redis are up.
    pub fn is_connected(&self) -> bool {
        self.client.is_connected() && self.subscriber.is_connected()
    }

    /// Starts the bus between nodes: events published on this node reach its own sockets
    /// at once and the other nodes through Redis.
    pub async fn bus(&self, hub: Hub) -> Result<RedisBus, String> {
        let (outgoing, queue) = mpsc::channel(OUTGOING_CAPACITY);
        let lost = Arc::new(AtomicBool::new(false));
        // Receivers first, so that nothing published after the subscription is missed.
        let messages = self.subscriber.message_rx();
        let reconnects = self.subscriber.reconnect_rx();
        // Detached: it lives as long as the subscriber and resubscribes after each reconnect.
        drop(self.subscriber.manage_subscriptions());
        self.subscriber.subscribe(self.channel()).await.map_err(|e| format!("subscribing in Redis: {e}"))?;
        let sockets = InOrder::new(hub);
        tokio::spawn(send_out(self.clone(), queue, lost.clone()));
        tokio::spawn(take_in(self.node.clone(), sockets.clone(), messages, reconnects));
        Ok(RedisBus { sockets, outgoing, lost })
    }

    /// Presence keys vanish this long after their last renewal, so an installation whose
    /// nodes all stopped leaves nothing behind in Redis.
    fn key_lifetime(&self) -> i64 {
        3 * self.presence_ttl.as_secs().max(1) as i64
    }

    fn expiry(&self) -> f64 {
        now_ms() + self.presence_ttl.as_millis() as f64
    }

    /// Records a user's first socket on this node; true when they were offline everywhere.
    pub async fn arrive(&self, user: UserId) -> Result<bool, fred::error::Error> {
        let expiry = self.expiry();
        let pipeline = self.client.pipeline();
        let _: () = pipeline.zadd(self.online_key(user), None, None, false, false, (expiry, &*self.node)).await?;
        let _: () = pipeline.zadd(self.entries_key(), None, None, false, false, (expiry, self.entry(user))).await?;
        let _: () = pipeline.expire(self.online_key(user), self.key_lifetime(), None).await?;
        let _: () = pipeline.expire(self.entries_key(), self.key_lifetime(), None).await?;
        let _: () = pipeline.zcount(self.online_key(user), now_ms(), f64::INFINITY).await?;
        let (_, _, _, _, live): (i64, i64, i64, i64, i64) = pipeline.all().await?;
        Ok(live == 1)
    }

    /// Records that a user's last socket on this node closed; true when they are now
    /// offline everywhere.
    pub async fn leave(&self, user: UserId) -> Result<bool, fred::error::Error> {
        let pipeline = self.client.pipeline();
        let _: () = pipeline.zrem(self.online_key(user), &*self.node).await?;
        let _: () = pipeline.zrem(self.entries_key(), self.entry(user)).await?;
        let _: () = pipeline.zcount(self.online_key(user), now_ms(), f64::INFINITY).await?;
        let (_, _, live): (i64, i64, i64) = pipeline.all().await?;
        Ok(live == 0)
    }

    /// Which of these users have a live connection on some node, and when each was last
    /// seen going offline (as recorded here, which can be newer than a cached page).
    pub async fn online_among(
        &self,
        users: &[UserId],
    ) -> Result<Vec<(bool, Option<chrono::DateTime<chrono::Utc>>)>, fred::error::Error> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let pipeline = self.client.pipeline();
        for user in users {
            let _: () = pipeline.zcount(self.online_key(*user), now, f64::INFINITY).await?;
            let _: () = pipeline.hget(self.last_seen_key(), user.to_string()).await?;
        }
        let answers: Vec<fred::types::Value> = pipeline.all().await?;
        Ok(answers
            .chunks(2)
            .map(|pair| {
                let online = pair[0].as_i64().is_some_and(|live| live > 0);
                let seen = pair[1].as_i64().and_then(chrono::DateTime::from_timestamp_millis);
                (online, seen)
            })
            .collect())
    }

    /// Records when someone was last online, for every node to see.
    pub async fn note_last_seen(
        &self,
        user: UserId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), fred::error::Error> {
        self.client.hset(self.last_seen_key(), (user.to_string(), at.timestamp_millis())).await
    }

    /// Renews the presence of this node's users.
    async fn renew(&self, users: &[UserId]) -> Result<(), fred::error::Error> {
        for chunk in users.chunks(500) {
            let expiry = self.expiry();
            let pipeline = self.client.pipeline();
            for user in chunk {
                let _: () =
                    pipeline.zadd(self.online_key(*user), None, None, false, false, (expiry, &*self.node)).await?;
                let _: () = pipeline.expire(self.online_key(*user), self.key_lifetime(), None).await?;
                let _: () =
                    pipeline.zadd(self.entries_key(), None, None, false, false, (expiry, self.entry(*user))).await?;
            }
            let _: () = pipeline.expire(self.entries_key(), self.key_lifetime(), None).await?;
            let _: Vec<i64> = pipeline.all().await?;
        }
        Ok(())
    }

    /// Removes entries whose node stopped renewing them (it was killed or cut off); returns
    /// the users now offline everywhere, with the time they were last seen. Each entry is
    /// claimed by exactly one node (the one whose `ZREM` removed it).
    async fn sweep(&self) -> Result<Vec<(UserId, chrono::DateTime<chrono::Utc>)>, fred::error::Error> {
        let now = now_ms();
        let lapsed: Vec<(String, f64)> = self
            .client
            .zrangebyscore(self.entries_key(), f64::NEG_INFINITY, now, true, Some(Limit::from((0, 1000))))
            .await?;
        let mut offline = Vec::new();
        for (entry, expiry) in lapsed {
            let claimed: i64 = self.client.zrem(self.entries_key(), &entry).await?;
            let Some((user, node)) = entry.split_once(':') else { continue };
            let Ok(user) = user.parse::<UserId>() else { continue };
            if claimed == 0 {
                continue;
            }
            let _: i64 = self.client.zrem(self.online_key(user), node).await?;
            let live: i64 = self.client.zcount(self.online_key(user), now, f64::INFINITY).await?;
            if live == 0 {
                let renewed = expiry - self.presence_ttl.as_millis() as f64;
                let seen = chrono::DateTime::from_timestamp_millis(renewed as i64).unwrap_or_else(chrono::Utc::now);
                offline.push((user, seen));
            }
        }
        Ok(offline)
    }

    /// Every third of the presence lifetime: renews this node's users and announces the users of
    /// nodes that stopped renewing theirs as offline.
    pub fn keep_presence(&self, hub: Hub, db: Db, bus: Arc<dyn Bus>) {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(cluster.presence_ttl / 3);
            loop {
                tick.tick().await;
                if let Err(error) = cluster.renew(&hub.users()).await {
                    tracing::warn!(%error, "could not renew presence in Redis");
                    continue;
                }
                match cluster.sweep().await {
                    Ok(offline) => {
                        for (user, seen) in offline {
                            if let Err(error) = super::accounts::record_last_seen(&db, user, seen).await {
                                tracing::warn!(?error, "could not record last seen");
                            }
                            if let Err(error) = cluster.note_last_seen(user, seen).await {
                                tracing::warn!(%error, "could not record last seen in Redis");
                            }
                            match super::chats::partners(&db, user).await {
                                Ok(audience) => bus.publish(vec![Event::PresenceChanged {
                                    user_id: user,
                                    audience,
                                    online: false,
                                    last_seen_at: Some(seen),
                                }]),
                                Err(error) => tracing::warn!(?error, "could not announce presence"),
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "could not sweep presence in Redis"),
                }
            }
        });
    }
}

fn now_ms() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64
}

/// The installation's id, stored at the first migration.
pub async fn instance_id(db: &Db) -> Result<String, DomainError> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, "SELECT value FROM settings WHERE name = 'instance_id'"))
        .await?
        .ok_or_else(|| DomainError::internal("the instance id is missing from settings"))?;
    Ok(row.try_get::<String>("", "value")?)
}

/// The bus between nodes. Publishing never waits: events go to this node's sockets at
/// once and into a bounded queue for Redis.
pub struct RedisBus {
    sockets: InOrder,
    outgoing: mpsc::Sender<Vec<Event>>,
    lost: Arc<AtomicBool>,
}

impl Bus for RedisBus {
    fn publish(&self, events: Vec<Event>) {
        let shared: Vec<Event> = events.iter().filter(|e| e.crosses_nodes()).cloned().collect();
        self.sockets.deliver(events);
        if !shared.is_empty() && self.outgoing.try_send(shared).is_err() {
            // Redis is too slow or gone: the other nodes will be told to resync.
            self.lost.store(true, Ordering::Relaxed);
        }
    }
}

/// Publishes what this node's bus queued, a batch at a time and in order. After a loss
/// (a full queue or a failed publication) a `Resync` goes out as soon as Redis answers
/// again (or before the next publication), so the other nodes' clients fetch what they
/// missed from the database.
async fn send_out(cluster: Cluster, mut queue: mpsc::Receiver<Vec<Event>>, lost: Arc<AtomicBool>) {
    let mut reconnects = cluster.client.reconnect_rx();
    let mut waiting: Vec<Vec<Event>> = Vec::new();
    loop {
        let mut events: Vec<Event> = Vec::new();
        tokio::select! {
            received = queue.recv_many(&mut waiting, 256) => {
                if received == 0 {
                    break;
                }
                events.extend(waiting.drain(..).flatten());
            }
            reconnected = reconnects.recv() => {
                if matches!(reconnected, Err(broadcast::error::RecvError::Closed)) {
                    break;
                }
                if !lost.load(Ordering::Relaxed) {
                    continue;
                }
            }
        }
        if lost.swap(false, Ordering::Relaxed) {
            events.insert(0, Event::Resync);
        }
        publish(&cluster, &lost, events).await;
    }
}

async fn publish(cluster: &Cluster, lost: &AtomicBool, events: Vec<Event>) {
    let envelope = Envelope { node: cluster.node.to_string(), events };
    let payload = match serde_json::to_string(&envelope) {
        Ok(payload) => payload,
        Err(error) => return tracing::error!(%error, "could not encode events"),
    };
    if let Err(error) = cluster.client.publish::<(), _, _>(cluster.channel(), payload).await {
        tracing::warn!(%error, "could not publish to Redis; the other nodes will resync");
        lost.store(true, Ordering::Relaxed);
    }
}

/// Delivers the other nodes' events to this node's sockets. When this node may have
/// missed some (it fell behind, or its subscription reconnected), every socket here
/// resyncs.
async fn take_in(
    node: Arc<str>,
    sockets: InOrder,
    mut messages: broadcast::Receiver<fred::types::Message>,
    mut reconnects: broadcast::Receiver<fred::types::config::Server>,
) {
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Ok(message) => {
                    let Some(text) = message.value.as_str().map(|t| t.into_owned()) else { continue };
                    match serde_json::from_str::<Envelope>(&text) {
                        Ok(envelope) if *envelope.node != *node => sockets.deliver(envelope.events),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "unreadable events from Redis"),
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "fell behind the other nodes; resyncing every socket");
                    sockets.hub.resync_everyone();
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            reconnected = reconnects.recv() => match reconnected {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    tracing::info!("reconnected to Redis; resyncing every socket");
                    sockets.hub.resync_everyone();
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

/// How long a message waits for the ones before it (stored by another node, still on
/// their way) before it is delivered anyway; the client then fetches the gap.
const HOLD_FOR_GAP: Duration = Duration::from_millis(300);
/// Chats whose order is tracked before idle ones are forgotten.
const CHATS_TRACKED: usize = 100_000;

/// This node's sockets, with each chat's messages put back in seq order. Two nodes store
/// messages of the same chat at the same time; each hears its own at once and the other's
/// a moment later through Redis. A message more than one past the newest delivered waits
/// (at most [`HOLD_FOR_GAP`]) for the ones before it. The first message of a chat that
/// this node sees (since it started) waits too, unless its seq is 1.
#[derive(Clone)]
struct InOrder {
    hub: Hub,
    chats: Arc<Mutex<HashMap<ChatId, ChatOrder>>>,
}

struct ChatOrder {
    /// The seq that may be delivered next.
    next: i64,
    /// Messages that came early, by seq.
    held: BTreeMap<i64, Event>,
}

impl InOrder {
    fn new(hub: Hub) -> Self {
        Self { hub, chats: Arc::default() }
    }

    fn chats(&self) -> MutexGuard<'_, HashMap<ChatId, ChatOrder>> {
        self.chats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Delivers what is in order now and holds back what came early. The lock is held
    /// while delivering, so two callers cannot deliver one chat's messages crosswise.
    fn deliver(&self, events: Vec<Event>) {
        let mut chats = self.chats();
        if chats.len() > CHATS_TRACKED {
            chats.retain(|_, order| !order.held.is_empty());
        }
        let mut now = Vec::with_capacity(events.len());
        let mut waiting: Vec<ChatId> = Vec::new();
        for event in events {
            let Event::MessageStored { message, .. } = &event else {
                now.push(event);
                continue;
            };
            let (chat, seq) = (message.chat_id, message.seq);
            // A chat not seen before: whether the messages before this one have been
            // delivered here is unknown, so unless it is the first, it waits for them.
            let order = chats.entry(chat).or_insert_with(|| ChatOrder { next: 1, held: BTreeMap::new() });
            if seq > order.next {
                if order.held.is_empty() {
                    waiting.push(chat);
                }
                order.held.insert(seq, event);
                continue;
            }
            // Older than the newest delivered: a late one after a release; clients drop duplicates.
            order.next = order.next.max(seq + 1);
            now.push(event);
            while let Some(early) = order.held.remove(&order.next) {
                order.next += 1;
                now.push(early);
            }
        }
        deliver(&self.hub, now);
        drop(chats);
        for chat in waiting {
            let sockets = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(HOLD_FOR_GAP).await;
                sockets.release(chat);
            });
        }
    }

    /// Stops waiting for a chat's missing messages: delivers what it holds, in order.
    fn release(&self, chat: ChatId) {
        let mut chats = self.chats();
        let Some(order) = chats.get_mut(&chat) else { return };
        let held = std::mem::take(&mut order.held);
        if let Some(newest) = held.keys().next_back() {
            tracing::debug!(chat, missing_from = order.next, "delivering past a gap");
            order.next = newest + 1;
        }
        deliver(&self.hub, held.into_values().collect());
    }
}
