//! Live delivery on this node: every open socket of every user, each behind a bounded
//! queue. A socket that cannot keep up is dropped (its client resyncs); the server never
//! buffers without bound. Frames published together (a writer's batch) reach each socket
//! as one queue item, in the order they were published.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::UserId;
use crate::protocol::ServerFrame;

/// Batches of frames waiting for one socket before it counts as too slow.
pub const QUEUE_CAPACITY: usize = 64;

/// Open sockets one user may have on this node (tabs and devices together).
pub const SOCKETS_PER_USER_MAX: usize = 16;

/// A frame serialized once, shared by every socket it goes to.
pub type Outbound = Arc<str>;

/// Frames for one socket, to be written in this order.
pub type Batch = Vec<Outbound>;

/// One connection on this node: whose it is and its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionRef {
    /// The user it was opened by.
    pub user_id: UserId,
    /// Its number within this node's hub.
    pub id: u64,
}

/// Who a frame goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every open socket of these users, except one connection (which gets its own frame).
    Users {
        /// The users (duplicates are ignored).
        users: Vec<UserId>,
        /// A connection to leave out.
        except: Option<ConnectionRef>,
    },
    /// One connection only.
    Connection(ConnectionRef),
    /// Every open socket.
    Everyone,
}

/// One socket's side of the hub.
pub struct Connection {
    /// This connection's id within the hub.
    pub id: u64,
    /// Frames to write to the socket, in order.
    pub frames: mpsc::Receiver<Batch>,
    /// Direct replies (pong, frame errors) into the same queue.
    pub replies: mpsc::Sender<Batch>,
    /// Cancelled when the hub drops the socket (too slow, or its session ended).
    pub closed: CancellationToken,
    /// Set before `closed` is cancelled when the reason is that its session ended
    /// (signed out, signed out elsewhere, deactivated): the client must sign in again.
    pub signed_out: Arc<AtomicBool>,
    /// True when it is its user's only socket on this node (they just came online here).
    pub first: bool,
}

struct Entry {
    id: u64,
    session_id: i64,
    queue: mpsc::Sender<Batch>,
    closed: CancellationToken,
    signed_out: Arc<AtomicBool>,
}

impl Entry {
    /// Closes the socket because its session ended.
    fn sign_out(&self) {
        self.signed_out.store(true, Ordering::SeqCst);
        self.closed.cancel();
    }
}

/// The registry of open sockets on this node. Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub {
    sockets: Arc<Mutex<HashMap<UserId, Vec<Entry>>>>,
    next_id: Arc<AtomicU64>,
    shutting_down: Arc<AtomicBool>,
}

/// Serializes a frame for the wire.
pub fn encode(frame: &ServerFrame) -> Outbound {
    // Serializing these plain structs cannot fail; an empty object keeps the socket alive if it ever did.
    serde_json::to_string(frame).unwrap_or_else(|_| "{}".into()).into()
}

impl Hub {
    fn sockets(&self) -> MutexGuard<'_, HashMap<UserId, Vec<Entry>>> {
        // A panic while holding this lock leaves the map consistent (every change is one call).
        self.sockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new socket of a user, opened with a session; `None` when the user
    /// already has [`SOCKETS_PER_USER_MAX`] open on this node. A socket stays registered
    /// until [`Hub::disconnect`], also after the hub has closed it, so that a user's
    /// first and last socket are told apart without races.
    /// `greeting` is the socket's first frame, queued before anything else can be. `None`
    /// too once the node is shutting down.
    pub fn connect(&self, user_id: UserId, session_id: i64, greeting: Outbound) -> Option<Connection> {
        let mut sockets = self.sockets();
        if self.is_shutting_down() {
            return None;
        }
        let entries = sockets.entry(user_id).or_default();
        if entries.iter().filter(|e| !e.closed.is_cancelled()).count() >= SOCKETS_PER_USER_MAX {
            return None;
        }
        let first = entries.is_empty();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, frames) = mpsc::channel(QUEUE_CAPACITY);
        // A fresh queue has room.
        let _ = queue.try_send(vec![greeting]);
        let closed = CancellationToken::new();
        let signed_out = Arc::new(AtomicBool::new(false));
        let entry =
            Entry { id, session_id, queue: queue.clone(), closed: closed.clone(), signed_out: signed_out.clone() };
        entries.push(entry);
        Some(Connection { id, frames, replies: queue, closed, signed_out, first })
    }

    /// Forgets a socket that has closed; true when it was its user's last on this node.
    pub fn disconnect(&self, user_id: UserId, connection_id: u64) -> bool {
        let mut sockets = self.sockets();
        let Some(entries) = sockets.get_mut(&user_id) else { return false };
        let before = entries.len();
        entries.retain(|e| e.id != connection_id);
        let last = entries.is_empty() && before > 0;
        if entries.is_empty() {
            sockets.remove(&user_id);
        }
        last
    }

    /// Queues frames in order; each socket gets the frames meant for it as one batch, so a
    /// burst counts once against its queue. Sockets whose queue is full are dropped (their
    /// clients reconnect and fetch what they missed).
    pub fn dispatch(&self, frames: Vec<(Audience, Outbound)>) {
        let sockets = self.sockets();
        let mut batches: HashMap<(UserId, u64), Batch> = HashMap::new();
        let mut add = |user: UserId, entry: &Entry, frame: &Outbound| {
            if !entry.closed.is_cancelled() {
                batches.entry((user, entry.id)).or_default().push(frame.clone());
            }
        };
        for (audience, frame) in &frames {
            match audience {
                Audience::Users { users, except } => {
                    for user in dedup(users) {
                        let Some(entries) = sockets.get(&user) else { continue };
                        for entry in
                            entries.iter().filter(|e| *except != Some(ConnectionRef { user_id: user, id: e.id }))
                        {
                            add(user, entry, frame);
                        }
                    }
                }
                Audience::Connection(to) => {
                    if let Some(entry) = sockets.get(&to.user_id).and_then(|es| es.iter().find(|e| e.id == to.id)) {
                        add(to.user_id, entry, frame);
                    }
                }
                Audience::Everyone => {
                    for (user, entries) in sockets.iter() {
                        for entry in entries {
                            add(*user, entry, frame);
                        }
                    }
                }
            }
        }
        for ((user, id), batch) in batches {
            let Some(entry) = sockets.get(&user).and_then(|es| es.iter().find(|e| e.id == id)) else { continue };
            if let Err(mpsc::error::TrySendError::Full(_)) = entry.queue.try_send(batch) {
                tracing::info!(user, connection = id, "socket too slow; dropping it");
                entry.closed.cancel();
            }
        }
    }

    /// Closes every socket opened with a session (it was signed out).
    pub fn close_session(&self, session_id: i64) {
        for entry in self.sockets().values().flatten().filter(|e| e.session_id == session_id) {
            entry.sign_out();
        }
    }

    /// Closes every socket of a user, except those opened with session `except`.
    pub fn close_user(&self, user_id: UserId, except: Option<i64>) {
        if let Some(entries) = self.sockets().get(&user_id) {
            for entry in entries.iter().filter(|e| Some(e.session_id) != except) {
                entry.sign_out();
            }
        }
    }

    /// Closes every socket on this node; their clients reconnect and fetch what they missed.
    pub fn resync_everyone(&self) {
        for entry in self.sockets().values().flatten() {
            entry.closed.cancel();
        }
    }

    /// The node is stopping: every socket closes (its client reconnects, to another node
    /// behind the same address) and no new one is taken.
    pub fn shut_down(&self) {
        let sockets = self.sockets();
        self.shutting_down.store(true, Ordering::SeqCst);
        for entry in sockets.values().flatten() {
            entry.closed.cancel();
        }
    }

    /// True once [`Hub::shut_down`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// True when the user has at least one open socket on this node.
    pub fn is_online(&self, user_id: UserId) -> bool {
        self.sockets().contains_key(&user_id)
    }

    /// The users with at least one socket on this node.
    pub fn users(&self) -> Vec<UserId> {
        self.sockets().keys().copied().collect()
    }
}

fn dedup(users: &[UserId]) -> Vec<UserId> {
    let mut unique = users.to_vec();
    unique.sort_unstable();
    unique.dedup();
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket of a user, with its greeting read.
    fn open(hub: &Hub, user: UserId, session: i64) -> Connection {
        let mut connection = hub.connect(user, session, "hello".into()).unwrap();
        assert_eq!(&*connection.frames.try_recv().unwrap()[0], "hello", "the greeting comes first");
        connection
    }

    /// A `pong` frame for every socket of these users.
    fn pong_to(hub: &Hub, users: &[UserId]) {
        hub.dispatch(vec![(Audience::Users { users: users.to_vec(), except: None }, encode(&ServerFrame::Pong))]);
    }

    #[tokio::test]
    async fn every_socket_of_a_user_gets_the_frame_once() {
        let hub = Hub::default();
        let mut a = open(&hub, 1, 10);
        let mut b = open(&hub, 1, 11);
        let mut other = open(&hub, 2, 12);
        pong_to(&hub, &[1, 1]);
        assert_eq!(&*a.frames.recv().await.unwrap()[0], r#"{"type":"pong"}"#);
        assert_eq!(&*b.frames.recv().await.unwrap()[0], r#"{"type":"pong"}"#);
        assert!(a.frames.try_recv().is_err(), "delivered twice");
        assert!(other.frames.try_recv().is_err(), "delivered to someone else");
    }

    #[tokio::test]
    async fn a_socket_that_cannot_keep_up_is_dropped_and_others_carry_on() {
        let hub = Hub::default();
        let slow = open(&hub, 1, 10);
        let mut fast = open(&hub, 1, 11);
        for _ in 0..=QUEUE_CAPACITY {
            pong_to(&hub, &[1]);
            fast.frames.recv().await.unwrap();
        }
        assert!(slow.closed.is_cancelled());
        pong_to(&hub, &[1]);
        assert!(fast.frames.recv().await.is_some());
        assert!(!fast.closed.is_cancelled());
    }

    #[tokio::test]
    async fn frames_published_together_reach_each_socket_as_one_batch_in_order() {
        let hub = Hub::default();
        let mut sender = open(&hub, 1, 10);
        let mut other_tab = open(&hub, 1, 11);
        let mut peer = open(&hub, 2, 12);
        let origin = ConnectionRef { user_id: 1, id: sender.id };
        let everyone_but_sender = || Audience::Users { users: vec![1, 2], except: Some(origin) };
        hub.dispatch(vec![
            (everyone_but_sender(), "m1".into()),
            (Audience::Connection(origin), "ack1".into()),
            (everyone_but_sender(), "m2".into()),
        ]);
        let texts = |batch: Batch| batch.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(sender.frames.recv().await.unwrap()), ["ack1"]);
        assert_eq!(texts(other_tab.frames.recv().await.unwrap()), ["m1", "m2"]);
        assert_eq!(texts(peer.frames.recv().await.unwrap()), ["m1", "m2"]);
        assert!(sender.frames.try_recv().is_err() && peer.frames.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_user_has_at_most_sixteen_sockets_and_a_closed_one_frees_its_place() {
        let hub = Hub::default();
        let tabs: Vec<Connection> = (0..SOCKETS_PER_USER_MAX).map(|_| open(&hub, 1, 10)).collect();
        assert!(hub.connect(1, 10, "hello".into()).is_none(), "a seventeenth socket is refused");
        assert!(hub.connect(2, 20, "hello".into()).is_some(), "other users are not affected");
        assert!(!hub.disconnect(1, tabs[0].id), "not the last one");
        assert!(hub.connect(1, 10, "hello".into()).is_some());
    }

    #[tokio::test]
    async fn signing_out_closes_only_that_sessions_sockets() {
        let hub = Hub::default();
        let signed_out = open(&hub, 1, 10);
        let other_device = open(&hub, 1, 11);
        hub.close_session(10);
        assert!(signed_out.closed.is_cancelled());
        assert!(!other_device.closed.is_cancelled());
        assert!(hub.is_online(1));
    }

    #[tokio::test]
    async fn ending_a_users_sessions_closes_their_sockets_but_the_one_kept_and_nobody_elses() {
        let hub = Hub::default();
        let laptop = open(&hub, 1, 10);
        let phone = open(&hub, 1, 11);
        let other = open(&hub, 2, 12);
        hub.close_user(1, Some(11));
        assert!(laptop.closed.is_cancelled());
        assert!(!phone.closed.is_cancelled() && !other.closed.is_cancelled());
        hub.close_user(1, None);
        assert!(phone.closed.is_cancelled());
    }

    #[tokio::test]
    async fn a_users_first_and_last_socket_are_told_apart_also_when_the_hub_closed_one() {
        let hub = Hub::default();
        let tab = open(&hub, 1, 10);
        assert!(tab.first);
        hub.resync_everyone();
        assert!(tab.closed.is_cancelled());
        // The client reconnects before the old socket's task has finished: still online.
        let again = open(&hub, 1, 10);
        assert!(!again.first);
        assert!(!hub.disconnect(1, tab.id));
        assert!(hub.disconnect(1, again.id), "the last socket went");
        assert!(!hub.is_online(1));
    }
}
