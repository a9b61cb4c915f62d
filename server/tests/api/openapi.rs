//! The API's documentation: the OpenAPI document names exactly the routes the server has,
//! Swagger UI is served from the binary and points at it, and the documented responses are
//! the real ones.

use std::collections::BTreeSet;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, browser, spawn_app};

/// The operations an OpenAPI path item can hold.
const OPERATIONS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// The methods probed on every documented path.
const PROBED: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// `(METHOD, path)` of every operation in an OpenAPI document, its paths prefixed.
fn operations(document: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            OPERATIONS
                .iter()
                .filter(|operation| item.get(**operation).is_some())
                .map(move |operation| (operation.to_uppercase(), format!("{prefix}{path}")))
        })
        .collect()
}

async fn document(app: &TestApp) -> Value {
    let response = browser().get(app.url("/api-docs/openapi.json")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    response.json().await.expect("the document is JSON")
}

/// Every `$ref` in a JSON document.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                found.push(reference.clone());
            }
            object.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

/// A concrete path for a documented one: every `{parameter}` becomes 1.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every path of the `/api/v1` router, however it was added, read from the router's `Debug`
/// output (axum has no API that lists routes). Should axum change that output, this fails
/// loudly rather than finding nothing.
fn routed_paths() -> BTreeSet<String> {
    let debug = format!("{:?}", server::rest::routes());
    let routes = debug.split("fallback_router:").next().unwrap_or_default();
    let Some(listing) = routes.split("node: Node { paths: {").nth(1) else {
        panic!("cannot find the paths in axum's Router Debug output (has it changed?): {debug}");
    };
    // `RouteId(1): "/auth/register", …}`: the quoted strings, up to the brace that closes the map.
    let (mut paths, mut path, mut quoted) = (BTreeSet::new(), String::new(), false);
    for c in listing.chars() {
        match (quoted, c) {
            (false, '"') => quoted = true,
            (true, '"') => {
                paths.insert(format!("/api/v1{}", std::mem::take(&mut path)));
                quoted = false;
            }
            (true, c) => path.push(c),
            (false, '}') => break,
            (false, _) => {}
        }
    }
    paths
}

/// The API's own 404 for a path that no route serves.
async fn is_unrouted(response: Response) -> bool {
    if response.status() != StatusCode::NOT_FOUND {
        return false;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["error"]["message"] == "endpoint not found"
}

#[tokio::test]
async fn the_document_names_exactly_the_routes_of_the_api() {
    let app = spawn_app(Backend::Sqlite).await;
    let document = document(&app).await;
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1"), "{version}");

    // Every reference points at something in the document.
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference} is local"));
        assert!(document.pointer(pointer).is_some(), "{reference} is in the document");
    }

    // The router's routes, from the list it is built from (`rest::api`), against the
    // document the server serves.
    let routed = serde_json::to_value(server::rest::api().into_openapi()).expect("the routes' document");
    let routed = operations(&routed, "/api/v1");
    let documented = operations(&document, "");
    assert!(routed.len() >= 11, "{routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(missing.is_empty(), "routes the document lacks: {missing:?}");
    assert!(extra.is_empty(), "documented operations no route serves: {extra:?}");

    // The paths the router really has, including any added without `routes!`.
    let paths: BTreeSet<String> = documented.iter().map(|(_, path)| path.clone()).collect();
    let routed_paths = routed_paths();
    let missing: Vec<_> = routed_paths.difference(&paths).collect();
    let extra: Vec<_> = paths.difference(&routed_paths).collect();
    assert!(missing.is_empty(), "routes the document lacks: {missing:?}");
    assert!(extra.is_empty(), "documented paths no route serves: {extra:?}");

    // And against the running server: each documented operation reaches a handler, and
    // every other method on a documented path is refused with 405.
    let client = browser();
    let sanity = client.get(app.url("/api/v1/no-such-endpoint")).send().await.unwrap();
    assert!(is_unrouted(sanity).await, "the probe recognizes the API's 404");
    for path in &paths {
        for method in PROBED {
            let url = app.url(&concrete(path));
            let response = client.request(method.clone(), &url).send().await.expect("request");
            let status = response.status();
            if documented.contains(&(method.to_string(), path.clone())) {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
                assert!(!is_unrouted(response).await, "{method} {path} is documented but not routed");
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed but not documented");
            }
        }
    }

    // The cookie, named as the server sets it, and which operations need it.
    let scheme = &document["components"]["securitySchemes"]["session"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "cookie");
    assert_eq!(scheme["name"], "session");
    let needs_cookie = |method: &str, path: &str| {
        let security = &document["paths"][path][method]["security"];
        let requirements = security.as_array().cloned().unwrap_or_default();
        requirements.contains(&json!({ "session": [] })) && !requirements.contains(&json!({}))
    };
    assert!(!needs_cookie("post", "/api/v1/auth/register"));
    assert!(!needs_cookie("post", "/api/v1/auth/login"));
    assert!(!needs_cookie("post", "/api/v1/auth/logout"), "signing out without a session is fine");
    for (method, path) in [
        ("get", "/api/v1/me"),
        ("get", "/api/v1/users"),
        ("get", "/api/v1/chats"),
        ("post", "/api/v1/chats"),
        ("get", "/api/v1/chats/{id}/messages"),
        ("post", "/api/v1/chats/{id}/messages"),
        ("post", "/api/v1/chats/{id}/read"),
        ("get", "/api/v1/ws"),
    ] {
        assert!(needs_cookie(method, path), "{method} {path} needs the cookie");
        assert!(document["paths"][path][method]["responses"]["401"].is_object(), "{method} {path} documents 401");
    }

    // The WebSocket: its upgrade, and where its protocol is documented.
    let ws = &document["paths"]["/api/v1/ws"]["get"];
    assert!(ws["responses"]["101"].is_object(), "{ws}");
    assert!(ws["description"].as_str().unwrap().contains("docs/protocol.md"), "{ws}");
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_and_reads_the_document() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = browser();

    let response = client.get(app.url("/docs")).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()[LOCATION], "/docs/");

    let response = client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    // The security headers are there, and none keeps the page from running its own files.
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(!csp.contains("script-src") && !csp.contains("default-src"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"swagger-ui\""), "{page}");
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js"] {
        assert!(page.contains(&format!("./{asset}")), "{asset} in {page}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"), "nothing from another host: {page}");

    for (asset, content_type) in [
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui-standalone-preset.js", "javascript"),
    ] {
        let response = client.get(app.url(&format!("/docs/{asset}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().contains(content_type), "{asset}");
        assert!(response.bytes().await.unwrap().len() > 10_000, "{asset}");
    }

    // The page reads our document, with the browser's cookies.
    let initializer = client.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("\"/api-docs/openapi.json\""), "{initializer}");
    assert!(initializer.contains("\"withCredentials\": true"), "{initializer}");
    assert!(!initializer.contains("petstore"), "{initializer}");

    // The WebSocket protocol, which the document links to.
    let response = client.get(app.url("/api-docs/protocol.md")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    assert!(response.text().await.unwrap().contains("GET /api/v1/ws"));
}

/// A JSON document and the operations it describes, to hold real responses against.
struct Spec(Value);

impl Spec {
    /// `#/components/...` in the document.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').expect("a local reference");
                self.resolve(self.0.pointer(pointer).unwrap_or_else(|| panic!("{reference} is in the document")))
            }
            None => value,
        }
    }

    /// Checks that the operation documents this status and that the body matches its
    /// JSON schema; returns the body.
    async fn check(&self, method: &str, path: &str, response: Response) -> Value {
        let status = response.status();
        let operation = &self.0["paths"][path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is documented");
        let documented = operation["responses"]
            .get(status.as_str())
            .unwrap_or_else(|| panic!("{method} {path} documents {status}: {}", operation["responses"]));
        let documented = self.resolve(documented);
        let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.expect("body");
        match documented.get("content").and_then(|c| c.get("application/json")) {
            Some(content) => {
                assert!(content_type.as_deref().is_some_and(|t| t.starts_with("application/json")), "{content_type:?}");
                let body: Value = serde_json::from_str(&text).expect("a JSON body");
                if let Err(problem) = self.conforms(&content["schema"], &body, "body") {
                    panic!("{method} {path} {status}: {problem}\n{body}");
                }
                body
            }
            None => {
                assert!(text.is_empty(), "{method} {path} {status} documents no body: {text}");
                Value::Null
            }
        }
    }

    /// The subset of JSON Schema that utoipa writes: `$ref`, `type`, `properties`,
    /// `required`, `additionalProperties`, `items`, `enum`, `oneOf`, `allOf`.
    fn conforms(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let matching = options.iter().filter(|option| self.conforms(option, value, at).is_ok()).count();
            return if matching == 1 {
                Ok(())
            } else {
                Err(format!("{at}: {matching} of oneOf {schema} match {value}"))
            };
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.conforms(part, value, at)?;
            }
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array)
            && !choices.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {choices:?}"));
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                other => return Err(format!("{at}: type {other}")),
            };
            let actual = match value {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            let accepted = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
            if !accepted {
                return Err(format!("{at}: {value} is a {actual}, not {types:?}"));
            }
        }
        if let Value::Object(object) = value {
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    return Err(format!("{at}: required `{name}` is missing"));
                }
            }
            for (name, field) in object {
                let at = format!("{at}.{name}");
                match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
                    (Some(property), _) => self.conforms(property, field, &at)?,
                    (None, Some(Value::Bool(false))) => return Err(format!("{at} is not documented")),
                    (None, Some(additional @ Value::Object(_))) => self.conforms(additional, field, &at)?,
                    (None, _) if properties.is_some() => return Err(format!("{at} is not documented")),
                    (None, _) => {}
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (index, item) in items.iter().enumerate() {
                self.conforms(item_schema, item, &format!("{at}[{index}]"))?;
            }
        }
        Ok(())
    }
}

async fn documented_responses_are_the_real_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let spec = Spec(document(&app).await);
    let ann = browser();
    let post = |client: &reqwest::Client, path: &str, body: Value| client.post(app.url(path)).json(&body).send();

    // The error shape, on a 422: kind, code, message, and the field that needs attention.
    let response =
        post(&ann, "/api/v1/auth/register", json!({ "email": "not-an-email", "name": "Ann", "password": PASSWORD }))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = spec.check("POST", "/api/v1/auth/register", response).await;
    assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
    assert_eq!(body["error"]["kind"], "invalid");
    assert_eq!(body["error"]["code"], "invalid_input");
    assert!(body["error"]["message"].is_string());
    assert!(body["error"]["fields"]["email"].is_string(), "{body}");
    let error_body = &spec.0["components"]["schemas"]["ErrorBody"];
    let public_error = spec.resolve(&error_body["properties"]["error"]);
    for field in ["kind", "code", "message", "fields"] {
        assert!(public_error["properties"][field].is_object(), "PublicError documents `{field}`: {public_error}");
    }

    let response =
        post(&ann, "/api/v1/auth/register", json!({ "email": "ann@example.com", "name": "Ann", "password": PASSWORD }))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let me = spec.check("POST", "/api/v1/auth/register", response).await;
    let again = post(
        &browser(),
        "/api/v1/auth/register",
        json!({ "email": "ann@example.com", "name": "A", "password": PASSWORD }),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(spec.check("POST", "/api/v1/auth/register", again).await["error"]["code"], "email_taken");
    let not_json = ann
        .post(app.url("/api/v1/auth/login"))
        .header(CONTENT_TYPE, "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    spec.check("POST", "/api/v1/auth/login", not_json).await;
    let wrong =
        post(&browser(), "/api/v1/auth/login", json!({ "email": "ann@example.com", "password": "wrong-password" }))
            .await
            .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    spec.check("POST", "/api/v1/auth/login", wrong).await;
    let foreign = browser()
        .post(app.url("/api/v1/chats"))
        .header("origin", "https://evil.example")
        .json(&json!({ "peer_id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(spec.check("POST", "/api/v1/chats", foreign).await["error"]["code"], "bad_origin");

    let anonymous = browser().get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    spec.check("GET", "/api/v1/me", anonymous).await;
    spec.check("GET", "/api/v1/me", ann.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    let page =
        spec.check("GET", "/api/v1/users", ann.get(app.url("/api/v1/users?per_page=5")).send().await.unwrap()).await;
    assert!(page["total"].as_u64().unwrap() >= 2, "{page}");
    let bad_sort = ann.get(app.url("/api/v1/users?sort=shoe-size")).send().await.unwrap();
    assert_eq!(bad_sort.status(), StatusCode::UNPROCESSABLE_ENTITY);
    spec.check("GET", "/api/v1/users", bad_sort).await;

    // Saved Messages: a chat, a message, history, read.
    let chat = spec
        .check("POST", "/api/v1/chats", post(&ann, "/api/v1/chats", json!({ "peer_id": me["id"] })).await.unwrap())
        .await;
    let messages = format!("/api/v1/chats/{}/messages", chat["id"]);
    let sent = post(&ann, &messages, json!({ "text": "note to self", "client_id": "doc-1" })).await.unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let message = spec.check("POST", "/api/v1/chats/{id}/messages", sent).await;
    let history = ann.get(app.url(&messages)).send().await.unwrap();
    assert_eq!(spec.check("GET", "/api/v1/chats/{id}/messages", history).await[0], message);
    let chats = spec.check("GET", "/api/v1/chats", ann.get(app.url("/api/v1/chats")).send().await.unwrap()).await;
    assert_eq!(chats["chats"][0]["last_message"], message);
    assert_eq!(chats["next_cursor"], Value::Null);
    let bad_cursor = ann.get(app.url("/api/v1/chats?cursor=nope")).send().await.unwrap();
    assert_eq!(bad_cursor.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(spec.check("GET", "/api/v1/chats", bad_cursor).await["error"]["fields"]["cursor"].is_string());
    let read = post(&ann, &format!("/api/v1/chats/{}/read", chat["id"]), json!({ "seq": 1 })).await.unwrap();
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    spec.check("POST", "/api/v1/chats/{id}/read", read).await;
    let elsewhere = ann.get(app.url("/api/v1/chats/999999/messages")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    spec.check("GET", "/api/v1/chats/{id}/messages", elsewhere).await;
    let too_many = ann.get(app.url(&format!("{messages}?limit=1000"))).send().await.unwrap();
    assert_eq!(too_many.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(spec.check("GET", "/api/v1/chats/{id}/messages", too_many).await["error"]["fields"]["limit"].is_string());

    let out = ann.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    spec.check("POST", "/api/v1/auth/logout", out).await;
}

crate::on_both_backends!(documented_responses_are_the_real_ones);
