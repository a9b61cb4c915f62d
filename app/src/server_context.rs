//! What the server hands to server functions (and shares with its REST handlers):
//! the messenger (database and open sockets) and the session-cookie policy.

use axum::http::StatusCode;
use axum_extra::extract::cookie::{Cookie, SameSite};
use domain::ErrorKind;
use domain::messenger::Messenger;

/// The name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "session";
/// Its name over HTTPS: the `__Host-` prefix makes browsers refuse it unless it is
/// `Secure`, has `Path=/` and no `Domain`, so no subdomain can set or shadow it.
pub const SESSION_COOKIE_HTTPS: &str = "__Host-session";

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct ServerContext {
    /// The domain calls, with live delivery.
    pub messenger: Messenger,
    /// How session cookies are written.
    pub cookies: CookiePolicy,
}

/// Session cookie attributes: HttpOnly, SameSite=Lax, Path=/; behind HTTPS also Secure
/// and the `__Host-` name.
#[derive(Clone, Copy, Debug)]
pub struct CookiePolicy {
    /// Add `Secure` (the public URL is https).
    pub secure: bool,
}

impl CookiePolicy {
    /// The session cookie's name: [`SESSION_COOKIE_HTTPS`] behind HTTPS, else [`SESSION_COOKIE`].
    pub fn name(&self) -> &'static str {
        if self.secure { SESSION_COOKIE_HTTPS } else { SESSION_COOKIE }
    }

    /// The cookie that carries a new session token.
    pub fn issue(&self, token: String) -> Cookie<'static> {
        let max_age = domain::sessions::SESSION_TTL.num_seconds();
        Cookie::build((self.name(), token))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
    }

    /// The cookie that removes the session token from the browser.
    pub fn clear(&self) -> Cookie<'static> {
        let mut cookie = self.issue(String::new());
        cookie.make_removal();
        cookie
    }
}

/// The HTTP status of each class of error, for every HTTP edge (REST and server functions).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Malformed => StatusCode::BAD_REQUEST,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
