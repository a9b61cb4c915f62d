//! Pairs of sockets, a sender and a receiver per chat, and the measurements on them.
//!
//! Per pair there are three tasks: the sender's writer, the sender's reader (acks, busy
//! errors) and the receiver. Each owns its figures and hands them back when it ends; the
//! only shared state is a per-pair window (a semaphore) and two counters the coordinator
//! polls to end the drain early. Both ends of a message live in this process, so the send
//! instant (nanoseconds on one monotonic clock) travels inside the message text.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::sleep;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::api::{self, Buffers, Ws, WsTarget};
use crate::util::{self, CpuMeter};

/// One chat: who sends, who receives.
#[derive(Clone, Debug)]
pub struct PairSpec {
    /// The chat the sender posts to.
    pub chat_id: i64,
    /// The sender's socket.
    pub sender: WsTarget,
    /// The receiver's socket.
    pub receiver: WsTarget,
}

/// How senders pace themselves.
#[derive(Clone, Copy, Debug)]
pub enum Pacing {
    /// As fast as acks allow, with up to this many unacknowledged sends per sender.
    Window(usize),
    /// A fixed total rate spread evenly over the pairs, on a schedule; latency counts from
    /// the scheduled instant (no coordinated omission). `max_in_flight` bounds each sender.
    Rate {
        /// Messages per second, all pairs together.
        per_second: f64,
        /// Unacknowledged sends per sender before it waits.
        max_in_flight: usize,
    },
}

/// A traffic run.
#[derive(Clone, Debug)]
pub struct TrafficConfig {
    /// Pacing of the senders.
    pub pacing: Pacing,
    /// How long senders start new messages.
    pub duration: Duration,
    /// How long to wait afterwards for acks and deliveries still under way.
    pub drain: Duration,
    /// Length of each message text.
    pub text_bytes: usize,
    /// The server's pid, for its CPU and memory figures.
    pub server_pid: Option<u32>,
}

/// What a run measured, all pairs merged.
pub struct TrafficResult {
    /// The send interval actually used, in seconds.
    pub duration_s: f64,
    /// How long the drain took, in seconds.
    pub drain_s: f64,
    /// Distinct messages written (retries not counted again).
    pub sent: u64,
    /// Distinct messages acknowledged.
    pub acked: u64,
    /// Distinct messages the receivers read.
    pub received: u64,
    /// Received by the peer within the send interval.
    pub delivered_in_window: u64,
    /// Acknowledged within the send interval.
    pub acked_in_window: u64,
    /// Acknowledged but never received.
    pub lost: u64,
    /// Received but never acknowledged.
    pub received_unacked: u64,
    /// Written but neither acknowledged nor refused by the end of the drain.
    pub unanswered: u64,
    /// Messages a receiver read more than once (by client_id).
    pub duplicated: u64,
    /// A receiver saw a seq beyond previous + 1.
    pub gaps: u64,
    /// A receiver saw a seq at or below the previous one (not a duplicate).
    pub reorders: u64,
    /// Acks for a client_id already acknowledged.
    pub duplicate_acks: u64,
    /// `busy` errors, each followed by a retry.
    pub busy_retries: u64,
    /// Other errors on sends.
    pub errors: u64,
    /// Error codes and how often.
    pub error_codes: BTreeMap<String, u64>,
    /// Frames a receiver could not make sense of, or from another chat.
    pub stray_frames: u64,
    /// Sockets that the server closed (or that broke) before the end.
    pub sockets_closed: u64,
    /// Send (or scheduled send) to the peer's read, microseconds.
    pub latency: Histogram<u64>,
    /// The actual write of the frame to the peer's read, microseconds (differs from
    /// `latency` only when the sender fell behind its schedule, or by timer granularity).
    pub write_latency: Histogram<u64>,
    /// Send (or scheduled send) to the ack, microseconds.
    pub ack_latency: Histogram<u64>,
    /// Server CPU during the send interval, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// loadgen's own CPU during the send interval (the relay's included when it runs here).
    pub loadgen_cpu_pct: Option<f64>,
    /// Server memory at the end of the send interval, KiB.
    pub server_rss_kib: Option<u64>,
}

impl TrafficResult {
    /// Messages delivered per second over the send interval.
    pub fn delivered_per_s(&self) -> f64 {
        self.delivered_in_window as f64 / self.duration_s.max(1e-9)
    }

    /// Acks per second over the send interval.
    pub fn acked_per_s(&self) -> f64 {
        self.acked_in_window as f64 / self.duration_s.max(1e-9)
    }
}

/// A latency histogram in microseconds, from 1 µs to an hour, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Sockets opened at once while setting up.
const CONNECT_CONCURRENCY: usize = 32;
/// Frames written before one flush.
const MAX_BATCH: usize = 64;
/// Wait before resending after `busy`.
const RETRY_DELAY: Duration = Duration::from_millis(5);
/// A paced sender wakes this much before a send is due: tokio's timer fires up to a
/// millisecond late, which would otherwise count as latency. A send written early is
/// measured from its write.
const EARLY: Duration = Duration::from_millis(1);
/// Pause between the last socket opening and the first send.
const START_DELAY: Duration = Duration::from_millis(200);
/// Largest message number accepted from the wire (guards the bitmaps against garbage).
const MAX_MESSAGE_NUMBER: u64 = 50_000_000;

struct Progress {
    acked: AtomicU64,
    received: AtomicU64,
    window: Semaphore,
    window_size: usize,
    dead: AtomicBool,
}

impl Progress {
    fn settled(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
            || (self.window.available_permits() >= self.window_size
                && self.received.load(Ordering::Relaxed) >= self.acked.load(Ordering::Relaxed))
    }
}

#[derive(Clone, Copy)]
struct Clock {
    start: Instant,
    send_end: Instant,
    start_ns: u64,
    send_end_ns: u64,
}

impl Clock {
    fn in_window(&self, ns: u64) -> bool {
        (self.start_ns..=self.send_end_ns).contains(&ns)
    }
}

/// Opens every pair's sockets (receivers first), runs the traffic, and merges the figures.
pub async fn run(pairs: &[PairSpec], config: &TrafficConfig) -> anyhow::Result<TrafficResult> {
    let opened = Instant::now();
    let sockets: Vec<(Ws, Ws)> = futures::stream::iter(pairs.iter())
        .map(|pair| async move {
            let receiver = api::connect(&pair.receiver, Buffers::Traffic).await.context("receiver socket")?;
            let sender = api::connect(&pair.sender, Buffers::Traffic).await.context("sender socket")?;
            anyhow::Ok((sender, receiver))
        })
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await?;
    eprintln!("  {} sockets open ({:.1} s)", sockets.len() * 2, opened.elapsed().as_secs_f64());

    let (window, rate) = match config.pacing {
        Pacing::Window(w) => (w.max(1), None),
        Pacing::Rate { per_second, max_in_flight } => (max_in_flight.max(1), Some(per_second)),
    };
    let start = Instant::now() + START_DELAY;
    let send_end = start + config.duration;
    let clock = Clock { start, send_end, start_ns: util::ns_of(start), send_end_ns: util::ns_of(send_end) };
    let stop = CancellationToken::new();
    let pad = "x".repeat(config.text_bytes.clamp(1, 4000));
    let count = pairs.len().max(1);

    let mut progress = Vec::with_capacity(pairs.len());
    let mut tasks = Vec::with_capacity(pairs.len());
    for (i, (pair, (sender, receiver))) in pairs.iter().zip(sockets).enumerate() {
        let p = Arc::new(Progress {
            acked: AtomicU64::new(0),
            received: AtomicU64::new(0),
            window: Semaphore::new(window),
            window_size: window,
            dead: AtomicBool::new(false),
        });
        progress.push(p.clone());
        let schedule = rate.map(|per_second| {
            // Each sender sends every `count / rate` seconds; pair i starts i/rate seconds in.
            let interval = count as f64 / per_second;
            let offset = Duration::from_nanos((i as f64 * 1e9 / per_second).round() as u64);
            Schedule { first: start + offset, interval_s: interval }
        });
        let (retry_tx, retry_rx) = mpsc::unbounded_channel();
        let (sink, stream) = sender.split();
        let writer = tokio::spawn(writer(
            sink,
            WriterSpec { chat_id: pair.chat_id, clock, schedule, pad: pad.clone() },
            p.clone(),
            retry_rx,
            stop.clone(),
        ));
        let acks = tokio::spawn(sender_reader(stream, p.clone(), retry_tx, stop.clone(), clock));
        let receive = tokio::spawn(receiver_task(receiver, pair.chat_id, p, stop.clone(), clock));
        tasks.push((writer, acks, receive));
    }

    // The send interval.
    until(start).await;
    let server_cpu = config.server_pid.and_then(CpuMeter::start);
    let own_cpu = CpuMeter::start(std::process::id());
    until(send_end).await;
    let server_cpu_pct = server_cpu.and_then(|m| m.percent());
    let loadgen_cpu_pct = own_cpu.and_then(|m| m.percent());
    let server_rss_kib = config.server_pid.and_then(util::rss_kib);

    // The drain: until every pair is settled, or the drain period is over.
    let drain_end = send_end + config.drain;
    while Instant::now() < drain_end && !progress.iter().all(|p| p.settled()) {
        sleep(Duration::from_millis(20)).await;
    }
    let drain_s = send_end.elapsed().as_secs_f64();
    stop.cancel();

    let mut result = TrafficResult {
        duration_s: config.duration.as_secs_f64(),
        drain_s,
        sent: 0,
        acked: 0,
        received: 0,
        delivered_in_window: 0,
        acked_in_window: 0,
        lost: 0,
        received_unacked: 0,
        unanswered: 0,
        duplicated: 0,
        gaps: 0,
        reorders: 0,
        duplicate_acks: 0,
        busy_retries: 0,
        errors: 0,
        error_codes: BTreeMap::new(),
        stray_frames: 0,
        sockets_closed: 0,
        latency: histogram(),
        write_latency: histogram(),
        ack_latency: histogram(),
        server_cpu_pct,
        loadgen_cpu_pct,
        server_rss_kib,
    };
    for (writer, acks, receive) in tasks {
        let w = writer.await.context("writer task")?;
        let a = acks.await.context("ack reader task")?;
        let r = receive.await.context("receiver task")?;
        result.merge(&w, &a, &r);
    }
    Ok(result)
}

impl TrafficResult {
    fn merge(&mut self, w: &WriterStats, a: &AckStats, r: &ReceiverStats) {
        let got = |bits: &[bool], n: usize| bits.get(n).copied().unwrap_or(false);
        for n in 0..w.sent as usize {
            let (acked, refused, received) = (got(&a.acked, n), got(&a.refused, n), got(&r.received, n));
            self.lost += u64::from(acked && !received);
            self.received_unacked += u64::from(received && !acked);
            self.unanswered += u64::from(!acked && !refused);
        }
        self.sent += w.sent;
        self.acked += a.acks;
        self.received += r.count;
        self.delivered_in_window += r.in_window;
        self.acked_in_window += a.in_window;
        self.duplicated += r.duplicates;
        self.gaps += r.gaps;
        self.reorders += r.reorders;
        self.duplicate_acks += a.duplicate_acks;
        self.busy_retries += a.busy;
        self.errors += a.errors;
        for (code, n) in &a.error_codes {
            *self.error_codes.entry(code.clone()).or_default() += n;
        }
        self.stray_frames += r.stray;
        self.sockets_closed += u64::from(w.closed) + u64::from(a.closed) + u64::from(r.closed);
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&r.latency);
        let _ = self.write_latency.add(&r.write_latency);
        let _ = self.ack_latency.add(&a.latency);
    }
}

// ---- wire frames (only the fields used) ----

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<WireMessage<'a>>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireMessage<'a> {
    chat_id: i64,
    seq: i64,
    #[serde(borrow)]
    client_id: Cow<'a, str>,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

#[derive(Deserialize)]
struct WireError {
    code: String,
}

fn until(instant: Instant) -> tokio::time::Sleep {
    tokio::time::sleep_until(instant.into())
}

/// `m17` → 17.
fn message_number(client_id: &str) -> Option<u64> {
    client_id.strip_prefix('m')?.parse().ok().filter(|n| *n < MAX_MESSAGE_NUMBER)
}

/// The instants written into a text by [`send_frame`]: when it was due, when it was written.
fn stamps_of(text: &str) -> Option<(u64, u64)> {
    let mut words = text.split(' ').skip(1);
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

/// A `send` frame for message `n` stamped with the instants it was due and written (ns
/// since the epoch), its text padded to the configured length.
fn send_frame(chat_id: i64, n: u64, (due, written): (u64, u64), pad: &str) -> String {
    let head = format!("{n} {due} {written} ");
    let fill = &pad[..pad.len().saturating_sub(head.len())];
    format!(r#"{{"type":"send","chat_id":{chat_id},"client_id":"m{n}","text":"{head}{fill}"}}"#)
}

fn latency_us(from_ns: u64, to_ns: u64) -> u64 {
    (to_ns.saturating_sub(from_ns) / 1000).max(1)
}

fn mark(bits: &mut Vec<bool>, n: u64) -> bool {
    let n = n as usize;
    if bits.len() <= n {
        bits.resize(n + 1, false);
    }
    std::mem::replace(&mut bits[n], true)
}

// ---- the sender's writer ----

#[derive(Clone, Copy)]
struct Schedule {
    first: Instant,
    interval_s: f64,
}

impl Schedule {
    fn due(&self, k: u64) -> Instant {
        // Whole nanoseconds, so that float rounding cannot slip one more send before the end.
        self.first + Duration::from_nanos((k as f64 * self.interval_s * 1e9).round() as u64)
    }
}

struct WriterSpec {
    chat_id: i64,
    clock: Clock,
    schedule: Option<Schedule>,
    pad: String,
}

#[derive(Default)]
struct WriterStats {
    sent: u64,
    closed: bool,
}

async fn writer(
    mut sink: SplitSink<Ws, Message>,
    spec: WriterSpec,
    progress: Arc<Progress>,
    mut retries: mpsc::UnboundedReceiver<u64>,
    stop: CancellationToken,
) -> WriterStats {
    let mut stats = WriterStats::default();
    let mut stamps: Vec<(u64, u64)> = Vec::new();
    let mut pending: Vec<u64> = Vec::new();
    let mut k: u64 = 0;
    let send_end = spec.clock.send_end;
    tokio::select! {
        () = stop.cancelled() => return stats,
        () = until(spec.clock.start) => {}
    }
    loop {
        while let Ok(n) = retries.try_recv() {
            pending.push(n);
        }
        if !pending.is_empty() {
            // The server said busy: give it a moment, then resend the same frames.
            tokio::select! {
                () = stop.cancelled() => break,
                () = sleep(RETRY_DELAY) => {}
            }
            while let Ok(n) = retries.try_recv() {
                pending.push(n);
            }
            let mut failed = false;
            for n in pending.drain(..) {
                let Some(&ts) = stamps.get(n as usize) else { continue };
                if sink.feed(Message::text(send_frame(spec.chat_id, n, ts, &spec.pad))).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed || sink.flush().await.is_err() {
                stats.closed = true;
                break;
            }
            continue;
        }
        let due = spec.schedule.map_or_else(Instant::now, |s| s.due(k));
        if due >= send_end || Instant::now() >= send_end {
            // Sending is over; only retries from here on.
            tokio::select! {
                () = stop.cancelled() => break,
                n = retries.recv() => match n {
                    Some(n) => pending.push(n),
                    None => break,
                },
            }
            continue;
        }
        // Wait until the next send is due and the window has room for it.
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            n = retries.recv() => {
                match n {
                    Some(n) => pending.push(n),
                    None => break,
                }
                continue;
            }
            () = until(send_end) => continue,
            permit = async {
                until(due.checked_sub(EARLY).unwrap_or(due)).await;
                progress.window.acquire().await
            } => match permit {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            },
        }
        // Send this one, and any others already due that the window allows, then flush once.
        let mut batch = 0;
        let mut failed = false;
        loop {
            let now = util::now_ns();
            // Measured from when it was due, or from its write when that came first.
            let ts = (spec.schedule.map_or(now, |s| util::ns_of(s.due(k)).min(now)), now);
            stamps.push(ts);
            let frame = send_frame(spec.chat_id, k, ts, &spec.pad);
            k += 1;
            batch += 1;
            if sink.feed(Message::text(frame)).await.is_err() {
                failed = true;
                break;
            }
            if batch >= MAX_BATCH {
                break;
            }
            let now = Instant::now();
            let next_due = spec.schedule.map_or(now, |s| s.due(k));
            if next_due > now + EARLY || next_due >= send_end || now >= send_end {
                break;
            }
            match progress.window.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            }
        }
        if failed || sink.flush().await.is_err() {
            stats.closed = true;
            break;
        }
    }
    stats.sent = k;
    if stats.closed && !stop.is_cancelled() {
        progress.dead.store(true, Ordering::Relaxed);
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    stats
}

// ---- the sender's reader: acks and errors ----

struct AckStats {
    acked: Vec<bool>,
    refused: Vec<bool>,
    acks: u64,
    in_window: u64,
    duplicate_acks: u64,
    busy: u64,
    errors: u64,
    error_codes: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    closed: bool,
}

async fn sender_reader(
    mut stream: SplitStream<Ws>,
    progress: Arc<Progress>,
    retries: mpsc::UnboundedSender<u64>,
    stop: CancellationToken,
    clock: Clock,
) -> AckStats {
    let mut stats = AckStats {
        acked: Vec::new(),
        refused: Vec::new(),
        acks: 0,
        in_window: 0,
        duplicate_acks: 0,
        busy: 0,
        errors: 0,
        error_codes: BTreeMap::new(),
        latency: histogram(),
        closed: false,
    };
    while let Some(text) = next_text(&stop, &mut stream, &mut stats.closed).await {
        let text = text.as_str();
        // The sender's own copy of its message (older servers send one): not counted here.
        if text.starts_with(r#"{"type":"message""#) {
            continue;
        }
        let now = util::now_ns();
        let Ok(frame) = serde_json::from_str::<Incoming<'_>>(text) else {
            *stats.error_codes.entry("unreadable_frame".into()).or_default() += 1;
            stats.errors += 1;
            continue;
        };
        match frame.kind.as_ref() {
            "ack" => {
                let Some(n) = frame.client_id.as_deref().and_then(message_number) else {
                    *stats.error_codes.entry("ack_without_client_id".into()).or_default() += 1;
                    stats.errors += 1;
                    continue;
                };
                if mark(&mut stats.acked, n) {
                    stats.duplicate_acks += 1;
                    continue;
                }
                stats.acks += 1;
                stats.in_window += u64::from(clock.in_window(now));
                if let Some((due, _)) = frame.message.as_ref().and_then(|m| stamps_of(&m.text)) {
                    stats.latency.saturating_record(latency_us(due, now));
                }
                progress.acked.fetch_add(1, Ordering::Relaxed);
                progress.window.add_permits(1);
            }
            "error" => {
                let code = frame.error.map_or_else(|| "unknown".to_owned(), |e| e.code);
                let n = frame.client_id.as_deref().and_then(message_number);
                if code == "busy"
                    && let Some(n) = n
                {
                    stats.busy += 1;
                    // The writer resends it and keeps its window slot meanwhile.
                    let _ = retries.send(n);
                    continue;
                }
                stats.errors += 1;
                *stats.error_codes.entry(code).or_default() += 1;
                if let Some(n) = n {
                    mark(&mut stats.refused, n);
                    progress.window.add_permits(1);
                }
            }
            _ => {}
        }
    }
    if stats.closed {
        progress.dead.store(true, Ordering::Relaxed);
    }
    stats
}

// ---- the receiver ----

struct ReceiverStats {
    received: Vec<bool>,
    count: u64,
    in_window: u64,
    duplicates: u64,
    gaps: u64,
    reorders: u64,
    stray: u64,
    latency: Histogram<u64>,
    write_latency: Histogram<u64>,
    closed: bool,
}

async fn receiver_task(
    mut ws: Ws,
    chat_id: i64,
    progress: Arc<Progress>,
    stop: CancellationToken,
    clock: Clock,
) -> ReceiverStats {
    let mut stats = ReceiverStats {
        received: Vec::new(),
        count: 0,
        in_window: 0,
        duplicates: 0,
        gaps: 0,
        reorders: 0,
        stray: 0,
        latency: histogram(),
        write_latency: histogram(),
        closed: false,
    };
    // Chats are fresh: the first message has seq 1.
    let mut last_seq: i64 = 0;
    while let Some(text) = next_text(&stop, &mut ws, &mut stats.closed).await {
        let now = util::now_ns();
        let Ok(frame) = serde_json::from_str::<Incoming<'_>>(text.as_str()) else {
            stats.stray += 1;
            continue;
        };
        if frame.kind != "message" {
            continue;
        }
        let Some(message) = frame.message.filter(|m| m.chat_id == chat_id) else {
            stats.stray += 1;
            continue;
        };
        let Some(n) = message_number(&message.client_id) else {
            stats.stray += 1;
            continue;
        };
        if mark(&mut stats.received, n) {
            stats.duplicates += 1;
            continue;
        }
        stats.count += 1;
        stats.in_window += u64::from(clock.in_window(now));
        if let Some((due, written)) = stamps_of(&message.text) {
            stats.latency.saturating_record(latency_us(due, now));
            stats.write_latency.saturating_record(latency_us(written, now));
        }
        if message.seq == last_seq + 1 {
            last_seq = message.seq;
        } else if message.seq > last_seq {
            stats.gaps += 1;
            last_seq = message.seq;
        } else {
            stats.reorders += 1;
        }
        progress.received.fetch_add(1, Ordering::Relaxed);
    }
    if stats.closed {
        progress.dead.store(true, Ordering::Relaxed);
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    stats
}

/// The next text frame, or `None` once `stop` fires or the socket ends (then `closed` is set).
async fn next_text<S>(
    stop: &CancellationToken,
    stream: &mut S,
    closed: &mut bool,
) -> Option<tokio_tungstenite::tungstenite::Utf8Bytes>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::select! {
            biased;
            () = stop.cancelled() => return None,
            frame = stream.next() => frame,
        };
        match frame {
            Some(Ok(Message::Text(text))) => return Some(text),
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                *closed = true;
                return None;
            }
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_frame_carries_its_number_and_stamp_and_has_the_asked_length() {
        let pad = "x".repeat(64);
        let frame = send_frame(7, 42, (123_456, 123_999), &pad);
        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(value["type"], "send");
        assert_eq!(value["chat_id"], 7);
        assert_eq!(value["client_id"], "m42");
        let text = value["text"].as_str().unwrap();
        assert_eq!(text.len(), 64);
        assert_eq!(stamps_of(text), Some((123_456, 123_999)));
        assert_eq!(message_number("m42"), Some(42));
        assert_eq!(message_number("x42"), None);
    }

    #[test]
    fn a_long_head_is_not_cut() {
        let frame = send_frame(1, 1, (u64::MAX, 1), "xx");
        assert!(frame.contains(&u64::MAX.to_string()));
    }

    #[test]
    fn frames_parse_with_borrowed_fields() {
        let ack = r#"{"type":"ack","client_id":"m3","message":{"id":9,"chat_id":2,"seq":4,"sender_id":1,"client_id":"m3","text":"3 100 101 xx","created_at":"2024-01-01T00:00:00Z"}}"#;
        let frame: Incoming<'_> = serde_json::from_str(ack).unwrap();
        assert_eq!(frame.kind, "ack");
        assert_eq!(frame.client_id.as_deref(), Some("m3"));
        let message = frame.message.unwrap();
        assert_eq!((message.chat_id, message.seq), (2, 4));
        assert_eq!(stamps_of(&message.text), Some((100, 101)));
        let error =
            r#"{"type":"error","client_id":"m5","error":{"kind":"unavailable","code":"busy","message":"later"}}"#;
        let frame: Incoming<'_> = serde_json::from_str(error).unwrap();
        assert_eq!(frame.error.unwrap().code, "busy");
    }

    #[test]
    fn marking_twice_reports_the_duplicate() {
        let mut bits = Vec::new();
        assert!(!mark(&mut bits, 5));
        assert!(mark(&mut bits, 5));
        assert!(!mark(&mut bits, 0));
    }
}
