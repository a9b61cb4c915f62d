//! Cross-cutting HTTP concerns: health checks, the Origin check on writes, and the errors the
//! framework writes itself in the API's error shape.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header::ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{ErrorKind, PublicError};
use fred::interfaces::ClientLike;
use serde_json::json;

use crate::rest::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database (and Redis, when configured) answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = match state.ctx.messenger.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "unreachable".to_owned()
        }
    };
    let redis = match state.ctx.messenger.cluster() {
        None => "not configured".to_owned(),
        Some(cluster) => match cluster.client.ping::<String>(None).await {
            Ok(_) if cluster.is_connected() => "ok".to_owned(),
            Ok(_) => "reconnecting".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: redis unreachable");
                "unreachable".to_owned()
            }
        },
    };
    let stopping = state.ctx.messenger.hub.is_shutting_down();
    let ready = database == "ok" && matches!(redis.as_str(), "ok" | "not configured") && !stopping;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({ "ready": ready, "database": database, "redis": redis, "stopping": stopping });
    (status, Json(body)).into_response()
}

/// Refuses state-changing requests whose `Origin` is another site (CSRF defence on top of
/// SameSite cookies). Requests without an Origin (curl, other servers) pass: they carry no
/// ambient browser cookies of ours unless the caller put them there.
///
/// Browsers also say where a request comes from in `Sec-Fetch-Site`: a write that a page of
/// another site (or another subdomain) started is refused even when it carries no Origin.
pub async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let foreign_origin = request
        .headers()
        .get(ORIGIN)
        .is_some_and(|origin| !origin_allowed(origin.to_str().unwrap_or(""), &state.public_origin, request.headers()));
    let foreign_fetch = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|site| !matches!(site.to_str().unwrap_or(""), "same-origin" | "none"));
    if !safe && (foreign_origin || foreign_fetch) {
        return ApiError(PublicError::new(
            ErrorKind::Forbidden,
            "bad_origin",
            "this request came from another site and was refused",
        ))
        .into_response();
    }
    next.run(request).await
}

/// The public origin, or the origin of the host the request was sent to (direct access
/// to one node, tests on an ephemeral port).
pub fn origin_allowed(origin: &str, public_origin: &str, headers: &axum::http::HeaderMap) -> bool {
    if origin == public_origin {
        return true;
    }
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    match (host, origin.split_once("://")) {
        (Some(host), Some((_, origin_host))) => origin_host == host,
        _ => false,
    }
}

/// The headers every response carries: no MIME sniffing, no framing by other sites, no
/// full URLs in the Referer of outgoing links, and HSTS when the public address is https.
pub fn security_headers(https: bool) -> [(HeaderName, Option<HeaderValue>); 5] {
    use axum::http::header::{
        CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };
    [
        (X_CONTENT_TYPE_OPTIONS, Some(HeaderValue::from_static("nosniff"))),
        (X_FRAME_OPTIONS, Some(HeaderValue::from_static("DENY"))),
        (CONTENT_SECURITY_POLICY, Some(HeaderValue::from_static("frame-ancestors 'none'"))),
        (REFERRER_POLICY, Some(HeaderValue::from_static("same-origin"))),
        (STRICT_TRANSPORT_SECURITY, https.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"))),
    ]
}

/// Errors that the framework writes itself, before any handler runs, in the API's error shape
/// like every other: 413 for a body over [`crate::BODY_LIMIT`] that its `Content-Length`
/// announced (tower-http's limit answers in plain text), and 405 for a method a path does not
/// take (axum answers with an empty body, and adds the `Allow` header after this layer).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    match response.status() {
        _ if is_json => response,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::body_too_large().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let message = format!("this endpoint does not take {method} requests (`Allow` lists those it takes)");
            let error = PublicError::new(ErrorKind::Malformed, "method_not_allowed", message);
            let mut replaced = (StatusCode::METHOD_NOT_ALLOWED, Json(crate::rest::ErrorBody { error })).into_response();
            if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
                replaced.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
            }
            replaced
        }
        _ => response,
    }
}
