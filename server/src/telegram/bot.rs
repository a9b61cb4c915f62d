//! The bot's side of the conversation: long polling for updates, and the answers to
//! `/start <token>` (linking), `/stop`, `/help`, anything else typed to it, and replies to
//! notifications (sent into that chat as the linked person).

use domain::input::NewMessage;
use domain::messenger::Messenger;
use domain::telegram::{self, LinkToken, Redeemed};
use teloxide_core::Bot;
use teloxide_core::payloads::{GetUpdatesSetters, SendMessageSetters};
use teloxide_core::requests::Requester;
use teloxide_core::types::{AllowedUpdate, ChatId, Message, ReplyParameters, Update, UpdateKind};
use tokio_util::sync::CancellationToken;

use super::Backoff;
use super::texts::{self, Lang};

/// Polls Telegram for updates and handles each, until `stop`. The offset after the last
/// handled update is kept in the database, so a node that takes over goes on from there;
/// an update handled twice all the same (a node stopped between handling and saving)
/// changes nothing twice: tokens are single-use, and a reply's client id comes from its
/// Telegram message.
pub async fn poll(bot: Bot, messenger: Messenger, timeout: u32, stop: CancellationToken) {
    let mut offset = match telegram::update_offset(&messenger.db).await {
        Ok(offset) => offset,
        Err(error) => {
            tracing::warn!(?error, "could not read the Telegram update offset; starting from Telegram's");
            0
        }
    };
    let mut backoff = Backoff::default();
    loop {
        let request = bot
            .get_updates()
            .offset(i32::try_from(offset).unwrap_or(0))
            .timeout(timeout)
            .allowed_updates([AllowedUpdate::Message]);
        let updates = tokio::select! {
            () = stop.cancelled() => return,
            updates = request => updates,
        };
        match updates {
            Ok(updates) => {
                backoff.reset();
                let next = updates.iter().map(|u| i64::from(u.id.0) + 1).max();
                for update in updates {
                    handle(&bot, &messenger, update).await;
                }
                if let Some(next) = next.filter(|next| *next > offset) {
                    offset = next;
                    if let Err(error) = telegram::save_update_offset(&messenger.db, offset).await {
                        tracing::warn!(?error, "could not save the Telegram update offset");
                    }
                }
            }
            Err(error) => {
                let wait = backoff.next();
                tracing::warn!(%error, retry_in_s = wait.as_secs(), "polling Telegram for updates failed");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// Handles one update; every failure is logged, none stops the bot.
async fn handle(bot: &Bot, messenger: &Messenger, update: Update) {
    let UpdateKind::Message(message) = update.kind else {
        return;
    };
    // The bot talks in private chats only (where the chat id is the person's).
    if !message.chat.is_private() {
        return;
    }
    let lang = Lang::from_code(message.from.as_ref().and_then(|u| u.language_code.as_deref()));
    let answer = match answer(messenger, &message, lang).await {
        Ok(Some(answer)) => answer,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(?error, "could not handle a Telegram message");
            return;
        }
    };
    let reply = bot.send_message(message.chat.id, answer).reply_parameters(ReplyParameters::new(message.id));
    if let Err(error) = reply.await {
        tracing::warn!(%error, "could not answer on Telegram");
    }
}

/// What the bot answers to a message (`None`: nothing).
async fn answer(messenger: &Messenger, message: &Message, lang: Lang) -> Result<Option<String>, domain::DomainError> {
    let chat = message.chat.id.0;
    if let Some(original) = message.reply_to_message() {
        return answer_reply(messenger, message, original, lang).await;
    }
    let Some(text) = message.text() else {
        return Ok(Some(texts::how_to_link(lang).to_owned()));
    };
    let mut words = text.split_whitespace();
    // `/start@bot_name` in groups; the same in a private chat.
    let command = words.next().unwrap_or_default().split('@').next().unwrap_or_default();
    Ok(Some(match command {
        "/start" => match words.next() {
            Some(token) => link(messenger, chat, token, lang).await?,
            None => texts::help(lang),
        },
        "/stop" => match telegram::unlink_chat(&messenger.db, chat).await? {
            Some(user_id) => {
                messenger.telegram_changed(user_id, false);
                texts::unlinked(lang).to_owned()
            }
            None => texts::not_linked(lang),
        },
        "/help" => texts::help(lang),
        _ if domain::input::Email::parse(text.trim()).is_ok() => texts::no_email_linking(lang),
        _ => texts::help(lang),
    }))
}

/// `/start <token>`.
async fn link(messenger: &Messenger, chat: i64, token: &str, lang: Lang) -> Result<String, domain::DomainError> {
    let Some(token) = LinkToken::parse(token) else {
        return Ok(texts::link_invalid(lang));
    };
    Ok(match telegram::redeem(&messenger.db, &token, chat, lang.code()).await? {
        Redeemed::Linked(user) => {
            tracing::info!(user_id = user.id, "an account was linked to Telegram");
            messenger.telegram_changed(user.id, true);
            texts::linked(lang, &user.name, &user.email)
        }
        Redeemed::ChatTaken => texts::chat_taken(lang).to_owned(),
        Redeemed::Invalid => texts::link_invalid(lang),
    })
}

/// A reply to a notification: its text goes into that chat as the linked person. The
/// client id comes from the Telegram message, so a message Telegram delivers twice (in
/// the same update or a new one) is stored once, and confirmed once.
async fn answer_reply(
    messenger: &Messenger,
    message: &Message,
    original: &Message,
    lang: Lang,
) -> Result<Option<String>, domain::DomainError> {
    let chat = message.chat.id.0;
    let target = telegram::reply_target(&messenger.db, chat, i64::from(original.id.0)).await?;
    let link = telegram::linked_account(&messenger.db, chat).await?;
    let (user_id, chat_id) = match (target, link) {
        (Some((recipient, chat_id)), Some(link)) if link.user_id == recipient => (recipient, chat_id),
        (_, None) => return Ok(Some(texts::not_linked(lang))),
        _ => return Ok(Some(texts::reply_to_what(lang).to_owned())),
    };
    let Some(text) = message.text() else {
        return Ok(Some(texts::text_only(lang).to_owned()));
    };
    let client_id = format!("tg-{}-{}", chat.unsigned_abs(), message.id.0);
    let new = match NewMessage::parse(chat_id, &client_id, text) {
        Ok(new) => new,
        Err(error) => return Ok(Some(texts::reply_refused(lang, &refusal(&error)))),
    };
    match messenger.send_once(user_id, new).await {
        Ok((_, true)) => {
            let peer = peer_name(messenger, user_id, chat_id).await;
            Ok(Some(texts::reply_sent(lang, &peer)))
        }
        // Telegram delivered it again: stored and confirmed the first time.
        Ok((_, false)) => Ok(None),
        Err(error) => Ok(Some(texts::reply_refused(lang, &refusal(&error)))),
    }
}

/// The messenger's reason, in its words (field problems first).
fn refusal(error: &domain::DomainError) -> String {
    let public = domain::report_ref(error);
    public.fields.into_values().next().unwrap_or(public.message)
}

/// The other person in a chat, by name.
async fn peer_name(messenger: &Messenger, me: i64, chat_id: i64) -> String {
    match domain::chats::summary(&messenger.db, me, chat_id).await {
        Ok(chat) => chat.peer.name,
        Err(_) => String::new(),
    }
}

/// Sends a plain message to a Telegram chat (the notifier's way out).
pub async fn say(bot: &Bot, chat: i64, text: String) -> Result<Message, teloxide_core::RequestError> {
    bot.send_message(ChatId(chat), text).await
}
