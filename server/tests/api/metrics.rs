//! `/metrics`: Prometheus' text format for the addresses `METRICS_ALLOW` names (this
//! machine by default), 403 for the others, 404 when it is `none`.
//!
//! Every server of this test process shares one recorder, and other tests run at the same
//! time: a test asserts that series exist and that counters grow, never absolute values.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{Backend, TestApp, error_of, spawn_app, spawn_app_with};

/// `GET /metrics` from 127.0.0.1, which the default allows.
async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

/// The sum of the samples of `name` (every label set); 0 when it has none yet.
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The sample lines of `name` whose labels contain every one of `labels`.
fn samples<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect()
}

async fn requests_sockets_messages_and_the_cache_are_measured(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let before = scrape(&app).await;
    let healthz = samples(
        &before,
        "messenger_http_requests_total",
        &[r#"method="GET""#, r#"route="/healthz""#, r#"status="200""#],
    );
    assert!(!healthz.is_empty(), "{before}");
    let stored_before = total(&before, "messenger_messages_stored_total");

    let ann = app.person("ann@example.com", "Ann").await;
    let socket = app.socket(&ann).await;
    let chat = app.open_chat(&ann, ann.id).await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"]);
    let sent = app.post_json(&ann.client, &path, json!({ "text": "counted", "client_id": "m1" })).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let (status, _) = app.get(&ann, &path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&ann, "/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);

    let after = scrape(&app).await;
    assert!(total(&after, "messenger_messages_stored_total") >= stored_before + 1.0, "{after}");
    // Routes are labelled by their pattern, never by the path asked for.
    let history = samples(
        &after,
        "messenger_http_requests_total",
        &[r#"method="POST""#, r#"route="/api/v1/chats/{id}/messages""#, r#"status="201""#],
    );
    assert!(!history.is_empty(), "{after}");
    assert!(!after.contains(&format!(r#"route="{path}""#)), "{after}");
    assert!(!samples(&after, "messenger_http_request_duration_seconds_bucket", &[r#"route="/healthz""#]).is_empty());
    assert!(!samples(&after, "messenger_websockets_open", &[]).is_empty(), "{after}");
    assert!(!samples(&after, "messenger_presence_online_local", &[]).is_empty(), "{after}");
    assert!(!samples(&after, "messenger_writer_batch_size_bucket", &[]).is_empty(), "{after}");
    assert!(!samples(&after, "messenger_writer_queue_depth", &[]).is_empty(), "{after}");
    assert!(!samples(&after, "messenger_cache_requests_total", &[r#"kind="history""#]).is_empty(), "{after}");
    assert!(!samples(&after, "messenger_cache_requests_total", &[r#"kind="directory""#]).is_empty(), "{after}");
    assert!(after.contains("# HELP messenger_messages_stored_total"), "{after}");
    socket.close().await;

    // A request no route serves is `unmatched`, whatever its path.
    let page = app.client.get(app.url("/no/such/file.js")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let later = scrape(&app).await;
    assert!(!samples(&later, "messenger_http_requests_total", &[r#"route="unmatched""#]).is_empty(), "{later}");
    assert!(!later.contains("/no/such/file.js"), "{later}");
}

#[tokio::test]
async fn addresses_outside_metrics_allow_are_refused() {
    let app = spawn_app_with(Backend::Sqlite, &[("METRICS_ALLOW", "10.0.0.0/8")]).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(response).await["code"], "metrics_forbidden");

    let networks = spawn_app_with(Backend::Sqlite, &[("METRICS_ALLOW", "192.168.0.0/16, 127.0.0.0/8")]).await;
    scrape(&networks).await;
}

#[tokio::test]
async fn metrics_allow_none_turns_the_endpoint_off() {
    let app = spawn_app_with(Backend::Sqlite, &[("METRICS_ALLOW", "none")]).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

crate::on_both_backends!(requests_sockets_messages_and_the_cache_are_measured);
