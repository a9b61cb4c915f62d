//! The notification worker: drains the outbox that the writer fills in the transaction of
//! each message to an offline, linked person.
//!
//! Each pass takes the due rows, grouped per recipient and chat. A group waits until its
//! chat has been quiet for `TELEGRAM_NOTIFY_DELAY` (a burst becomes one notification), but
//! no longer than five times that. Then it is claimed (its due time pushed on, so no other
//! worker takes it), and either settled without sending (the recipient came online, read
//! the chat meanwhile, or unlinked) or sent, and marked sent in the same step that records
//! Telegram's answer (the id a reply refers to). A failure puts it back with exponential
//! back-off and jitter, or after Telegram's `retry_after`; a 403 (the person blocked the
//! bot) unlinks them. Sending stays within Telegram's limits: one message a second per
//! chat and thirty a second in all.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use domain::messenger::Messenger;
use domain::telegram::{self, Batch};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use teloxide_core::{ApiError, Bot, RequestError};
use tokio_util::sync::CancellationToken;

use super::texts::{self, Lang};
use super::{Options, backoff, bot, to_chrono};

/// Tries before a notification is given up.
const ATTEMPTS_MAX: i32 = 8;
/// Settled rows are kept this long (a reply to an older notification finds no chat).
const KEEP_SETTLED: chrono::Duration = chrono::Duration::days(30);
/// How often settled rows are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

/// Sends notifications until `stop`.
pub async fn run(bot: Bot, messenger: Messenger, options: Options, stop: CancellationToken) {
    let per_second = |n: u32| Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
    let limits = Limits { overall: RateLimiter::direct(per_second(30)), per_chat: RateLimiter::keyed(per_second(1)) };
    let tick = (options.notify_delay / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut last_purge = tokio::time::Instant::now();
    loop {
        if let Err(error) = pass(&bot, &messenger, &options, &limits, &stop).await {
            tracing::warn!(?error, "a pass over the Telegram outbox failed");
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = tokio::time::Instant::now();
            if let Err(error) = telegram::purge(&messenger.db, KEEP_SETTLED).await {
                tracing::warn!(?error, "could not purge the Telegram outbox");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}

/// Telegram's limits for bots.
struct Limits {
    overall: DefaultDirectRateLimiter,
    per_chat: DefaultKeyedRateLimiter<i64>,
}

/// One pass over what is due.
async fn pass(
    bot: &Bot,
    messenger: &Messenger,
    options: &Options,
    limits: &Limits,
    stop: &CancellationToken,
) -> Result<(), domain::DomainError> {
    let now = Utc::now();
    report_backlog(messenger).await;
    let quiet = to_chrono(options.notify_delay);
    for batch in telegram::due(&messenger.db, now).await? {
        if stop.is_cancelled() {
            break;
        }
        // Wait for the chat to be quiet, but not forever.
        if now - batch.newest_at < quiet && now - batch.oldest_at < quiet * 5 {
            continue;
        }
        // Taken for a while: long enough to wait for the rate limits and Telegram.
        let claimed_until = Utc::now() + chrono::Duration::seconds(60);
        if !telegram::claim(&messenger.db, &batch.ids, now, claimed_until).await? {
            continue;
        }
        deliver(bot, messenger, options, limits, batch).await?;
    }
    Ok(())
}

/// Sends one claimed batch, or settles it without sending.
async fn deliver(
    bot: &Bot,
    messenger: &Messenger,
    options: &Options,
    limits: &Limits,
    batch: Batch,
) -> Result<(), domain::DomainError> {
    let Some(chat) = batch.telegram_chat_id else {
        return telegram::settle(&messenger.db, &batch.ids, "skipped", None).await;
    };
    if batch.unread.is_empty() || messenger.is_online(batch.recipient).await {
        return telegram::settle(&messenger.db, &batch.ids, "skipped", None).await;
    }
    limits.overall.until_ready().await;
    limits.per_chat.until_key_ready(&chat).await;
    let link = format!("{}/?chat={}", options.public_url, batch.chat_id);
    let lang = Lang::from_code(Some(&batch.language));
    let text = texts::notification(lang, &batch.sender_name, &batch.unread, batch.previews, &link);
    match bot::say(bot, chat, text).await {
        Ok(sent) => {
            metrics::counter!("messenger_telegram_notifications_total", "outcome" => "sent").increment(1);
            telegram::settle(&messenger.db, &batch.ids, "sent", Some((chat, i64::from(sent.id.0)))).await
        }
        Err(RequestError::RetryAfter(wait)) => {
            metrics::counter!("messenger_telegram_notifications_total", "outcome" => "retry_after").increment(1);
            let due = Utc::now() + chrono::Duration::seconds(i64::from(wait.seconds()));
            tracing::info!(seconds = wait.seconds(), "Telegram asked to wait before sending again");
            telegram::retry_later(&messenger.db, &batch.ids, due, false).await
        }
        Err(RequestError::Api(error)) if blocks_the_bot(&error) => {
            metrics::counter!("messenger_telegram_notifications_total", "outcome" => "blocked").increment(1);
            tracing::info!(%error, user_id = batch.recipient, "the person blocked the bot; unlinking them");
            if let Some(user_id) = telegram::unlink_chat(&messenger.db, chat).await? {
                messenger.telegram_changed(user_id, false);
            }
            telegram::settle(&messenger.db, &batch.ids, "blocked", None).await
        }
        Err(error) if batch.attempts + 1 >= ATTEMPTS_MAX => {
            metrics::counter!("messenger_telegram_notifications_total", "outcome" => "failed").increment(1);
            tracing::warn!(%error, attempts = batch.attempts + 1, "a Telegram notification was given up");
            telegram::settle(&messenger.db, &batch.ids, "failed", None).await
        }
        Err(error) => {
            metrics::counter!("messenger_telegram_notifications_total", "outcome" => "error").increment(1);
            let wait = backoff(u32::try_from(batch.attempts).unwrap_or(0));
            tracing::warn!(%error, retry_in_s = wait.as_secs(), "a Telegram notification failed");
            telegram::retry_later(&messenger.db, &batch.ids, Utc::now() + to_chrono(wait), true).await
        }
    }
}

/// Telegram's answers that mean the bot may no longer write to that chat.
fn blocks_the_bot(error: &ApiError) -> bool {
    match error {
        ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound => true,
        ApiError::Unknown(description) => description.starts_with("Forbidden"),
        _ => false,
    }
}

/// The `messenger_telegram_outbox_pending` and `..._lag_seconds` gauges.
async fn report_backlog(messenger: &Messenger) {
    match telegram::backlog(&messenger.db, Utc::now()).await {
        Ok((pending, lag)) => {
            metrics::gauge!("messenger_telegram_outbox_pending").set(pending as f64);
            metrics::gauge!("messenger_telegram_outbox_lag_seconds").set(lag.as_seconds_f64());
        }
        Err(error) => tracing::debug!(?error, "could not measure the Telegram outbox"),
    }
}
