//! WebSocket frames between the browser and the server. JSON, tagged by `type`.
//! Documented for other clients in docs/protocol.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::PublicError;
use crate::model::{ChatId, ChatSummary, Message, Person, User, UserId};

/// The protocol version; the server announces it in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest text frame the server reads, in bytes.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// What a client sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a message; answered by `ack` (or `error` with the same client_id).
    Send {
        /// Target chat.
        chat_id: ChatId,
        /// Idempotency key: a resend with the same key returns the first message.
        client_id: String,
        /// The text.
        text: String,
    },
    /// Move my read marker in a chat.
    Read {
        /// The chat.
        chat_id: ChatId,
        /// The newest seq seen.
        seq: i64,
    },
    /// I am typing in a chat; my peer sees it for a few seconds. Send at most one every
    /// few seconds while typing.
    Typing {
        /// The chat.
        chat_id: ChatId,
    },
    /// Keep-alive; answered by `pong`.
    Ping,
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Hello {
        /// Protocol version.
        version: u32,
        /// Who this connection belongs to.
        user: User,
    },
    /// A `send` was stored (or had been stored before, for a retry). Only to the sending connection.
    Ack {
        /// The key the client chose.
        client_id: String,
        /// The stored message.
        message: Message,
    },
    /// A new message in one of my chats, from me (any tab) or my peer.
    Message {
        /// The message.
        message: Message,
    },
    /// My read marker moved (from this or another tab).
    Read {
        /// The chat as I now see it.
        chat: ChatSummary,
    },
    /// Someone registered.
    UserJoined {
        /// The newcomer, as everyone sees them.
        user: Person,
    },
    /// Someone came online or went offline.
    Presence {
        /// Who.
        user_id: UserId,
        /// Online now (a connection open anywhere).
        online: bool,
        /// When they were last online, sent when they go offline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen_at: Option<DateTime<Utc>>,
    },
    /// My peer is typing in a chat (show it for a few seconds, or until their message arrives).
    Typing {
        /// The chat.
        chat_id: ChatId,
        /// Who is typing.
        user_id: UserId,
    },
    /// My account was linked to Telegram, or unlinked (from the bot or another tab).
    Telegram {
        /// Linked now.
        linked: bool,
    },
    /// A frame could not be handled. The connection stays open.
    Error {
        /// The `client_id` of the failed `send`, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// What went wrong.
        error: PublicError,
    },
    /// Answer to `ping`.
    Pong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_by_type_in_snake_case() {
        let frame: ClientFrame =
            serde_json::from_str(r#"{"type":"send","chat_id":3,"client_id":"c1","text":"hi"}"#).unwrap();
        assert_eq!(frame, ClientFrame::Send { chat_id: 3, client_id: "c1".into(), text: "hi".into() });
        assert_eq!(serde_json::to_string(&ServerFrame::Pong).unwrap(), r#"{"type":"pong"}"#);
    }
}
