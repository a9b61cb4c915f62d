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

impl ServerFrame {
    /// Reads a frame as its `Deserialize` does, in two passes over the text: its `type`, then
    /// the fields of that variant. The derived `Deserialize` of an internally tagged enum buffers
    /// every frame into serde's generic `Content` first, which compiles a second deserializer
    /// for every type inside a frame; the browser reads frames this way instead (about 80 KB of
    /// unoptimized WASM less).
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        use std::borrow::Cow;

        #[derive(Deserialize)]
        struct Tag<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Hello {
            version: u32,
            user: User,
        }
        #[derive(Deserialize)]
        struct Ack {
            client_id: String,
            message: Message,
        }
        #[derive(Deserialize)]
        struct NewMessage {
            message: Message,
        }
        #[derive(Deserialize)]
        struct Read {
            chat: ChatSummary,
        }
        #[derive(Deserialize)]
        struct UserJoined {
            user: Person,
        }
        #[derive(Deserialize)]
        struct Presence {
            user_id: UserId,
            online: bool,
            #[serde(default)]
            last_seen_at: Option<DateTime<Utc>>,
        }
        #[derive(Deserialize)]
        struct Typing {
            chat_id: ChatId,
            user_id: UserId,
        }
        #[derive(Deserialize)]
        struct Telegram {
            linked: bool,
        }
        #[derive(Deserialize)]
        struct Error {
            #[serde(default)]
            client_id: Option<String>,
            error: PublicError,
        }

        const KINDS: &[&str] =
            &["hello", "ack", "message", "read", "user_joined", "presence", "typing", "telegram", "error", "pong"];
        let tag: Tag<'_> = serde_json::from_str(text)?;
        Ok(match tag.kind.as_ref() {
            "hello" => {
                let Hello { version, user } = serde_json::from_str(text)?;
                Self::Hello { version, user }
            }
            "ack" => {
                let Ack { client_id, message } = serde_json::from_str(text)?;
                Self::Ack { client_id, message }
            }
            "message" => Self::Message { message: serde_json::from_str::<NewMessage>(text)?.message },
            "read" => Self::Read { chat: serde_json::from_str::<Read>(text)?.chat },
            "user_joined" => Self::UserJoined { user: serde_json::from_str::<UserJoined>(text)?.user },
            "presence" => {
                let Presence { user_id, online, last_seen_at } = serde_json::from_str(text)?;
                Self::Presence { user_id, online, last_seen_at }
            }
            "typing" => {
                let Typing { chat_id, user_id } = serde_json::from_str(text)?;
                Self::Typing { chat_id, user_id }
            }
            "telegram" => Self::Telegram { linked: serde_json::from_str::<Telegram>(text)?.linked },
            "error" => {
                let Error { client_id, error } = serde_json::from_str(text)?;
                Self::Error { client_id, error }
            }
            "pong" => Self::Pong,
            other => return Err(serde::de::Error::unknown_variant(other, KINDS)),
        })
    }
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

    #[test]
    fn from_json_reads_every_frame_as_deserialize_does() {
        let me = User {
            id: 7,
            email: "ann@example.com".into(),
            name: "Ann".into(),
            is_admin: false,
            created_at: "2026-11-27T10:00:00Z".parse().unwrap(),
            language: None,
        };
        let message = Message {
            id: 10,
            chat_id: 3,
            sender_id: 7,
            seq: 4,
            client_id: "c1".into(),
            text: "hi".into(),
            created_at: "2026-11-27T10:00:01Z".parse().unwrap(),
        };
        let frames = [
            ServerFrame::Hello { version: PROTOCOL_VERSION, user: me },
            ServerFrame::Ack { client_id: "c1".into(), message: message.clone() },
            ServerFrame::Message { message },
            ServerFrame::Presence {
                user_id: 7,
                online: false,
                last_seen_at: Some("2026-11-27T10:05:00Z".parse().unwrap()),
            },
            ServerFrame::Presence { user_id: 7, online: true, last_seen_at: None },
            ServerFrame::Typing { chat_id: 3, user_id: 7 },
            ServerFrame::Telegram { linked: true },
            ServerFrame::Pong,
        ];
        for frame in frames {
            let text = serde_json::to_string(&frame).unwrap();
            assert_eq!(ServerFrame::from_json(&text).unwrap(), frame, "{text}");
            assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), frame, "{text}");
        }
        // The type may come anywhere among the fields, as for the derived reader.
        let late = r#"{"linked":false,"type":"telegram"}"#;
        assert_eq!(ServerFrame::from_json(late).unwrap(), ServerFrame::Telegram { linked: false });
        assert!(ServerFrame::from_json(r#"{"type":"teleport"}"#).unwrap_err().to_string().contains("unknown variant"));
        assert!(ServerFrame::from_json(r#"{"type":"typing","chat_id":3}"#).is_err());
        assert!(ServerFrame::from_json(r#"{"chat_id":3}"#).is_err());
    }
}
