//! Data shared by the server and the browser. Plain serde types, WASM-safe.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user's id.
pub type UserId = i64;
/// A chat's id.
pub type ChatId = i64;

/// A signed-in person's own account: only they see their email and role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct User {
    /// Stable id.
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub id: UserId,
    /// Lower-cased email address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// May manage the instance.
    pub is_admin: bool,
    /// When they registered.
    pub created_at: DateTime<Utc>,
    /// The interface language they chose, if any (otherwise their browser's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// A language the interface speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Language {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Language {
    /// Every language, in the order the settings offer them.
    pub const ALL: [Self; 2] = [Self::En, Self::Ru];

    /// Its code (`en`, `ru`), as stored and as in the `lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// The language with this code.
    pub fn parse(raw: &str) -> Result<Self, crate::error::Problem> {
        match raw.trim() {
            "en" => Ok(Self::En),
            "ru" => Ok(Self::Ru),
            _ => Err(crate::error::Problem::new("unsupported", "the interface speaks en and ru")),
        }
    }
}

impl User {
    /// How others see this account.
    pub fn as_person(&self) -> Person {
        Person { id: self.id, name: self.name.clone(), created_at: self.created_at, online: false, last_seen_at: None }
    }
}

/// A registered person as everyone else sees them: never their email or role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Person {
    /// Stable id.
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// When they registered.
    pub created_at: DateTime<Utc>,
    /// True while they have the app open somewhere (at least one live connection on any node).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(required = true))]
    pub online: bool,
    /// When they were last online; `None` if never since this was recorded.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(required = true))]
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/auth/register`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// Email address (case does not matter).
    #[cfg_attr(feature = "ssr", schema(example = "ann@example.com"))]
    pub email: String,
    /// Display name, 1-64 characters.
    #[cfg_attr(feature = "ssr", schema(example = "Ann"))]
    pub name: String,
    /// Password, 12-128 characters, not common or easy to guess.
    #[cfg_attr(feature = "ssr", schema(example = "correct horse battery"))]
    pub password: String,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// Email address.
    #[cfg_attr(feature = "ssr", schema(example = "ann@example.com"))]
    pub email: String,
    /// Password.
    #[cfg_attr(feature = "ssr", schema(example = "correct horse battery"))]
    pub password: String,
}

/// How the directory is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum UserSort {
    /// By name, A to Z.
    #[default]
    #[serde(rename = "name")]
    NameAsc,
    /// By name, Z to A.
    #[serde(rename = "-name")]
    NameDesc,
    /// Oldest accounts first.
    #[serde(rename = "created")]
    CreatedAsc,
    /// Newest accounts first.
    #[serde(rename = "-created")]
    CreatedDesc,
}

impl UserSort {
    /// Parses the `sort` query value (`name`, `-name`, `created`, `-created`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "name" => Some(Self::NameAsc),
            "-name" => Some(Self::NameDesc),
            "created" => Some(Self::CreatedAsc),
            "-created" => Some(Self::CreatedDesc),
            _ => None,
        }
    }
}

/// Most users on one directory page.
pub const PER_PAGE_MAX: u64 = 100;
/// Most messages in one history page.
pub const HISTORY_LIMIT_MAX: u64 = 100;
/// Most chats in one page of my chats.
pub const CHAT_PAGE_MAX: u64 = 100;
/// Chats in one page of my chats when the client does not say.
pub const CHAT_PAGE_DEFAULT: u64 = 50;

/// One page of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserPage {
    /// The people on this page.
    pub users: Vec<Person>,
    /// How many users match in all.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Message {
    /// Global id.
    pub id: i64,
    /// The chat it belongs to.
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub chat_id: ChatId,
    /// Position in the chat: 1, 2, 3 ... with no gaps.
    pub seq: i64,
    /// Who wrote it.
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub sender_id: UserId,
    /// The sender's idempotency key.
    pub client_id: String,
    /// The text, shown as text.
    pub text: String,
    /// When the server stored it.
    pub created_at: DateTime<Utc>,
}

/// A chat as one participant sees it in their list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatSummary {
    /// The chat's id.
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub id: ChatId,
    /// The other participant (oneself for Saved Messages).
    pub peer: Person,
    /// True for the chat with oneself.
    pub is_saved_messages: bool,
    /// The newest message, if any.
    pub last_message: Option<Message>,
    /// The seq of the newest message (0 when empty).
    pub last_seq: i64,
    /// The newest seq this participant has read.
    pub last_read_seq: i64,
    /// Messages from the peer after the read marker.
    pub unread: u64,
}

/// One page of my chats, newest activity first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatPage {
    /// The chats on this page.
    pub chats: Vec<ChatSummary>,
    /// Pass it back as `cursor` for the next page; `None` (null) on the last page. Opaque:
    /// it stands for where this page ended in the order, so the next page starts after that
    /// chat, whatever moved meanwhile (a chat that comes alive goes to the top of the first
    /// page, and live events bring it).
    #[cfg_attr(
        feature = "ssr",
        schema(required = true, example = "MXwxNzk1NzAxMTkzLjEyMzQ1NjAwMHwxNzk1NzAwMDAwLjB8NDI")
    )]
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/chats`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OpenChatRequest {
    /// Whom to talk with (oneself for Saved Messages).
    #[cfg_attr(feature = "ssr", schema(value_type = i64))]
    pub peer_id: UserId,
}

/// `POST /api/v1/chats/{id}/messages`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SendRequest {
    /// The text: 1-4,000 characters after trimming; no control characters other than line
    /// breaks and tabs.
    #[cfg_attr(feature = "ssr", schema(example = "Hello!"))]
    pub text: String,
    /// A key chosen by the client (1-64 of `A-Z a-z 0-9 _ -`, unique per sender); resending
    /// with it returns the first message.
    #[cfg_attr(feature = "ssr", schema(example = "2f1c9a0e-hello-1"))]
    pub client_id: String,
}

/// `POST /api/v1/chats/{id}/read`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadRequest {
    /// The newest seq the reader has seen.
    pub seq: i64,
}

/// `GET /api/v1/telegram`: whether the bot runs, and my link to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TelegramStatus {
    /// The server has a bot token (`TELEGRAM_BOT_TOKEN`).
    pub configured: bool,
    /// The bot's username, once Telegram has answered for it (`None` while it has not,
    /// or when the bot is not configured).
    #[cfg_attr(feature = "ssr", schema(required = true, example = "messenger_bot"))]
    pub bot_username: Option<String>,
    /// My account is linked to a Telegram chat.
    pub linked: bool,
    /// Notifications carry the message's text (on unless I switched it off).
    pub previews: bool,
}

/// `POST /api/v1/telegram/link`: a one-time link that ties my account to the Telegram
/// chat that opens it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TelegramLinkOffer {
    /// `https://t.me/<bot>?start=<token>`.
    #[cfg_attr(feature = "ssr", schema(example = "https://t.me/messenger_bot?start=3q2-7w"))]
    pub url: String,
    /// The link works until then (10 minutes), once.
    pub expires_at: DateTime<Utc>,
    /// The same link as a QR code, an SVG document (for a phone's camera).
    pub qr_svg: String,
}

/// `PATCH /api/v1/telegram`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TelegramSettings {
    /// Notifications carry the message's text.
    pub previews: bool,
}

/// One of my sessions (a signed-in browser or client), for `GET /api/v1/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Its id (to end it).
    pub id: i64,
    /// The browser and system it signed in from, such as "Firefox on Linux".
    #[cfg_attr(feature = "ssr", schema(example = "Firefox on Linux"))]
    pub device: String,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to within ten minutes).
    pub last_used_at: DateTime<Utc>,
    /// The session making this request.
    pub current: bool,
}

/// `POST /api/v1/sessions/end-others`: how many sessions ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionsEnded {
    /// Sessions ended.
    pub ended: u64,
}

/// `PUT /api/v1/me/language`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageRequest {
    /// The interface language to keep with the account.
    pub language: Language,
}

/// `POST /api/v1/me/password`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: String,
    /// The new one: 12-128 characters, not common or easy to guess.
    #[cfg_attr(feature = "ssr", schema(example = "a new long secret"))]
    pub new_password: String,
}
