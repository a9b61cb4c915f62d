//! What the server hands to server functions (and shares with its REST handlers):
//! the messenger (database and open sockets) and the session-cookie policy.

use axum::http::StatusCode;
use axum_extra::extract::cookie::{Cookie, SameSite};
use domain::ErrorKind;
use domain::messenger::Messenger;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "session";

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct ServerContext {
    /// The domain calls, with live delivery.
    pub messenger: Messenger,
    /// How session cookies are written.
    pub cookies: CookiePolicy,
}

/// Session cookie attributes: HttpOnly, SameSite=Lax, Secure behind HTTPS.
#[derive(Clone, Copy, Debug)]
pub struct CookiePolicy {
    /// Add `Secure` (the public URL is https).
    pub secure: bool,
}

impl CookiePolicy {
    /// The cookie that carries a new session token.
    pub fn issue(&self, token: String) -> Cookie<'static> {
        let max_age = domain::sessions::SESSION_TTL.num_seconds();
        Cookie::build((SESSION_COOKIE, token))
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
