//! The REST error shape: `{"error": {"kind", "code", "message", "fields"}}` with the right status.

use app::server_context::status_of;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{DomainError, ErrorKind, PublicError};
use serde::Serialize;

/// The body of every error response: `{"error": {"kind", "code", "message", "fields"}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: PublicError,
}

/// An error on its way to a REST client.
#[derive(Debug)]
pub struct ApiError(pub PublicError);

impl ApiError {
    /// A request that cannot be read (400).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self(PublicError::new(ErrorKind::Malformed, "malformed_request", message))
    }

    /// A request body over [`crate::BODY_LIMIT`] (413 `body_too_large`), whether it said so in
    /// its `Content-Length` or turned out longer while it was read.
    pub fn body_too_large() -> Self {
        let message = format!("the request body is larger than {} KiB", crate::BODY_LIMIT / 1024);
        Self(PublicError::new(ErrorKind::TooLarge, "body_too_large", message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.0.kind;
        let mut response = (status_of(kind), Json(ErrorBody { error: self.0 })).into_response();
        if matches!(kind, ErrorKind::Unavailable | ErrorKind::RateLimited) {
            // Seconds; the send queue drains within one (`busy`), a database out of reach
            // (`unavailable`) is tried again as soon, and the sign-in limit refills one attempt in six.
            let seconds = if kind == ErrorKind::Unavailable { "1" } else { "6" };
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self(domain::report(error))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::body_too_large(),
            // Well-formed JSON with missing or mistyped fields.
            StatusCode::UNPROCESSABLE_ENTITY => {
                Self(PublicError::new(ErrorKind::Invalid, "invalid_input", rejection.body_text()))
            }
            _ => Self::malformed(rejection.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::malformed(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::malformed(rejection.body_text())
    }
}
