//! The state every handler shares.

use app::server_context::ServerContext;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    /// Database and cookie policy, also handed to server functions.
    pub ctx: ServerContext,
    /// The Leptos site (static files, rendering options).
    pub leptos: LeptosOptions,
    /// The origin browsers must send on state-changing requests.
    pub public_origin: String,
    /// How often a live socket is pinged and its session checked (`WS_HEARTBEAT`).
    pub heartbeat: std::time::Duration,
    /// Live sockets per client address, capped (`SOCKETS_PER_ADDRESS`).
    pub sockets_per_address: crate::ws::SocketsPerAddress,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
