//! The messenger's server: configuration, start-up and the HTTP routes.

// The UI's nested view types are deep; rendering them on the server needs more than the default 128.
#![recursion_limit = "256"]

pub mod config;
mod docs;
mod http;
mod metrics;
pub mod rest;
mod site;
pub mod state;
mod telegram;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use app::server_context::{CookiePolicy, ServerContext};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::serve::ListenerExt;
use domain::accounts::AdminBootstrap;
use domain::cluster::Cluster;
use domain::messenger::Messenger;
use domain::passwords::Hashing;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use config::Config;
use state::AppState;

/// A failed response, as an error in the log; except 503, the answer to more work than the
/// node takes (a flood of password hashes, say), which a flood would otherwise turn into as
/// many error lines. Every response is logged anyway, with its status, at INFO.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    if !matches!(class, ServerErrorsFailureClass::StatusCode(code) if code == axum::http::StatusCode::SERVICE_UNAVAILABLE)
    {
        tracing::error!(classification = %class, ?latency, "response failed");
    }
}

/// Largest request body accepted anywhere, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A server that is bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    telegram: Option<telegram::Options>,
}

impl Application {
    /// Connects to the database, applies migrations, makes sure the administrator
    /// exists, and binds the listening socket.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut writer = config.writer;
        if config.database_url.starts_with("sqlite:") {
            // SQLite has one writer connection: one lane.
            writer.lanes = 1;
        }
        let (db, writer_db) = connect_database(&config.database_url, writer.lanes).await?;
        Migrator::up(&db, None).await.context("applying database migrations")?;
        let hashing = Hashing::new(config.hashing_workers, config.hashing_queue);
        match domain::accounts::ensure_admin(&db, &hashing, &config.admin_email, config.admin_password.clone())
            .await
            .map_err(|e| anyhow::anyhow!("creating the administrator: {e:?}"))?
        {
            AdminBootstrap::Existing => {}
            AdminBootstrap::Created => tracing::info!(email = config.admin_email.as_str(), "administrator created"),
            AdminBootstrap::CreatedWithPassword(password) => println!(
                "\nAdministrator created. Sign in with\n  email:    {}\n  password: {password}\nThis password is shown only once.\n",
                config.admin_email.as_str()
            ),
        }
        let cluster = match &config.redis_url {
            Some(url) => Some(Cluster::connect(url, &db, config.presence_ttl).await.map_err(|e| anyhow::anyhow!(e))?),
            None => None,
        };
        let mut messenger =
            Messenger::new(db, writer_db, writer, hashing, cluster).await.map_err(|e| anyhow::anyhow!(e))?;
        messenger = messenger.with_rate_limits(if config.rate_limits {
            domain::limits::RateLimits::new(config.sign_ups_per_hour)
        } else {
            tracing::warn!("RATE_LIMITS=off: sign-ins, sign-ups, sends and opened chats are not limited");
            domain::limits::RateLimits::off()
        });

        let leptos = LeptosOptions::builder()
            .output_name(site::output_name(&config.site_root))
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(config.bind)
            .build();
        let state = AppState {
            ctx: ServerContext {
                messenger,
                cookies: CookiePolicy { secure: config.is_https() },
                trusted_proxies: config.trusted_proxies.clone().into(),
            },
            leptos,
            public_origin: config.public_origin(),
            heartbeat: config.ws_heartbeat,
            sockets_per_address: ws::SocketsPerAddress::new(config.sockets_per_address),
        };
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("listening on {}", config.bind))?;
        let telegram = config.telegram_bot_token.clone().map(|token| telegram::Options {
            token,
            api_url: config.telegram_api_url.clone(),
            lease_ttl: config.telegram_lease_ttl,
            notify_delay: config.telegram_notify_delay,
            poll_timeout: config.telegram_poll_timeout,
            public_url: config.public_url.clone(),
        });
        Ok(Self { router: router(state.clone(), &config.metrics_allow), listener, state, telegram })
    }

    /// The port it listens on (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The shared state (tests reach the database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes. Then it stops taking connections, reports not
    /// ready, closes every socket with code 1012 (clients reconnect, to another node),
    /// finishes the requests under way and the sends already queued, and returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let messenger = self.state.ctx.messenger.clone();
        // Sessions that can no longer be used are deleted now and then.
        let housekeeping = tokio::spawn({
            let db = messenger.db.clone();
            async move {
                let mut every = tokio::time::interval(Duration::from_secs(3_600));
                loop {
                    every.tick().await;
                    match domain::sessions::purge(&db).await {
                        Ok(0) => {}
                        Ok(purged) => tracing::info!(purged, "expired sessions deleted"),
                        Err(error) => tracing::warn!(?error, "could not delete expired sessions"),
                    }
                }
            }
        });
        // The Telegram bot runs beside the web app; nothing it meets stops the app.
        let bot = match self.telegram {
            Some(options) => match telegram::Telegram::start(messenger.clone(), options) {
                Ok(bot) => Some(bot),
                Err(error) => {
                    tracing::error!(%error, "the Telegram bot cannot start (TELEGRAM_API_URL)");
                    None
                }
            },
            None => None,
        };
        let hub = messenger.hub.clone();
        let shutdown = async move {
            shutdown.await;
            hub.shut_down();
        };
        // Frames are small and latency matters: no Nagle delay (it stalls a socket's second
        // small write until the client's delayed ACK, tens of milliseconds).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        // The peer's address reaches handlers as `ConnectInfo` (`/metrics` checks it).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).with_graceful_shutdown(shutdown).await?;
        housekeeping.abort();
        if let Some(bot) = bot {
            bot.stop().await;
        }
        if !messenger.shut_down().await {
            tracing::warn!("stopped with sends still unfinished after 30 s");
        }
        Ok(())
    }
}

/// The request pool and the writer's own connection pool. On SQLite the database runs in
/// WAL mode (readers never wait for the writer), `synchronous=NORMAL` (durable at each
/// checkpoint, safe against corruption), with a busy timeout; the writer pool has one
/// connection, the only one that stores messages; on PostgreSQL it has one per lane.
async fn connect_database(url: &str, lanes: usize) -> anyhow::Result<(DatabaseConnection, DatabaseConnection)> {
    let sqlite = url.starts_with("sqlite:");
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the database folder {}", dir.display()))?;
        }
    }
    let pool = |min_connections: u32, max_connections: u32| {
        let mut options = ConnectOptions::new(url);
        // A database out of reach fails a request after this long, as a retryable 503
        // `unavailable`, rather than holding it (and a socket's sends) much longer.
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(5))
            .min_connections(min_connections)
            .max_connections(max_connections);
        if sqlite {
            options.map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
            });
        }
        options
    };
    let connect = |options: ConnectOptions| async move {
        Database::connect(options).await.with_context(|| "connecting to the database (DATABASE_URL)".to_string())
    };
    // SQLite: a few readers (WAL lets them read while the writer writes) and one writer.
    let (readers, writers) = if sqlite { (4, 1) } else { (16, u32::try_from(lanes).unwrap_or(1)) };
    let db = connect(pool(1, readers)).await?;
    // The writer's connections are opened now, not by the first sends (which would wait for them).
    let writer = connect(pool(writers, writers)).await?;
    Ok((db, writer))
}

fn router(state: AppState, metrics_allow: &[ipnet::IpNet]) -> Router {
    let headers = http::security_headers(state.ctx.cookies.secure)
        .map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, value));
    let [nosniff, frames, csp, referrer, hsts] = headers;
    let routes = generate_route_list(app::App);
    let leptos = state.leptos.clone();
    let ctx = state.ctx.clone();
    let provide_ctx = move || leptos::prelude::provide_context(ctx.clone());
    Router::new()
        .nest("/api/v1", rest::routes())
        .merge(docs::routes())
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .merge(metrics::routes(metrics_allow))
        .nest("/pkg", site::pkg_routes(&state.leptos.site_root, &state.leptos.output_name))
        .merge(site::script_routes(&state.leptos.output_name))
        .leptos_routes_with_context(&state, routes, provide_ctx.clone(), {
            let leptos = leptos.clone();
            move || app::shell(leptos.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_ctx, app::shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::check_origin))
        .layer(nosniff)
        .layer(frames)
        .layer(csp)
        .layer(referrer)
        .layer(hsts)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // Its 413, and the router's 405, in the API's error shape.
        .layer(axum::middleware::from_fn(http::json_errors))
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(log_failure),
        )
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}
