//! The error every server function returns: the domain's public error, carried over the
//! wire as JSON so that forms can show each field's problem next to it.

use domain::{ErrorKind, PublicError, input};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::{Locale, td_string};

/// A [`PublicError`] that can travel through a server function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{0}")]
pub struct UiError(pub PublicError);

impl UiError {
    /// The problem with one form field, if the server named one.
    pub fn field(&self, name: &str) -> Option<String> {
        self.0.field(name).map(str::to_owned)
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let (code, message) = match value {
            ServerFnErrorErr::Request(_) => ("unreachable", "cannot reach the server; check your connection"),
            _ => ("transport", "the server answered in a way this page did not understand; reload the page"),
        };
        Self(PublicError::new(ErrorKind::Internal, code, message))
    }
}

impl From<PublicError> for UiError {
    fn from(error: PublicError) -> Self {
        Self(error)
    }
}

#[cfg(feature = "ssr")]
impl From<domain::DomainError> for UiError {
    /// Also gives the server function's response the status of the error, so that a
    /// refused sign-in is a 401 and not a server failure.
    fn from(error: domain::DomainError) -> Self {
        let public = domain::report(error);
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(crate::server_context::status_of(public.kind));
        }
        Self(public)
    }
}

impl UiError {
    /// The error in the reader's language: its code's words, or the server's English
    /// sentence for a code this page does not know.
    pub fn text(&self, locale: Locale) -> String {
        error_text(locale, &self.0)
    }

    /// The problem with one form field in the reader's language, if the server named one.
    pub fn field_text(&self, locale: Locale, name: &str) -> Option<String> {
        field_text(locale, &self.0, name)
    }
}

/// An error in `locale`'s words, by its code; the English sentence it came with for an
/// unknown code.
pub fn error_text(locale: Locale, error: &PublicError) -> String {
    match error.code.as_str() {
        "invalid_input" => td_string!(locale, errors.invalid_input).to_string(),
        "email_taken" => td_string!(locale, errors.email_taken).to_string(),
        "bad_credentials" => td_string!(locale, errors.bad_credentials).to_string(),
        "account_disabled" => td_string!(locale, errors.account_disabled).to_string(),
        "unauthenticated" => td_string!(locale, errors.unauthenticated).to_string(),
        "not_found" => td_string!(locale, errors.not_found).to_string(),
        "rate_limited" => td_string!(locale, errors.rate_limited).to_string(),
        "busy" => td_string!(locale, errors.busy).to_string(),
        "unavailable" => td_string!(locale, errors.unavailable).to_string(),
        "telegram_not_configured" => td_string!(locale, errors.telegram_not_configured).to_string(),
        "telegram_unavailable" => td_string!(locale, errors.telegram_unavailable).to_string(),
        "internal" => td_string!(locale, errors.internal).to_string(),
        "unreachable" => td_string!(locale, errors.unreachable).to_string(),
        "transport" => td_string!(locale, errors.transport).to_string(),
        "bad_origin" => td_string!(locale, errors.bad_origin).to_string(),
        "too_many_connections" => td_string!(locale, errors.too_many_connections).to_string(),
        "body_too_large" | "frame_too_large" => td_string!(locale, errors.body_too_large).to_string(),
        "malformed_request" | "malformed_frame" | "method_not_allowed" => {
            td_string!(locale, errors.malformed).to_string()
        }
        _ => error.message.clone(),
    }
}

/// One field's problem in `locale`'s words, by the field and its code.
pub fn field_text(locale: Locale, error: &PublicError, name: &str) -> Option<String> {
    let code = error.field_code(name)?;
    let words = match (name, code) {
        ("email", "required") => td_string!(locale, errors.email_required).to_string(),
        ("email", "too_long") => td_string!(locale, errors.email_too_long, max = input::EMAIL_MAX).to_string(),
        ("email", "not_an_email") => td_string!(locale, errors.email_not_an_email).to_string(),
        ("email", "taken") => td_string!(locale, errors.email_taken).to_string(),
        ("name", "required") => td_string!(locale, errors.name_required).to_string(),
        ("name", "too_long") => td_string!(locale, errors.name_too_long, max = input::NAME_MAX).to_string(),
        ("name", "control_characters") => td_string!(locale, errors.name_control_characters).to_string(),
        ("name", "direction_controls") => td_string!(locale, errors.name_direction_controls).to_string(),
        ("password" | "new_password", "too_short") => {
            td_string!(locale, errors.password_too_short, min = input::PASSWORD_MIN).to_string()
        }
        ("password" | "new_password", "too_long") => {
            td_string!(locale, errors.password_too_long, max = input::PASSWORD_MAX).to_string()
        }
        ("password" | "new_password", "too_easy") => td_string!(locale, errors.password_too_easy).to_string(),
        ("current_password", "wrong") => td_string!(locale, errors.current_password_wrong).to_string(),
        ("new_password", "unchanged") => td_string!(locale, errors.new_password_unchanged).to_string(),
        ("text", "required") => td_string!(locale, errors.text_required).to_string(),
        ("text", "too_long") => td_string!(locale, errors.text_too_long, max = input::MESSAGE_MAX).to_string(),
        ("text", "control_characters") => td_string!(locale, errors.text_control_characters).to_string(),
        ("q", "too_long") => td_string!(locale, errors.search_too_long, max = input::EMAIL_MAX).to_string(),
        ("q", "control_characters") => td_string!(locale, errors.search_control_characters).to_string(),
        _ => return error.field(name).map(str::to_owned),
    };
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_said_in_the_readers_language_by_their_code() {
        let refused = PublicError::new(ErrorKind::Unauthenticated, "bad_credentials", "wrong email or password");
        assert_eq!(error_text(Locale::en, &refused), "Wrong email or password.");
        assert_eq!(error_text(Locale::ru, &refused), "Неверная почта или пароль.");
        // A code this page does not know keeps the server's sentence.
        let unknown = PublicError::new(ErrorKind::Internal, "brand_new", "something new");
        assert_eq!(error_text(Locale::ru, &unknown), "something new");
    }

    #[test]
    fn field_problems_are_said_by_field_and_code_with_their_limits() {
        let problem = domain::Problem::new("too_long", "a name has at most 64 characters");
        let error = PublicError::new(ErrorKind::Invalid, "invalid_input", "some fields need attention")
            .with_field("name", &problem)
            .with_field("client_id", &domain::Problem::new("bad_length", "a client id has 1 to 64 characters"));
        assert_eq!(field_text(Locale::ru, &error, "name").as_deref(), Some("Имя не длиннее 64 символов."));
        assert_eq!(field_text(Locale::en, &error, "name").as_deref(), Some("A name has at most 64 characters."));
        // Not a field people type into: the server's English.
        assert_eq!(field_text(Locale::ru, &error, "client_id").as_deref(), Some("a client id has 1 to 64 characters"));
        assert_eq!(field_text(Locale::ru, &error, "email"), None);
    }
}
