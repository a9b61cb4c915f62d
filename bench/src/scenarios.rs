//! The scenarios: each returns a printable block and one JSON record.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::api::{self, Account, Buffers, WsTarget};
use crate::relay::Relay;
use crate::server::Server;
use crate::traffic::{self, PairSpec, TrafficConfig, TrafficResult};
use crate::util::{self, mb, round1, round3, thousands};

/// What a scenario hands back.
pub struct Report {
    /// Lines for people.
    pub text: String,
    /// One record for scripts.
    pub json: Value,
}

/// Settings every scenario shares.
pub struct Common {
    /// HTTP client for sign-ups and chats.
    pub http: reqwest::Client,
    /// Sign-ups at once.
    pub signup_concurrency: usize,
    /// A run-unique tag for e-mail addresses.
    pub run: String,
}

/// Chats opened at once while setting up.
const CHAT_CONCURRENCY: usize = 8;

/// Opens the chat of each two accounts in turn; the first of each two sends, the second receives.
async fn messenger_pairs(common: &Common, server: &Server, accounts: &[Account]) -> anyhow::Result<Vec<PairSpec>> {
    let base = server.base.as_str();
    let started = Instant::now();
    let pairs: Vec<PairSpec> = futures::stream::iter(accounts.chunks_exact(2))
        .map(|two| async move {
            let (sender, receiver) = (&two[0], &two[1]);
            let chat_id = api::open_chat(&common.http, base, sender, receiver.id).await?;
            anyhow::Ok(PairSpec {
                chat_id,
                sender: WsTarget::messenger(base, sender),
                receiver: WsTarget::messenger(base, receiver),
            })
        })
        .buffered(CHAT_CONCURRENCY)
        .try_collect()
        .await?;
    eprintln!("  {} chats open ({:.1} s)", pairs.len(), started.elapsed().as_secs_f64());
    Ok(pairs)
}

async fn sign_up(common: &Common, server: &Server, count: usize) -> anyhow::Result<Vec<Account>> {
    let started = Instant::now();
    eprintln!("  signing up {count} users, {} at a time", common.signup_concurrency);
    let accounts =
        api::register_many(&common.http, &server.base, &common.run, count, common.signup_concurrency).await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("  {count} users signed up in {secs:.1} s ({:.0}/s)", count as f64 / secs.max(1e-9));
    Ok(accounts)
}

/// Traffic between `pairs` pairs of fresh users on the messenger.
pub async fn messenger_traffic(
    common: &Common,
    server: &Server,
    pairs: usize,
    config: &TrafficConfig,
) -> anyhow::Result<TrafficResult> {
    let accounts = sign_up(common, server, pairs * 2).await?;
    let specs = messenger_pairs(common, server, &accounts).await?;
    traffic::run(&specs, config).await
}

/// The same traffic through the in-process relay.
pub async fn relay_traffic(pairs: usize, config: &TrafficConfig) -> anyhow::Result<TrafficResult> {
    let relay = Relay::start().await?;
    let specs: Vec<PairSpec> = (0..pairs)
        .map(|i| PairSpec {
            chat_id: i64::try_from(i).unwrap_or(0) + 1,
            sender: WsTarget { url: relay.url('s', i), cookie: None },
            receiver: WsTarget { url: relay.url('r', i), cookie: None },
        })
        .collect();
    let result = traffic::run(&specs, config).await;
    relay.stop().await;
    result
}

fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

pub(crate) fn quantiles(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return Value::Null;
    }
    json!({
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "p999": ms(h.value_at_quantile(0.999)),
        "max": ms(h.max()),
        "mean": round3(h.mean() / 1000.0),
        "count": h.len(),
    })
}

pub(crate) fn quantile_line(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "no samples".into();
    }
    let q = |q: f64| format_ms(h.value_at_quantile(q));
    format!("p50 {}  p90 {}  p99 {}  p99.9 {}  max {}", q(0.50), q(0.90), q(0.99), q(0.999), format_ms(h.max()))
}

fn format_ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |x| format!("{x:.0}%"))
}

/// The block and record of a traffic scenario.
pub fn traffic_report(scenario: &str, target: &str, db: Option<&str>, params: Value, r: &TrafficResult) -> Report {
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    let setting = params
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    line(format!("== {scenario} · {target}{} · {setting} ==", db.map(|d| format!(" · {d}")).unwrap_or_default()));
    line(format!(
        "  throughput   {} msgs/s delivered ({} received by the peer within {:.0} s); acks {} /s",
        thousands(r.delivered_per_s().round() as u64),
        thousands(r.delivered_in_window),
        r.duration_s,
        thousands(r.acked_per_s().round() as u64),
    ));
    line(format!(
        "  latency      {}  (send → peer reads, n={})",
        quantile_line(&r.latency),
        thousands(r.latency.len())
    ));
    if scenario == "rate" {
        line(format!("  from write   {}  (actual write → peer reads)", quantile_line(&r.write_latency)));
    }
    line(format!("  ack latency  {}", quantile_line(&r.ack_latency)));
    line(format!(
        "  counts       sent {}  acked {}  received {}  (drain {:.1} s)",
        thousands(r.sent),
        thousands(r.acked),
        thousands(r.received),
        r.drain_s
    ));
    line(format!(
        "  faults       lost {}  duplicated {}  gaps {}  reorders {}  unanswered {}  received-unacked {}  duplicate acks {}",
        r.lost, r.duplicated, r.gaps, r.reorders, r.unanswered, r.received_unacked, r.duplicate_acks
    ));
    let codes = if r.error_codes.is_empty() { String::new() } else { format!(" {:?}", r.error_codes) };
    line(format!(
        "  server said  busy (retried) {}  errors {}{codes}  stray frames {}  sockets closed early {}",
        r.busy_retries, r.errors, r.stray_frames, r.sockets_closed
    ));
    line(format!(
        "  cpu          server {}  loadgen {} (of one core, during the send interval){}",
        pct(r.server_cpu_pct),
        pct(r.loadgen_cpu_pct),
        r.server_rss_kib.map(|k| format!("; server RSS {} MB at the end", mb(k))).unwrap_or_default()
    ));
    let json = json!({
        "scenario": scenario,
        "target": target,
        "db": db,
        "params": params,
        "msgs_per_s": r.delivered_per_s().round(),
        "acks_per_s": r.acked_per_s().round(),
        "latency_ms": quantiles(&r.latency),
        "latency_from_write_ms": quantiles(&r.write_latency),
        "ack_latency_ms": quantiles(&r.ack_latency),
        "sent": r.sent,
        "acked": r.acked,
        "received": r.received,
        "lost": r.lost,
        "duplicated": r.duplicated,
        "gaps": r.gaps,
        "reorders": r.reorders,
        "unanswered": r.unanswered,
        "received_unacked": r.received_unacked,
        "duplicate_acks": r.duplicate_acks,
        "busy_retries": r.busy_retries,
        "errors": r.errors,
        "error_codes": r.error_codes,
        "stray_frames": r.stray_frames,
        "sockets_closed": r.sockets_closed,
        "drain_s": round1(r.drain_s),
        "server_cpu_pct": r.server_cpu_pct.map(round1),
        "loadgen_cpu_pct": r.loadgen_cpu_pct.map(round1),
        "server_rss_mb": r.server_rss_kib.map(mb),
    });
    Report { text, json }
}

/// `idle`: memory per authenticated, idle socket.
pub async fn idle(
    common: &Common,
    server: &Server,
    users: usize,
    per_user: usize,
    settle: Duration,
    concurrency: usize,
) -> anyhow::Result<Report> {
    let threads = server.pid.and_then(util::threads);
    let accounts = sign_up(common, server, users).await?;
    wind_down(server, threads).await;
    let before = settled_rss(server).await;
    let total = users * per_user;
    eprintln!("  opening {total} sockets, {concurrency} at a time");
    let stop = CancellationToken::new();
    let closed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let targets = accounts.iter().flat_map(|a| std::iter::repeat_n(WsTarget::messenger(&server.base, a), per_user));
    let mut opening = futures::stream::iter(targets)
        .map(|target| async move { api::connect(&target, Buffers::Small).await })
        .buffer_unordered(concurrency.max(1));
    let mut holders = Vec::with_capacity(total);
    let mut failures = 0u64;
    let mut first_failure = None;
    while let Some(opened) = opening.next().await {
        match opened {
            Ok(mut ws) => {
                let (stop, closed) = (stop.clone(), closed.clone());
                holders.push(tokio::spawn(async move {
                    // Reading answers the server's pings; anything else is ignored.
                    loop {
                        tokio::select! {
                            () = stop.cancelled() => break,
                            frame = ws.next() => match frame {
                                Some(Ok(_)) => {}
                                _ => {
                                    closed.fetch_add(1, Ordering::Relaxed);
                                    return;
                                }
                            },
                        }
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                }));
                if holders.len().is_multiple_of(2000) {
                    eprintln!("  {} sockets open ({:.1} s)", holders.len(), started.elapsed().as_secs_f64());
                }
            }
            Err(e) => {
                failures += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let open_s = started.elapsed().as_secs_f64();
    let opened = holders.len() as u64;
    tokio::time::sleep(settle).await;
    let after = settled_rss(server).await;
    let still_open = opened - closed.load(Ordering::Relaxed);
    stop.cancel();
    for holder in holders {
        let _ = holder.await;
    }
    if opened == 0 {
        bail!("no socket opened: {}", first_failure.unwrap_or_default());
    }
    let per_socket = match (before, after) {
        (Some(b), Some(a)) => Some(round1((a as f64 - b as f64) / opened as f64)),
        _ => None,
    };
    let mut text = format!("== idle · messenger · {} · {users} users × {per_user} sockets ==\n", server.db);
    text.push_str(&format!(
        "  sockets      {} open, {failures} failed, in {open_s:.1} s ({:.0}/s); {} still open after {:.0} s\n",
        thousands(opened),
        opened as f64 / open_s.max(1e-9),
        thousands(still_open),
        settle.as_secs_f64()
    ));
    if let Some(why) = &first_failure {
        text.push_str(&format!("  first failure: {why}\n"));
    }
    match (before, after, per_socket) {
        (Some(b), Some(a), Some(p)) => text.push_str(&format!(
            "  server RSS   {} MB before, {} MB with the sockets open → {p} KiB per idle socket\n",
            mb(b),
            mb(a)
        )),
        _ => text.push_str("  server RSS   unknown (no pid: pass --pid with --url)\n"),
    }
    let json = json!({
        "scenario": "idle",
        "target": "messenger",
        "db": server.db,
        "params": { "users": users, "sockets_per_user": per_user, "settle_s": settle.as_secs_f64() },
        "sockets_open": opened,
        "sockets_failed": failures,
        "sockets_still_open": still_open,
        "open_s": round1(open_s),
        "rss_before_mb": before.map(mb),
        "rss_after_mb": after.map(mb),
        "kib_per_socket": per_socket,
    });
    Ok(Report { text, json })
}

/// Settings of the `memory` scenario.
pub struct MemoryPlan {
    /// Users signed up.
    pub users: usize,
    /// The traffic that follows, on the first `2 * pairs` of them.
    pub pairs: usize,
    /// Its settings.
    pub traffic: TrafficConfig,
    /// Quiet time before the last reading.
    pub settle: Duration,
}

/// `memory`: server RSS fresh, after sign-ups, under load, and after the load.
pub async fn memory(common: &Common, server: &Server, plan: &MemoryPlan) -> anyhow::Result<Report> {
    let users = plan.users.max(plan.pairs * 2);
    let pid = server.pid.context("the server's memory is unknown (pass --pid with --url)")?;
    let fresh = settled_rss(server).await.context("reading the server's memory")?;
    let threads = util::threads(pid);
    let sampler = util::PeakRss::start(pid);
    let accounts = sign_up(common, server, users).await?;
    let signups_peak = sampler.finish().await;
    wind_down(server, threads).await;
    let after_signups = settled_rss(server).await.context("reading the server's memory")?;
    let specs = messenger_pairs(common, server, &accounts[..plan.pairs * 2]).await?;
    let sampler = util::PeakRss::start(pid);
    let load = traffic::run(&specs, &plan.traffic).await;
    let load_peak = sampler.finish().await;
    let load = load?;
    let end_of_load = load.server_rss_kib.unwrap_or(0);
    tokio::time::sleep(plan.settle).await;
    let after = settled_rss(server).await.context("reading the server's memory")?;

    let mut text = format!(
        "== memory · messenger · {} · {users} users, then {} pairs for {:.0} s ==\n",
        server.db,
        plan.pairs,
        plan.traffic.duration.as_secs_f64()
    );
    text.push_str(&format!("  fresh server            {:>7.1} MB\n", mb(fresh)));
    text.push_str(&format!(
        "  after {users:>5} sign-ups     {:>7.1} MB settled, {:.1} MB peak while signing up\n",
        mb(after_signups),
        mb(signups_peak)
    ));
    text.push_str(&format!(
        "  under load              {:>7.1} MB at the end, {:.1} MB peak ({} msgs/s delivered)\n",
        mb(end_of_load),
        mb(load_peak),
        thousands(load.delivered_per_s().round() as u64)
    ));
    text.push_str(&format!(
        "  {:>2.0} s after the load     {:>7.1} MB settled\n",
        plan.settle.as_secs_f64(),
        mb(after)
    ));
    let json = json!({
        "scenario": "memory",
        "target": "messenger",
        "db": server.db,
        "params": {
            "users": users,
            "pairs": plan.pairs,
            "duration_s": plan.traffic.duration.as_secs_f64(),
            "settle_s": plan.settle.as_secs_f64(),
        },
        "rss_fresh_mb": mb(fresh),
        "rss_signups_peak_mb": mb(signups_peak),
        "rss_after_signups_mb": mb(after_signups),
        "rss_end_of_load_mb": mb(end_of_load),
        "rss_load_peak_mb": mb(load_peak),
        "rss_after_load_mb": mb(after),
        "load_msgs_per_s": load.delivered_per_s().round(),
        "load_lost": load.lost,
        "load_errors": load.errors,
    });
    Ok(Report { text, json })
}

/// How long to wait for the threads that hashed passwords to go.
const WIND_DOWN_MAX: Duration = Duration::from_secs(20);

/// Waits until the server has no more threads than it had before the sign-ups: passwords are
/// hashed on tokio's blocking threads, which linger for 10 s, and the allocator gives back
/// their memory only when they end. Without this, a reading taken soon after the sign-ups
/// holds memory about to be returned.
pub(crate) async fn wind_down(server: &Server, threads_before: Option<u64>) {
    let (Some(pid), Some(before)) = (server.pid, threads_before) else { return };
    let started = Instant::now();
    while util::threads(pid).is_some_and(|now| now > before) && started.elapsed() < WIND_DOWN_MAX {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let waited = started.elapsed().as_secs_f64();
    if waited > 0.5 {
        eprintln!("  waited {waited:.1} s for the server's extra threads to end");
    }
}

/// How long a memory reading waits for the figure to settle.
const SETTLE_MAX: Duration = Duration::from_secs(15);

pub(crate) async fn settled_rss(server: &Server) -> Option<u64> {
    util::settled_rss_kib(server.pid?, SETTLE_MAX).await
}

/// Settings of the `chats-page` scenario.
pub struct ChatsPagePlan {
    /// Chats of the one user, each with a peer of its own.
    pub chats: usize,
    /// Chats per page fetched.
    pub limit: usize,
    /// Timed requests of each of the two pages.
    pub samples: usize,
}

/// Requests of the `chats-page` set-up under way at once.
const SETUP_CONCURRENCY: usize = 16;
/// Page size of the walk through the whole list.
const WALK_LIMIT: usize = 100;
/// Untimed requests of each page before the timed ones.
const WARM_UP: usize = 10;

/// What one chat of the `chats-page` user holds, by its position in the creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Talk {
    /// Nothing.
    Empty,
    /// Two messages from the peer, unread.
    TwoUnread,
    /// One message from the owner.
    Mine,
    /// One message from the peer, read.
    Read,
    /// One message from the peer, and the owner's answer (the peer's stays unread).
    Answered,
}

impl Talk {
    fn of(i: usize) -> Self {
        match i % 6 {
            1 => Self::TwoUnread,
            2 => Self::Mine,
            4 => Self::Read,
            5 => Self::Answered,
            _ => Self::Empty,
        }
    }

    /// The unread count the owner must see.
    fn unread(self) -> u64 {
        match self {
            Self::TwoUnread => 2,
            Self::Answered => 1,
            Self::Empty | Self::Mine | Self::Read => 0,
        }
    }
}

/// `POST` JSON as `who`; fails unless the answer is a success.
async fn post_as(http: &reqwest::Client, base: &str, who: &Account, path: &str, body: Value) -> anyhow::Result<()> {
    let response = http
        .post(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, &who.cookie)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {path}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("POST {path} answered {status}: {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

/// `GET /api/v1/chats?…` as `who`: the page, and how long it took until its last byte.
async fn chats_page_of(http: &reqwest::Client, base: &str, who: &Account, query: &str) -> anyhow::Result<(Value, u64)> {
    let started = Instant::now();
    let response = http
        .get(format!("{base}/api/v1/chats?{query}"))
        .header(reqwest::header::COOKIE, &who.cookie)
        .send()
        .await
        .context("GET /api/v1/chats")?;
    let status = response.status();
    let body = response.bytes().await.context("GET /api/v1/chats")?;
    let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
    if status != reqwest::StatusCode::OK {
        bail!("GET /api/v1/chats?{query} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok((serde_json::from_slice(&body).context("a page of chats")?, took))
}

/// An RFC 3339 time in UTC (`…T12:00:00.5Z`, the fraction 0 to 9 digits long) as text that
/// sorts in time order: the fraction padded to nine digits.
fn sortable_time(rfc3339: &str) -> String {
    let bare = rfc3339.trim_end_matches('Z');
    let (seconds, fraction) = bare.split_once('.').unwrap_or((bare, ""));
    format!("{seconds}.{fraction:0<9}")
}

/// The conversation of one chat of the `chats-page` user.
async fn talk(
    http: &reqwest::Client,
    base: &str,
    owner: &Account,
    peer: &Account,
    chat: i64,
    how: Talk,
) -> anyhow::Result<usize> {
    let messages = format!("/api/v1/chats/{chat}/messages");
    let say = async |who: &Account, n: u32| {
        let body = json!({ "text": format!("message {n} in chat {chat}"), "client_id": format!("cp-{chat}-{n}") });
        post_as(http, base, who, &messages, body).await
    };
    match how {
        Talk::Empty => return Ok(0),
        Talk::TwoUnread => {
            say(peer, 1).await?;
            say(peer, 2).await?;
        }
        Talk::Mine => say(owner, 1).await?,
        Talk::Read => {
            say(peer, 1).await?;
            post_as(http, base, owner, &format!("/api/v1/chats/{chat}/read"), json!({ "seq": 1 })).await?;
        }
        Talk::Answered => {
            say(peer, 1).await?;
            say(owner, 2).await?;
        }
    }
    Ok(if matches!(how, Talk::Mine | Talk::Read) { 1 } else { 2 })
}

/// `chats-page`: one user with `chats` chats, each with a peer of its own (a third of them
/// empty, the others with a message or two, some unread, their activity in an order unlike
/// their creation), all made through the API. Walks the whole list once, checking that every
/// chat comes once, in order, with its unread count; then times `samples` requests, one at a
/// time, of the first page and of the page that starts nine tenths down the list.
pub async fn chats_page(common: &Common, server: &Server, plan: &ChatsPagePlan) -> anyhow::Result<Report> {
    let (http, base) = (&common.http, server.base.as_str());
    let started = Instant::now();
    let accounts = sign_up(common, server, plan.chats + 1).await?;
    let signups_s = started.elapsed().as_secs_f64();
    let (owner, peers) = accounts.split_first().context("no owner")?;

    let started = Instant::now();
    eprintln!("  opening {} chats, {SETUP_CONCURRENCY} at a time", peers.len());
    let chat_ids: Vec<i64> = futures::stream::iter(peers)
        .map(|peer| api::open_chat(http, base, owner, peer.id))
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    let chats_s = started.elapsed().as_secs_f64();

    // The conversations in a shuffled order, so that activity does not follow creation.
    let started = Instant::now();
    let mut order: Vec<usize> = (0..chat_ids.len()).collect();
    order.sort_by_key(|i| (*i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29));
    let conversations = order.iter().map(|&i| talk(http, base, owner, &peers[i], chat_ids[i], Talk::of(i)));
    let sent: usize = futures::stream::iter(conversations)
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_fold(0, |total, n| async move { Ok(total + n) })
        .await?;
    let messages_s = started.elapsed().as_secs_f64();
    eprintln!(
        "  {} sign-ups in {signups_s:.1} s, {} chats in {chats_s:.1} s, {} messages in {messages_s:.1} s",
        thousands(accounts.len() as u64),
        thousands(chat_ids.len() as u64),
        thousands(sent as u64)
    );

    // The whole list, a page at a time: every chat once, in order, as it should look.
    let expected: std::collections::HashMap<i64, Talk> =
        chat_ids.iter().enumerate().map(|(i, id)| (*id, Talk::of(i))).collect();
    let deep_offset = plan.chats * 9 / 10 / WALK_LIMIT * WALK_LIMIT;
    let (mut seen, mut pages, mut cursor, mut deep_cursor) = (Vec::new(), 0usize, None::<String>, None::<String>);
    let mut problems = Vec::new();
    let mut previous: Option<(bool, String)> = None;
    let started = Instant::now();
    loop {
        let query = match &cursor {
            Some(cursor) => format!("limit={WALK_LIMIT}&cursor={cursor}"),
            None => format!("limit={WALK_LIMIT}"),
        };
        let (page, _) = chats_page_of(http, base, owner, &query).await?;
        pages += 1;
        for chat in page["chats"].as_array().context("a page without chats")? {
            let id = chat["id"].as_i64().context("a chat without an id")?;
            let Some(talk) = expected.get(&id) else {
                problems.push(format!("chat {id} is not one of mine"));
                continue;
            };
            let has_message = chat["last_message"].is_object();
            if has_message == (*talk == Talk::Empty) || chat["unread"].as_u64() != Some(talk.unread()) {
                problems.push(format!("chat {id} ({talk:?}) shows {chat}"));
            }
            // Newest activity first, empty chats last.
            let key = (has_message, sortable_time(chat["last_message"]["created_at"].as_str().unwrap_or_default()));
            if previous.as_ref().is_some_and(|before| *before < key) {
                problems.push(format!("chat {id} comes after an older one"));
            }
            previous = Some(key);
            seen.push(id);
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if seen.len() == deep_offset {
            deep_cursor.clone_from(&cursor);
        }
        if cursor.is_none() || pages > plan.chats / WALK_LIMIT + 2 {
            break;
        }
    }
    let walk_s = started.elapsed().as_secs_f64();
    let distinct: std::collections::HashSet<i64> = seen.iter().copied().collect();
    if distinct.len() != seen.len() {
        problems.push(format!("{} chats listed twice", seen.len() - distinct.len()));
    }
    if distinct.len() != expected.len() {
        problems.push(format!("{} of {} chats listed", distinct.len(), expected.len()));
    }
    if !problems.is_empty() {
        bail!("the list of chats is wrong: {}", problems.iter().take(5).cloned().collect::<Vec<_>>().join("; "));
    }
    eprintln!("  walked {} chats in {pages} pages of {WALK_LIMIT} ({walk_s:.1} s): each once, in order", seen.len());

    // The timed requests: the first page, then the one nine tenths down.
    let first = format!("limit={}", plan.limit);
    let deep = match &deep_cursor {
        Some(cursor) if deep_offset > 0 => format!("limit={}&cursor={cursor}", plan.limit),
        _ => first.clone(),
    };
    let mut timed = Vec::new();
    for (query, offset) in [(&first, 0), (&deep, if deep == first { 0 } else { deep_offset })] {
        let mut h = traffic::histogram();
        let full = plan.limit.min(plan.chats - offset);
        for i in 0..WARM_UP + plan.samples {
            let (page, took) = chats_page_of(http, base, owner, query).await?;
            let got = page["chats"].as_array().map_or(0, Vec::len);
            if got != full {
                bail!("the page at {offset} held {got} chats, not {full}");
            }
            if i >= WARM_UP {
                h.record(took).context("recording a latency")?;
            }
        }
        timed.push(h);
    }
    let (first_h, deep_h) = (&timed[0], &timed[1]);
    let mut both = first_h.clone();
    both.add(deep_h).context("adding histograms")?;

    let mut text = format!(
        "== chats-page · messenger · {} · one user with {} chats, pages of {} ==\n",
        server.db,
        thousands(plan.chats as u64),
        plan.limit
    );
    text.push_str(&format!(
        "  set-up       {} sign-ups {signups_s:.0} s, chats {chats_s:.1} s, {} messages {messages_s:.1} s\n",
        thousands(accounts.len() as u64),
        thousands(sent as u64)
    ));
    text.push_str(&format!(
        "  walk         {} chats in {pages} pages of {WALK_LIMIT}: each once, in order, unread counts right\n",
        thousands(seen.len() as u64)
    ));
    text.push_str(&format!("  first page   {}  (n={})\n", quantile_line(first_h), first_h.len()));
    text.push_str(&format!(
        "  at {:<9} {}  (n={})\n",
        thousands(deep_offset as u64),
        quantile_line(deep_h),
        deep_h.len()
    ));
    let json = json!({
        "scenario": "chats-page",
        "target": "messenger",
        "db": server.db,
        "params": { "chats": plan.chats, "limit": plan.limit, "samples": plan.samples },
        "latency_ms": quantiles(&both),
        "first_page_ms": quantiles(first_h),
        "deep_page_ms": quantiles(deep_h),
        "deep_offset": deep_offset,
        "walk_pages": pages,
        "messages": sent,
        "signups_s": round1(signups_s),
    });
    Ok(Report { text, json })
}
