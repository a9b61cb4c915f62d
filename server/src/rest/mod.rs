//! REST API v1: thin handlers over the same domain calls as the UI's server functions.

mod auth;
pub mod error;
mod messaging;

use app::server_context::{SESSION_COOKIE, ServerContext};
use axum::Router;
use axum::extract::{FromRef, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use domain::DomainError;
use domain::sessions::CurrentSession;

use crate::state::AppState;
pub use error::ApiError;

/// JSON in and out, with rejections in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The signed-in caller of a request, from the session cookie; 401 otherwise.
pub struct Caller(pub CurrentSession);

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    ServerContext: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = ServerContext::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(SESSION_COOKIE).ok_or(DomainError::Unauthenticated)?.value().to_owned();
        let session =
            domain::sessions::resolve(&ctx.messenger.db, &token).await?.ok_or(DomainError::Unauthenticated)?;
        Ok(Self(session))
    }
}

impl FromRef<AppState> for ServerContext {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.clone()
    }
}

/// `/api/v1/...`
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/users", get(messaging::users))
        .route("/chats", get(messaging::chats).post(messaging::open_chat))
        .route("/chats/{id}/messages", get(messaging::history).post(messaging::send))
        .route("/chats/{id}/read", post(messaging::read))
        .route("/ws", get(crate::ws::upgrade))
        .fallback(|| async { ApiError(domain::DomainError::NotFound("endpoint").public()) })
}
