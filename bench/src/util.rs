//! Small helpers: one monotonic clock for the whole process, /proc readers, number formatting.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The process-wide zero of [`now_ns`]. Call once early so every later reading is positive.
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`], on the monotonic clock. Both ends of every measured message
/// live in this process, so this number travels inside the message text.
pub fn now_ns() -> u64 {
    ns_of(Instant::now())
}

/// An instant as nanoseconds since [`epoch`].
pub fn ns_of(instant: Instant) -> u64 {
    u64::try_from(instant.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// Resident memory of a process in KiB (`VmRSS` in /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Threads of a process (`Threads` in /proc/PID/status).
pub fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory once it has stopped moving: readings every 250 ms until the last second's
/// spread is within 256 KiB or 0.5%, for at most `max_wait`. Allocators hand freed memory
/// back with a delay, so a reading right after a burst of work overstates what is kept.
pub async fn settled_rss_kib(pid: u32, max_wait: std::time::Duration) -> Option<u64> {
    let deadline = Instant::now() + max_wait;
    let mut last: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    loop {
        let now = rss_kib(pid)?;
        last.push_back(now);
        if last.len() > 5 {
            last.pop_front();
        }
        let (lo, hi) = (last.iter().min().copied().unwrap_or(now), last.iter().max().copied().unwrap_or(now));
        if (last.len() == 5 && hi - lo <= 256.max(hi / 200)) || Instant::now() >= deadline {
            return Some(now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The highest resident memory of a process while it runs, sampled every 100 ms.
pub struct PeakRss {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<u64>,
}

impl PeakRss {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut peak = 0;
                loop {
                    peak = peak.max(rss_kib(pid).unwrap_or(0));
                    tokio::select! {
                        () = stop.cancelled() => break peak,
                        () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                    }
                }
            }
        });
        Self { stop, task }
    }

    /// Stops sampling; the peak in KiB.
    pub async fn finish(self) -> u64 {
        self.stop.cancel();
        self.task.await.unwrap_or(0)
    }
}

/// User plus system CPU time a process has used, in seconds (/proc/PID/stat).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; the fields after its last ')' are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 12 and 13 after the name and state.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

/// CPU use of a process between two readings, in percent of one core.
pub struct CpuMeter {
    pid: u32,
    start: Instant,
    cpu: f64,
}

impl CpuMeter {
    /// Starts measuring `pid` now; `None` when /proc cannot tell.
    pub fn start(pid: u32) -> Option<Self> {
        Some(Self { pid, start: Instant::now(), cpu: cpu_seconds(pid)? })
    }

    /// Percent of one core used since [`CpuMeter::start`].
    pub fn percent(&self) -> Option<f64> {
        let used = cpu_seconds(self.pid)? - self.cpu;
        let wall = self.start.elapsed().as_secs_f64();
        (wall > 0.0).then(|| 100.0 * used / wall)
    }
}

/// Raises the soft limit of open files to the hard one (10,000 sockets need it). The server
/// child inherits the raised limit.
pub fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit write to and read from a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// KiB as MB with one decimal.
pub fn mb(kib: u64) -> f64 {
    round1(kib as f64 / 1024.0)
}

/// One decimal place.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Three decimal places.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Seconds since the Unix epoch, for the JSON record.
pub fn unix_time() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A short string unique to this run (names of users, databases and folders).
pub fn nonce() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos & 0xff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn this_process_has_rss_and_cpu() {
        let pid = std::process::id();
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(threads(pid).unwrap() >= 1);
        assert!(cpu_seconds(pid).is_some());
    }
}
