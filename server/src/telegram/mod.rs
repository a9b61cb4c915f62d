//! The Telegram bot, run as background tasks when `TELEGRAM_BOT_TOKEN` is set.
//!
//! Every node asks Telegram for the bot's username (`getMe`, retried with back-off), which
//! the settings page and the linking links need. One node at a time, the holder of the
//! `telegram` lease in the database, also polls for updates (the bot's commands and
//! replies, [`bot`]) and sends the notifications of the outbox ([`notifier`]); when it
//! stops renewing the lease, another node takes over within `TELEGRAM_LEASE_TTL`.
//! Nothing here can stop the web app: a wrong token or an unreachable API is logged and
//! retried.

mod bot;
mod notifier;
mod texts;

use std::time::Duration;

use domain::leases;
use domain::messenger::Messenger;
use teloxide_core::Bot;
use teloxide_core::requests::Requester;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The lease that the polling node holds.
const LEASE: &str = "telegram";

/// How the bot runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// `TELEGRAM_BOT_TOKEN`.
    pub token: String,
    /// `TELEGRAM_API_URL`.
    pub api_url: String,
    /// `TELEGRAM_LEASE_TTL`.
    pub lease_ttl: Duration,
    /// `TELEGRAM_NOTIFY_DELAY`.
    pub notify_delay: Duration,
    /// `TELEGRAM_POLL_TIMEOUT`, seconds.
    pub poll_timeout: u32,
    /// `PUBLIC_URL`: links in notifications point here.
    pub public_url: String,
}

/// The running bot; [`Telegram::stop`] ends it.
pub struct Telegram {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Telegram {
    /// Starts the bot's tasks on the current runtime. Fails only on an API URL that is not a URL.
    pub fn start(messenger: Messenger, options: Options) -> anyhow::Result<Self> {
        let url = url::Url::parse(&options.api_url)?;
        // teloxide's client gives up on any request after 17 s, long polls included: this
        // one waits for a long poll's own timeout and then some.
        let client = teloxide_core::net::default_reqwest_settings()
            .timeout(Duration::from_secs(u64::from(options.poll_timeout) + 15))
            .build()?;
        let bot = Bot::with_client(options.token.clone(), client).set_api_url(url);
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(bot, messenger, options, stop.clone()));
        Ok(Self { stop, task })
    }

    /// Stops polling and sending, and gives the lease up so that another node takes over at once.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the Telegram bot's task failed");
        }
    }
}

async fn run(bot: Bot, messenger: Messenger, options: Options, stop: CancellationToken) {
    tokio::select! {
        () = stop.cancelled() => return,
        () = identify(&bot, &messenger) => {}
    }
    // A random name for this node's hold on the lease.
    let holder = format!("{:016x}", rand::random::<u64>());
    let renew_every = options.lease_ttl / 3;
    let mut leading: Option<(CancellationToken, JoinHandle<()>)> = None;
    loop {
        let held = match leases::acquire(&messenger.db, LEASE, &holder, to_chrono(options.lease_ttl)).await {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(?error, "could not renew the Telegram lease");
                false
            }
        };
        match (&leading, held) {
            (None, true) => {
                tracing::info!("this node now runs the Telegram bot");
                metrics::gauge!("messenger_telegram_leader").set(1.0);
                let child = stop.child_token();
                let task = tokio::spawn(lead(bot.clone(), messenger.clone(), options.clone(), child.clone()));
                leading = Some((child, task));
            }
            (Some(_), false) => {
                tracing::warn!("this node lost the Telegram lease; another one runs the bot");
                stop_leading(leading.take()).await;
            }
            _ => {}
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(renew_every) => {}
        }
    }
    stop_leading(leading.take()).await;
    if let Err(error) = leases::release(&messenger.db, LEASE, &holder).await {
        tracing::warn!(?error, "could not give the Telegram lease up");
    }
}

async fn stop_leading(leading: Option<(CancellationToken, JoinHandle<()>)>) {
    metrics::gauge!("messenger_telegram_leader").set(0.0);
    if let Some((token, task)) = leading {
        token.cancel();
        let _ = task.await;
    }
}

/// What the lease holder does: poll for updates and send notifications, until told to stop.
async fn lead(bot: Bot, messenger: Messenger, options: Options, stop: CancellationToken) {
    tokio::join!(
        bot::poll(bot.clone(), messenger.clone(), options.poll_timeout, stop.clone()),
        notifier::run(bot, messenger, options, stop),
    );
}

/// Asks Telegram who the bot is until it answers, then records its username.
async fn identify(bot: &Bot, messenger: &Messenger) {
    let mut backoff = Backoff::default();
    loop {
        match bot.get_me().await {
            Ok(me) => {
                let username = me.username.clone().unwrap_or_default();
                tracing::info!(%username, "the Telegram bot is up");
                messenger.telegram().set_username(username);
                return;
            }
            Err(error) => {
                let wait = backoff.next();
                tracing::error!(%error, retry_in_s = wait.as_secs(), "Telegram does not accept the bot (TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL)");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Exponential back-off with jitter: about 1 s, 2 s, 4 s ... up to a minute.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = backoff(self.failures);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The wait after `failures` failures in a row: 2^failures seconds, at most 60, times a
/// random factor from 0.5 to 1.5 (so that many retries do not come at once).
fn backoff(failures: u32) -> Duration {
    let base = 2f64.powi(i32::try_from(failures.min(6)).unwrap_or(6)).min(60.0);
    Duration::from_secs_f64(base * (0.5 + rand::random::<f64>()))
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::seconds(30))
}
