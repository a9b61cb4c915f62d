//! `loadgen report`: a Markdown summary of the JSON lines that `--json-out` appended: the
//! machine, the targets (met or missed), and one table row per run. Missing figures print as
//! "—"; a line that is not a JSON object is skipped with a note on stderr.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::util::thousands;

/// Shown for a figure the record does not have.
const NONE: &str = "—";

/// Reads `from`, writes the report to `out` (stdout when `None`).
pub fn run(from: &Path, out: Option<&Path>) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let (records, skipped) = parse(&String::from_utf8_lossy(&bytes));
    for note in &skipped {
        eprintln!("loadgen report: {}: {note}", from.display());
    }
    if records.is_empty() {
        bail!("no runs in {}", from.display());
    }
    let markdown = render(&records, &Machine::detect());
    match out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(path, markdown).with_context(|| format!("writing {}", path.display()))?;
        }
        None => print!("{markdown}"),
    }
    Ok(())
}

/// The JSON objects of `input`, one a line, and a note for each line skipped.
pub fn parse(input: &str) -> (Vec<Value>, Vec<String>) {
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => records.push(value),
            Ok(_) => skipped.push(format!("line {}: not a JSON object, skipped", i + 1)),
            Err(e) => skipped.push(format!("line {}: {e}, skipped", i + 1)),
        }
    }
    (records, skipped)
}

/// What the report says about the machine it runs on (the one `make bench` just used).
#[derive(Debug, Default)]
pub struct Machine {
    pub cpu: Option<String>,
    pub cores: Option<usize>,
    pub memory: Option<String>,
    pub kernel: Option<String>,
    pub rustc: Option<String>,
}

impl Machine {
    /// Reads /proc and asks `rustc --version`; whatever cannot be found stays `None`.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|v| !v.is_empty());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map(|kib| format!("{:.1} GiB", kib / (1024.0 * 1024.0)));
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty());
        let cores = std::thread::available_parallelism().ok().map(|n| n.get());
        Self { cpu, cores, memory, kernel, rustc }
    }

    fn sentence(&self) -> String {
        let mut parts = vec![self.cpu.clone().unwrap_or_else(|| "an unknown CPU".into())];
        if let Some(cores) = self.cores {
            parts.push(format!("{cores} {}", if cores == 1 { "core" } else { "cores" }));
        }
        if let Some(memory) = &self.memory {
            parts.push(format!("{memory} of memory"));
        }
        if let Some(kernel) = &self.kernel {
            parts.push(format!("Linux {kernel}"));
        }
        if let Some(rustc) = &self.rustc {
            parts.push(rustc.clone());
        }
        parts.join(", ")
    }
}

/// One row of the targets table.
#[derive(Debug)]
pub struct TargetRow {
    pub target: String,
    pub measured: String,
    /// "met", "missed by …", or "not measured".
    pub result: String,
}

/// The whole report.
pub fn render(records: &[Value], machine: &Machine) -> String {
    let mut md = String::from("# Benchmarks\n\n");
    let date = records.iter().filter_map(|r| r.get("unix_time")?.as_u64()).max().map(utc_minute);
    md.push_str(&format!(
        "Measured on {}: {}; server and load generator on the same machine, over loopback.\n\n",
        date.as_deref().unwrap_or("an unknown date"),
        machine.sentence()
    ));

    md.push_str("## Targets\n\n");
    md.push_str(
        "Throughput is the best `saturate` run; the other figures come from the latest run of their kind; \
         delivery faults are summed over every run.\n\n",
    );
    md.push_str("| Target | Measured | Result |\n|---|---|---|\n");
    for row in targets(records) {
        md.push_str(&format!("| {} | {} | {} |\n", cell(&row.target), cell(&row.measured), cell(&row.result)));
    }

    md.push_str("\n## Runs\n\n");
    md.push_str(
        "Latencies in ms, send → peer's read (`rate`: from the scheduled instant; `chats-page`: request → last \
         byte of a page of chats, the first page and the deep one together; `flood`: `/healthz` during the flood); msgs/s delivered to the peer; \
         faults are lost / duplicated / out of order (gaps + reorders); CPU in % of one core.\n\n",
    );
    md.push_str(
        "| Target | DB | Scenario | Params | msgs/s | p50 | p90 | p99 | p99.9 | max | Faults | Server CPU % | Notes |\n\
         |---|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|\n",
    );
    for r in records {
        md.push_str(&run_row(r));
    }
    md
}

/// The targets, in order, each with its figure and verdict.
pub fn targets(records: &[Value]) -> Vec<TargetRow> {
    let dbs = [("postgres", "PostgreSQL", 25_000.0), ("sqlite", "SQLite", 15_000.0)];
    let mut rows = Vec::new();

    for (db, name, floor) in dbs {
        let best = records
            .iter()
            .filter(|r| is(r, "messenger", Some(db), "saturate"))
            .filter_map(|r| Some((num(r, "/msgs_per_s")?, r)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let target = format!("Messages/s persisted and delivered on {name} ≥ {}", thousands(floor as u64));
        rows.push(match best {
            Some((rate, r)) => TargetRow {
                target,
                measured: format!("{} (`saturate`, {})", int(rate), params(r)),
                result: verdict(rate, floor, Bound::AtLeast, |gap| format!("{} msgs/s", int(gap))),
            },
            None => unmeasured(target),
        });
    }

    let p99_at_5000 = |target: &str, db: Option<&str>| {
        latest(records, |r| {
            is(r, target, db, "rate") && num(r, "/params/rate").is_some_and(|v| (v - 5000.0).abs() < 0.5)
        })
        .and_then(|r| num(r, "/latency_ms/p99"))
    };
    for (db, name, _) in dbs {
        let target = format!("p99 latency at 5,000 msgs/s on {name} < 10 ms");
        rows.push(match p99_at_5000("messenger", Some(db)) {
            Some(p99) => TargetRow {
                target,
                measured: format!("{} ms", ms(p99)),
                result: verdict(p99, 10.0, Bound::Below, |gap| format!("{} ms", ms(gap))),
            },
            None => unmeasured(target),
        });
    }

    let faults = [
        ("lost", &["/lost", "/load_lost"][..]),
        ("duplicated", &["/duplicated"][..]),
        ("out of order (gaps + reorders)", &["/gaps", "/reorders"][..]),
    ];
    for (what, pointers) in faults {
        let counts: Vec<f64> = records
            .iter()
            .filter_map(|r| {
                let found: Vec<f64> = pointers.iter().filter_map(|p| num(r, p)).collect();
                (!found.is_empty()).then(|| found.iter().sum())
            })
            .collect();
        let target = format!("0 {what} across every run");
        rows.push(if counts.is_empty() {
            unmeasured(target)
        } else {
            let total: f64 = counts.iter().sum();
            let runs = counts.len();
            TargetRow {
                target,
                measured: format!("{} in {runs} {}", int(total), if runs == 1 { "run" } else { "runs" }),
                result: verdict(total, 0.0, Bound::AtMost, |gap| format!("{} messages", int(gap))),
            }
        });
    }

    for (db, name, _) in dbs {
        let target = format!("≤ 10 KiB per idle authenticated socket on {name}");
        let kib = latest(records, |r| is(r, "messenger", Some(db), "idle") && num(r, "/kib_per_socket").is_some())
            .and_then(|r| num(r, "/kib_per_socket"));
        rows.push(match kib {
            Some(kib) => TargetRow {
                target,
                measured: format!("{} KiB", one(kib)),
                result: verdict(kib, 10.0, Bound::AtMost, |gap| format!("{} KiB", one(gap))),
            },
            None => unmeasured(target),
        });
    }

    for (db, name, _) in dbs {
        let target = format!("Server memory after sign-ups and load, once the load is gone, on {name} < 64 MB");
        let after =
            latest(records, |r| is(r, "messenger", Some(db), "memory") && num(r, "/rss_after_load_mb").is_some())
                .and_then(|r| num(r, "/rss_after_load_mb"));
        rows.push(match after {
            Some(mb) => TargetRow {
                target,
                measured: format!("{} MB", one(mb)),
                result: verdict(mb, 64.0, Bound::Below, |gap| format!("{} MB", one(gap))),
            },
            None => unmeasured(target),
        });
    }

    for (db, name, _) in dbs {
        let target = format!("p99 of a page of my chats, with 5,000 of them, on {name} < 50 ms");
        let run = latest(records, |r| {
            is(r, "messenger", Some(db), "chats-page") && num(r, "/params/chats").is_some_and(|n| n >= 5000.0)
        });
        let figures = run.and_then(|r| {
            Some((num(r, "/first_page_ms/p99")?, num(r, "/deep_page_ms/p99")?, num(r, "/deep_offset").unwrap_or(0.0)))
        });
        rows.push(match figures {
            Some((first, deep, offset)) => TargetRow {
                target,
                measured: format!("{} ms the first page, {} ms the page at {}", ms(first), ms(deep), int(offset)),
                result: verdict(first.max(deep), 50.0, Bound::Below, |gap| format!("{} ms", ms(gap))),
            },
            None => unmeasured(target),
        });
    }

    for (db, name, _) in dbs {
        let target = format!("/healthz p99 while 5,000 sign-ins from 200 connections flood {name} < 100 ms");
        let run = latest(records, |r| {
            is(r, "messenger", Some(db), "flood") && num(r, "/params/requests").is_some_and(|n| n >= 5000.0)
        });
        rows.push(match run.and_then(|r| num(r, "/latency_ms/p99")) {
            Some(p99) => TargetRow {
                target,
                measured: format!("{} ms", ms(p99)),
                result: verdict(p99, 100.0, Bound::Below, |gap| format!("{} ms", ms(gap))),
            },
            None => unmeasured(target),
        });
        // Flat: the flood costs no more than the hashes that run at once (19 MiB each, one per
        // core) and a margin for its 200 connections, and the server is back under the memory
        // target once it is over.
        let target = format!(
            "Server memory during that flood on {name} ≤ before + 19 MiB a hashing worker + 32 MB, and < 64 MB after"
        );
        let figures = run.and_then(|r| {
            Some((
                num(r, "/rss_before_mb")?,
                num(r, "/rss_peak_mb")?,
                num(r, "/rss_after_mb")?,
                num(r, "/hashing_workers").unwrap_or(1.0),
            ))
        });
        rows.push(match figures {
            Some((before, peak, after, workers)) => {
                let peak_limit = before + workers * 19.0 * 1.048_576 + 32.0;
                TargetRow {
                    target,
                    measured: format!(
                        "{} MB before, {} MB peak (limit {}), {} MB after",
                        one(before),
                        one(peak),
                        one(peak_limit),
                        one(after)
                    ),
                    result: match (peak <= peak_limit, after < 64.0) {
                        (true, true) => "met".into(),
                        (false, _) => format!("missed by {} MB at the peak", one(peak - peak_limit)),
                        (true, false) => format!("missed by {} MB after", one(after - 64.0)),
                    },
                }
            }
            None => unmeasured(target),
        });
    }

    let page = latest(records, |r| is(r, "messenger", None, "page-weight"));
    let target = "A first visit (sign-in page, sign-up, messenger) < 250 KB on the wire".to_string();
    rows.push(match page.and_then(|r| num(r, "/bytes_total")) {
        Some(bytes) => TargetRow {
            target,
            measured: format!("{} KB", one(bytes / 1000.0)),
            result: verdict(bytes / 1000.0, 250.0, Bound::Below, |gap| format!("{} KB", one(gap))),
        },
        None => unmeasured(target),
    });
    for (pointer, what) in [
        ("/login_interactive_ms/median", "The sign-in page usable (hydrated)"),
        ("/reload_chats_ms/median", "A signed-in reload shows the chat list"),
    ] {
        let target = format!("{what} within 3 s on Fast 3G with a 4× slower CPU");
        rows.push(match page.and_then(|r| num(r, pointer)) {
            Some(ms) => TargetRow {
                target,
                measured: format!("{} s (median)", ms_as_s(ms)),
                result: verdict(ms / 1000.0, 3.0, Bound::AtMost, |gap| format!("{} s", ms_as_s(gap * 1000.0))),
            },
            None => unmeasured(target),
        });
    }

    let relay = p99_at_5000("relay", None);
    for (db, name, _) in dbs {
        let target = format!("Delivery p99 on {name} within 2× of the bare relay at 5,000 msgs/s");
        rows.push(match (p99_at_5000("messenger", Some(db)), relay) {
            (Some(p99), Some(base)) if base > 0.0 => TargetRow {
                target,
                measured: format!("{} ms vs {} ms: {:.1}×", ms(p99), ms(base), p99 / base),
                result: verdict(p99, 2.0 * base, Bound::AtMost, |gap| format!("{} ms", ms(gap))),
            },
            _ => unmeasured(target),
        });
    }
    rows
}

/// How a figure must compare with its limit.
#[derive(Clone, Copy)]
enum Bound {
    AtLeast,
    AtMost,
    Below,
}

fn verdict(value: f64, limit: f64, bound: Bound, gap: impl Fn(f64) -> String) -> String {
    let met = match bound {
        Bound::AtLeast => value >= limit,
        Bound::AtMost => value <= limit,
        Bound::Below => value < limit,
    };
    if met {
        "met".into()
    } else if value == limit {
        "missed (at the limit)".into()
    } else {
        format!("missed by {}", gap((value - limit).abs()))
    }
}

fn unmeasured(target: String) -> TargetRow {
    TargetRow { target, measured: NONE.into(), result: "not measured".into() }
}

/// Whether a record is of this target, database (`None`: any) and scenario.
fn is(r: &Value, target: &str, db: Option<&str>, scenario: &str) -> bool {
    text(r, "target") == Some(target)
        && text(r, "scenario") == Some(scenario)
        && db.is_none_or(|db| text(r, "db") == Some(db))
}

/// The newest record that passes `keep` (by `unix_time`, later lines winning ties).
fn latest(records: &[Value], keep: impl Fn(&Value) -> bool) -> Option<&Value> {
    records.iter().filter(|r| keep(r)).max_by_key(|r| r.get("unix_time").and_then(Value::as_u64).unwrap_or(0))
}

fn num(r: &Value, pointer: &str) -> Option<f64> {
    r.pointer(pointer)?.as_f64().filter(|x| x.is_finite())
}

fn text<'a>(r: &'a Value, key: &str) -> Option<&'a str> {
    r.get(key)?.as_str()
}

/// One row of the runs table.
fn run_row(r: &Value) -> String {
    let scenario = text(r, "scenario").unwrap_or(NONE);
    let or_none = |x: Option<String>| x.unwrap_or_else(|| NONE.into());
    let latency = |q: &str| or_none(num(r, &format!("/latency_ms/{q}")).map(ms));
    let rate = num(r, "/msgs_per_s").or_else(|| num(r, "/load_msgs_per_s"));
    let lost = num(r, "/lost").or_else(|| num(r, "/load_lost"));
    let duplicated = num(r, "/duplicated");
    let disorder = match (num(r, "/gaps"), num(r, "/reorders")) {
        (None, None) => None,
        (gaps, reorders) => Some(gaps.unwrap_or(0.0) + reorders.unwrap_or(0.0)),
    };
    let faults = if lost.is_none() && duplicated.is_none() && disorder.is_none() {
        NONE.to_string()
    } else {
        [lost, duplicated, disorder].map(|x| or_none(x.map(int))).join(" / ")
    };
    let cells = [
        text(r, "target").unwrap_or(NONE).to_string(),
        text(r, "db").unwrap_or(NONE).to_string(),
        scenario.to_string(),
        params(r),
        or_none(rate.map(int)),
        latency("p50"),
        latency("p90"),
        latency("p99"),
        latency("p999"),
        latency("max"),
        faults,
        or_none(num(r, "/server_cpu_pct").map(one)),
        notes(r, scenario),
    ];
    let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// `params` in a few words: "10 pairs, window 32, 10 s".
fn params(r: &Value) -> String {
    let Some(params) = r.get("params").and_then(Value::as_object) else { return NONE.into() };
    let mut words = Vec::new();
    let get = |key: &str| params.get(key).and_then(Value::as_f64).filter(|x| x.is_finite());
    match (get("users"), get("sockets_per_user")) {
        (Some(users), Some(per)) => words.push(format!("{} users × {} sockets", int(users), int(per))),
        (Some(users), None) => words.push(format!("{} users", int(users))),
        (None, Some(per)) => words.push(format!("{} sockets per user", int(per))),
        (None, None) => {}
    }
    if let Some(pairs) = get("pairs") {
        words.push(format!("{} {}", int(pairs), if pairs == 1.0 { "pair" } else { "pairs" }));
    }
    if let Some(window) = get("window") {
        words.push(format!("window {}", int(window)));
    }
    if let Some(rate) = get("rate") {
        words.push(format!("{} msgs/s", int(rate)));
    }
    if let Some(duration) = get("duration_s") {
        words.push(format!("{} s", seconds(duration)));
    }
    if let Some(settle) = get("settle_s") {
        words.push(format!("settle {} s", seconds(settle)));
    }
    if let Some(chats) = get("chats") {
        words.push(format!("{} chats", int(chats)));
    }
    if let Some(limit) = get("limit") {
        words.push(format!("pages of {}", int(limit)));
    }
    if let Some(samples) = get("samples") {
        words.push(format!("{} samples", int(samples)));
    }
    if let (Some(requests), Some(kind)) = (get("requests"), params.get("kind").and_then(Value::as_str)) {
        words.push(format!("{} {kind} requests", int(requests)));
    }
    if let Some(connections) = get("connections") {
        words.push(format!("{} connections", int(connections)));
    }
    let known = [
        "users",
        "sockets_per_user",
        "pairs",
        "window",
        "rate",
        "duration_s",
        "settle_s",
        "chats",
        "limit",
        "samples",
        "requests",
        "kind",
        "connections",
    ];
    for (key, value) in params.iter().filter(|(k, _)| !known.contains(&k.as_str())) {
        words.push(format!("{key} {value}"));
    }
    if words.is_empty() { NONE.into() } else { words.join(", ") }
}

/// The memory figures of idle and memory runs, and anything unusual about a traffic run.
fn notes(r: &Value, scenario: &str) -> String {
    let mut notes = Vec::new();
    let mb = |key: &str| num(r, &format!("/{key}")).map_or_else(|| NONE.to_string(), one);
    match scenario {
        "idle" => {
            notes.push(format!(
                "{} KiB/socket (RSS {} → {} MB)",
                num(r, "/kib_per_socket").map_or_else(|| NONE.to_string(), one),
                mb("rss_before_mb"),
                mb("rss_after_mb")
            ));
            if let Some(open) = num(r, "/sockets_open") {
                notes.push(format!("{} sockets open", int(open)));
            }
            if let Some(failed) = num(r, "/sockets_failed").filter(|&n| n > 0.0) {
                notes.push(format!("{} failed", int(failed)));
            }
        }
        "chats-page" => {
            let q = |page: &str, q: &str| num(r, &format!("/{page}_ms/{q}")).map_or_else(|| NONE.to_string(), ms);
            notes.push(format!(
                "first page p50 {} / p99 {} ms; the page at {} p50 {} / p99 {} ms",
                q("first_page", "p50"),
                q("first_page", "p99"),
                num(r, "/deep_offset").map_or_else(|| NONE.to_string(), int),
                q("deep_page", "p50"),
                q("deep_page", "p99")
            ));
        }
        "memory" => notes.push(format!(
            "RSS MB: fresh {}, after sign-ups {} (peak {}), end of load {} (peak {}), after load {}",
            mb("rss_fresh_mb"),
            mb("rss_after_signups_mb"),
            mb("rss_signups_peak_mb"),
            mb("rss_end_of_load_mb"),
            mb("rss_load_peak_mb"),
            mb("rss_after_load_mb")
        )),
        "page-weight" => {
            if let Some(types) = r.get("by_type").and_then(Value::as_object) {
                let mut types: Vec<(&String, f64)> =
                    types.iter().filter_map(|(kind, n)| Some((kind, n.as_f64()?))).collect();
                types.sort_by(|a, b| b.1.total_cmp(&a.1));
                let parts: Vec<String> =
                    types.iter().map(|(kind, n)| format!("{kind} {} KB", one(n / 1000.0))).collect();
                notes.push(format!("first visit {} KB: {}", mb("kb_total"), parts.join(", ")));
            }
            let median = |p: &str| num(r, p).map_or_else(|| NONE.to_string(), ms_as_s);
            notes.push(format!(
                "Fast 3G + 4× CPU: /login usable {} s, signed-in reload shows chats {} s",
                median("/login_interactive_ms/median"),
                median("/reload_chats_ms/median")
            ));
        }
        "flood" => {
            if let Some(statuses) = r.get("statuses").and_then(Value::as_object) {
                let answers: Vec<String> =
                    statuses.iter().filter_map(|(code, n)| Some(format!("{} × {code}", int(n.as_f64()?)))).collect();
                notes.push(format!("answers: {}", answers.join(", ")));
            }
            notes.push(format!(
                "RSS MB: before {}, peak {}, after {}",
                mb("rss_before_mb"),
                mb("rss_peak_mb"),
                mb("rss_after_mb")
            ));
        }
        _ => {}
    }
    for (key, what) in [
        ("server_errors", "server errors other than 503"),
        ("no_answer", "requests unanswered"),
        ("healthz_failed", "/healthz probes failed"),
        ("errors", "errors"),
        ("load_errors", "errors"),
        ("busy_retries", "busy retries"),
        ("sockets_closed", "sockets closed by the server"),
        ("unanswered", "sends never acked"),
    ] {
        if let Some(n) = num(r, &format!("/{key}")).filter(|&n| n > 0.0) {
            notes.push(format!("{} {what}", int(n)));
        }
    }
    if let Some(label) = text(r, "label") {
        notes.push(format!("label: {label}"));
    }
    notes.join("; ")
}

/// A whole number with thousands separators (anything odd as it is).
fn int(x: f64) -> String {
    if x.is_finite() && (0.0..1e18).contains(&x) { thousands(x.round() as u64) } else { format!("{x}") }
}

/// Milliseconds: two decimals below 10, one above.
fn ms(x: f64) -> String {
    if x.abs() < 10.0 { format!("{x:.2}") } else { format!("{x:.1}") }
}

/// Milliseconds as seconds with two decimals.
fn ms_as_s(x: f64) -> String {
    format!("{:.2}", x / 1000.0)
}

fn one(x: f64) -> String {
    format!("{x:.1}")
}

fn seconds(x: f64) -> String {
    if x.fract() == 0.0 { int(x) } else { format!("{x}") }
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Seconds since the Unix epoch as "2026-11-26 13:54 UTC".
fn utc_minute(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let (hour, minute) = (unix % 86_400 / 3600, unix % 3600 / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two lines of a real `make bench` run: PostgreSQL saturating at 25,603 msgs/s (the
    /// target is 25,000), and SQLite at 13.7 KiB per idle socket (the target is 10).
    const LINES: &str = r#"{"ack_latency_ms":{"count":259232,"max":252.543,"mean":124.068,"p50":119.935,"p90":148.991,"p99":171.903,"p999":213.119},"acked":259232,"acks_per_s":25603.0,"busy_retries":0,"db":"postgres","drain_s":0.1,"duplicate_acks":0,"duplicated":0,"error_codes":{},"errors":0,"gaps":0,"label":null,"latency_from_write_ms":{"count":259232,"max":253.183,"mean":124.116,"p50":119.935,"p90":148.863,"p99":172.415,"p999":212.991},"latency_ms":{"count":259232,"max":253.183,"mean":124.116,"p50":119.935,"p90":148.863,"p99":172.415,"p999":212.991},"loadgen_cpu_pct":18.2,"lost":0,"msgs_per_s":25603.0,"params":{"duration_s":10.0,"pairs":100,"window":32},"received":259232,"received_unacked":0,"reorders":0,"scenario":"saturate","sent":259232,"server_cpu_pct":50.6,"server_rss_mb":66.0,"sockets_closed":0,"stray_frames":0,"target":"messenger","unanswered":0,"unix_time":1795701193}
{"db":"sqlite","kib_per_socket":13.7,"label":null,"open_s":2.8,"params":{"settle_s":3.0,"sockets_per_user":10,"users":1000},"rss_after_mb":181.3,"rss_before_mb":47.2,"scenario":"idle","sockets_failed":0,"sockets_open":10000,"sockets_still_open":10000,"target":"messenger","unix_time":1795701128}
"#;

    fn result_of<'a>(rows: &'a [TargetRow], starts: &str) -> &'a TargetRow {
        rows.iter().find(|r| r.target.starts_with(starts)).unwrap_or_else(|| panic!("no target {starts:?}"))
    }

    #[test]
    fn targets_say_met_or_missed() {
        let (records, skipped) = parse(LINES);
        assert_eq!((records.len(), skipped.len()), (2, 0));
        let rows = targets(&records);

        let pg = result_of(&rows, "Messages/s persisted and delivered on PostgreSQL");
        assert_eq!(pg.result, "met");
        assert!(pg.measured.starts_with("25,603"), "{}", pg.measured);
        assert_eq!(result_of(&rows, "Messages/s persisted and delivered on SQLite").result, "not measured");

        let idle = result_of(&rows, "≤ 10 KiB per idle authenticated socket on SQLite");
        assert_eq!((idle.measured.as_str(), idle.result.as_str()), ("13.7 KiB", "missed by 3.7 KiB"));
        assert_eq!(result_of(&rows, "≤ 10 KiB per idle authenticated socket on PostgreSQL").result, "not measured");

        // The idle line has no delivery counts: one run counted.
        let lost = result_of(&rows, "0 lost");
        assert_eq!((lost.measured.as_str(), lost.result.as_str()), ("0 in 1 run", "met"));

        let markdown = render(&records, &Machine::default());
        assert!(markdown.contains("| Messages/s persisted and delivered on PostgreSQL ≥ 25,000 | 25,603 (`saturate`, 100 pairs, window 32, 10 s) | met |"), "{markdown}");
        assert!(
            markdown.contains("| ≤ 10 KiB per idle authenticated socket on SQLite | 13.7 KiB | missed by 3.7 KiB |")
        );
        assert!(markdown.contains("Measured on 2026-11-26 13:53 UTC: an unknown CPU;"));
        assert_eq!(markdown.lines().filter(|l| l.starts_with("| messenger |")).count(), 2);
    }

    #[test]
    fn odd_lines_are_skipped_and_missing_figures_print_a_dash() {
        let input = "not json\n[1,2]\n\n{\"target\":\"messenger\",\"scenario\":\"rate\",\"db\":\"sqlite\",\"params\":{\"rate\":5000},\"latency_ms\":{\"p99\":\"x\"},\"lost\":2}\n{}";
        let (records, skipped) = parse(input);
        assert_eq!((records.len(), skipped.len()), (2, 2));
        let rows = targets(&records);
        assert_eq!(result_of(&rows, "p99 latency at 5,000 msgs/s on SQLite").result, "not measured");
        assert_eq!(result_of(&rows, "0 lost").result, "missed by 2 messages");
        let markdown = render(&records, &Machine::default());
        assert!(markdown.contains("Measured on an unknown date"));
        assert!(markdown.contains("| messenger | sqlite | rate | 5,000 msgs/s | — | — |"), "{markdown}");
        assert!(markdown.contains("| — | — | — | — | — |"), "{markdown}");
    }

    #[test]
    fn a_page_of_chats_meets_its_target_by_the_slower_of_its_two_pages() {
        let line = |db: &str, first: f64, deep: f64, unix: u64| {
            serde_json::json!({
                "scenario": "chats-page", "target": "messenger", "db": db,
                "params": { "chats": 5000, "limit": 50, "samples": 200 },
                "latency_ms": { "p50": 2.0, "p99": deep.max(first) },
                "first_page_ms": { "p50": 2.0, "p99": first }, "deep_page_ms": { "p50": 1.5, "p99": deep },
                "deep_offset": 4500, "unix_time": unix,
            })
        };
        let records = vec![
            line("sqlite", 80.0, 90.0, 1),
            line("sqlite", 4.25, 3.5, 2),
            line("postgres", 12.0, 61.5, 3),
            // A smaller run says nothing about 5,000 chats.
            serde_json::json!({ "scenario": "chats-page", "target": "messenger", "db": "postgres",
                "params": { "chats": 500 }, "first_page_ms": { "p99": 1.0 }, "deep_page_ms": { "p99": 1.0 }, "unix_time": 9 }),
        ];
        let rows = targets(&records);
        let sqlite = result_of(&rows, "p99 of a page of my chats, with 5,000 of them, on SQLite");
        assert_eq!(sqlite.measured, "4.25 ms the first page, 3.50 ms the page at 4,500");
        assert_eq!(sqlite.result, "met");
        let pg = result_of(&rows, "p99 of a page of my chats, with 5,000 of them, on PostgreSQL");
        assert_eq!(pg.result, "missed by 11.5 ms");
        let markdown = render(&records, &Machine::default());
        assert!(
            markdown.contains("| messenger | sqlite | chats-page | 5,000 chats, pages of 50, 200 samples | — | 2.00 |"),
            "{markdown}"
        );
        assert!(markdown.contains("first page p50 2.00 / p99 4.25 ms; the page at 4,500 p50 1.50 / p99 3.50 ms"));
    }

    #[test]
    fn a_flood_is_judged_by_the_health_check_meanwhile_and_says_how_it_was_answered() {
        let line = |db: &str, requests: u64, p99: f64| {
            serde_json::json!({
                "scenario": "flood", "target": "messenger", "db": db,
                "params": { "kind": "sign-in", "requests": requests, "connections": 200, "probe_ms": 20 },
                "statuses": { "401": 700, "503": 4300 }, "server_errors": 0, "no_answer": 0,
                "latency_ms": { "p50": 1.0, "p99": p99, "max": p99 }, "healthz_failed": 0,
                "rss_before_mb": 30.0, "rss_peak_mb": 70.5, "rss_after_mb": 31.0, "hashing_workers": 2, "unix_time": 1,
            })
        };
        let records = vec![line("sqlite", 5000, 4.5), line("postgres", 5000, 150.0), line("postgres", 100, 1.0)];
        let rows = targets(&records);
        let sqlite = result_of(&rows, "/healthz p99 while 5,000 sign-ins from 200 connections flood SQLite");
        assert_eq!((sqlite.measured.as_str(), sqlite.result.as_str()), ("4.50 ms", "met"));
        // The small run says nothing about 5,000 requests.
        let pg = result_of(&rows, "/healthz p99 while 5,000 sign-ins from 200 connections flood PostgreSQL");
        assert_eq!(pg.result, "missed by 50.0 ms");
        let memory = result_of(&rows, "Server memory during that flood on SQLite");
        assert_eq!(memory.measured, "30.0 MB before, 70.5 MB peak (limit 101.8), 31.0 MB after");
        assert_eq!(memory.result, "met");
        let markdown = render(&records, &Machine::default());
        assert!(
            markdown.contains("answers: 700 × 401, 4,300 × 503; RSS MB: before 30.0, peak 70.5, after 31.0"),
            "{markdown}"
        );
    }

    #[test]
    fn the_page_weight_is_judged_in_kilobytes_and_seconds() {
        let record = serde_json::json!({
            "scenario": "page-weight", "target": "messenger", "db": "sqlite",
            "params": { "network": "fast-3g", "cpu_slowdown": 4, "samples": 3 },
            "bytes_total": 472_777, "kb_total": 472.8,
            "by_type": { "wasm": 456_200, "script": 9_500, "document": 1_600 },
            "login_interactive_ms": { "median": 4350.0, "samples": [4350.0, 4380.0, 4220.0] },
            "reload_chats_ms": { "median": 940.0, "samples": [950.0, 940.0, 870.0] },
            "unix_time": 1,
        });
        let rows = targets(std::slice::from_ref(&record));
        let weight = result_of(&rows, "A first visit");
        assert_eq!((weight.measured.as_str(), weight.result.as_str()), ("472.8 KB", "missed by 222.8 KB"));
        let login = result_of(&rows, "The sign-in page usable");
        assert_eq!((login.measured.as_str(), login.result.as_str()), ("4.35 s (median)", "missed by 1.35 s"));
        assert_eq!(result_of(&rows, "A signed-in reload shows the chat list").result, "met");
        let markdown = render(&[record], &Machine::default());
        assert!(markdown.contains("first visit 472.8 KB: wasm 456.2 KB, script 9.5 KB, document 1.6 KB"), "{markdown}");
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minute(1_795_701_285), "2026-11-26 13:54 UTC");
    }
}
