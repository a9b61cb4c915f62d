//! `loadgen`: drives the messenger server from outside, as a separate process, and reports
//! throughput, latency, delivery faults and memory. It starts the server itself (a child on a
//! free loopback port with a brand-new SQLite or PostgreSQL database) unless `--url` names
//! one already running. Every loop is bounded by count and time; every run stops by itself.
//!
//! ```text
//! loadgen [--server PATH | --url URL [--pid PID]] [--db sqlite|postgres] [--json-out FILE] [--quick] SCENARIO
//!   saturate        --pairs 10 --window 32 --duration 10     senders keep W sends in flight
//!   rate            --pairs 10 --rate 1000 --duration 10     a fixed total rate, on a schedule
//!   relay           (as rate)        the same through a bare in-process WebSocket relay
//!   relay-saturate  (as saturate)    the same through the relay
//!   idle            --users 1000 --sockets-per-user 10       server memory per idle socket
//!   memory          --users 1000 --pairs 10 --duration 20    server memory fresh, after sign-ups, under load, after
//!   chats-page      --chats 5000 --limit 50 --samples 200   one user's first page of chats and one deep down
//!   flood           --requests 5000 --connections 200        sign-ins at once; /healthz latency and memory meanwhile
//!   report          --from FILE.jsonl [--out FILE.md]        a Markdown report of the JSON lines
//! ```

mod api;
mod flood;
mod relay;
mod report;
mod scenarios;
mod server;
mod traffic;
mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::scenarios::{ChatsPagePlan, Common, MemoryPlan, Report};
use crate::server::{DbKind, Launch, Server};
use crate::traffic::{Pacing, TrafficConfig};

#[derive(Parser, Debug)]
#[command(name = "loadgen", version, about = "Load generator for the messenger: throughput, latency, memory")]
struct Cli {
    /// The messenger binary to start [default: $CARGO_TARGET_DIR/release/messenger, else target/release/messenger]
    #[arg(long, global = true, value_name = "PATH")]
    server: Option<PathBuf>,
    /// Drive a server already running at this http:// loopback address instead of starting one
    #[arg(long, global = true, value_name = "URL", conflicts_with = "server")]
    url: Option<String>,
    /// With --url: the server's process id, for its memory and CPU figures
    #[arg(long, global = true, value_name = "PID", requires = "url")]
    pid: Option<u32>,
    /// The database of the started server (a fresh one each run)
    #[arg(long, global = true, value_enum, default_value_t = DbKind::Sqlite)]
    db: DbKind,
    /// The PostgreSQL server for --db postgres, without a database name (trust auth; a bench_*
    /// database is created and dropped). A Unix socket: postgres://postgres@localhost?host=/var/run/postgresql
    #[arg(long, global = true, value_name = "URL", default_value = "postgres://postgres@127.0.0.1:5432")]
    pg_url: String,
    /// Append one JSON line with the results to this file
    #[arg(long, global = true, value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// A free-form tag stored in the JSON record
    #[arg(long, global = true)]
    label: Option<String>,
    /// Short durations and small counts, for a smoke test (explicit flags still win)
    #[arg(long, global = true)]
    quick: bool,
    /// RUST_LOG of the started server
    #[arg(long, global = true, value_name = "FILTER", default_value = "warn")]
    server_log: String,
    /// Sign-ups at once (each costs the server an argon2 hash)
    #[arg(long, global = true, value_name = "N", default_value_t = 4)]
    signup_concurrency: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Each sender keeps up to --window sends unacknowledged, as fast as acks allow
    Saturate(SaturateArgs),
    /// A fixed total rate over all pairs, on a schedule (latency from the scheduled instant)
    Rate(RateArgs),
    /// Like `rate`, through a bare in-process WebSocket relay (no database): the baseline
    Relay(RateArgs),
    /// Like `saturate`, through the bare relay
    RelaySaturate(SaturateArgs),
    /// Server memory per authenticated idle socket
    Idle(IdleArgs),
    /// Server memory: fresh, after sign-ups, under a saturating load, and after it
    Memory(MemoryArgs),
    /// One user with thousands of chats: latency of the first page of them and of one deep down
    ChatsPage(ChatsPageArgs),
    /// A flood of sign-ins (or sign-ups) from many connections: how the server answers it,
    /// /healthz latency meanwhile, and the server's memory before, at the peak and after
    Flood(FloodArgs),
    /// A Markdown report (machine, targets met or missed, one row per run) of --json-out lines
    Report(ReportArgs),
}

#[derive(Args, Debug)]
struct SaturateArgs {
    /// Sender/receiver pairs, one chat and two sockets each
    #[arg(long, default_value_t = 10)]
    pairs: usize,
    /// Unacknowledged sends per sender
    #[arg(long, default_value_t = 32)]
    window: usize,
    #[command(flatten)]
    timing: Timing,
}

#[derive(Args, Debug)]
struct RateArgs {
    /// Sender/receiver pairs, one chat and two sockets each
    #[arg(long, default_value_t = 10)]
    pairs: usize,
    /// Messages per second, all pairs together
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Unacknowledged sends per sender before it waits (its lateness still counts)
    #[arg(long, default_value_t = 1000)]
    max_in_flight: usize,
    #[command(flatten)]
    timing: Timing,
}

#[derive(Args, Debug)]
struct Timing {
    /// Seconds of sending [default: 10, --quick 3]
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Seconds to wait afterwards for acks and deliveries under way [default: 5, --quick 2]
    #[arg(long, value_name = "S")]
    drain: Option<f64>,
    /// Length of each message text in bytes (1-4000)
    #[arg(long, value_name = "N", default_value_t = 64)]
    text_bytes: usize,
}

#[derive(Args, Debug)]
struct IdleArgs {
    /// Users signed up [default: 1000, --quick 100]
    #[arg(long)]
    users: Option<usize>,
    /// Sockets opened per user
    #[arg(long, default_value_t = 10)]
    sockets_per_user: usize,
    /// Seconds to wait with every socket open before reading memory [default: 3, --quick 2]
    #[arg(long, value_name = "S")]
    settle: Option<f64>,
    /// Sockets opened at once
    #[arg(long, value_name = "N", default_value_t = 64)]
    connect_concurrency: usize,
}

#[derive(Args, Debug)]
struct MemoryArgs {
    /// Users signed up [default: 1000, --quick 100]
    #[arg(long)]
    users: Option<usize>,
    /// Pairs in the load that follows
    #[arg(long, default_value_t = 10)]
    pairs: usize,
    /// Unacknowledged sends per sender during the load
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Seconds of load [default: 20, --quick 3]
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Seconds of quiet after the load before the last reading [default: 5, --quick 2]
    #[arg(long, value_name = "S")]
    settle: Option<f64>,
}

#[derive(Args, Debug)]
struct ChatsPageArgs {
    /// Chats of the one user, each with a peer of its own, signed up through the API [default: 5000, --quick 500]
    #[arg(long, visible_alias = "users")]
    chats: Option<usize>,
    /// Chats per page timed (1-100)
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Timed requests of each page [default: 200, --quick 50]
    #[arg(long)]
    samples: Option<usize>,
}

#[derive(Args, Debug)]
struct FloodArgs {
    /// What each request asks for
    #[arg(long, value_enum, default_value_t = flood::FloodKind::SignIn)]
    kind: flood::FloodKind,
    /// Requests in all [default: 5000, --quick 500]
    #[arg(long)]
    requests: Option<usize>,
    /// Connections, each with one request under way at a time
    #[arg(long, default_value_t = 200)]
    connections: usize,
    /// Milliseconds between two /healthz probes (1-1000)
    #[arg(long, value_name = "MS", default_value_t = 20)]
    probe_ms: usize,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The JSON lines written by --json-out
    #[arg(long, value_name = "FILE.jsonl")]
    from: PathBuf,
    /// Write the Markdown here instead of to stdout
    #[arg(long, value_name = "FILE.md")]
    out: Option<PathBuf>,
}

/// Longest duration any flag accepts, in seconds.
const MAX_SECONDS: f64 = 3600.0;

fn seconds(name: &str, value: Option<f64>, normal: f64, quick: f64, is_quick: bool) -> anyhow::Result<Duration> {
    let s = value.unwrap_or(if is_quick { quick } else { normal });
    if !(0.0..=MAX_SECONDS).contains(&s) {
        bail!("--{name} must be between 0 and {MAX_SECONDS} seconds");
    }
    Ok(Duration::from_secs_f64(s))
}

fn check_count(name: &str, value: usize, max: usize) -> anyhow::Result<usize> {
    if value == 0 || value > max {
        bail!("--{name} must be between 1 and {max}");
    }
    Ok(value)
}

impl Timing {
    fn config(&self, pacing: Pacing, quick: bool) -> anyhow::Result<TrafficConfig> {
        let duration = seconds("duration", self.duration, 10.0, 3.0, quick)?;
        if duration.is_zero() {
            bail!("--duration must be more than 0");
        }
        Ok(TrafficConfig {
            pacing,
            duration,
            drain: seconds("drain", self.drain, 5.0, 2.0, quick)?,
            text_bytes: check_count("text-bytes", self.text_bytes, 4000)?,
            server_pid: None,
        })
    }
}

fn rate_pacing(args: &RateArgs) -> anyhow::Result<Pacing> {
    if !(args.rate > 0.0 && args.rate <= 1_000_000.0) {
        bail!("--rate must be more than 0 and at most 1,000,000");
    }
    Ok(Pacing::Rate {
        per_second: args.rate,
        max_in_flight: check_count("max-in-flight", args.max_in_flight, 100_000)?,
    })
}

const MAX_PAIRS: usize = 5000;

fn main() -> ExitCode {
    util::epoch();
    let cli = Cli::parse();
    if let Scenario::Report(args) = &cli.scenario {
        return match report::run(&args.from, args.out.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen report: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let open_files = util::raise_open_files_limit();
    let report = match &cli.scenario {
        Scenario::Relay(args) => {
            let config = args.timing.config(rate_pacing(args)?, cli.quick)?;
            let pairs = check_count("pairs", args.pairs, MAX_PAIRS)?;
            let params = json!({ "pairs": pairs, "rate": args.rate, "duration_s": config.duration.as_secs_f64() });
            let result = interruptible(scenarios::relay_traffic(pairs, &config)).await?;
            scenarios::traffic_report("rate", "relay", None, params, &result)
        }
        Scenario::RelaySaturate(args) => {
            let config = args.timing.config(Pacing::Window(check_count("window", args.window, 100_000)?), cli.quick)?;
            let pairs = check_count("pairs", args.pairs, MAX_PAIRS)?;
            let params = json!({ "pairs": pairs, "window": args.window, "duration_s": config.duration.as_secs_f64() });
            let result = interruptible(scenarios::relay_traffic(pairs, &config)).await?;
            scenarios::traffic_report("saturate", "relay", None, params, &result)
        }
        _ => {
            if let Scenario::Idle(args) = &cli.scenario {
                let needed = args.users.unwrap_or(1000) * args.sockets_per_user + 100;
                if (open_files as usize) < needed {
                    eprintln!("warning: the open-files limit is {open_files}, fewer than the {needed} sockets need");
                }
            }
            let mut server = match &cli.url {
                Some(url) => Server::attach(url, cli.pid).await?,
                None => {
                    let binary = cli.server.clone().unwrap_or_else(default_server_binary);
                    let launch =
                        Launch { binary: &binary, db: cli.db, pg_url: &cli.pg_url, log_filter: &cli.server_log };
                    Server::start(&launch).await?
                }
            };
            let outcome = interruptible(on_messenger(&cli, &server)).await;
            if outcome.is_err() {
                // A server shutting down refuses connections before it exits: give it a moment,
                // so that the error names the real cause.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let alive = server.check_alive();
            server.stop().await;
            match (alive, outcome) {
                (Ok(()), outcome) => outcome?,
                (Err(died), Ok(_)) => return Err(died),
                (Err(died), Err(failed)) => return Err(died.context(format!("{failed:#}"))),
            }
        }
    };
    let mut record = report.json;
    if let Some(object) = record.as_object_mut() {
        object.insert("label".into(), json!(cli.label));
        object.insert("unix_time".into(), json!(util::unix_time()));
    }
    println!("{}", report.text.trim_end());
    if let Some(path) = &cli.json_out {
        append_line(path, &record.to_string())?;
    }
    Ok(())
}

async fn on_messenger(cli: &Cli, server: &Server) -> anyhow::Result<Report> {
    let common = Common {
        http: api::http_client()?,
        signup_concurrency: check_count("signup-concurrency", cli.signup_concurrency, 64)?,
        run: util::nonce(),
    };
    let db = Some(server.db);
    match &cli.scenario {
        Scenario::Saturate(args) => {
            let mut config =
                args.timing.config(Pacing::Window(check_count("window", args.window, 100_000)?), cli.quick)?;
            config.server_pid = server.pid;
            let pairs = check_count("pairs", args.pairs, MAX_PAIRS)?;
            let params = json!({ "pairs": pairs, "window": args.window, "duration_s": config.duration.as_secs_f64() });
            let result = scenarios::messenger_traffic(&common, server, pairs, &config).await?;
            Ok(scenarios::traffic_report("saturate", "messenger", db, params, &result))
        }
        Scenario::Rate(args) => {
            let mut config = args.timing.config(rate_pacing(args)?, cli.quick)?;
            config.server_pid = server.pid;
            let pairs = check_count("pairs", args.pairs, MAX_PAIRS)?;
            let params = json!({ "pairs": pairs, "rate": args.rate, "duration_s": config.duration.as_secs_f64() });
            let result = scenarios::messenger_traffic(&common, server, pairs, &config).await?;
            Ok(scenarios::traffic_report("rate", "messenger", db, params, &result))
        }
        Scenario::Idle(args) => {
            let users = check_count("users", args.users.unwrap_or(if cli.quick { 100 } else { 1000 }), 100_000)?;
            let per_user = check_count("sockets-per-user", args.sockets_per_user, 1000)?;
            let settle = seconds("settle", args.settle, 3.0, 2.0, cli.quick)?;
            let concurrency = check_count("connect-concurrency", args.connect_concurrency, 1000)?;
            scenarios::idle(&common, server, users, per_user, settle, concurrency).await
        }
        Scenario::Memory(args) => {
            let users = check_count("users", args.users.unwrap_or(if cli.quick { 100 } else { 1000 }), 100_000)?;
            let pairs = check_count("pairs", args.pairs, MAX_PAIRS)?;
            let window = check_count("window", args.window, 100_000)?;
            let timing = Timing { duration: args.duration, drain: None, text_bytes: 64 };
            let mut traffic = timing.config(Pacing::Window(window), cli.quick)?;
            if args.duration.is_none() && !cli.quick {
                traffic.duration = Duration::from_secs(20);
            }
            traffic.server_pid = server.pid;
            let settle = seconds("settle", args.settle, 5.0, 2.0, cli.quick)?;
            scenarios::memory(&common, server, &MemoryPlan { users, pairs, traffic, settle }).await
        }
        Scenario::ChatsPage(args) => {
            let chats = check_count("chats", args.chats.unwrap_or(if cli.quick { 500 } else { 5000 }), 100_000)?;
            let limit = check_count("limit", args.limit, 100)?;
            let samples = check_count("samples", args.samples.unwrap_or(if cli.quick { 50 } else { 200 }), 100_000)?;
            scenarios::chats_page(&common, server, &ChatsPagePlan { chats, limit, samples }).await
        }
        Scenario::Flood(args) => {
            let plan = flood::FloodPlan {
                kind: args.kind,
                requests: check_count(
                    "requests",
                    args.requests.unwrap_or(if cli.quick { 500 } else { 5000 }),
                    1_000_000,
                )?,
                connections: check_count("connections", args.connections, 10_000)?,
                probe_every: Duration::from_millis(check_count("probe-ms", args.probe_ms, 1000)? as u64),
            };
            flood::flood(&common, server, &plan).await
        }
        Scenario::Relay(_) | Scenario::RelaySaturate(_) => unreachable!("the relay needs no server"),
        Scenario::Report(_) => unreachable!("a report runs nothing"),
    }
}

/// Runs a scenario until it ends or Ctrl-C (the caller still cleans up).
async fn interruptible<T>(work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::select! {
        outcome = work => outcome,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    }
}

fn default_server_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("release").join("messenger")
}

fn append_line(path: &Path, line: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))
}
