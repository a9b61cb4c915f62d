//! Live delivery on this node: every open socket of every user, each behind a bounded
//! queue. A socket that cannot keep up is dropped (its client resyncs); the server never
//! buffers without bound. Frames published together (a writer's batch) reach each socket
//! as one queue item, in the order they were published.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
}

struct Entry {
    id: u64,
    session_id: i64,
    queue: mpsc::Sender<Batch>,
    closed: CancellationToken,
}

/// The registry of open sockets on this node. Cheap to clone.
#[derive(Clone, Default)]
pub struct Hub {
    sockets: Arc<Mutex<HashMap<UserId, Vec<Entry>>>>,
    next_id: Arc<AtomicU64>,
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
    /// already has [`SOCKETS_PER_USER_MAX`] open on this node.
    pub fn connect(&self, user_id: UserId, session_id: i64) -> Option<Connection> {
        let mut sockets = self.sockets();
        let entries = sockets.entry(user_id).or_default();
        if entries.len() >= SOCKETS_PER_USER_MAX {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, frames) = mpsc::channel(QUEUE_CAPACITY);
        let closed = CancellationToken::new();
        entries.push(Entry { id, session_id, queue: queue.clone(), closed: closed.clone() });
        Some(Connection { id, frames, replies: queue, closed })
    }

    /// Forgets a socket that has closed.
    pub fn disconnect(&self, user_id: UserId, connection_id: u64) {
        let mut sockets = self.sockets();
        if let Some(entries) = sockets.get_mut(&user_id) {
            entries.retain(|e| e.id != connection_id);
            if entries.is_empty() {
                sockets.remove(&user_id);
            }
        }
    }

    /// Queues frames in order; each socket gets the frames meant for it as one batch, so a
    /// burst counts once against its queue. Sockets whose queue is full are dropped (their
    /// clients reconnect and fetch what they missed).
    pub fn dispatch(&self, frames: Vec<(Audience, Outbound)>) {
        let mut sockets = self.sockets();
        let mut batches: HashMap<(UserId, u64), Batch> = HashMap::new();
        let mut add = |user: UserId, entry: &Entry, frame: &Outbound| {
            batches.entry((user, entry.id)).or_default().push(frame.clone());
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
        let mut gone: Vec<(UserId, u64)> = Vec::new();
        for ((user, id), batch) in batches {
            let Some(entry) = sockets.get(&user).and_then(|es| es.iter().find(|e| e.id == id)) else { continue };
            match entry.queue.try_send(batch) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(user, connection = id, "socket too slow; dropping it");
                    entry.closed.cancel();
                    gone.push((user, id));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push((user, id)),
            }
        }
        for (user, id) in gone {
            if let Some(entries) = sockets.get_mut(&user) {
                entries.retain(|e| e.id != id);
                if entries.is_empty() {
                    sockets.remove(&user);
                }
            }
        }
    }

    /// Closes every socket opened with a session (it was signed out).
    pub fn close_session(&self, session_id: i64) {
        let mut sockets = self.sockets();
        for entries in sockets.values_mut() {
            entries.retain(|entry| {
                let keep = entry.session_id != session_id;
                if !keep {
                    entry.closed.cancel();
                }
                keep
            });
        }
        sockets.retain(|_, entries| !entries.is_empty());
    }

    /// True when the user has at least one open socket on this node.
    pub fn is_online(&self, user_id: UserId) -> bool {
        self.sockets().contains_key(&user_id)
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

    /// A `pong` frame for every socket of these users.
    fn pong_to(hub: &Hub, users: &[UserId]) {
        hub.dispatch(vec![(Audience::Users { users: users.to_vec(), except: None }, encode(&ServerFrame::Pong))]);
    }

    #[tokio::test]
    async fn every_socket_of_a_user_gets_the_frame_once() {
        let hub = Hub::default();
        let mut a = hub.connect(1, 10).unwrap();
        let mut b = hub.connect(1, 11).unwrap();
        let mut other = hub.connect(2, 12).unwrap();
        pong_to(&hub, &[1, 1]);
        assert_eq!(&*a.frames.recv().await.unwrap()[0], r#"{"type":"pong"}"#);
        assert_eq!(&*b.frames.recv().await.unwrap()[0], r#"{"type":"pong"}"#);
        assert!(a.frames.try_recv().is_err(), "delivered twice");
        assert!(other.frames.try_recv().is_err(), "delivered to someone else");
    }

    #[tokio::test]
    async fn a_socket_that_cannot_keep_up_is_dropped_and_others_carry_on() {
        let hub = Hub::default();
        let slow = hub.connect(1, 10).unwrap();
        let mut fast = hub.connect(1, 11).unwrap();
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
        let mut sender = hub.connect(1, 10).unwrap();
        let mut other_tab = hub.connect(1, 11).unwrap();
        let mut peer = hub.connect(2, 12).unwrap();
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
        let open: Vec<Connection> = (0..SOCKETS_PER_USER_MAX).map(|_| hub.connect(1, 10).unwrap()).collect();
        assert!(hub.connect(1, 10).is_none(), "a seventeenth socket is refused");
        assert!(hub.connect(2, 20).is_some(), "other users are not affected");
        hub.disconnect(1, open[0].id);
        assert!(hub.connect(1, 10).is_some());
    }

    #[tokio::test]
    async fn signing_out_closes_only_that_sessions_sockets() {
        let hub = Hub::default();
        let signed_out = hub.connect(1, 10).unwrap();
        let other_device = hub.connect(1, 11).unwrap();
        hub.close_session(10);
        assert!(signed_out.closed.is_cancelled());
        assert!(!other_device.closed.is_cancelled());
        assert!(hub.is_online(1));
    }
}
