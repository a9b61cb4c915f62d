//! Configuration from the environment (and an optional `.env`). A bad value stops
//! start-up with one line naming the variable and what it expects.

use std::net::{IpAddr, SocketAddr};

use axum::http::Uri;
use domain::input::{Email, Password};
use domain::writer::WriterConfig;
use ipnet::IpNet;

/// Everything the server can be told.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (`HOST`, `PORT`).
    pub bind: SocketAddr,
    /// `DATABASE_URL`: `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// `REDIS_URL`: when set, readiness also checks Redis.
    pub redis_url: Option<String>,
    /// `PUBLIC_URL`: the address people use; decides `Secure` cookies and allowed origins.
    pub public_url: String,
    /// `ADMIN_EMAIL`: the administrator created at first start.
    pub admin_email: Email,
    /// `ADMIN_PASSWORD`: its password; generated and printed once when unset.
    pub admin_password: Option<Password>,
    /// `TELEGRAM_BOT_TOKEN`: enables the Telegram bot.
    pub telegram_bot_token: Option<String>,
    /// `TELEGRAM_API_URL`: the Bot API server.
    pub telegram_api_url: String,
    /// `TELEGRAM_LEASE_TTL` (seconds): one node at a time runs the bot; when it stops
    /// renewing its lease, another takes over within this long.
    pub telegram_lease_ttl: std::time::Duration,
    /// `TELEGRAM_NOTIFY_DELAY` (milliseconds): a notification waits until a chat has been
    /// quiet this long, so a burst of messages becomes one notification.
    pub telegram_notify_delay: std::time::Duration,
    /// `TELEGRAM_POLL_TIMEOUT` (seconds): how long each long poll for updates waits.
    pub telegram_poll_timeout: u32,
    /// `RUST_LOG`: the log filter.
    pub log_filter: String,
    /// `LOG_FORMAT`: `text` (one readable line per event) or `json` (one JSON object per line).
    pub log_json: bool,
    /// `LEPTOS_SITE_ROOT`: the built static site (WASM, CSS, public files).
    pub site_root: String,
    /// `SEND_QUEUE_CAPACITY` (sends waiting for the writer before `busy`),
    /// `SEND_BATCH_MAX` (most sends in one transaction) and `SEND_LANES` (writer tasks
    /// storing in parallel on PostgreSQL; SQLite always has one).
    pub writer: WriterConfig,
    /// `HASHING_WORKERS`: password hashes computed at once (19 MiB each); one per core by default.
    pub hashing_workers: usize,
    /// `HASHING_QUEUE`: sign-ins and sign-ups that may wait for a worker; beyond that they
    /// are refused with 503 and `Retry-After`.
    pub hashing_queue: usize,
    /// `PRESENCE_TTL` (seconds): with Redis, how soon the people of a node that stopped
    /// answering count as offline.
    pub presence_ttl: std::time::Duration,
    /// `WS_HEARTBEAT` (seconds): how often a live socket is pinged and its session checked.
    pub ws_heartbeat: std::time::Duration,
    /// `TRUSTED_PROXIES`: the proxies (TCP peers) whose `X-Forwarded-For` names the client;
    /// empty by default (the peer is the client).
    pub trusted_proxies: Vec<IpNet>,
    /// `RATE_LIMITS`: `on` (default) or `off` (load tests only).
    pub rate_limits: bool,
    /// `SOCKETS_PER_ADDRESS`: live WebSocket connections one client address may hold.
    pub sockets_per_address: usize,
    /// `SIGN_UPS_PER_HOUR`: sign-ups allowed from one client address in an hour (at once,
    /// then spread over the hour).
    pub sign_ups_per_hour: u32,
    /// `METRICS_ALLOW`: the client addresses (TCP peers) that may read `/metrics`; empty
    /// (the value `none`) turns the endpoint off.
    pub metrics_allow: Vec<IpNet>,
}

/// A variable with a value the server cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: expected {expected}, got {got:?}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What it should look like.
    pub expected: String,
    /// What it was.
    pub got: String,
}

/// Writer lanes on PostgreSQL unless `SEND_LANES` says otherwise.
pub const DEFAULT_LANES_POSTGRES: usize = 2;

/// Who may read `/metrics` unless `METRICS_ALLOW` says otherwise: this machine.
pub const DEFAULT_METRICS_ALLOW: &str = "127.0.0.1/32,::1/128";

/// The default database: a SQLite file under ./data.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/messenger.db?mode=rwc";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let bad = |var: &'static str, expected: &str, got: String| ConfigError { var, expected: expected.into(), got };

        let host = get("HOST").unwrap_or_else(|| "127.0.0.1".into());
        let host: IpAddr = host.parse().map_err(|_| bad("HOST", "an IP address such as 127.0.0.1 or 0.0.0.0", host))?;
        let port = get("PORT").unwrap_or_else(|| "3000".into());
        let port: u16 = port.parse().map_err(|_| bad("PORT", "a port number from 0 to 65535", port))?;
        let bind = SocketAddr::new(host, port);

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| database_url.starts_with(p)) {
            return Err(bad("DATABASE_URL", "a sqlite:// or postgres:// URL", database_url));
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(bad("REDIS_URL", "a redis:// or rediss:// URL", url.clone()));
        }

        let default_public =
            format!("http://{}:{}", if host.is_unspecified() { "127.0.0.1".into() } else { host.to_string() }, port);
        let public_url = get("PUBLIC_URL").unwrap_or(default_public);
        let parsed: Option<Uri> = public_url.parse().ok();
        let valid =
            parsed.as_ref().is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !valid {
            return Err(bad("PUBLIC_URL", "an http:// or https:// URL such as https://chat.example.com", public_url));
        }
        let public_url = public_url.trim_end_matches('/').to_owned();

        let admin_email = get("ADMIN_EMAIL").unwrap_or_else(|| "admin@localhost".into());
        let admin_email = Email::parse(&admin_email)
            .map_err(|why| bad("ADMIN_EMAIL", &format!("an email address ({why})"), admin_email))?;
        let admin_password = match lookup("ADMIN_PASSWORD").filter(|v| !v.is_empty()) {
            Some(raw) => {
                Some(Password::parse(&raw).map_err(|why| bad("ADMIN_PASSWORD", &why.message, "(hidden)".into()))?)
            }
            None => None,
        };

        let telegram_bot_token = get("TELEGRAM_BOT_TOKEN");
        if let Some(token) = &telegram_bot_token {
            let valid = token
                .split_once(':')
                .is_some_and(|(id, rest)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty());
            if !valid {
                return Err(bad(
                    "TELEGRAM_BOT_TOKEN",
                    "a token from @BotFather such as 123456:ABC-DEF",
                    "(hidden)".into(),
                ));
            }
        }
        let telegram_api_url = get("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
        if !(telegram_api_url.starts_with("http://") || telegram_api_url.starts_with("https://")) {
            return Err(bad("TELEGRAM_API_URL", "an http:// or https:// URL", telegram_api_url));
        }

        let number =
            |var: &'static str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str| match get(var) {
                None => Ok(default),
                Some(raw) => raw.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    bad(var, &format!("a number of {unit} from {} to {}", range.start(), range.end()), raw)
                }),
            };
        let telegram_lease_ttl = std::time::Duration::from_secs(number("TELEGRAM_LEASE_TTL", 30, 3..=600, "seconds")?);
        let telegram_notify_delay =
            std::time::Duration::from_millis(number("TELEGRAM_NOTIFY_DELAY", 3_000, 0..=600_000, "milliseconds")?);
        let ws_heartbeat =
            std::time::Duration::from_secs(number("WS_HEARTBEAT", crate::ws::HEARTBEAT.as_secs(), 1..=55, "seconds")?);
        let telegram_poll_timeout =
            u32::try_from(number("TELEGRAM_POLL_TIMEOUT", 25, 1..=50, "seconds")?).unwrap_or(25);

        let log_filter = get("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(bad("RUST_LOG", "a tracing filter such as info or info,server=debug", log_filter));
        }
        let log_json = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(bad("LOG_FORMAT", "text or json", other.to_owned())),
        };
        let site_root = get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into());

        let defaults = WriterConfig::default();
        let count = |var: &'static str, default: usize, max: usize| -> Result<usize, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| bad(var, &format!("a whole number from 1 to {max}"), raw)),
            }
        };
        let writer = WriterConfig {
            queue_capacity: count("SEND_QUEUE_CAPACITY", defaults.queue_capacity, 1_000_000)?,
            // 8 columns a row: 4,096 rows stay under SQLite's and PostgreSQL's parameter limits.
            batch_max: count("SEND_BATCH_MAX", defaults.batch_max, 4_096)?,
            lanes: count("SEND_LANES", DEFAULT_LANES_POSTGRES, 16)?,
            telegram: telegram_bot_token.is_some(),
        };
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let hashing_workers = count("HASHING_WORKERS", cores, 64)?;
        let hashing_queue = match get("HASHING_QUEUE") {
            None => 16 * hashing_workers,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| bad("HASHING_QUEUE", "a whole number from 0 to 10000", raw))?,
        };

        let presence_ttl = match get("PRESENCE_TTL") {
            None => domain::cluster::PRESENCE_TTL,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| (3..=3_600).contains(n))
                .map(std::time::Duration::from_secs)
                .ok_or_else(|| bad("PRESENCE_TTL", "a number of seconds from 3 to 3600", raw))?,
        };

        let metrics_allow = get("METRICS_ALLOW").unwrap_or_else(|| DEFAULT_METRICS_ALLOW.into());
        let metrics_allow = parse_networks(&metrics_allow).ok_or_else(|| {
            bad(
                "METRICS_ALLOW",
                "comma-separated IP addresses or CIDRs such as 127.0.0.1/32,10.0.0.0/8, or none",
                metrics_allow,
            )
        })?;

        let trusted = get("TRUSTED_PROXIES").unwrap_or_else(|| "none".into());
        let trusted_proxies = parse_networks(&trusted).ok_or_else(|| {
            bad("TRUSTED_PROXIES", "comma-separated IP addresses or CIDRs of your proxies, or none", trusted)
        })?;
        let rate_limits = match get("RATE_LIMITS").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(bad("RATE_LIMITS", "on or off", other.to_owned())),
        };

        let sign_ups_per_hour = u32::try_from(number(
            "SIGN_UPS_PER_HOUR",
            u64::from(domain::limits::SIGN_UPS_PER_HOUR),
            1..=100_000,
            "sign-ups",
        )?)
        .unwrap_or(domain::limits::SIGN_UPS_PER_HOUR);

        let sockets_per_address =
            usize::try_from(number("SOCKETS_PER_ADDRESS", 256, 1..=1_000_000, "connections")?).unwrap_or(256);

        Ok(Self {
            bind,
            database_url,
            redis_url,
            public_url,
            admin_email,
            admin_password,
            telegram_bot_token,
            telegram_api_url,
            telegram_lease_ttl,
            telegram_notify_delay,
            telegram_poll_timeout,
            log_filter,
            log_json,
            site_root,
            writer,
            hashing_workers,
            hashing_queue,
            presence_ttl,
            ws_heartbeat,
            trusted_proxies,
            rate_limits,
            sign_ups_per_hour,
            sockets_per_address,
            metrics_allow,
        })
    }

    /// True when people reach the server over HTTPS.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The scheme://host[:port] that browsers send as `Origin`.
    pub fn public_origin(&self) -> String {
        let parsed: Uri = self.public_url.parse().expect("checked when the configuration was read");
        let scheme = parsed.scheme_str().unwrap_or("http");
        match parsed.authority() {
            Some(authority) => format!("{scheme}://{authority}"),
            None => self.public_url.clone(),
        }
    }
}

/// `none`, or comma-separated IP addresses (one host each) and CIDRs; `None` when one is neither.
fn parse_networks(list: &str) -> Option<Vec<IpNet>> {
    if list.eq_ignore_ascii_case("none") {
        return Some(Vec::new());
    }
    let networks = list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| item.parse::<IpNet>().ok().or_else(|| item.parse::<IpAddr>().ok().map(IpNet::from)))
        .collect::<Option<Vec<IpNet>>>()?;
    (!networks.is_empty()).then_some(networks)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost_3000() {
        let config = read(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        assert!(!config.is_https());
        assert_eq!(config.admin_email.as_str(), "admin@localhost");
        assert!(config.admin_password.is_none());
    }

    #[test]
    fn a_bad_value_names_the_variable_and_what_it_expects() {
        let error = read(&[("PORT", "eighty")]).unwrap_err();
        assert_eq!(error.var, "PORT");
        assert_eq!(error.to_string(), "PORT: expected a port number from 0 to 65535, got \"eighty\"");
        assert_eq!(read(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var, "DATABASE_URL");
        assert_eq!(read(&[("PUBLIC_URL", "chat.example.com")]).unwrap_err().var, "PUBLIC_URL");
        assert_eq!(read(&[("ADMIN_PASSWORD", "short")]).unwrap_err().var, "ADMIN_PASSWORD");
        assert_eq!(read(&[("REDIS_URL", "localhost:6379")]).unwrap_err().var, "REDIS_URL");
        assert_eq!(read(&[("TELEGRAM_BOT_TOKEN", "nonsense")]).unwrap_err().var, "TELEGRAM_BOT_TOKEN");
        assert_eq!(read(&[("SEND_QUEUE_CAPACITY", "0")]).unwrap_err().var, "SEND_QUEUE_CAPACITY");
        assert_eq!(read(&[("SEND_BATCH_MAX", "5000")]).unwrap_err().var, "SEND_BATCH_MAX");
        assert_eq!(read(&[("PRESENCE_TTL", "1")]).unwrap_err().var, "PRESENCE_TTL");
        assert_eq!(read(&[("LOG_FORMAT", "xml")]).unwrap_err().var, "LOG_FORMAT");
        assert_eq!(read(&[("TELEGRAM_LEASE_TTL", "1")]).unwrap_err().var, "TELEGRAM_LEASE_TTL");
        assert_eq!(read(&[("WS_HEARTBEAT", "60")]).unwrap_err().var, "WS_HEARTBEAT");
        assert_eq!(read(&[("TRUSTED_PROXIES", "nginx")]).unwrap_err().var, "TRUSTED_PROXIES");
        assert_eq!(read(&[("RATE_LIMITS", "maybe")]).unwrap_err().var, "RATE_LIMITS");
        assert_eq!(read(&[("TELEGRAM_NOTIFY_DELAY", "soon")]).unwrap_err().var, "TELEGRAM_NOTIFY_DELAY");
        assert_eq!(read(&[("TELEGRAM_POLL_TIMEOUT", "60")]).unwrap_err().var, "TELEGRAM_POLL_TIMEOUT");
        assert_eq!(read(&[("METRICS_ALLOW", "10.0.0.0/33")]).unwrap_err().var, "METRICS_ALLOW");
        assert_eq!(read(&[("METRICS_ALLOW", "127.0.0.1, localhost")]).unwrap_err().var, "METRICS_ALLOW");
        assert_eq!(read(&[("METRICS_ALLOW", ",")]).unwrap_err().var, "METRICS_ALLOW");
    }

    #[test]
    fn metrics_are_for_this_machine_unless_told_otherwise() {
        let nets = |vars: &[(&str, &str)]| {
            read(vars).unwrap().metrics_allow.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        assert_eq!(nets(&[]), ["127.0.0.1/32", "::1/128"]);
        assert_eq!(
            nets(&[("METRICS_ALLOW", "10.0.0.0/8, 192.168.1.7,fd00::/8")]),
            ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]
        );
        assert!(nets(&[("METRICS_ALLOW", "none")]).is_empty());
    }

    #[test]
    fn https_public_url_means_secure_cookies_and_that_origin() {
        let config = read(&[("PUBLIC_URL", "https://chat.example.com/")]).unwrap();
        assert!(config.is_https());
        assert_eq!(config.public_origin(), "https://chat.example.com");
    }
}
