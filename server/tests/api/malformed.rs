//! Bad input on every route that reads some: malformed JSON, wrong types, missing fields,
//! wrong content types, oversized bodies, bad path and query parameters, methods a path does
//! not take. Each gets its 4xx in the API's error shape, with a `code`, and a status the
//! OpenAPI document lists for the operation (what `make schemathesis` checks by fuzzing).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, Person, TestApp, browser, spawn_app, spawn_app_with};
use crate::on_both_backends;

/// Every operation with a JSON body, as (method, documented path, a path to send to, a valid body).
fn json_routes(chat_id: i64) -> Vec<(Method, &'static str, String, Value)> {
    vec![
        (
            Method::POST,
            "/api/v1/auth/register",
            "/api/v1/auth/register".into(),
            json!({ "email": "new@example.com", "name": "New", "password": "correct horse battery" }),
        ),
        (
            Method::POST,
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            json!({ "email": "kim@example.com", "password": "correct horse battery" }),
        ),
        (
            Method::POST,
            "/api/v1/me/password",
            "/api/v1/me/password".into(),
            json!({ "current_password": "correct horse battery", "new_password": "another long passphrase" }),
        ),
        (Method::POST, "/api/v1/chats", "/api/v1/chats".into(), json!({ "peer_id": 1 })),
        (
            Method::POST,
            "/api/v1/chats/{id}/messages",
            format!("/api/v1/chats/{chat_id}/messages"),
            json!({ "text": "hi", "client_id": "c-1" }),
        ),
        (Method::POST, "/api/v1/chats/{id}/read", format!("/api/v1/chats/{chat_id}/read"), json!({ "seq": 1 })),
        (Method::PATCH, "/api/v1/telegram", "/api/v1/telegram".into(), json!({ "previews": false })),
    ]
}

/// Every write without a body.
const BODILESS_WRITES: [(&str, &str); 3] =
    [("POST", "/api/v1/telegram/link"), ("DELETE", "/api/v1/telegram/link"), ("POST", "/api/v1/sessions/end-others")];

/// Someone signed in, and their Saved Messages.
async fn signed_in(app: &TestApp) -> (Person, i64) {
    let kim = app.person("kim@example.com", "Kim").await;
    let chat = app.open_chat(&kim, kim.id).await;
    (kim, chat["id"].as_i64().expect("chat id"))
}

/// Sends `body` in chunks of 8 KiB without a `Content-Length` (reqwest streams no bodies here);
/// the status, content type and JSON body of the answer.
async fn chunked(app: &TestApp, method: &str, path: &str, cookie: &str, body: &str) -> (StatusCode, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\ncookie: {cookie}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.as_bytes().chunks(8 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer, and close, before it has read everything.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    let (head, content) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"));
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status");
    let content_type = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    let json = serde_json::from_str(content).unwrap_or_else(|e| panic!("a JSON body ({e}): {content:?}"));
    (StatusCode::from_u16(status).expect("a status code"), content_type, json)
}

async fn document(app: &TestApp) -> Value {
    browser().get(app.url("/api-docs/openapi.json")).send().await.expect("request").json().await.expect("JSON")
}

/// Asserts the status, that the operation documents it, and the error shape; returns the error.
async fn assert_error(
    document: &Value,
    operation: (&str, &str),
    case: &str,
    response: Response,
    status: StatusCode,
) -> Value {
    let (method, path) = operation;
    let what = format!("{method} {path} ({case})");
    assert_eq!(response.status(), status, "{what}");
    let responses = &document["paths"][path][method.to_lowercase()]["responses"];
    assert!(responses.get(status.as_str()).is_some(), "{what} documents {status}: {responses}");
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap_or_default().to_owned());
    assert!(content_type.as_deref().is_some_and(|t| t.starts_with("application/json")), "{what}: {content_type:?}");
    let body: Value = response.json().await.unwrap_or_else(|e| panic!("{what}: a JSON body ({e})"));
    let object = body.as_object().unwrap_or_else(|| panic!("{what}: {body}"));
    assert_eq!(object.len(), 1, "{what}: only `error`: {body}");
    let error = &body["error"];
    for field in ["kind", "code", "message"] {
        assert!(error[field].as_str().is_some_and(|v| !v.is_empty()), "{what}: `{field}` in {body}");
    }
    error.clone()
}

async fn json_that_cannot_be_read_is_a_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    for (method, path, url, valid) in json_routes(chat_id) {
        let trailing = format!("{valid} and more");
        for body in ["{nope", "", "{\"peer_id\": 1", "[", "\u{0}", "'single'", &trailing] {
            let response = kim
                .client
                .request(method.clone(), app.url(&url))
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .expect("request");
            let error = assert_error(&document, (method.as_str(), path), body, response, StatusCode::BAD_REQUEST).await;
            assert_eq!(error["kind"], "malformed", "{method} {path} {body:?}");
            assert_eq!(error["code"], "malformed_request", "{method} {path} {body:?}");
        }
    }
}

async fn wrong_content_types_are_a_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    for (method, path, url, body) in json_routes(chat_id) {
        let content_types =
            [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/xml"), None];
        for content_type in content_types {
            let mut request = kim.client.request(method.clone(), app.url(&url)).body(body.to_string());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.expect("request");
            let case = format!("{content_type:?}");
            let error =
                assert_error(&document, (method.as_str(), path), &case, response, StatusCode::BAD_REQUEST).await;
            assert_eq!(error["code"], "malformed_request", "{method} {path} {content_type:?}");
        }
    }
}

async fn wrong_types_and_missing_fields_are_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    for (method, path, url, body) in json_routes(chat_id) {
        let fields = body.as_object().expect("an object").clone();
        let mut cases = vec![json!({}), json!([]), json!("text"), json!(42), json!(null)];
        for (name, value) in &fields {
            let mut missing = fields.clone();
            missing.remove(name);
            cases.push(Value::Object(missing));
            let mut mistyped = fields.clone();
            let wrong = match value {
                Value::String(_) => json!(12),
                Value::Number(_) => json!("12"),
                Value::Bool(_) => json!("yes"),
                _ => json!([]),
            };
            mistyped.insert(name.clone(), wrong);
            cases.push(Value::Object(mistyped.clone()));
            mistyped.insert(name.clone(), json!({ "nested": true }));
            cases.push(Value::Object(mistyped.clone()));
            if value.is_number() {
                // Out of the range of an i64, and a fraction.
                mistyped.insert(name.clone(), json!(18_446_744_073_709_551_615u64));
                cases.push(Value::Object(mistyped.clone()));
                mistyped.insert(name.clone(), json!(1.5));
                cases.push(Value::Object(mistyped));
            }
        }
        for case in cases {
            let response = kim.client.request(method.clone(), app.url(&url)).json(&case).send().await.expect("request");
            let error = assert_error(
                &document,
                (method.as_str(), path),
                &case.to_string(),
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            assert_eq!(error["kind"], "invalid", "{method} {path} {case}");
            assert_eq!(error["code"], "invalid_input", "{method} {path} {case}");
        }
    }
}

async fn oversized_bodies_are_a_413_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    let huge = json!({ "text": "x".repeat(server::BODY_LIMIT), "client_id": "c-1", "email": "x", "password": "x" });
    let huge = huge.to_string();
    let mut writes: Vec<(Method, String, String)> =
        json_routes(chat_id).into_iter().map(|(method, path, url, _)| (method, path.to_owned(), url)).collect();
    for (method, path) in BODILESS_WRITES {
        writes.push((method.parse().expect("method"), path.to_owned(), path.to_owned()));
    }
    for (method, path, url) in writes {
        // Announced by Content-Length: refused before the body is read.
        let response = kim
            .client
            .request(method.clone(), app.url(&url))
            .header("content-type", "application/json")
            .body(huge.clone())
            .send()
            .await
            .expect("request");
        let error =
            assert_error(&document, (method.as_str(), &path), "huge", response, StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(error["kind"], "too_large", "{method} {path}");
        assert_eq!(error["code"], "body_too_large", "{method} {path}");
        // Streamed without a length: found too long while it is read (by the operations that read one).
        if BODILESS_WRITES.iter().any(|(m, p)| *m == method.as_str() && *p == path) {
            continue;
        }
        let (status, content_type, body) = chunked(&app, method.as_str(), &url, &kim.cookie, &huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{method} {path}, streamed");
        assert!(content_type.starts_with("application/json"), "{method} {path}, streamed: {content_type}");
        assert_eq!(body["error"]["kind"], "too_large", "{method} {path}, streamed: {body}");
        assert_eq!(body["error"]["code"], "body_too_large", "{method} {path}, streamed: {body}");
    }
    // The server is still fine.
    assert_eq!(app.me(&kim.client).await.status(), StatusCode::OK);
}

async fn bad_path_and_query_parameters_are_a_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    let cases = [
        ("GET", "/api/v1/chats/{id}/messages", "/api/v1/chats/abc/messages".to_owned()),
        ("GET", "/api/v1/chats/{id}/messages", "/api/v1/chats/99999999999999999999/messages".to_owned()),
        ("GET", "/api/v1/chats/{id}/messages", "/api/v1/chats/1.5/messages".to_owned()),
        ("GET", "/api/v1/chats/{id}/messages", format!("/api/v1/chats/{chat_id}/messages?limit=-1")),
        ("GET", "/api/v1/chats/{id}/messages", format!("/api/v1/chats/{chat_id}/messages?limit=ten")),
        ("GET", "/api/v1/chats/{id}/messages", format!("/api/v1/chats/{chat_id}/messages?before_seq=x")),
        ("GET", "/api/v1/chats/{id}/messages", format!("/api/v1/chats/{chat_id}/messages?after_seq=1&after_seq=2")),
        ("POST", "/api/v1/chats/{id}/messages", "/api/v1/chats/%00/messages".to_owned()),
        ("POST", "/api/v1/chats/{id}/read", "/api/v1/chats/-/read".to_owned()),
        ("GET", "/api/v1/users", "/api/v1/users?page=first".to_owned()),
        ("GET", "/api/v1/users", "/api/v1/users?per_page=-5".to_owned()),
        ("GET", "/api/v1/users", "/api/v1/users?page=1&page=2".to_owned()),
        ("DELETE", "/api/v1/sessions/{id}", "/api/v1/sessions/me".to_owned()),
    ];
    for (method, path, url) in cases {
        let mut request = kim.client.request(method.parse().expect("method"), app.url(&url));
        if method == "POST" {
            request = request.json(&json!({ "text": "hi", "client_id": "c-2", "seq": 1 }));
        }
        let response = request.send().await.expect("request");
        let error = assert_error(&document, (method, path), &url, response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["code"], "malformed_request", "{method} {url}");
    }
}

async fn a_method_a_path_does_not_take_is_a_405_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let (kim, chat_id) = signed_in(&app).await;
    let cases = [
        ("PUT", "/api/v1/me".to_owned(), "GET,HEAD"),
        ("DELETE", "/api/v1/auth/login".to_owned(), "POST"),
        ("GET", "/api/v1/auth/logout".to_owned(), "POST"),
        ("PATCH", format!("/api/v1/chats/{chat_id}/messages"), "GET,HEAD,POST"),
        ("POST", "/api/v1/users".to_owned(), "GET,HEAD"),
        ("PUT", "/api/v1/telegram".to_owned(), "GET,HEAD,PATCH"),
    ];
    for (method, url, allowed) in cases {
        let response =
            kim.client.request(method.parse().expect("method"), app.url(&url)).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap_or_default().replace(' ', ""));
        let mut allow: Vec<String> = allow.unwrap_or_default().split(',').map(str::to_owned).collect();
        allow.sort();
        assert_eq!(allow.join(","), allowed, "{method} {url}: Allow");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["error"]["kind"], "malformed", "{method} {url}: {error}");
        assert_eq!(error["error"]["code"], "method_not_allowed", "{method} {url}: {error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(method), "{method} {url}: {error}");
    }
}

async fn too_many_sign_ups_are_a_documented_429(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIGN_UPS_PER_HOUR", "1")]).await;
    let document = document(&app).await;
    app.register("kim@example.com", "Kim").await;
    let response = app.register_with(&browser(), "lee@example.com", "Lee", crate::helpers::PASSWORD).await;
    assert!(response.headers().contains_key("retry-after"));
    let error = assert_error(
        &document,
        ("POST", "/api/v1/auth/register"),
        "a second sign-up",
        response,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(error["code"], "rate_limited");
}

async fn opening_or_sending_too_fast_is_a_documented_429(backend: Backend) {
    let app = spawn_app(backend).await;
    let document = document(&app).await;
    let (kim, chat_id) = signed_in(&app).await;
    // 60 chats opened at once, then 2 a second.
    let mut opened = 0;
    let response = loop {
        let response = app.post_json(&kim.client, "/api/v1/chats", json!({ "peer_id": kim.id })).await;
        if response.status() != StatusCode::OK {
            break response;
        }
        opened += 1;
        assert!(opened < 500, "never limited");
    };
    assert!(response.headers().contains_key("retry-after"));
    let error =
        assert_error(&document, ("POST", "/api/v1/chats"), "a flood", response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(error["code"], "rate_limited");
    // 200 messages at once, then 50 a second.
    let messages = format!("/api/v1/chats/{chat_id}/messages");
    let mut sent = 0;
    let response = loop {
        let body = json!({ "text": "hi", "client_id": format!("flood-{sent}") });
        let response = app.post_json(&kim.client, &messages, body).await;
        if response.status() != StatusCode::CREATED {
            break response;
        }
        sent += 1;
        assert!(sent < 5_000, "never limited");
    };
    assert!(response.headers().contains_key("retry-after"));
    let error = assert_error(
        &document,
        ("POST", "/api/v1/chats/{id}/messages"),
        "a flood",
        response,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(error["code"], "rate_limited");
}

on_both_backends!(
    json_that_cannot_be_read_is_a_400,
    wrong_content_types_are_a_400,
    wrong_types_and_missing_fields_are_a_422,
    oversized_bodies_are_a_413_in_the_error_shape,
    bad_path_and_query_parameters_are_a_400,
    a_method_a_path_does_not_take_is_a_405_in_the_error_shape,
    too_many_sign_ups_are_a_documented_429,
    opening_or_sending_too_fast_is_a_documented_429,
);
