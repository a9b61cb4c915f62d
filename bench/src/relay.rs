//! The baseline: a bare tokio-tungstenite relay with the messenger's frames and no
//! database. `/r/N` is pair N's receiver, `/s/N` its sender; each `send` is parsed, acked to
//! the sender and forwarded as a `message` frame to the receiver, with a per-pair seq.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_util::sync::CancellationToken;

/// Frames waiting for a receiver before the sender waits.
const RECEIVER_QUEUE: usize = 1024;
/// The relay stores nothing, so every message gets this time.
const CREATED_AT: &str = "2025-01-01T00:00:00.000000Z";

type Receivers = Arc<Mutex<HashMap<u64, mpsc::Sender<String>>>>;

/// Misbehaviour on purpose, so that tests can check loadgen notices it. All off normally.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Every Nth send frame gets `busy` the first time its client_id is seen.
    pub busy_every: u64,
    /// Every Nth message is acked but not forwarded.
    pub drop_every: u64,
    /// Every Nth message is forwarded twice.
    pub duplicate_every: u64,
}

/// A running relay.
pub struct Relay {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stop: CancellationToken,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Faults::default()).await
    }

    /// Like [`Relay::start`], misbehaving as told.
    pub async fn start_with(faults: Faults) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("relay listener")?;
        let port = listener.local_addr()?.port();
        let stop = CancellationToken::new();
        let receivers: Receivers = Arc::default();
        let accept = tokio::spawn({
            let stop = stop.clone();
            async move {
                loop {
                    let accepted = tokio::select! {
                        () = stop.cancelled() => break,
                        accepted = listener.accept() => accepted,
                    };
                    let Ok((stream, _)) = accepted else { continue };
                    tokio::spawn(connection(stream, receivers.clone(), faults, stop.clone()));
                }
            }
        });
        Ok(Self { port, stop, accept })
    }

    /// The socket address of pair `pair`'s receiver or sender.
    pub fn url(&self, role: char, pair: usize) -> String {
        format!("ws://127.0.0.1:{}/{role}/{pair}", self.port)
    }

    /// Stops accepting and ends every connection.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.accept.await;
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame<'a> {
    Send {
        chat_id: i64,
        #[serde(borrow)]
        client_id: &'a str,
        #[serde(borrow)]
        text: &'a str,
    },
    Ping,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    id: i64,
    chat_id: i64,
    seq: i64,
    sender_id: i64,
    client_id: &'a str,
    text: &'a str,
    created_at: &'a str,
}

// The handshake callback's error type is tungstenite's, not ours to shrink.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, receivers: Receivers, faults: Faults, stop: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let callback = |request: &Request, response: Response| {
        path = request.uri().path().to_owned();
        Ok::<_, ErrorResponse>(response)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
    let mut parts = path.trim_start_matches('/').split('/');
    let role = parts.next().unwrap_or_default().to_owned();
    let Some(pair) = parts.next().and_then(|p| p.parse::<u64>().ok()) else { return };
    let user_id = i64::try_from(pair).unwrap_or(0) * 2 + if role == "s" { 1 } else { 2 };
    let hello = format!(r#"{{"type":"hello","version":1,"user":{{"id":{user_id},"name":"relay {pair}"}}}}"#);
    match role.as_str() {
        "r" => receiver(ws, pair, hello, receivers, stop).await,
        "s" => {
            let forward = receivers.lock().unwrap_or_else(|e| e.into_inner()).get(&pair).cloned();
            if let Some(forward) = forward {
                sender(ws, Sender { pair, user_id, forward, faults }, hello, stop).await;
            }
        }
        _ => {}
    }
}

async fn receiver<S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    pair: u64,
    hello: String,
    receivers: Receivers,
    stop: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<String>(RECEIVER_QUEUE);
    receivers.lock().unwrap_or_else(|e| e.into_inner()).insert(pair, tx);
    let (mut sink, mut stream) = ws.split();
    if sink.send(Message::text(hello)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if sink.feed(Message::text(frame)).await.is_err() {
                    break;
                }
                // Everything already queued goes out with one flush.
                let mut failed = false;
                while let Ok(frame) = rx.try_recv() {
                    if sink.feed(Message::text(frame)).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || sink.flush().await.is_err() {
                    break;
                }
            }
        }
    }
    receivers.lock().unwrap_or_else(|e| e.into_inner()).remove(&pair);
}

struct Sender {
    pair: u64,
    user_id: i64,
    forward: mpsc::Sender<String>,
    faults: Faults,
}

fn every(n: u64, count: u64) -> bool {
    n > 0 && count.is_multiple_of(n)
}

async fn sender<S>(mut ws: tokio_tungstenite::WebSocketStream<S>, me: Sender, hello: String, stop: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if ws.send(Message::text(hello)).await.is_err() {
        return;
    }
    let mut seq: i64 = 0;
    let mut frames: u64 = 0;
    let mut refused: HashSet<String> = HashSet::new();
    let id_base = i64::try_from(me.pair).unwrap_or(0) << 32;
    loop {
        let incoming = tokio::select! {
            () = stop.cancelled() => break,
            incoming = ws.next() => incoming,
        };
        let mut incoming = incoming;
        // Handle this frame and every one already readable, then flush the acks once.
        loop {
            let text = match incoming {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => Default::default(),
            };
            let reply = match serde_json::from_str::<ClientFrame<'_>>(text.as_str()) {
                Ok(ClientFrame::Send { chat_id, client_id, text }) => {
                    frames += 1;
                    if every(me.faults.busy_every, frames) && refused.insert(client_id.to_owned()) {
                        Some(format!(
                            r#"{{"type":"error","client_id":{},"error":{{"kind":"unavailable","code":"busy","message":"try again"}}}}"#,
                            serde_json::to_string(client_id).unwrap_or_default()
                        ))
                    } else {
                        seq += 1;
                        let message = OutMessage {
                            id: id_base | seq,
                            chat_id,
                            seq,
                            sender_id: me.user_id,
                            client_id,
                            text,
                            created_at: CREATED_AT,
                        };
                        let message = serde_json::to_string(&message).unwrap_or_default();
                        let client_id = serde_json::to_string(client_id).unwrap_or_default();
                        let copies = match seq.unsigned_abs() {
                            n if every(me.faults.drop_every, n) => 0,
                            n if every(me.faults.duplicate_every, n) => 2,
                            _ => 1,
                        };
                        for _ in 0..copies {
                            if me.forward.send(format!(r#"{{"type":"message","message":{message}}}"#)).await.is_err() {
                                return;
                            }
                        }
                        Some(format!(r#"{{"type":"ack","client_id":{client_id},"message":{message}}}"#))
                    }
                }
                Ok(ClientFrame::Ping) => Some(r#"{"type":"pong"}"#.to_owned()),
                Err(_) if text.as_str().is_empty() => None,
                Err(e) => Some(format!(
                    r#"{{"type":"error","error":{{"kind":"invalid","code":"malformed_frame","message":{}}}}}"#,
                    serde_json::to_string(&e.to_string()).unwrap_or_default()
                )),
            };
            if let Some(reply) = reply
                && ws.feed(Message::text(reply)).await.is_err()
            {
                return;
            }
            match ws.next().now_or_never() {
                Some(next) => incoming = next,
                None => break,
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::WsTarget;
    use crate::traffic::{self, Pacing, PairSpec, TrafficConfig, TrafficResult};

    async fn through(faults: Faults, pacing: Pacing) -> TrafficResult {
        crate::util::epoch();
        let relay = Relay::start_with(faults).await.unwrap();
        let pairs: Vec<PairSpec> = (0..3)
            .map(|i| PairSpec {
                chat_id: i64::try_from(i).unwrap() + 1,
                sender: WsTarget { url: relay.url('s', i), cookie: None },
                receiver: WsTarget { url: relay.url('r', i), cookie: None },
            })
            .collect();
        let config = TrafficConfig {
            pacing,
            duration: Duration::from_millis(500),
            drain: Duration::from_secs(2),
            text_bytes: 32,
            server_pid: None,
        };
        let result = traffic::run(&pairs, &config).await.unwrap();
        relay.stop().await;
        result
    }

    fn assert_clean(r: &TrafficResult) {
        assert!(r.sent > 0);
        assert_eq!((r.acked, r.received), (r.sent, r.sent), "every message acked and received");
        assert_eq!((r.lost, r.duplicated, r.gaps, r.reorders), (0, 0, 0, 0));
        assert_eq!((r.unanswered, r.received_unacked, r.errors, r.sockets_closed), (0, 0, 0, 0));
        assert_eq!(r.latency.len(), r.received);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_relay_shows_no_faults() {
        let r = through(Faults::default(), Pacing::Window(8)).await;
        assert_clean(&r);
        assert_eq!(r.busy_retries, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fixed_rate_is_kept() {
        let r = through(Faults::default(), Pacing::Rate { per_second: 600.0, max_in_flight: 100 }).await;
        assert_clean(&r);
        // 600/s for half a second.
        assert!((290..=310).contains(&r.sent), "sent {}", r.sent);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_sends_are_retried_until_stored() {
        let r = through(Faults { busy_every: 3, ..Faults::default() }, Pacing::Window(8)).await;
        assert!(r.busy_retries > 0);
        assert_clean(&r);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_messages_count_as_lost_and_gaps() {
        let r = through(Faults { drop_every: 10, ..Faults::default() }, Pacing::Window(8)).await;
        assert!(r.lost > 0);
        assert_eq!(r.lost, r.acked - r.received);
        // Each dropped message leaves a gap, except one dropped last in its chat.
        assert!(r.gaps + 3 >= r.lost && r.gaps <= r.lost, "gaps {} lost {}", r.gaps, r.lost);
        assert_eq!((r.duplicated, r.reorders), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn repeated_messages_count_as_duplicates() {
        let r = through(Faults { duplicate_every: 10, ..Faults::default() }, Pacing::Window(8)).await;
        assert!(r.duplicated > 0);
        // Every tenth seq of each chat.
        assert!(r.duplicated >= r.acked / 10 - 3 && r.duplicated <= r.acked / 10 + 3, "{}", r.duplicated);
        assert_eq!((r.lost, r.gaps, r.reorders), (0, 0, 0));
    }
}
