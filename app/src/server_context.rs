//! What the server hands to server functions (and shares with its REST handlers):
//! the messenger (database and open sockets) and the session-cookie policy.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
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
    /// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl ServerContext {
    /// The address of the client behind a request from `peer` (the TCP peer): the peer
    /// itself, unless it is a trusted proxy; then the nearest address in `X-Forwarded-For`
    /// that is not one (proxies append the address they saw, so entries further left are
    /// the client's own word and not believed past the first untrusted one).
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.trusted_proxies)
    }
}

/// See [`ServerContext::client_address`].
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse().ok())
        .collect();
    let mut client = peer;
    for address in forwarded.into_iter().rev() {
        client = address;
        if !is_trusted(&address) {
            break;
        }
    }
    client
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

    /// The `lang` cookie: the interface language for this browser, for a year (read and
    /// written by the page too, so not HTTP-only; it holds nothing secret).
    pub fn language(&self, language: domain::model::Language) -> Cookie<'static> {
        Cookie::build((crate::LANGUAGE_COOKIE, language.code()))
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .path("/")
            .max_age(cookie::time::Duration::days(365))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        // Straight from a client: its own address, whatever it claims.
        assert_eq!(client_address(stranger, &headers("198.51.100.1"), &trusted), stranger);
        // Through the proxy: the address the proxy saw, not what the client claimed before it.
        let via = headers("1.2.3.4, 198.51.100.7");
        assert_eq!(client_address(proxy, &via, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        // Two trusted proxies in a row.
        let twice = headers("198.51.100.7, 10.0.0.9");
        assert_eq!(client_address(proxy, &twice, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        // A trusted proxy that says nothing: the proxy itself.
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        // No proxies trusted: never the header.
        assert_eq!(client_address(proxy, &via, &[]), proxy);
    }
}
