//! Prometheus metrics: one recorder per process (the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`), a middleware that counts and times every request, and
//! `GET /metrics`, served only to the clients `METRICS_ALLOW` lets in.
//!
//! Besides the requests, the sockets count themselves (`messenger_websockets_open`, in
//! `ws`), and the domain records `messenger_presence_online_local` (users with a socket on
//! this node), the writer's `messenger_messages_stored_total`, `messenger_writer_batch_size`
//! and `messenger_writer_queue_depth`, and `messenger_cache_requests_total{kind, result}`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::{ErrorKind, PublicError};
use ipnet::IpNet;
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::rest::ApiError;
use crate::state::AppState;

/// Bounds of `messenger_http_request_duration_seconds`' buckets, in seconds.
const DURATION_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Bounds of `messenger_writer_batch_size`'s buckets, in sends (`SEND_BATCH_MAX` is at most 4,096).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The recorder of this process; `None` when another one was installed first.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed by the first call: every later server in the same
/// process (the tests start many) shares it.
fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let installed = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full("messenger_http_request_duration_seconds".into()), DURATION_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full("messenger_writer_batch_size".into()), BATCH_BUCKETS))
        .and_then(PrometheusBuilder::install_recorder);
    let handle = match installed {
        Ok(handle) => handle,
        Err(error) => {
            tracing::warn!(%error, "could not install the metrics recorder; /metrics stays empty");
            return None;
        }
    };
    describe();
    // Histogram samples wait in a buffer until upkeep (or a scrape) folds them in: without a
    // scraper, that buffer would only grow.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP);
            upkeep.run_upkeep();
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the metrics upkeep thread");
    }
    Some(handle)
}

/// The `# HELP` lines, and the first samples.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("messenger_http_requests_total", "HTTP requests answered, by method, route and status");
    describe_histogram!(
        "messenger_http_request_duration_seconds",
        Unit::Seconds,
        "time to answer an HTTP request (until its headers), by method and route"
    );
    describe_gauge!("messenger_websockets_open", "WebSockets open on this node");
    describe_gauge!("messenger_presence_online_local", "users with at least one WebSocket open on this node");
    describe_counter!("messenger_messages_stored_total", "new messages stored by this node's writer");
    describe_histogram!("messenger_writer_batch_size", Unit::Count, "sends stored in one transaction");
    describe_gauge!("messenger_writer_queue_depth", "sends queued for this node's writer or being stored");
    describe_counter!("messenger_cache_requests_total", "cache lookups, by kind (history, directory) and result");
    // The series without labels are shown from the start, at 0, rather than from their first change.
    for gauge in ["messenger_websockets_open", "messenger_presence_online_local", "messenger_writer_queue_depth"] {
        metrics::gauge!(gauge).increment(0.0);
    }
    metrics::counter!("messenger_messages_stored_total").increment(0);
}

/// `GET /metrics` for the clients in `allow`; no route at all when it is empty.
pub fn routes(allow: &[IpNet]) -> Router<AppState> {
    if allow.is_empty() {
        return Router::new();
    }
    let allow: Arc<[IpNet]> = allow.into();
    let handle = recorder();
    Router::new().route("/metrics", get(move |request: Request| render(allow.clone(), handle, request)))
}

/// The metrics in Prometheus' text format, when the TCP peer (not a forwarded-for header:
/// the public side never reaches this) is allowed; 403 otherwise.
async fn render(allow: Arc<[IpNet]>, handle: Option<&'static PrometheusHandle>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip().to_canonical());
    if !peer.is_some_and(|ip| allow.iter().any(|net| net.contains(&ip))) {
        let error =
            PublicError::new(ErrorKind::Forbidden, "metrics_forbidden", "metrics are not served to this address");
        return ApiError(error).into_response();
    }
    let body = handle.map(PrometheusHandle::render).unwrap_or_default();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Counts and times every request: `messenger_http_requests_total{method, route, status}`
/// and `messenger_http_request_duration_seconds{method, route}`. `route` is the route's
/// pattern (`/api/v1/chats/{id}/messages`), never the path itself, so the series stay few;
/// requests no route matched (static files, unknown pages) are `unmatched`.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().into());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("messenger_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("messenger_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The standard methods by name; anything else is `other` (a client may invent methods).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
