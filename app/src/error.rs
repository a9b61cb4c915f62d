//! The error every server function returns: the domain's public error, carried over the
//! wire as JSON so that forms can show each field's problem next to it.

use domain::{ErrorKind, PublicError};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

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
