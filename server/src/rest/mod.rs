//! REST API v1: thin handlers over the same domain calls as the UI's server functions.

mod auth;
pub mod error;
mod messaging;
mod sessions;
mod telegram;

use app::server_context::ServerContext;
use axum::Router;
use axum::extract::{FromRef, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use domain::DomainError;
use domain::sessions::CurrentSession;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
pub use error::{ApiError, ErrorBody};

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
        let token = jar.get(ctx.cookies.name()).ok_or(DomainError::Unauthenticated)?.value().to_owned();
        let session =
            domain::sessions::resolve(&ctx.messenger.db, &token).await?.ok_or(DomainError::Unauthenticated)?;
        Ok(Self(session))
    }
}

/// The client's address: the TCP peer, or behind a trusted proxy the client it names
/// (`TRUSTED_PROXIES`).
pub struct ClientAddress(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    ServerContext: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = ServerContext::from_ref(state);
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
            .ok_or_else(|| DomainError::internal("the connection's address is missing"))?;
        Ok(Self(ctx.client_address(peer, &parts.headers)))
    }
}

impl FromRef<AppState> for ServerContext {
    fn from_ref(state: &AppState) -> Self {
        state.ctx.clone()
    }
}

/// Every `/api/v1` route with its OpenAPI operation, from one list: each handler's
/// `#[utoipa::path]` gives its method and path to both the router and the document
/// (`/api-docs/openapi.json`). Add routes here with `routes!` only: a plain `.route` would
/// serve an endpoint that the document lacks.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::set_language))
        .routes(routes!(messaging::users))
        .routes(routes!(messaging::chats, messaging::open_chat))
        .routes(routes!(messaging::history, messaging::send))
        .routes(routes!(messaging::read))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::end))
        .routes(routes!(sessions::end_others))
        .routes(routes!(telegram::status, telegram::settings))
        .routes(routes!(telegram::link, telegram::unlink))
        .routes(routes!(crate::ws::upgrade))
}

/// `/api/v1/...`: the routes of [`api`], and the API's 404 for any other path.
pub fn routes() -> Router<AppState> {
    let (router, _document) = api().split_for_parts();
    router.fallback(|| async { ApiError(domain::DomainError::NotFound("endpoint").public()) })
}
