//! The messenger as the edges see it: each call does its domain work, and after the
//! commit tells the affected users' open sockets through the bus. REST handlers, server
//! functions and the WebSocket handler all call these, so the rules and the fan-out live
//! in one place. Sends go through the node's one writer (group commit).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};

use super::bus::{Bus, Event, LocalBus};
use super::cache::{Cache, CacheStats, CachingBus, NEWEST_PAGE};
use super::cluster::Cluster;
use super::limits::RateLimits;
use super::live::{Connection, ConnectionRef, Hub, Outbound};
use super::passwords::Hashing;
use super::writer::{Presence, Writer, WriterConfig};
use super::{Db, accounts, chats, directory, messages, sessions, telegram};
use crate::error::DomainError;
use crate::input::{NewAccount, NewMessage};
use crate::model::{
    ChatPage, ChatSummary, Message, Person, SessionInfo, TelegramLinkOffer, TelegramStatus, User, UserId, UserPage,
};

/// The database, the message writer, the bus and this node's open sockets. Cheap to clone.
#[derive(Clone)]
pub struct Messenger {
    /// The database.
    pub db: Db,
    /// Open sockets on this node.
    pub hub: Hub,
    bus: Arc<dyn Bus>,
    /// The other nodes, through Redis; `None` when this node runs alone.
    cluster: Option<Cluster>,
    cache: Cache,
    /// When people went offline since this node started (without Redis; with it, Redis keeps this).
    last_seen: Arc<Mutex<HashMap<UserId, DateTime<Utc>>>>,
    writer: Writer,
    hashing: Hashing,
    limits: Arc<RateLimits>,
    telegram: TelegramBot,
}

/// The Telegram bot as the web side knows it: whether the server has a token, and the
/// bot's username once Telegram told it. Cheap to clone; the bot task fills the name in.
#[derive(Clone, Debug, Default)]
pub struct TelegramBot {
    configured: bool,
    username: Arc<RwLock<Option<String>>>,
}

impl TelegramBot {
    /// True when the server has a bot token.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// The bot's username, once known.
    pub fn username(&self) -> Option<String> {
        self.username.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records the bot's username (from Telegram's `getMe`).
    pub fn set_username(&self, username: String) {
        *self.username.write().unwrap_or_else(|p| p.into_inner()) = Some(username);
    }
}

impl Messenger {
    /// A messenger over a database, with no sockets yet. Its writer stores messages
    /// through `writer_db` (on SQLite, a pool of one connection: the only writer) and runs
    /// on the current Tokio runtime; passwords are hashed through `hashing`. With a
    /// cluster, events and presence are shared with the other nodes through Redis.
    pub async fn new(
        db: Db,
        writer_db: Db,
        config: WriterConfig,
        hashing: Hashing,
        cluster: Option<Cluster>,
    ) -> Result<Self, String> {
        let hub = Hub::default();
        let bus: Arc<dyn Bus> = match &cluster {
            Some(cluster) => {
                let bus: Arc<dyn Bus> = Arc::new(cluster.bus(hub.clone()).await?);
                cluster.keep_presence(hub.clone(), db.clone(), bus.clone());
                bus
            }
            None => Arc::new(LocalBus::new(hub.clone())),
        };
        let cache = cluster.as_ref().map_or_else(Cache::local, Cache::shared);
        let bus: Arc<dyn Bus> = Arc::new(CachingBus { inner: bus, cache: cache.clone() });
        let (writer, task) = Writer::new(writer_db, bus.clone(), config);
        if config.telegram {
            task.notify_offline(Presence::new(hub.clone(), cluster.clone())).spawn();
        } else {
            task.spawn();
        }
        let limits = Arc::new(RateLimits::new(super::limits::SIGN_UPS_PER_HOUR));
        let last_seen = Arc::default();
        let telegram = TelegramBot { configured: config.telegram, username: Arc::default() };
        Ok(Self { db, hub, bus, cluster, cache, last_seen, writer, hashing, limits, telegram })
    }

    /// The same messenger with other rate limits ([`RateLimits::off`] for load tests).
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = Arc::new(limits);
        self
    }

    /// The connection to the other nodes, when there are any.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// Stops this node gracefully, once it takes no new requests: closes every socket
    /// (clients reconnect to another node) and waits, up to 30 s, for the writer to store
    /// and publish every send already queued. False when some were still unfinished.
    pub async fn shut_down(&self) -> bool {
        self.hub.shut_down();
        self.writer.finish(std::time::Duration::from_secs(30)).await
    }

    /// The cache's hits and misses so far.
    pub fn cache_stats(&self) -> &CacheStats {
        &self.cache.stats
    }

    /// Registers a socket opened with a session, its first frame `greeting`; `None` when
    /// its user has too many open. A user's first connection anywhere makes them online
    /// for the people who share a chat with them.
    pub async fn connect(&self, user_id: UserId, session_id: i64, greeting: Outbound) -> Option<Connection> {
        let connection = self.hub.connect(user_id, session_id, greeting)?;
        if connection.first {
            // Users with a socket on this node.
            metrics::gauge!("messenger_presence_online_local").increment(1.0);
            let first_anywhere = match &self.cluster {
                None => true,
                Some(cluster) => cluster.arrive(user_id).await.unwrap_or_else(|error| {
                    tracing::warn!(%error, "could not record presence in Redis");
                    true
                }),
            };
            if first_anywhere {
                self.announce_presence(user_id, true, None).await;
            }
        }
        Some(connection)
    }

    /// Forgets a closed socket. When it was its user's last anywhere, they go offline
    /// (and their last-seen time is recorded).
    pub async fn disconnect(&self, user_id: UserId, connection_id: u64) {
        if !self.hub.disconnect(user_id, connection_id) {
            return;
        }
        metrics::gauge!("messenger_presence_online_local").decrement(1.0);
        let gone_everywhere = match &self.cluster {
            None => true,
            Some(cluster) => cluster.leave(user_id).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "could not record presence in Redis");
                true
            }),
        };
        if gone_everywhere {
            let now = chrono::Utc::now();
            if let Err(error) = accounts::record_last_seen(&self.db, user_id, now).await {
                tracing::warn!(?error, "could not record last seen");
            }
            match &self.cluster {
                Some(cluster) => {
                    if let Err(error) = cluster.note_last_seen(user_id, now).await {
                        tracing::warn!(%error, "could not record last seen in Redis");
                    }
                }
                None => {
                    self.last_seen.lock().unwrap_or_else(|p| p.into_inner()).insert(user_id, now);
                }
            }
            self.announce_presence(user_id, false, Some(now)).await;
        }
    }

    /// Tells the people who share a chat with a user that they came online or went offline.
    async fn announce_presence(&self, user_id: UserId, online: bool, last_seen_at: Option<DateTime<Utc>>) {
        match chats::partners(&self.db, user_id).await {
            Ok(audience) if !audience.is_empty() => {
                self.bus.publish(vec![Event::PresenceChanged { user_id, audience, online, last_seen_at }]);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(?error, "could not announce presence"),
        }
    }

    /// True when the user has a connection open on some node (the Telegram notifier asks
    /// before telling someone of a message). Without Redis, or when it fails, this node's
    /// sockets decide.
    pub async fn is_online(&self, user_id: UserId) -> bool {
        self.presence_of(&[user_id]).await.first().is_some_and(|(online, _)| *online)
    }

    /// Whether each user is online, and when they were last seen going offline.
    async fn presence_of(&self, users: &[UserId]) -> Vec<(bool, Option<DateTime<Utc>>)> {
        if let Some(cluster) = &self.cluster {
            match cluster.online_among(users).await {
                Ok(presence) => return presence,
                Err(error) => tracing::warn!(%error, "could not read presence from Redis"),
            }
        }
        let last_seen = self.last_seen.lock().unwrap_or_else(|p| p.into_inner());
        users.iter().map(|user| (self.hub.is_online(*user), last_seen.get(user).copied())).collect()
    }

    /// Sets `online` and the newest `last_seen_at` on these people (their records may come
    /// from a cached page).
    async fn with_presence<'a>(&self, people: impl Iterator<Item = &'a mut Person>) {
        let mut people: Vec<&mut Person> = people.collect();
        let ids: Vec<UserId> = people.iter().map(|p| p.id).collect();
        for (person, (online, seen)) in people.iter_mut().zip(self.presence_of(&ids).await) {
            person.online = online;
            person.last_seen_at = person.last_seen_at.max(seen);
        }
    }

    /// Tells my peer in a chat that I am typing (not in Saved Messages).
    pub async fn typing(&self, me: UserId, chat_id: i64) -> Result<(), DomainError> {
        let (lo, hi) = chats::participants(&self.db, me, chat_id).await?;
        let peer_id = if lo == me { hi } else { lo };
        if peer_id != me {
            self.bus.publish(vec![Event::Typing { chat_id, user_id: me, peer_id }]);
        }
        Ok(())
    }

    /// Creates an account and signs it in (returns the session token); everyone online
    /// sees the newcomer appear. Sign-ups are limited per client address.
    pub async fn sign_up(
        &self,
        account: NewAccount,
        user_agent: Option<&str>,
        address: IpAddr,
    ) -> Result<(User, String), DomainError> {
        self.limits.sign_up(address)?;
        let (user, token) = accounts::register_and_sign_in(&self.db, &self.hashing, account, user_agent).await?;
        self.cache.drop_directory().await;
        self.bus.publish(vec![Event::UserJoined { user: user.as_person() }]);
        Ok((user, token))
    }

    /// Checks the password and starts a session (returns its token). Attempts are limited
    /// per client address and per (address, email), so guessing one account's password is
    /// slow, while its owner, from another address, is not held up.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        user_agent: Option<&str>,
        address: IpAddr,
    ) -> Result<(User, String), DomainError> {
        self.limits.sign_in(address, email)?;
        let user = accounts::authenticate(&self.db, &self.hashing, email, password).await?;
        let token = sessions::start(&self.db, user.id, user_agent).await?;
        Ok((user, token))
    }

    /// Ends a session and closes the sockets it opened.
    pub async fn sign_out(&self, token: &str) -> Result<(), DomainError> {
        if let Some(session_id) = sessions::revoke(&self.db, token).await? {
            self.bus.publish(vec![Event::SessionEnded { session_id }]);
        }
        Ok(())
    }

    /// Changes my password (the current one is required, and tries are limited like
    /// sign-ins); every other session of mine ends and its sockets close.
    pub async fn change_password(
        &self,
        me: &User,
        current_session: i64,
        current: &str,
        new: &str,
    ) -> Result<(), DomainError> {
        // Counted like sign-ins to the account (whoever holds the session is the guesser).
        self.limits.sign_in(IpAddr::from([0, 0, 0, 0]), &me.email)?;
        accounts::change_password(&self.db, &self.hashing, me.id, current_session, current, new).await?;
        self.bus.publish(vec![Event::SessionsEnded { user_id: me.id, except: Some(current_session) }]);
        Ok(())
    }

    /// Keeps the interface language I chose (it follows me to every device I sign in on).
    pub async fn set_language(&self, me: UserId, language: crate::model::Language) -> Result<(), DomainError> {
        accounts::set_language(&self.db, me, language).await
    }

    /// My sessions, `current` marked.
    pub async fn sessions(&self, me: UserId, current: i64) -> Result<Vec<SessionInfo>, DomainError> {
        sessions::list(&self.db, me, current).await
    }

    /// Ends one of my sessions; its sockets close (on every node) telling the client it
    /// was signed out.
    pub async fn end_session(&self, me: UserId, session_id: i64) -> Result<(), DomainError> {
        sessions::revoke_mine(&self.db, me, session_id).await?;
        self.bus.publish(vec![Event::SessionEnded { session_id }]);
        Ok(())
    }

    /// Ends every session of mine but `current` ("sign out other devices"); returns how many.
    pub async fn end_other_sessions(&self, me: UserId, current: i64) -> Result<u64, DomainError> {
        let ended = sessions::revoke_others(&self.db, me, current).await?;
        self.bus.publish(vec![Event::SessionsEnded { user_id: me, except: Some(current) }]);
        Ok(ended)
    }

    /// Deactivates an account (it can no longer sign in, and its sessions end: its
    /// sockets close on every node) or reactivates it.
    pub async fn set_active(&self, user_id: UserId, active: bool) -> Result<(), DomainError> {
        accounts::set_active(&self.db, user_id, active).await?;
        self.cache.drop_directory().await;
        if !active {
            self.bus.publish(vec![Event::SessionsEnded { user_id, except: None }]);
        }
        Ok(())
    }

    /// A page of the directory, with who is online.
    pub async fn directory(&self, query: directory::DirectoryQuery) -> Result<UserPage, DomainError> {
        let key = format!("{}|{}|{:?}|{}", query.page, query.per_page, query.sort, query.q.as_deref().unwrap_or(""));
        let mut page = match self.cache.directory(&key).await {
            Some(page) => page,
            None => {
                let page = directory::page(&self.db, query).await?;
                self.cache.keep_directory(&key, &page).await;
                page
            }
        };
        self.with_presence(page.users.iter_mut()).await;
        Ok(page)
    }

    /// Stores a message (once per client_id) and delivers it to both participants'
    /// sockets, every tab and device; returns it once it is stored.
    pub async fn send(&self, me: i64, message: NewMessage) -> Result<Message, DomainError> {
        self.limits.send(me)?;
        Ok(self.writer.send(me, message).await?.message)
    }

    /// [`Messenger::send`], also telling whether this call stored the message (false: the
    /// client id had been used before, and the first message came back).
    pub async fn send_once(&self, me: i64, message: NewMessage) -> Result<(Message, bool), DomainError> {
        self.limits.send(me)?;
        let sent = self.writer.send(me, message).await?;
        Ok((sent.message, sent.created))
    }

    /// Queues a message sent on a socket; that socket hears `ack` or `error` in order with
    /// the frames it receives. `Busy` when the writer's queue is full.
    pub fn send_from_socket(&self, me: i64, message: NewMessage, socket: ConnectionRef) -> Result<(), DomainError> {
        self.limits.send(me)?;
        self.writer.submit(me, message, socket)
    }

    /// A page of my chats, newest activity first, after `cursor` (from the start without
    /// one); `limit` is 1 to [`crate::model::CHAT_PAGE_MAX`].
    pub async fn my_chats(
        &self,
        me: i64,
        cursor: Option<chats::ChatCursor>,
        limit: u64,
    ) -> Result<ChatPage, DomainError> {
        let mut page = chats::page(&self.db, me, cursor, limit).await?;
        self.with_presence(page.chats.iter_mut().map(|c| &mut c.peer)).await;
        Ok(page)
    }

    /// The one chat with a peer (oneself: Saved Messages), created on first open.
    pub async fn open_chat(&self, me: i64, peer_id: i64) -> Result<ChatSummary, DomainError> {
        self.limits.open_chat(me)?;
        let mut chat = chats::open_with(&self.db, me, peer_id).await?;
        self.with_presence(std::iter::once(&mut chat.peer)).await;
        Ok(chat)
    }

    /// A page of a chat's history: before `before_seq` (or the newest), oldest first.
    pub async fn history(
        &self,
        me: i64,
        chat_id: i64,
        before_seq: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Message>, DomainError> {
        if before_seq.is_some() {
            return messages::history(&self.db, me, chat_id, before_seq, limit).await;
        }
        // The newest page: from the cache when it holds the chat's newest message.
        messages::check_limit(limit)?;
        let last_seq = chats::last_seq(&self.db, me, chat_id).await?;
        let wanted = usize::try_from(limit).unwrap_or(NEWEST_PAGE);
        if let Some(page) = self.cache.newest(chat_id, last_seq, wanted).await {
            return Ok(page);
        }
        let page = messages::page_before(&self.db, chat_id, None, NEWEST_PAGE as u64).await?;
        let newest = page.last().map_or(0, |m| m.seq);
        let from = page.len().saturating_sub(wanted);
        let answer = page[from..].to_vec();
        if newest == last_seq {
            self.cache.keep_newest(chat_id, page).await;
        }
        Ok(answer)
    }

    /// What came after `after_seq` in a chat, oldest first (resume after a reconnect).
    pub async fn since(&self, me: i64, chat_id: i64, after_seq: i64, limit: u64) -> Result<Vec<Message>, DomainError> {
        messages::since(&self.db, me, chat_id, after_seq, limit).await
    }

    /// Moves my read marker; my other tabs update their unread counts.
    pub async fn mark_read(&self, me: i64, chat_id: i64, seq: i64) -> Result<ChatSummary, DomainError> {
        let mut chat = chats::mark_read(&self.db, me, chat_id, seq).await?;
        self.with_presence(std::iter::once(&mut chat.peer)).await;
        self.bus.publish(vec![Event::ReadMoved { user_id: me, chat: chat.clone() }]);
        Ok(chat)
    }

    /// The Telegram bot as the web side knows it.
    pub fn telegram(&self) -> &TelegramBot {
        &self.telegram
    }

    /// Whether the bot runs, and my link to it.
    pub async fn telegram_status(&self, me: UserId) -> Result<TelegramStatus, DomainError> {
        let link = telegram::link_of(&self.db, me).await?;
        Ok(TelegramStatus {
            configured: self.telegram.configured,
            bot_username: self.telegram.username(),
            linked: link.is_some(),
            previews: link.is_none_or(|l| l.previews),
        })
    }

    /// A one-time link (and its QR code) that ties my account to the Telegram chat that
    /// opens it, valid for [`telegram::LINK_TOKEN_TTL`]; earlier ones stop working.
    pub async fn telegram_link(&self, me: UserId) -> Result<TelegramLinkOffer, DomainError> {
        if !self.telegram.configured {
            return Err(DomainError::TelegramNotConfigured);
        }
        let bot = self.telegram.username().ok_or(DomainError::TelegramUnavailable)?;
        let (token, expires_at) = telegram::new_link_token(&self.db, me).await?;
        let url = format!("https://t.me/{bot}?start={token}");
        let qr_svg = qrcode::QrCode::new(url.as_bytes())
            .map_err(DomainError::internal)?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(192, 192)
            .build();
        Ok(TelegramLinkOffer { url, expires_at, qr_svg })
    }

    /// Unlinks my account from Telegram (no more notifications); my open settings update.
    pub async fn telegram_unlink(&self, me: UserId) -> Result<(), DomainError> {
        if telegram::unlink_user(&self.db, me).await? {
            self.telegram_changed(me, false);
        }
        Ok(())
    }

    /// Switches the message text in my notifications on or off.
    pub async fn telegram_previews(&self, me: UserId, previews: bool) -> Result<TelegramStatus, DomainError> {
        telegram::set_previews(&self.db, me, previews).await?;
        self.telegram_status(me).await
    }

    /// Tells a user's open sockets that their account was linked or unlinked.
    pub fn telegram_changed(&self, user_id: UserId, linked: bool) {
        self.bus.publish(vec![Event::TelegramChanged { user_id, linked }]);
    }
}
