//! The API's documentation, served by the binary: the OpenAPI 3.1 document of `/api/v1` at
//! `/api-docs/openapi.json`, built from the same list of routes as the router
//! ([`rest::api`]), and Swagger UI at `/docs`, whose files are compiled in (from the
//! `utoipa-swagger-ui-vendored` crate: no CDN, nothing downloaded at build time). The
//! WebSocket protocol stays documented in docs/protocol.md, served as `/api-docs/protocol.md`.

use app::server_context::SESSION_COOKIE;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use domain::model::UserSort;
use domain::{ErrorKind, PublicError};
use utoipa::OpenApi;
use utoipa::openapi::external_docs::ExternalDocsBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::rest::{self, ErrorBody};
use crate::state::AppState;

/// Where the OpenAPI document is served.
const OPENAPI_PATH: &str = "/api-docs/openapi.json";
/// Where Swagger UI is served.
const SWAGGER_UI_PATH: &str = "/docs";
/// Where docs/protocol.md (the WebSocket protocol) is served.
const PROTOCOL_PATH: &str = "/api-docs/protocol.md";
/// The name of the security scheme: the session cookie.
const SESSION_SCHEME: &str = "session";

/// What the derive puts in the document; the paths come from [`rest::api`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Messenger API",
        description = "The REST API of the messenger, version 1: JSON over HTTP.

**Sessions.** `POST /api/v1/auth/register` and `POST /api/v1/auth/login` set the `session` cookie \
(HttpOnly, SameSite=Lax, 30 days; named `__Host-session`, and Secure, when the server is reached over \
HTTPS); the operations marked with the lock need it. In this page, \
sign in with *Try it out* on `POST /api/v1/auth/login`: the browser keeps the cookie and sends it \
with the requests that follow. (The *Authorize* button cannot set it: pages may not set cookies \
on requests.)

**Errors** have the status of their kind and the body `{\"error\": {\"kind\", \"code\", \"message\", \
\"fields\"}}`: `kind` is the class (one status each), `code` a stable machine-readable reason, \
`message` a sentence for people and `fields` (only when there are some) names each input that \
needs attention. 429 and 503 carry `Retry-After`. A write (`POST`, `PATCH`, `DELETE`) whose `Origin` is another site \
is refused with 403 `bad_origin`. A body over 64 KiB gets 413 `body_too_large`, and a method that a path does not \
take 405 `method_not_allowed` (kind `malformed`, with `Allow`).

**Live updates** come over the WebSocket `GET /api/v1/ws`, documented in \
[docs/protocol.md](/api-docs/protocol.md).",
    ),
    components(schemas(ErrorBody, PublicError, ErrorKind, UserSort)),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "directory", description = "The people registered here"),
        (name = "chats", description = "One-to-one chats and their messages"),
        (name = "telegram", description = "Notifications through the Telegram bot"),
        (name = "live", description = "The WebSocket"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document =
        OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi()).nest("/api/v1", rest::api()).into_openapi();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SESSION_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "The session token, set by sign-up and sign-in (HttpOnly)",
        ))),
    );
    for (name, response) in common_responses() {
        components.responses.insert(name.to_owned(), RefOr::T(response));
    }
    for item in document.paths.paths.values_mut() {
        let operations = [
            (false, &mut item.get),
            (true, &mut item.post),
            (true, &mut item.put),
            (true, &mut item.patch),
            (true, &mut item.delete),
        ];
        for (write, operation) in operations {
            if let Some(operation) = operation {
                add_common_responses(operation, write);
            }
        }
    }
    if let Some(websocket) = document.paths.paths.get_mut("/api/v1/ws").and_then(|item| item.get.as_mut()) {
        websocket.external_docs = Some(
            ExternalDocsBuilder::new()
                .url(PROTOCOL_PATH)
                .description(Some("The WebSocket protocol, version 1 (docs/protocol.md)"))
                .build(),
        );
    }
    document
}

/// An error response: the [`ErrorBody`] in JSON.
fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
}

/// The `Retry-After` header of 429 and 503 answers.
fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build()))
        .description(Some("Seconds to wait before retrying"))
        .build()
}

/// What every operation can answer besides its own responses, by the name it has under
/// `components/responses`.
fn common_responses() -> [(&'static str, Response); 7] {
    let error = error_response;
    [
        (
            "Malformed",
            error("`malformed_request`: the request cannot be read (not JSON, a bad path or query parameter)").build(),
        ),
        ("Unauthenticated", error("`unauthenticated`: no valid `session` cookie").build()),
        ("BadOrigin", error("`bad_origin`: the request came from a page of another site").build()),
        ("TooLarge", error("`body_too_large`: the request body is over 64 KiB").build()),
        ("Invalid", error("`invalid_input`: a field is missing, has the wrong type or is out of range").build()),
        ("Internal", error("`internal`: something broke on the server; the cause is logged, not shown").build()),
        (
            "Unavailable",
            error("`unavailable`: the database cannot be reached for the moment; retry after `Retry-After` seconds")
                .header("Retry-After", retry_after())
                .build(),
        ),
    ]
}

/// Adds the responses that come from the layers around the handlers, and from extractors
/// shared by all of them, unless the operation documents that status itself.
fn add_common_responses(operation: &mut Operation, write: bool) {
    let cookie = SecurityRequirement::new(SESSION_SCHEME, Vec::<String>::new());
    let security = operation.security.as_deref().unwrap_or_default();
    let needs_cookie = security.contains(&cookie) && !security.contains(&SecurityRequirement::default());
    let has_body = operation.request_body.is_some();
    let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let common = [
        ("400", has_body || has_params, "Malformed"),
        ("401", needs_cookie, "Unauthenticated"),
        ("403", write, "BadOrigin"),
        // Any request with a body over the limit, even one the operation would not read.
        ("413", has_body || write, "TooLarge"),
        ("422", has_body, "Invalid"),
        ("500", true, "Internal"),
        ("503", true, "Unavailable"),
    ];
    for (status, applies, name) in common {
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// `GET /api-docs/openapi.json`, `GET /docs` (Swagger UI) and `GET /api-docs/protocol.md`.
pub fn routes() -> Router<AppState> {
    // Same origin: the browser's cookies go with "Try it out" requests.
    let config = Config::default().with_credentials(true).display_request_duration(true);
    Router::from(SwaggerUi::new(SWAGGER_UI_PATH).url(OPENAPI_PATH, openapi()).config(config))
        .route(PROTOCOL_PATH, get(protocol))
}

/// docs/protocol.md, as it was when the server was built (plain text: browsers show it).
async fn protocol() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], include_str!("../../docs/protocol.md"))
}
