//! Connecting / online / offline, announced to screen readers when it changes.

use leptos::prelude::*;

use crate::store::{Connection, Store};

/// The live connection's state.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let store = expect_context::<Store>();
    let label = move || match store.connection.get() {
        Connection::Connecting => "connecting…",
        Connection::Online => "online",
        Connection::Offline => "offline",
    };
    view! {
        <span
            class="connection"
            data-state=label
            data-testid="connection"
            role="status"
            aria-live="polite"
        >
            {label}
        </span>
    }
}
