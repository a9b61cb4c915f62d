//! What can go wrong, in the messenger's words, and the face of it that clients see.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What is wrong with one field: a stable code that interfaces translate (`too_long`), and
/// the same in English for anyone who does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A stable machine-readable code, such as `required` or `too_long`.
    pub code: &'static str,
    /// The problem in English words for the person who typed it.
    pub message: String,
}

impl Problem {
    /// A problem with its code and its English words.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Field name -> what is wrong with it.
pub type FieldErrors = BTreeMap<String, Problem>;

/// Everything a domain call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// One or more inputs are not acceptable; each field says why.
    #[error("some fields need attention")]
    Invalid(FieldErrors),
    /// Registration with an email that already has an account.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Unknown email or wrong password: deliberately the same answer for both.
    #[error("wrong email or password")]
    BadCredentials,
    /// The account exists but was deactivated by an administrator.
    #[error("this account has been deactivated")]
    AccountDisabled,
    /// No valid session.
    #[error("please sign in")]
    Unauthenticated,
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Too many requests in a short time.
    #[error("too many attempts, try again in a minute")]
    RateLimited,
    /// The server is saving as fast as it can and its queue is full; the same request
    /// (same client id) can be retried safely in a moment.
    #[error("the server is busy, try again in a moment")]
    Busy,
    /// The database cannot be reached for the moment (down, restarting, the network to
    /// it broken); the same request (same client id) can be retried in a moment, and a
    /// send that was stored after all is found again. The cause is logged, never shown.
    #[error("the database cannot be reached; try again in a moment")]
    Unavailable(String),
    /// The server has no Telegram bot (`TELEGRAM_BOT_TOKEN` is not set).
    #[error("Telegram is not configured on this server")]
    TelegramNotConfigured,
    /// The Telegram bot has not reached Telegram yet (its username is unknown); retry later.
    #[error("Telegram cannot be reached right now; try again in a moment")]
    TelegramUnavailable,
    /// Something broke inside; the cause is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

/// The class of an error, which each edge maps to its own status (HTTP code, frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ErrorKind {
    /// The request itself cannot be read (not JSON, wrong types).
    Malformed,
    /// Input is well-formed but out of range.
    Invalid,
    /// Not signed in.
    Unauthenticated,
    /// Signed in but not allowed.
    Forbidden,
    /// Not there (or not yours).
    NotFound,
    /// Conflicts with existing state.
    Conflict,
    /// The request is bigger than allowed.
    TooLarge,
    /// Slow down.
    RateLimited,
    /// Overloaded or unreachable for a moment; retry.
    Unavailable,
    /// Our fault.
    Internal,
}

/// The serializable face of an error: what a client may see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct PublicError {
    /// The class of error.
    pub kind: ErrorKind,
    /// A stable machine-readable code, such as `email_taken`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Per-field problems, for forms: field name -> what is wrong with it, in English.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The same problems as stable codes (field name -> `required`, `too_long`, …), for
    /// interfaces that say them in the reader's language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_codes: BTreeMap<String, String>,
}

impl PublicError {
    /// An error with no field details.
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.to_owned(),
            message: message.into(),
            fields: BTreeMap::new(),
            field_codes: BTreeMap::new(),
        }
    }

    /// The problem with one field, if any, in English.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The code of the problem with one field, if any.
    pub fn field_code(&self, name: &str) -> Option<&str> {
        self.field_codes.get(name).map(String::as_str)
    }

    /// Adds one field's problem.
    pub fn with_field(mut self, name: &str, problem: &Problem) -> Self {
        self.fields.insert(name.to_owned(), problem.message.clone());
        self.field_codes.insert(name.to_owned(), problem.code.to_owned());
        self
    }
}

impl DomainError {
    /// Wraps an unexpected failure; its text is for the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The database cannot be reached; `cause` is for the log only.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        Self::Unavailable(cause.to_string())
    }

    /// A single invalid field.
    pub fn invalid(field: &str, problem: Problem) -> Self {
        Self::Invalid(FieldErrors::from([(field.to_owned(), problem)]))
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::EmailTaken => ErrorKind::Conflict,
            Self::BadCredentials | Self::Unauthenticated => ErrorKind::Unauthenticated,
            Self::AccountDisabled => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::RateLimited => ErrorKind::RateLimited,
            Self::Busy | Self::Unavailable(_) | Self::TelegramUnavailable => ErrorKind::Unavailable,
            Self::TelegramNotConfigured => ErrorKind::Conflict,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A stable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_input",
            Self::EmailTaken => "email_taken",
            Self::BadCredentials => "bad_credentials",
            Self::AccountDisabled => "account_disabled",
            Self::Unauthenticated => "unauthenticated",
            Self::NotFound(_) => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Busy => "busy",
            Self::Unavailable(_) => "unavailable",
            Self::TelegramNotConfigured => "telegram_not_configured",
            Self::TelegramUnavailable => "telegram_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// What a client may see of this error. Internal causes are replaced by a generic sentence.
    pub fn public(&self) -> PublicError {
        let mut public = PublicError::new(self.kind(), self.code(), self.to_string());
        match self {
            Self::Invalid(fields) => {
                for (name, problem) in fields {
                    public = public.with_field(name, problem);
                }
            }
            Self::EmailTaken => public = public.with_field("email", &Problem::new("taken", self.to_string())),
            Self::Internal(_) => public.message = "something went wrong on our side; please try again".into(),
            _ => {}
        }
        public
    }
}

impl From<DomainError> for PublicError {
    fn from(error: DomainError) -> Self {
        error.public()
    }
}
