//! The server under test: a `messenger` child process on a free port with a brand-new
//! database (so its pid, hence its memory, is known), or one already running at `--url`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::util;

/// Which database a started server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DbKind {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server at `--pg-url`, dropped afterwards.
    Postgres,
}

impl DbKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How to start a server.
pub struct Launch<'a> {
    /// The `messenger` binary.
    pub binary: &'a Path,
    /// Its database.
    pub db: DbKind,
    /// The PostgreSQL server (no database name), for `DbKind::Postgres`.
    pub pg_url: &'a str,
    /// `RUST_LOG` for the child.
    pub log_filter: &'a str,
}

/// What loadgen owns and must clean up.
struct Owned {
    child: Option<Child>,
    dir: PathBuf,
    pg: Option<(String, String)>,
    log: PathBuf,
}

/// A server to drive.
pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    /// Its process id, when known (memory and CPU figures need it).
    pub pid: Option<u32>,
    /// "sqlite", "postgres", or "external".
    pub db: &'static str,
    owned: Option<Owned>,
}

const ADMIN_EMAIL: &str = "admin@bench.test";
const ADMIN_PASSWORD: &str = "bench-admin-password";
/// How long a fresh server may take to answer /healthz (migrations included).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    /// Starts `messenger` on a free loopback port with a fresh database and waits for /healthz.
    pub async fn start(launch: &Launch<'_>) -> anyhow::Result<Self> {
        if !launch.binary.is_file() {
            bail!(
                "no server binary at {} (build it with `cargo build --release -p server`, or pass --server)",
                launch.binary.display()
            );
        }
        let dir = std::env::temp_dir().join(format!("loadgen-{}", util::nonce()));
        std::fs::create_dir_all(dir.join("site")).with_context(|| format!("creating {}", dir.display()))?;
        let log = dir.join("server.log");
        let mut owned = Owned { child: None, dir, pg: None, log };
        match Self::launch(launch, &mut owned).await {
            Ok((base, pid)) => Ok(Self { base, pid: Some(pid), db: launch.db.name(), owned: Some(owned) }),
            Err(e) => {
                cleanup(&mut owned).await;
                Err(e)
            }
        }
    }

    async fn launch(launch: &Launch<'_>, owned: &mut Owned) -> anyhow::Result<(String, u32)> {
        let database_url = match launch.db {
            DbKind::Sqlite => format!("sqlite://{}?mode=rwc", owned.dir.join("messenger.db").display()),
            DbKind::Postgres => {
                let name = format!("bench_{}", util::nonce());
                psql(launch.pg_url, &format!("CREATE DATABASE {name}")).await?;
                owned.pg = Some((launch.pg_url.to_owned(), name.clone()));
                with_database(launch.pg_url, &name)
            }
        };
        let port = free_port()?;
        let log = std::fs::File::create(&owned.log).context("creating the server log")?;
        let mut command = Command::new(launch.binary);
        command
            // Its own folder, so that no stray .env is read.
            .current_dir(&owned.dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", &database_url)
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", launch.log_filter)
            // A thousand accounts from one address, each sending as fast as it can.
            .env("RATE_LIMITS", "off")
            .env("SOCKETS_PER_ADDRESS", "1000000")
            .env("LEPTOS_SITE_ROOT", owned.dir.join("site"))
            .env_remove("PUBLIC_URL")
            .env_remove("REDIS_URL")
            .env_remove("TELEGRAM_BOT_TOKEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("server log")?)
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("starting {}", launch.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        owned.child = Some(child);
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = owned.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("the server exited during start-up ({status}):\n{}", log_tail(&owned.log, 20));
            }
            if let Ok(response) = http.get(format!("{base}/healthz")).send().await
                && response.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("the server did not answer /healthz within {START_TIMEOUT:?}:\n{}", log_tail(&owned.log, 20));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("server pid {pid} on {base} ({} database)", launch.db.name());
        Ok((base, pid))
    }

    /// A server someone else runs; only loopback addresses are accepted.
    pub async fn attach(url: &str, pid: Option<u32>) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(url).context("--url")?;
        let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip: std::net::IpAddr| ip.is_loopback());
        if !loopback || parsed.scheme() != "http" {
            bail!("--url must be an http:// address on this machine (127.0.0.1, localhost, [::1])");
        }
        let base = url.trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        let health = http.get(format!("{base}/healthz")).send().await.context("GET /healthz")?;
        if !health.status().is_success() {
            bail!("GET {base}/healthz answered {}", health.status());
        }
        if let Some(pid) = pid
            && util::rss_kib(pid).is_none()
        {
            bail!("no process {pid} to read memory from");
        }
        Ok(Self { base, pid, db: "external", owned: None })
    }

    /// Fails when a started server has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(owned) = self.owned.as_mut()
            && let Some(child) = owned.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            use std::os::unix::process::ExitStatusExt;
            // The server exits with 0 only after SIGTERM or SIGINT: loadgen sends neither
            // before the end, so another process stopped it.
            let why = if status.success() || status.signal().is_some() {
                "; something outside loadgen stopped it (a signal, e.g. a `pkill messenger`)"
            } else {
                ""
            };
            bail!("the server exited mid-run ({status}){why}; its log ends:\n{}", log_tail(&owned.log, 20));
        }
        Ok(())
    }

    /// Stops a started server (SIGTERM, then SIGKILL), drops its database and folder, and
    /// shows what it logged, if anything. Nothing to do for an attached server.
    pub async fn stop(mut self) {
        if let Some(mut owned) = self.owned.take() {
            cleanup(&mut owned).await;
        }
    }
}

async fn cleanup(owned: &mut Owned) {
    if let Some(mut child) = owned.child.take() {
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill only sends a signal to our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                eprintln!("the server did not stop within {STOP_TIMEOUT:?} of SIGTERM; killing it");
                let _ = child.kill().await;
            }
        }
    }
    let said = notable_log_lines(&owned.log);
    if !said.is_empty() {
        eprintln!("the server logged ({} lines; last ones):", said.len());
        for line in said.iter().rev().take(15).rev() {
            eprintln!("  | {line}");
        }
    }
    if let Some((pg_url, name)) = owned.pg.take()
        && let Err(e) = psql(&pg_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
    {
        eprintln!("could not drop database {name}: {e:#}");
    }
    let _ = std::fs::remove_dir_all(&owned.dir);
}

/// Runs one statement on the `postgres` database with psql.
async fn psql(pg_url: &str, sql: &str) -> anyhow::Result<()> {
    let url = with_database(pg_url, "postgres");
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url, "-c", sql])
        .stdin(Stdio::null())
        .output()
        .await
        .context("running psql (is it installed?)")?;
    if !output.status.success() {
        bail!("psql {sql:?}: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// `postgres://u@h:p` (or `postgres://u@h?host=/socket/dir`) with a database name put in.
fn with_database(pg_url: &str, name: &str) -> String {
    let (base, query) = pg_url.split_once('?').map_or((pg_url, None), |(b, q)| (b, Some(q)));
    let base = base.trim_end_matches('/');
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The log lines other than the start-up banner.
fn notable_log_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("Messenger is running")).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_goes_before_the_query() {
        assert_eq!(with_database("postgres://p@127.0.0.1:5432", "x"), "postgres://p@127.0.0.1:5432/x");
        assert_eq!(with_database("postgres://p@127.0.0.1:5432/", "x"), "postgres://p@127.0.0.1:5432/x");
        assert_eq!(
            with_database("postgres://p@localhost?host=/var/run/postgresql", "x"),
            "postgres://p@localhost/x?host=/var/run/postgresql"
        );
    }
}
