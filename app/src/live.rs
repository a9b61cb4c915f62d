//! The browser side of the WebSocket: connect, back off, resume, dispatch.
//!
//! After every (re)connect the client first fetches what it missed in each loaded chat
//! (from the newest seq it holds), then resends what is still pending with the same
//! client_ids, so nothing is lost and nothing is shown twice. A send the server could not
//! take for a moment (an error of kind `unavailable`: its queue full, its database out of
//! reach) stays pending and goes again after a back-off (see [`Store::postpone`]).

use domain::protocol::ClientFrame;
use leptos::prelude::*;

use std::collections::HashSet;

use crate::store::{Connection, Pending, Store, new_client_id};

/// At most one read marker per chat goes to the server in this many milliseconds while
/// messages stream in; the newest one is sent when the interval ends.
pub const READ_INTERVAL_MS: u32 = 300;

/// While I type, my peer is told at most once in this many milliseconds.
pub const TYPING_INTERVAL_MS: u32 = 3_000;

/// The way to put frames on the socket. Empty while offline (and on the server).
#[derive(Clone, Copy)]
pub struct Live {
    outgoing: StoredValue<Option<futures::channel::mpsc::UnboundedSender<ClientFrame>>>,
    /// Chats whose read marker was sent less than [`READ_INTERVAL_MS`] ago.
    reads_cooling: StoredValue<HashSet<i64>>,
    /// Chats whose marker moved again meanwhile.
    reads_owed: StoredValue<HashSet<i64>>,
    /// Chats where my peer was told I am typing less than [`TYPING_INTERVAL_MS`] ago.
    typing_cooling: StoredValue<HashSet<i64>>,
}

impl Live {
    /// Not connected yet.
    pub fn new() -> Self {
        Self {
            outgoing: StoredValue::new(None),
            reads_cooling: StoredValue::new(HashSet::new()),
            reads_owed: StoredValue::new(HashSet::new()),
            typing_cooling: StoredValue::new(HashSet::new()),
        }
    }

    /// I am typing in a chat: tells my peer, at most once per [`TYPING_INTERVAL_MS`].
    pub fn typing(&self, chat_id: i64) {
        let cooling = self.typing_cooling.try_update_value(|c| !c.insert(chat_id)).unwrap_or(true);
        if cooling {
            return;
        }
        let live = *self;
        if !self.send(ClientFrame::Typing { chat_id }) {
            // Offline: nobody was told, so the next keystroke may try again.
            live.typing_cooling.update_value(|c| {
                c.remove(&chat_id);
            });
            return;
        }
        after_ms(TYPING_INTERVAL_MS, move || {
            live.typing_cooling.update_value(|c| {
                c.remove(&chat_id);
            });
        });
    }

    /// Puts a frame on the socket; false when offline.
    pub fn send(&self, frame: ClientFrame) -> bool {
        self.outgoing.with_value(|tx| tx.as_ref().is_some_and(|tx| tx.unbounded_send(frame).is_ok()))
    }

    /// Queues a new message and sends it now if connected.
    pub fn send_message(&self, store: Store, chat_id: i64, text: String) {
        let pending = Pending { client_id: new_client_id(), chat_id, text, failed: None };
        store.pending.update(|p| p.push(pending.clone()));
        if store.connection.get_untracked() == Connection::Online {
            self.send(ClientFrame::Send { chat_id, client_id: pending.client_id, text: pending.text });
        }
    }

    /// Sends a failed message again, with its original client_id.
    pub fn retry(&self, store: Store, client_id: &str) {
        let mut again = None;
        store.pending.update(|pending| {
            if let Some(p) = pending.iter_mut().find(|p| p.client_id == client_id) {
                p.failed = None;
                again = Some(p.clone());
            }
        });
        if let Some(p) = again
            && store.connection.get_untracked() == Connection::Online
        {
            self.send(ClientFrame::Send { chat_id: p.chat_id, client_id: p.client_id, text: p.text });
        }
    }

    /// Marks a chat read up to its newest message: here at once, on the server at most
    /// once per [`READ_INTERVAL_MS`] (the newest marker goes when the interval ends).
    pub fn mark_read(&self, store: Store, chat_id: i64) {
        let mut moved = false;
        store.chats.update(|chats| {
            if let Some(chat) = chats.iter_mut().find(|c| c.id == chat_id)
                && (chat.unread > 0 || chat.last_read_seq < chat.last_seq)
            {
                chat.unread = 0;
                chat.last_read_seq = chat.last_seq;
                moved = true;
            }
        });
        if moved {
            self.send_read(store, chat_id);
        }
    }

    fn send_read(&self, store: Store, chat_id: i64) {
        let cooling = self.reads_cooling.try_update_value(|c| !c.insert(chat_id)).unwrap_or(false);
        if cooling {
            self.reads_owed.update_value(|owed| {
                owed.insert(chat_id);
            });
            return;
        }
        let seq = store.chats.with_untracked(|chats| chats.iter().find(|c| c.id == chat_id).map(|c| c.last_read_seq));
        if let Some(seq) = seq {
            self.send(ClientFrame::Read { chat_id, seq });
        }
        let live = *self;
        after_ms(READ_INTERVAL_MS, move || {
            live.reads_cooling.update_value(|c| {
                c.remove(&chat_id);
            });
            if live.reads_owed.try_update_value(|owed| owed.remove(&chat_id)).unwrap_or(false) {
                live.send_read(store, chat_id);
            }
        });
    }
}

/// Runs `f` once, `ms` milliseconds from now (in the browser; never on the server, where
/// no socket exists).
#[cfg(feature = "hydrate")]
fn after_ms(ms: u32, f: impl FnOnce() + 'static) {
    leptos::task::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(ms).await;
        f();
    });
}

#[cfg(not(feature = "hydrate"))]
fn after_ms(_ms: u32, _f: impl FnOnce() + 'static) {}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "hydrate")]
pub use browser::connect;

#[cfg(feature = "hydrate")]
mod browser {
    use domain::ErrorKind;
    use domain::model::HISTORY_LIMIT_MAX;
    use domain::protocol::{ClientFrame, ServerFrame};
    use futures::{FutureExt, SinkExt, StreamExt};
    use gloo_net::websocket::futures::WebSocket;
    use gloo_net::websocket::{Message as WsMessage, WebSocketError};
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use leptos_i18n::I18nContext;

    use super::Live;
    use crate::api::messenger::{my_chats, since};
    use crate::i18n::{Locale, use_i18n};
    use crate::store::{Connection, Received, Store};

    /// No frame for this long (not even a pong) means the connection is dead.
    const SILENCE_LIMIT_MS: f64 = 45_000.0;
    const PING_EVERY_MS: u32 = 15_000;

    fn socket_url() -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
        Some(format!("{scheme}://{}/api/v1/ws", location.host().ok()?))
    }

    /// The server closes a socket whose session ended with this code: sign in again.
    const CLOSE_SIGNED_OUT: u16 = 4001;

    /// How a connection ended.
    enum Ended {
        /// It dropped; `greeted` when it got as far as `hello`.
        Dropped { greeted: bool },
        /// The session ended (signed out here or elsewhere): no point reconnecting.
        SignedOut,
    }

    /// Keeps a live connection open for as long as the page lives, and sends the page to
    /// the sign-in page once the session has ended. Called by the messenger's component,
    /// whose language the announcements take.
    pub fn connect(store: Store, live: Live) {
        let i18n = use_i18n();
        spawn_local(async move {
            let mut backoff_ms: u32 = 500;
            loop {
                store.connection.set(Connection::Connecting);
                let mut greeted = false;
                if let Some(url) = socket_url()
                    && let Ok(socket) = WebSocket::open(&url)
                {
                    match run(store, live, i18n, socket).await {
                        Ended::SignedOut => return to_sign_in(store),
                        Ended::Dropped { greeted: true } => {
                            greeted = true;
                            backoff_ms = 500;
                        }
                        Ended::Dropped { greeted: false } => {}
                    }
                }
                // Refused before `hello`: the session may have ended while the socket was
                // down (the handshake's 401 does not reach scripts), so ask.
                if !greeted && matches!(crate::api::auth::me().await, Ok(None)) {
                    return to_sign_in(store);
                }
                live.outgoing.set_value(None);
                store.connection.set(Connection::Offline);
                let jitter = (js_sys::Math::random() * f64::from(backoff_ms) * 0.3) as u32;
                wait_or_online(backoff_ms + jitter).await;
                backoff_ms = (backoff_ms * 2).min(30_000);
            }
        });
    }

    /// Waits `ms` before the next try, or less if the browser had no network and now has:
    /// then the outbox goes at once, not after the back-off.
    async fn wait_or_online(ms: u32) {
        const STEP_MS: u32 = 250;
        let offline = !window().navigator().on_line();
        let mut waited = 0;
        while waited < ms {
            gloo_timers::future::TimeoutFuture::new(STEP_MS.min(ms - waited)).await;
            waited += STEP_MS;
            if offline && window().navigator().on_line() {
                return;
            }
        }
    }

    /// Signed out: the page starts again at the sign-in page (what it held goes with it).
    fn to_sign_in(store: Store) {
        crate::offline::forget(store.my_id());
        let _ = window().location().assign("/login");
    }

    /// Serves one connection until it ends.
    async fn run(store: Store, live: Live, i18n: I18nContext<Locale>, socket: WebSocket) -> Ended {
        let (mut sink, mut stream) = socket.split();
        let (tx, mut outgoing) = futures::channel::mpsc::unbounded::<ClientFrame>();
        let mut greeted = false;
        let mut last_heard = js_sys::Date::now();
        loop {
            let mut tick = gloo_timers::future::TimeoutFuture::new(PING_EVERY_MS).fuse();
            futures::select! {
                incoming = stream.next().fuse() => match incoming {
                    Some(Ok(WsMessage::Text(text))) => {
                        last_heard = js_sys::Date::now();
                        let Ok(frame) = ServerFrame::from_json(&text) else { continue };
                        if matches!(frame, ServerFrame::Hello { .. }) && !greeted {
                            greeted = true;
                            live.outgoing.set_value(Some(tx.clone()));
                            store.connection.set(Connection::Online);
                            spawn_local(resync(store, live));
                        }
                        dispatch(store, live, i18n, frame);
                    }
                    Some(Ok(WsMessage::Bytes(_))) => {}
                    Some(Err(WebSocketError::ConnectionClose(close))) if close.code == CLOSE_SIGNED_OUT => return Ended::SignedOut,
                    _ => return Ended::Dropped { greeted },
                },
                frame = outgoing.next() => {
                    let Some(frame) = frame else { return Ended::Dropped { greeted } };
                    let Ok(text) = serde_json::to_string(&frame) else { continue };
                    if sink.send(WsMessage::Text(text)).await.is_err() {
                        return Ended::Dropped { greeted };
                    }
                },
                () = tick => {
                    if js_sys::Date::now() - last_heard > SILENCE_LIMIT_MS {
                        return Ended::Dropped { greeted };
                    }
                    let _ = tx.unbounded_send(ClientFrame::Ping);
                },
            }
        }
    }

    /// Applies one frame from the server to the store.
    fn dispatch(store: Store, live: Live, i18n: I18nContext<Locale>, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello { .. } | ServerFrame::Pong => {}
            ServerFrame::Ack { client_id, message } => {
                let chat_id = message.chat_id;
                follow_up(store, chat_id, store.acknowledge(&client_id, message));
            }
            // The open chat's view marks what arrives there as read.
            ServerFrame::Message { message } => {
                let chat_id = message.chat_id;
                store.announce_arrival(i18n.get_locale_untracked(), &message);
                follow_up(store, chat_id, store.receive(message));
            }
            ServerFrame::Read { chat } => store.upsert_chat(chat),
            ServerFrame::UserJoined { .. } => store.directory_version.update(|v| *v += 1),
            ServerFrame::Presence { user_id, online, last_seen_at } => {
                store.set_presence(user_id, online, last_seen_at)
            }
            ServerFrame::Typing { chat_id, .. } => {
                store.peer_typing(chat_id, js_sys::Date::now());
                let ms = u32::try_from(crate::store::TYPING_SHOWN_MS as i64).unwrap_or(5_000);
                super::after_ms(ms + 100, move || store.typing_over(js_sys::Date::now(), None));
            }
            ServerFrame::Telegram { linked } => store.telegram_linked.set(Some(linked)),
            // Not taken for a moment (the server busy, or my sends over their rate): again later.
            ServerFrame::Error { client_id: Some(client_id), error }
                if matches!(error.kind, ErrorKind::Unavailable | ErrorKind::RateLimited) =>
            {
                resend_later(store, live, client_id)
            }
            // Said in the reader's language where the bubble shows it.
            ServerFrame::Error { client_id: Some(client_id), error } => store.fail(&client_id, error),
            ServerFrame::Error { client_id: None, error } => leptos::logging::warn!("server: {}", error.message),
        }
    }

    /// The server could not take a send for a moment: it stays pending and goes again, with
    /// the same client_id, after a back-off; only while connected (after a reconnect the
    /// resync sends everything pending anyway).
    fn resend_later(store: Store, live: Live, client_id: String) {
        let Some(wait) = store.postpone(&client_id) else { return };
        super::after_ms(wait, move || {
            if store.connection.try_get_untracked() != Some(Connection::Online) {
                return;
            }
            if let Some(p) = store.resend_due(&client_id) {
                live.send(ClientFrame::Send { chat_id: p.chat_id, client_id: p.client_id, text: p.text });
            }
        });
    }

    /// What a received message still needs: the chat list, or the messages before it.
    fn follow_up(store: Store, chat_id: i64, received: Received) {
        match received {
            Received::UnknownChat => spawn_local(refresh_chats(store)),
            Received::Gap { after, filling: false } => spawn_local(fill_gap(store, chat_id, after)),
            Received::Gap { filling: true, .. } | Received::Applied => {}
        }
    }

    /// Fetches the messages missing before a newer one, then shows them and what was held back.
    async fn fill_gap(store: Store, chat_id: i64, after: i64) {
        let missing = fetch_after(chat_id, after).await;
        store.fill_gap(chat_id, missing);
    }

    /// Every message after `after`, page by page (the newest page may be partial).
    async fn fetch_after(chat_id: i64, mut after: i64) -> Vec<domain::model::Message> {
        let mut all = Vec::new();
        while let Ok(page) = since(chat_id, after, HISTORY_LIMIT_MAX).await {
            let full = page.len() as u64 == HISTORY_LIMIT_MAX;
            let Some(newest) = page.last().map(|m| m.seq) else { break };
            after = newest;
            all.extend(page);
            if !full {
                break;
            }
        }
        all
    }

    /// The first page of my chats (where a chat that just came alive is), merged into the
    /// chats held: those loaded from later pages stay.
    async fn refresh_chats(store: Store) {
        if let Ok(page) = my_chats(None).await {
            store.merge_chats(page.chats);
        }
    }

    /// After a (re)connect: fetch what was missed, then resend what is pending.
    async fn resync(store: Store, live: Live) {
        refresh_chats(store).await;
        let loaded: Vec<(i64, i64)> = store.logs.with_untracked(|logs| {
            logs.iter().filter(|(_, log)| log.loaded).map(|(id, log)| (*id, log.last_seq())).collect()
        });
        for (chat_id, after) in loaded {
            let missed = fetch_after(chat_id, after).await;
            store.logs.update(|logs| logs.entry(chat_id).or_default().merge(missed));
        }
        for p in store.pending.get_untracked().into_iter().filter(|p| p.failed.is_none()) {
            live.send(ClientFrame::Send { chat_id: p.chat_id, client_id: p.client_id, text: p.text });
        }
        if let Some(active) = store.active.get_untracked() {
            live.mark_read(store, active);
        }
    }
}
