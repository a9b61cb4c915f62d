//! The one writer of messages on this node. Every send (socket or REST) is
//! queued here; the writer takes every send waiting at that moment, stores them in one
//! transaction (group commit), then publishes the stored messages in seq order and answers
//! each caller. Once queued, a send no longer depends on its caller: a closed socket or a
//! dropped request does not stop it from being stored and delivered.
//!
//! The writer may run several lanes, each a task with its own queue and transaction, and
//! every chat always in the same lane (by its id): a chat's messages are still stored and
//! published in order by one task, while the lanes overlap their round trips to the
//! database. SQLite, which has one writer connection, runs one lane.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::bus::{Bus, Event};
use super::cluster::Cluster;
use super::live::{ConnectionRef, Hub};
use super::messages::{self, Sent};
use super::{Db, is_unique_violation, is_unreachable};
use crate::error::DomainError;
use crate::input::NewMessage;
use crate::model::{ChatId, UserId};

/// How the writer is sized.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// Sends that may wait for the writer; one more is refused as `busy`.
    pub queue_capacity: usize,
    /// Most sends stored in one transaction.
    pub batch_max: usize,
    /// Lanes (tasks storing in parallel, each chat always in the same one); the queue
    /// capacity is shared out between them.
    pub lanes: usize,
    /// Telegram is configured: a message to a recipient who is offline (no connection on
    /// any node) and linked to Telegram gets an outbox row in the transaction that stores it.
    pub telegram: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self { queue_capacity: 16_384, batch_max: 1_024, lanes: 1, telegram: false }
    }
}

/// Chats whose participants the writer keeps in mind (participants never change); the
/// map is emptied when it grows past this.
const PARTICIPANTS_KEPT: usize = 100_000;

/// A send waiting for the writer.
struct Job {
    sender: UserId,
    message: NewMessage,
    /// The socket it came from: it hears the outcome through the bus.
    origin: Option<ConnectionRef>,
    /// A caller waiting for the outcome (REST).
    reply: Option<oneshot::Sender<Result<Sent, DomainError>>>,
}

/// The way into the writer's queues. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    lanes: Arc<[mpsc::Sender<Job>]>,
    /// Sends queued or being stored, in all lanes.
    unfinished: Arc<AtomicUsize>,
}

/// The writer's loops, not yet running (see [`Writer::new`]).
pub struct WriterTask {
    lanes: Vec<Lane>,
}

/// One lane: a queue and the task that stores what it holds.
struct Lane {
    unfinished: Arc<AtomicUsize>,
    db: Db,
    bus: Arc<dyn Bus>,
    jobs: mpsc::Receiver<Job>,
    batch_max: usize,
    participants: HashMap<ChatId, (UserId, UserId)>,
    /// Who is online, when offline recipients are owed a Telegram notification.
    presence: Option<Presence>,
}

/// Who is online anywhere: this node's sockets, then Redis for the rest. The writer asks
/// it which recipients of a batch are offline (they may be owed a Telegram notification).
#[derive(Clone)]
pub struct Presence {
    hub: Hub,
    cluster: Option<Cluster>,
}

impl Presence {
    /// Presence from this node's hub and, with Redis, every node's.
    pub fn new(hub: Hub, cluster: Option<Cluster>) -> Self {
        Self { hub, cluster }
    }

    /// Those of `users` with no connection open on any node. When Redis cannot answer,
    /// everyone without a socket here counts as offline (the notifier checks again before
    /// it tells anyone).
    pub async fn offline_among(&self, users: impl IntoIterator<Item = UserId>) -> HashSet<UserId> {
        let elsewhere: Vec<UserId> =
            users.into_iter().collect::<HashSet<_>>().into_iter().filter(|user| !self.hub.is_online(*user)).collect();
        let Some(cluster) = &self.cluster else {
            return elsewhere.into_iter().collect();
        };
        match cluster.online_among(&elsewhere).await {
            Ok(presence) => {
                elsewhere.into_iter().zip(presence).filter(|(_, (online, _))| !online).map(|(u, _)| u).collect()
            }
            Err(error) => {
                tracing::warn!(%error, "could not read presence from Redis");
                elsewhere.into_iter().collect()
            }
        }
    }
}

impl Writer {
    /// A writer and its loop; the loop does nothing until it is run (`tokio::spawn(task.run())`).
    pub fn new(db: Db, bus: Arc<dyn Bus>, config: WriterConfig) -> (Self, WriterTask) {
        let lanes = config.lanes.max(1);
        let capacity = (config.queue_capacity / lanes).max(1);
        let unfinished = Arc::new(AtomicUsize::new(0));
        let (queues, tasks): (Vec<_>, Vec<_>) = (0..lanes)
            .map(|_| {
                let (queue, jobs) = mpsc::channel(capacity);
                let lane = Lane {
                    unfinished: unfinished.clone(),
                    db: db.clone(),
                    bus: bus.clone(),
                    jobs,
                    batch_max: config.batch_max.max(1),
                    participants: HashMap::new(),
                    presence: None,
                };
                (queue, lane)
            })
            .unzip();
        (Self { lanes: queues.into(), unfinished }, WriterTask { lanes: tasks })
    }

    /// A writer whose loop runs on the current Tokio runtime until every handle is dropped.
    pub fn spawn(db: Db, bus: Arc<dyn Bus>, config: WriterConfig) -> Self {
        let (writer, task) = Self::new(db, bus, config);
        task.spawn();
        writer
    }

    /// Stores a message and returns it once it is committed and published (the first one
    /// again for a repeated client id). `Busy` when the queue is full: nothing was stored,
    /// and the same send can be retried.
    pub async fn send(&self, sender: UserId, message: NewMessage) -> Result<Sent, DomainError> {
        let (reply, outcome) = oneshot::channel();
        self.enqueue(Job { sender, message, origin: None, reply: Some(reply) })?;
        outcome.await.map_err(|_| DomainError::internal("the message writer stopped"))?
    }

    /// Queues a send from a socket; the socket hears the outcome (`ack` or `error`) in
    /// order with the messages it receives. `Busy` when the queue is full.
    pub fn submit(&self, sender: UserId, message: NewMessage, origin: ConnectionRef) -> Result<(), DomainError> {
        self.enqueue(Job { sender, message, origin: Some(origin), reply: None })
    }

    fn enqueue(&self, job: Job) -> Result<(), DomainError> {
        // Lanes are few and ids positive; a chat always lands in the same lane.
        let lane = usize::try_from(job.message.chat_id.unsigned_abs() % self.lanes.len() as u64).unwrap_or(0);
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        self.lanes[lane].try_send(job).map_err(|e| {
            self.unfinished.fetch_sub(1, Ordering::SeqCst);
            match e {
                mpsc::error::TrySendError::Full(_) => DomainError::Busy,
                mpsc::error::TrySendError::Closed(_) => DomainError::internal("the message writer stopped"),
            }
        })
    }

    /// Waits until every send queued so far has been stored (or refused) and published,
    /// for at most `limit`; false when sends were still unfinished then. For a shutdown,
    /// once nothing new can come in.
    pub async fn finish(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.unfinished.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }
}

impl WriterTask {
    /// Stores batches until every [`Writer`] handle is gone and the queues are empty.
    pub async fn run(self) {
        futures::future::join_all(self.lanes.into_iter().map(Lane::run)).await;
    }

    /// Runs the lanes on the current Tokio runtime until every handle is dropped.
    pub fn spawn(self) {
        for lane in self.lanes {
            tokio::spawn(lane.run());
        }
    }

    /// Messages to recipients that `presence` finds offline get a Telegram outbox row
    /// (when the recipient is linked) in the transaction that stores them.
    pub fn notify_offline(mut self, presence: Presence) -> Self {
        for lane in &mut self.lanes {
            lane.presence = Some(presence.clone());
        }
        self
    }
}

impl Lane {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.batch_max);
        while self.jobs.recv_many(&mut batch, self.batch_max).await > 0 {
            self.commit(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit(&mut self, jobs: Vec<Job>) {
        let started = std::time::Instant::now();
        metrics::histogram!("messenger_writer_batch_size").record(jobs.len() as f64);
        self.report_queue_depth();
        let requests: Vec<(UserId, &NewMessage)> = jobs.iter().map(|j| (j.sender, &j.message)).collect();
        let offline = self.offline_recipients(&requests).await;
        let outcomes = match messages::store_batch(&self.db, &mut self.participants, &requests, &offline).await {
            Ok(outcomes) => outcomes,
            Err(error) if is_unreachable(&error) => {
                // The database cannot be reached: nothing was stored (or, when only the
                // commit's answer was lost, a retry with the same client id finds the
                // message). Every send is answered `unavailable` at once, to be sent again;
                // storing each alone would only wait for the database once per send.
                tracing::warn!(%error, sends = requests.len(), "the database cannot be reached; a batch was refused");
                let cause = format!("database: {error}");
                requests.iter().map(|_| Err(DomainError::unavailable(&cause))).collect()
            }
            Err(error) => {
                // Something unforeseen (a client id stored by another node a moment ago):
                // nothing was stored; store each send on its own, so one cannot sink the rest.
                if !is_unique_violation(&error) {
                    tracing::warn!(%error, sends = requests.len(), "a batch failed; storing its sends one by one");
                }
                let mut outcomes = Vec::with_capacity(requests.len());
                let mut unreachable: Option<String> = None;
                for request in &requests {
                    // Once the database turned out to be unreachable, the rest are answered
                    // so at once rather than each waiting for it in turn.
                    let outcome = match &unreachable {
                        Some(cause) => Err(DomainError::unavailable(cause)),
                        None => self.store_alone(*request).await,
                    };
                    if let Err(DomainError::Unavailable(cause)) = &outcome {
                        unreachable = Some(cause.clone());
                    }
                    outcomes.push(outcome);
                }
                outcomes
            }
        };
        if self.participants.len() > PARTICIPANTS_KEPT {
            self.participants.clear();
        }
        drop(requests);

        let stored = started.elapsed();
        let created = outcomes.iter().filter(|outcome| outcome.as_ref().is_ok_and(|sent| sent.created)).count();
        metrics::counter!("messenger_messages_stored_total").increment(created as u64);
        let events = jobs.iter().zip(&outcomes).filter_map(|(job, outcome)| event_of(job, outcome)).collect();
        self.bus.publish(events);
        tracing::debug!(
            sends = jobs.len(),
            stored_us = stored.as_micros(),
            published_us = started.elapsed().as_micros(),
            "batch"
        );
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            if let Some(reply) = job.reply {
                // The caller may have gone away; the message is stored and delivered all the same.
                let _ = reply.send(outcome);
            }
            self.unfinished.fetch_sub(1, Ordering::SeqCst);
        }
        self.report_queue_depth();
    }

    /// The recipients of these sends (not Saved Messages) who are offline, when Telegram
    /// notifications are on; none otherwise. Chats the writer does not know yet are looked
    /// up first (a failure here leaves them out; storing reports it).
    async fn offline_recipients(&mut self, requests: &[(UserId, &NewMessage)]) -> HashSet<UserId> {
        let Some(presence) = &self.presence else {
            return HashSet::new();
        };
        let chats = requests.iter().map(|(_, m)| m.chat_id);
        if let Err(error) = messages::learn_participants(&self.db, &mut self.participants, chats).await {
            tracing::debug!(%error, "could not look the chats up before storing");
        }
        let recipients = requests.iter().filter_map(|(sender, m)| match self.participants.get(&m.chat_id) {
            Some(&(lo, hi)) if lo != hi && (*sender == lo || *sender == hi) => {
                Some(if *sender == lo { hi } else { lo })
            }
            _ => None,
        });
        presence.offline_among(recipients).await
    }

    /// The `messenger_writer_queue_depth` gauge: sends queued or being stored, in all lanes.
    fn report_queue_depth(&self) {
        metrics::gauge!("messenger_writer_queue_depth").set(self.unfinished.load(Ordering::SeqCst) as f64);
    }

    /// Stores one send in a transaction of its own. A client id that another writer
    /// stored meanwhile fails the first attempt; the second finds that message.
    async fn store_alone(&mut self, request: (UserId, &NewMessage)) -> Result<Sent, DomainError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let offline = self.offline_recipients(&[request]).await;
            match messages::store_batch(&self.db, &mut self.participants, &[request], &offline).await {
                Ok(mut outcomes) => {
                    return outcomes.pop().unwrap_or_else(|| Err(DomainError::internal("a send had no outcome")));
                }
                Err(error) if attempts < 2 && is_unique_violation(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// What the sockets hear about one send.
fn event_of(job: &Job, outcome: &Result<Sent, DomainError>) -> Option<Event> {
    match outcome {
        Ok(sent) if sent.created => Some(Event::MessageStored {
            message: sent.message.clone(),
            participants: sent.participants,
            origin: job.origin,
        }),
        Ok(sent) => job.origin.map(|origin| Event::Resent { message: sent.message.clone(), origin }),
        Err(error) => job.origin.map(|origin| Event::SendFailed {
            client_id: job.message.client_id.as_str().to_owned(),
            error: super::report_ref(error),
            origin,
        }),
    }
}
