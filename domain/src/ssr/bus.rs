//! What happened, told to every open socket that should know. The writer and the
//! messenger publish here after their commit; nothing else reaches into the hub. Without
//! Redis the bus is this node's hub ([`LocalBus`]); with Redis, [`super::cluster::RedisBus`]
//! delivers on this node the same way and carries the events to the other nodes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::PublicError;
use crate::model::{ChatId, ChatSummary, Message, Person, UserId};
use crate::protocol::ServerFrame;

use super::live::{Audience, ConnectionRef, Hub, Outbound, encode};

/// Something the open sockets must hear about. Events travel between nodes as JSON;
/// the answers to one socket's sends ([`Event::Resent`], [`Event::SendFailed`]) and the
/// sending connection never leave the node they happened on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A new message was stored. Both participants' sockets get it; the sending
    /// connection, when there is one, gets it as its `ack` instead.
    MessageStored {
        /// The stored message.
        message: Message,
        /// The chat's two participants.
        participants: (UserId, UserId),
        /// The socket the send came from (on this node; other nodes never see it).
        #[serde(skip)]
        origin: Option<ConnectionRef>,
    },
    /// A socket's send was answered without storing anything new (a retry of a stored
    /// message): only that socket hears, with an `ack` of the first message.
    #[serde(skip)]
    Resent {
        /// The message stored the first time.
        message: Message,
        /// The socket the retry came from.
        origin: ConnectionRef,
    },
    /// A socket's send was refused: only that socket hears.
    #[serde(skip)]
    SendFailed {
        /// The refused send's client id.
        client_id: String,
        /// Why.
        error: PublicError,
        /// The socket the send came from.
        origin: ConnectionRef,
    },
    /// A user's read marker moved: their other tabs update the unread count.
    ReadMoved {
        /// Whose marker.
        user_id: UserId,
        /// The chat as they now see it.
        chat: ChatSummary,
    },
    /// Someone registered: everyone's directory grows.
    UserJoined {
        /// The newcomer, as everyone sees them.
        user: Person,
    },
    /// A session was signed out: its sockets close.
    SessionEnded {
        /// The ended session.
        session_id: i64,
    },
    /// Every session of a user ended (deactivation; later a password change or "sign
    /// out other devices", which keep one): their sockets close.
    SessionsEnded {
        /// Whose sessions.
        user_id: UserId,
        /// A session that stays (the one that asked), if any.
        except: Option<i64>,
    },
    /// Someone came online (their first connection anywhere) or went offline (their last
    /// one closed, or the node holding it stopped answering).
    PresenceChanged {
        /// Who.
        user_id: UserId,
        /// Who hears it live: the people who share a chat with them (others see presence
        /// when they load the directory).
        audience: Vec<UserId>,
        /// Online now.
        online: bool,
        /// When they were last online, when they have just gone offline.
        last_seen_at: Option<DateTime<Utc>>,
    },
    /// Someone is typing in a chat: only their peer hears. Never stored.
    Typing {
        /// The chat.
        chat_id: ChatId,
        /// Who is typing.
        user_id: UserId,
        /// The other participant, who sees it.
        peer_id: UserId,
    },
    /// A user's account was linked to Telegram or unlinked: their open settings update.
    TelegramChanged {
        /// Whose account.
        user_id: UserId,
        /// Linked now.
        linked: bool,
    },
    /// Events may have been lost on the way between nodes: every socket on every node
    /// reconnects and fetches what it missed from the database.
    Resync,
}

impl Event {
    /// True for events the other nodes must hear about.
    pub fn crosses_nodes(&self) -> bool {
        !matches!(self, Event::Resent { .. } | Event::SendFailed { .. })
    }
}

/// Where events are published.
pub trait Bus: Send + Sync {
    /// Tells the affected sockets, in order. Never waits on a slow socket.
    fn publish(&self, events: Vec<Event>);
}

/// The in-process bus: this node's sockets only.
#[derive(Clone)]
pub struct LocalBus {
    hub: Hub,
}

impl LocalBus {
    /// A bus that delivers to this hub's sockets.
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl Bus for LocalBus {
    fn publish(&self, events: Vec<Event>) {
        deliver(&self.hub, events);
    }
}

/// Tells this node's sockets, in order.
pub fn deliver(hub: &Hub, events: Vec<Event>) {
    let mut frames: Vec<(Audience, Outbound)> = Vec::with_capacity(events.len() * 2);
    for event in events {
        match event {
            Event::MessageStored { message, participants: (lo, hi), origin } => {
                let users = vec![lo, hi];
                if let Some(origin) = origin {
                    let ack = ServerFrame::Ack { client_id: message.client_id.clone(), message: message.clone() };
                    frames.push((Audience::Connection(origin), encode(&ack)));
                }
                frames.push((Audience::Users { users, except: origin }, encode(&ServerFrame::Message { message })));
            }
            Event::Resent { message, origin } => {
                let ack = ServerFrame::Ack { client_id: message.client_id.clone(), message };
                frames.push((Audience::Connection(origin), encode(&ack)));
            }
            Event::SendFailed { client_id, error, origin } => {
                let frame = ServerFrame::Error { client_id: Some(client_id), error };
                frames.push((Audience::Connection(origin), encode(&frame)));
            }
            Event::ReadMoved { user_id, chat } => {
                let users = vec![user_id];
                frames.push((Audience::Users { users, except: None }, encode(&ServerFrame::Read { chat })));
            }
            Event::UserJoined { user } => {
                frames.push((Audience::Everyone, encode(&ServerFrame::UserJoined { user })));
            }
            Event::PresenceChanged { user_id, audience, online, last_seen_at } => {
                let frame = ServerFrame::Presence { user_id, online, last_seen_at };
                frames.push((Audience::Users { users: audience, except: None }, encode(&frame)));
            }
            Event::Typing { chat_id, user_id, peer_id } => {
                let users = vec![peer_id];
                frames
                    .push((Audience::Users { users, except: None }, encode(&ServerFrame::Typing { chat_id, user_id })));
            }
            Event::TelegramChanged { user_id, linked } => {
                let users = vec![user_id];
                frames.push((Audience::Users { users, except: None }, encode(&ServerFrame::Telegram { linked })));
            }
            Event::SessionEnded { session_id } => {
                if !frames.is_empty() {
                    hub.dispatch(std::mem::take(&mut frames));
                }
                hub.close_session(session_id);
            }
            Event::SessionsEnded { user_id, except } => {
                if !frames.is_empty() {
                    hub.dispatch(std::mem::take(&mut frames));
                }
                hub.close_user(user_id, except);
            }
            Event::Resync => {
                if !frames.is_empty() {
                    hub.dispatch(std::mem::take(&mut frames));
                }
                hub.resync_everyone();
            }
        }
    }
    if !frames.is_empty() {
        hub.dispatch(frames);
    }
}
