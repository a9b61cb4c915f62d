//! Connecting / online / offline, announced to screen readers when it changes, and the
//! outbox: how many messages wait to be sent while the connection is not up.

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
    // Sends not yet stored (not the refused ones), while they cannot go.
    let waiting = move || {
        let count = store.pending.with(|p| p.iter().filter(|p| p.failed.is_none()).count());
        (count > 0 && store.connection.get() != Connection::Online).then_some(count)
    };
    view! {
        {move || {
            waiting()
                .map(|count| {
                    view! {
                        <span class="outbox" data-testid="outbox" role="status">
                            {t_string!(i18n, messenger.outbox, count = count).to_string()}
                        </span>
                    }
                })
        }}
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
