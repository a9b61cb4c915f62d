//! Live delivery on this node: every open socket of every user, each behind a bounded
//! queue. A socket that cannot keep up is dropped (its client resyncs); the server never
//! buffers without bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::UserId;
use crate::protocol::ServerFrame;

/// Frames waiting for one socket before it counts as too slow.
pub const QUEUE_CAPACITY: usize = 64;

/// A frame serialized once, shared by every socket it goes to.
pub type Outbound = Arc<str>;

/// One socket's side of the hub.
pub struct Connection {
    /// This connection's id within the hub.
    pub id: u64,
    /// Frames to write to the socket, in order.
    pub frames: mpsc::Receiver<Outbound>,
    /// Direct replies (acks, errors) into the same queue.
    pub replies: mpsc::Sender<Outbound>,
    /// Cancelled when the hub drops the socket (too slow, or its session ended).
    pub closed: CancellationToken,
}

struct Entry {
    id: u64,
    session_id: i64,
    queue: mpsc::Sender<Outbound>,
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

    /// Registers a new socket of a user, opened with a session.
    pub fn connect(&self, user_id: UserId, session_id: i64) -> Connection {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, frames) = mpsc::channel(QUEUE_CAPACITY);
        let closed = CancellationToken::new();
        self.sockets().entry(user_id).or_default().push(Entry {
            id,
            session_id,
            queue: queue.clone(),
            closed: closed.clone(),
        });
        Connection { id, frames, replies: queue, closed }
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

    /// Queues a frame for every socket of these users. Sockets whose queue is full are
    /// dropped: their clients reconnect and fetch what they missed.
    pub fn deliver(&self, users: &[UserId], frame: &ServerFrame) {
        let encoded = encode(frame);
        let mut sockets = self.sockets();
        for user in dedup(users) {
            let Some(entries) = sockets.get_mut(&user) else { continue };
            entries.retain(|entry| match entry.queue.try_send(encoded.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(user, connection = entry.id, "socket too slow; dropping it");
                    entry.closed.cancel();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            if entries.is_empty() {
                sockets.remove(&user);
            }
        }
    }

    /// Queues a frame for every open socket (someone registered, for example).
    pub fn deliver_to_everyone(&self, frame: &ServerFrame) {
        let users: Vec<UserId> = self.sockets().keys().copied().collect();
        self.deliver(&users, frame);
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

    #[tokio::test]
    async fn every_socket_of_a_user_gets_the_frame_once() {
        let hub = Hub::default();
        let mut a = hub.connect(1, 10);
        let mut b = hub.connect(1, 11);
        let mut other = hub.connect(2, 12);
        hub.deliver(&[1, 1], &ServerFrame::Pong);
        assert_eq!(&*a.frames.recv().await.unwrap(), r#"{"type":"pong"}"#);
        assert_eq!(&*b.frames.recv().await.unwrap(), r#"{"type":"pong"}"#);
        assert!(a.frames.try_recv().is_err(), "delivered twice");
        assert!(other.frames.try_recv().is_err(), "delivered to someone else");
    }

    #[tokio::test]
    async fn a_socket_that_cannot_keep_up_is_dropped_and_others_carry_on() {
        let hub = Hub::default();
        let slow = hub.connect(1, 10);
        let mut fast = hub.connect(1, 11);
        for _ in 0..=QUEUE_CAPACITY {
            hub.deliver(&[1], &ServerFrame::Pong);
            fast.frames.recv().await.unwrap();
        }
        assert!(slow.closed.is_cancelled());
        hub.deliver(&[1], &ServerFrame::Pong);
        assert!(fast.frames.recv().await.is_some());
        assert!(!fast.closed.is_cancelled());
    }

    #[tokio::test]
    async fn signing_out_closes_only_that_sessions_sockets() {
        let hub = Hub::default();
        let signed_out = hub.connect(1, 10);
        let other_device = hub.connect(1, 11);
        hub.close_session(10);
        assert!(signed_out.closed.is_cancelled());
        assert!(!other_device.closed.is_cancelled());
        assert!(hub.is_online(1));
    }
}
