//! `flood`: thousands of sign-in (or sign-up) requests from a couple of hundred connections at
//! once, the way someone would try to exhaust the server with password hashing, while a
//! separate connection asks `/healthz` every few milliseconds. Reports how the server
//! answered the flood, how long `/healthz` took meanwhile, and its memory before, at the
//! peak and after.
//!
//! The started server runs with `RATE_LIMITS=off`, so every request reaches the password
//! hashing, as it would from as many addresses as connections: what stands in the way is
//! the hashing limit alone (one hash per core, a short queue, `503 busy` beyond it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::scenarios::{Common, Report, quantile_line, quantiles, settled_rss, wind_down};
use crate::server::Server;
use crate::traffic;
use crate::util::{self, mb, thousands};

/// What the flood asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FloodKind {
    /// `POST /api/v1/auth/login` with a wrong password: half for a real account, half for
    /// made-up addresses (both cost a hash).
    SignIn,
    /// `POST /api/v1/auth/register` with a new address each time.
    SignUp,
}

impl FloodKind {
    fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::SignUp => "sign-up",
        }
    }
}

/// Settings of the `flood` scenario.
pub struct FloodPlan {
    pub kind: FloodKind,
    /// Requests in all.
    pub requests: usize,
    /// Connections (requests under way at once).
    pub connections: usize,
    /// Time between two `/healthz` probes.
    pub probe_every: Duration,
}

/// How long one flood request may take before it counts as an error.
const FLOOD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one probe may take before it counts as failed (and is recorded at this figure).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the probing connection saw.
struct Probes {
    latency: Histogram<u64>,
    failed: u64,
}

/// Asks `/healthz` every `every` on a connection of its own until `stop`.
async fn probe(base: String, every: Duration, stop: CancellationToken) -> anyhow::Result<Probes> {
    let http = reqwest::Client::builder().timeout(PROBE_TIMEOUT).no_proxy().pool_max_idle_per_host(1).build()?;
    let (mut latency, mut failed) = (traffic::histogram(), 0);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        let ok = match http.get(format!("{base}/healthz")).send().await {
            Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
            Err(_) => false,
        };
        let took = if ok { started.elapsed() } else { PROBE_TIMEOUT.max(started.elapsed()) };
        failed += u64::from(!ok);
        latency.record(took.as_micros() as u64).context("recording a probe")?;
    }
    Ok(Probes { latency, failed })
}

/// One flood request; its status code, or `None` when it got no answer.
async fn one(http: &reqwest::Client, base: &str, kind: FloodKind, victim: &str, run: &str, i: usize) -> Option<u16> {
    let (path, body) = match kind {
        FloodKind::SignIn => {
            let email = if i.is_multiple_of(2) { victim.to_owned() } else { format!("nobody{i}.{run}@bench.test") };
            ("login", json!({ "email": email, "password": format!("wrong-guess-{i}") }))
        }
        FloodKind::SignUp => {
            let email = format!("flood{i}.{run}@bench.test");
            ("register", json!({ "email": email, "name": format!("Flood {i}"), "password": "flood-password-1" }))
        }
    };
    let response = http.post(format!("{base}/api/v1/auth/{path}")).json(&body).send().await.ok()?;
    let status = response.status().as_u16();
    // Read the body, so that the connection goes back to the pool.
    response.bytes().await.ok()?;
    Some(status)
}

/// `flood`: see the module documentation.
pub async fn flood(common: &Common, server: &Server, plan: &FloodPlan) -> anyhow::Result<Report> {
    let pid = server.pid.context("the server's memory is unknown (pass --pid with --url)")?;
    // Before anything: the hash of the one sign-up below leaves memory that the allocator
    // hands back only slowly.
    let threads = util::threads(pid);
    let before = settled_rss(server).await.context("reading the server's memory")?;
    // The account whose password is guessed at.
    api::register_many(&common.http, &server.base, &common.run, 1, 1).await?;
    let victim_email = api::email_of(&common.run, 0);

    let http = reqwest::Client::builder()
        .timeout(FLOOD_TIMEOUT)
        .no_proxy()
        .pool_max_idle_per_host(plan.connections)
        .build()?;
    let stop = CancellationToken::new();
    let probes = tokio::spawn(probe(server.base.clone(), plan.probe_every, stop.clone()));
    // Some quiet probes first: the figure the flood is compared with.
    tokio::time::sleep(plan.probe_every * 20).await;
    let sampler = util::PeakRss::start(pid);
    let started = Instant::now();
    let statuses: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Arc::default();
    futures::stream::iter(0..plan.requests)
        .map(|i| {
            let (http, base, victim, run, statuses) =
                (&http, server.base.as_str(), victim_email.as_str(), common.run.as_str(), statuses.clone());
            async move {
                let key = one(http, base, plan.kind, victim, run, i)
                    .await
                    .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
                *statuses.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(key).or_default() += 1;
            }
        })
        .buffer_unordered(plan.connections)
        .collect::<()>()
        .await;
    let flood_s = started.elapsed().as_secs_f64();
    let peak = sampler.finish().await;
    stop.cancel();
    let probes = probes.await.context("the probe task")??;
    drop(http);
    wind_down(server, threads).await;
    let after = settled_rss(server).await.context("reading the server's memory")?;

    let statuses = statuses.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let server_errors: u64 =
        statuses.iter().filter(|(code, _)| code.starts_with('5') && code.as_str() != "503").map(|(_, n)| n).sum();
    let unanswered = statuses.get("no answer").copied().unwrap_or(0);
    let answered = statuses.iter().map(|(code, n)| format!("{n} × {code}")).collect::<Vec<_>>().join(", ");
    let h = &probes.latency;
    let mut text = format!(
        "== flood · messenger · {} · {} {} requests from {} connections ==\n",
        server.db,
        thousands(plan.requests as u64),
        plan.kind.name(),
        plan.connections
    );
    text.push_str(&format!(
        "  flood        {flood_s:.1} s ({:.0} requests/s): {answered}\n",
        plan.requests as f64 / flood_s.max(1e-9)
    ));
    text.push_str(&format!("  /healthz     {}  (n={}, {} failed)\n", quantile_line(h), h.len(), probes.failed));
    text.push_str(&format!(
        "  memory       {:.1} MB before, {:.1} MB peak, {:.1} MB after\n",
        mb(before),
        mb(peak),
        mb(after)
    ));
    if server_errors > 0 || unanswered > 0 {
        text.push_str(&format!(
            "  !! {server_errors} server errors other than 503, {unanswered} requests unanswered\n"
        ));
    }
    let json = json!({
        "scenario": "flood",
        "target": "messenger",
        "db": server.db,
        "params": {
            "kind": plan.kind.name(),
            "requests": plan.requests,
            "connections": plan.connections,
            "probe_ms": plan.probe_every.as_millis() as u64,
        },
        // The server's default: one hash at a time per core (same machine).
        "hashing_workers": std::thread::available_parallelism().map_or(1, usize::from),
        "statuses": statuses,
        "server_errors": server_errors,
        "no_answer": unanswered,
        "flood_s": crate::util::round1(flood_s),
        "latency_ms": quantiles(h),
        "healthz_failed": probes.failed,
        "rss_before_mb": mb(before),
        "rss_peak_mb": mb(peak),
        "rss_after_mb": mb(after),
    });
    Ok(Report { text, json })
}
