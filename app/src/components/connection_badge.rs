//! Connecting / online / offline, announced to screen readers when it changes.

use leptos::prelude::*;

use crate::i18n::{t_string, use_i18n};
use crate::store::{Connection, Store};

/// The live connection's state: `data-state` holds it as a token (for styles and tests),
/// the text says it in the reader's language.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    let state = move || match store.connection.get() {
        Connection::Connecting => "connecting…",
        Connection::Online => "online",
        Connection::Offline => "offline",
    };
    let label = move || match store.connection.get() {
        Connection::Connecting => t_string!(i18n, messenger.connection_connecting).to_string(),
        Connection::Online => t_string!(i18n, messenger.connection_online).to_string(),
        Connection::Offline => t_string!(i18n, messenger.connection_offline).to_string(),
    };
    view! {
        <span
            class="connection"
            data-state=state
            data-testid="connection"
            role="status"
            aria-live="polite"
        >
            {label}
        </span>
    }
}
