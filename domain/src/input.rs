//! Parsed inputs: each type can only hold a valid value, so the rest of the code takes
//! these instead of raw strings. Shared with the browser for instant field hints.

use crate::error::{DomainError, FieldErrors, Problem};

/// Longest accepted email address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Display names are 1 to this many characters after trimming.
pub const NAME_MAX: usize = 64;
/// Shortest accepted new password, in characters (ASVS 2.1.1). Passwords chosen before
/// this rule still sign in.
pub const PASSWORD_MIN: usize = 12;
/// Longest accepted password, in characters.
pub const PASSWORD_MAX: usize = 128;
/// Longest message text, in characters after trimming.
pub const MESSAGE_MAX: usize = 4000;

/// A syntactically valid email address, lower-cased so that uniqueness ignores case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases, then checks the syntax and the length of what will be stored
    /// (lower-casing can change a character into several). Only a bare address is an
    /// email: `Ann <ann@example.com>` is not.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let lowered = raw.trim().to_lowercase();
        if lowered.is_empty() {
            return Err(Problem::new("required", "enter your email"));
        }
        if lowered.chars().count() > EMAIL_MAX {
            return Err(Problem::new("too_long", format!("an email has at most {EMAIL_MAX} characters")));
        }
        let bare = email_address::Options::default().without_display_text();
        if email_address::EmailAddress::parse_with_options(&lowered, bare).is_err() || !lowered.contains('@') {
            return Err(Problem::new("not_an_email", "this does not look like an email address"));
        }
        Ok(Self(lowered))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1 to 64 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and checks the length.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 {
            return Err(Problem::new("required", "enter a name"));
        }
        if len > NAME_MAX {
            return Err(Problem::new("too_long", format!("a name has at most {NAME_MAX} characters")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Problem::new("control_characters", "a name cannot contain control characters"));
        }
        if trimmed.chars().any(is_bidi_control) {
            return Err(Problem::new("direction_controls", "a name cannot contain text-direction controls"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's explicit direction embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069): in a name they can make it display as someone else's.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A password of acceptable length (not trimmed: spaces are part of it).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks the length.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let len = raw.chars().count();
        if len < PASSWORD_MIN {
            return Err(Problem::new("too_short", format!("a password has at least {PASSWORD_MIN} characters")));
        }
        if len > PASSWORD_MAX {
            return Err(Problem::new("too_long", format!("a password has at most {PASSWORD_MAX} characters")));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The text of a message: 1 to 4,000 characters after trimming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Trims and checks the length and the characters: control characters other than
    /// line breaks and tabs (NUL among them, which PostgreSQL cannot store) are refused.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(DomainError::invalid(
                "text",
                Problem::new("control_characters", "a message cannot contain control characters"),
            ));
        }
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 {
            return Err(DomainError::invalid("text", Problem::new("required", "a message cannot be empty")));
        }
        if len > MESSAGE_MAX {
            return Err(DomainError::invalid(
                "text",
                Problem::new("too_long", format!("a message has at most {MESSAGE_MAX} characters ({len} given)")),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The trimmed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Takes the text out.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Longest client id, in characters.
pub const CLIENT_ID_MAX: usize = 64;

/// A sender's idempotency key for one message: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Checks the alphabet and the length.
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(Problem::new("bad_characters", "a client id contains only letters, digits, '_' and '-'"));
        }
        // ASCII from here on, so bytes are characters.
        if raw.is_empty() || raw.len() > CLIENT_ID_MAX {
            return Err(Problem::new("bad_length", format!("a client id has 1 to {CLIENT_ID_MAX} characters")));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message someone wants to send, with its text and client id parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// The chat it goes to (whether the sender may write there is checked when it is stored).
    pub chat_id: i64,
    /// The sender's idempotency key.
    pub client_id: ClientId,
    /// The trimmed text.
    pub text: MessageText,
}

impl NewMessage {
    /// Parses the client id and the text, reporting both problems at once.
    pub fn parse(chat_id: i64, client_id: &str, text: &str) -> Result<Self, DomainError> {
        let mut problems = FieldErrors::new();
        let client_id = ClientId::parse(client_id).map_err(|e| problems.insert("client_id".into(), e)).ok();
        let text = match MessageText::parse(text) {
            Ok(text) => Some(text),
            Err(DomainError::Invalid(fields)) => {
                problems.extend(fields);
                None
            }
            Err(e) => return Err(e),
        };
        match (client_id, text) {
            (Some(client_id), Some(text)) => Ok(Self { chat_id, client_id, text }),
            _ => Err(DomainError::Invalid(problems)),
        }
    }
}

/// A valid registration: every field parsed, or every problem reported at once.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Normalized email.
    pub email: Email,
    /// Trimmed display name.
    pub name: DisplayName,
    /// The chosen password.
    pub password: Password,
}

impl NewAccount {
    /// Parses all three fields and reports every problem together.
    pub fn parse(email: &str, name: &str, password: &str) -> Result<Self, DomainError> {
        let mut problems = FieldErrors::new();
        let email = Email::parse(email).map_err(|e| problems.insert("email".into(), e)).ok();
        let name = DisplayName::parse(name).map_err(|e| problems.insert("name".into(), e)).ok();
        let password = Password::parse(password).map_err(|e| problems.insert("password".into(), e)).ok();
        match (email, name, password) {
            (Some(email), Some(name), Some(password)) => Ok(Self { email, name, password }),
            _ => Err(DomainError::Invalid(problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "ann", "ann@", "@example.com", "a b@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_limited_to_64_characters() {
        assert_eq!(DisplayName::parse("  Ann  ").unwrap().as_str(), "Ann");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"я".repeat(64)).is_ok());
        assert!(DisplayName::parse(&"я".repeat(65)).is_err());
    }

    #[test]
    fn names_refuse_control_and_direction_override_characters() {
        for bad in ["Ann\0", "Ann\u{7}", "\u{202E}nnA", "Ann\u{2066}x"] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(DisplayName::parse("Анна-Мария O'Neil 李").is_ok());
    }

    #[test]
    fn passwords_are_12_to_128_characters_counted_as_characters() {
        assert!(Password::parse("12345678901").is_err());
        assert!(Password::parse("123456789012").is_ok());
        assert!(Password::parse(&"ж".repeat(11)).is_err());
        assert!(Password::parse(&"ж".repeat(128)).is_ok());
        assert!(Password::parse(&"ж".repeat(129)).is_err());
    }

    #[test]
    fn message_text_is_trimmed_and_limited() {
        assert_eq!(MessageText::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(MessageText::parse(" \n ").is_err());
        assert!(MessageText::parse(&"x".repeat(MESSAGE_MAX)).is_ok());
        assert!(MessageText::parse(&"x".repeat(MESSAGE_MAX + 1)).is_err());
    }

    #[test]
    fn message_text_refuses_control_characters_but_keeps_line_breaks_and_tabs() {
        assert_eq!(MessageText::parse("a\tb\r\nc").unwrap().as_str(), "a\tb\r\nc");
        for bad in ["nul\0here", "bell\u{7}", "escape\u{1b}[31m", "c1\u{85}"] {
            assert!(MessageText::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        assert!(ClientId::parse("a-Z_09").is_ok());
        assert!(ClientId::parse(&"x".repeat(CLIENT_ID_MAX)).is_ok());
        for bad in ["", "a b", "ключ", "a/b"] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(ClientId::parse(&"x".repeat(CLIENT_ID_MAX + 1)).is_err());
    }

    #[test]
    fn a_new_message_reports_its_client_id_and_text_problems_together() {
        let Err(DomainError::Invalid(fields)) = NewMessage::parse(1, "no spaces", " ") else {
            panic!("expected field errors");
        };
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["client_id", "text"]);
    }

    #[test]
    fn a_registration_reports_every_bad_field_at_once() {
        let Err(DomainError::Invalid(fields)) = NewAccount::parse("nope", "", "short") else {
            panic!("expected field errors");
        };
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["email", "name", "password"]);
    }
}
