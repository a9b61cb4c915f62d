//! The built site under `LEPTOS_SITE_ROOT`: which names its WASM, JS and CSS have, and
//! `/pkg/`, where they are served from with the caching their names allow.
//!
//! `cargo xtask build` names them after a hash of their content (`pkg/messenger-<hash>.wasm`,
//! `.js`, `.css`) and writes that name to `pkg/output-name`. A file with such a name never
//! changes, so browsers may keep it for a year without asking again; anything else under
//! `/pkg/` is revalidated on every use.
//!
//! The service worker (`/sw.js`, from `site/sw.js`) is named after the same build, so each
//! build is a new worker that caches its own files; `/pwa.js` (from `site/pwa.js`) registers
//! it and offers to reload when a new version waits.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;

/// The name of a site without `pkg/output-name` (one built otherwise, or none at all).
pub const DEFAULT_OUTPUT_NAME: &str = "messenger";
/// What a hashed file is sent with.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// What the rest of `/pkg/` is sent with.
const REVALIDATE: &str = "no-cache";

/// The name the site's files go by: `pkg/output-name` when it holds a plausible one.
pub fn output_name(site_root: &str) -> String {
    let path = Path::new(site_root).join("pkg").join("output-name");
    match std::fs::read_to_string(&path) {
        Ok(name) if is_file_stem(name.trim()) => name.trim().to_owned(),
        Ok(name) => {
            tracing::warn!(path = %path.display(), name = %name.trim(), "ignoring a malformed site name");
            DEFAULT_OUTPUT_NAME.to_owned()
        }
        Err(_) => DEFAULT_OUTPUT_NAME.to_owned(),
    }
}

fn is_file_stem(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `/pkg/`: the site's files, precompressed (brotli, gzip) where the build made it so; the
/// current hashed ones cached for good.
pub fn pkg_routes<S: Clone + Send + Sync + 'static>(site_root: &str, output_name: &str) -> Router<S> {
    let files = ServeDir::new(Path::new(site_root).join("pkg")).precompressed_br().precompressed_gzip();
    let hashed = (output_name != DEFAULT_OUTPUT_NAME).then(|| format!("/{output_name}."));
    Router::new().fallback_service(files).layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let immutable = hashed.as_ref().is_some_and(|prefix| request.uri().path().starts_with(prefix.as_str()));
        async move {
            let mut response: Response = next.run(request).await;
            if matches!(response.status(), StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED) {
                let policy = if immutable { FOREVER } else { REVALIDATE };
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
            }
            response
        }
    }))
}

/// The service worker, written for the build named `output_name`.
pub fn service_worker(output_name: &str) -> String {
    include_str!("site/sw.js").replace("__BUILD__", output_name)
}

/// `/sw.js` and `/pwa.js`, revalidated on every use so that a new build is noticed.
pub fn script_routes<S: Clone + Send + Sync + 'static>(output_name: &str) -> Router<S> {
    let script = |body: String| {
        let headers = [
            (CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static(REVALIDATE)),
        ];
        get(move || std::future::ready((headers.clone(), body.clone()).into_response()))
    };
    Router::new()
        .route("/sw.js", script(service_worker(output_name)))
        .route("/pwa.js", script(include_str!("site/pwa.js").to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_file_stem_is_taken_as_the_name() {
        assert!(is_file_stem("messenger-0123456789abcdef"));
        for bad in ["", "../etc/passwd", "a b", "name.js", &"x".repeat(101)] {
            assert!(!is_file_stem(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_site_without_a_name_file_uses_the_default_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(output_name(dir.path().to_str().unwrap()), DEFAULT_OUTPUT_NAME);
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/output-name"), "messenger-00ff\n").unwrap();
        assert_eq!(output_name(dir.path().to_str().unwrap()), "messenger-00ff");
        std::fs::write(dir.path().join("pkg/output-name"), "../../secret").unwrap();
        assert_eq!(output_name(dir.path().to_str().unwrap()), DEFAULT_OUTPUT_NAME);
    }

    #[test]
    fn the_service_worker_caches_the_files_of_its_own_build() {
        let worker = service_worker("messenger-00ff");
        assert!(worker.contains("const BUILD = \"messenger-00ff\";"));
        assert!(worker.contains("`/pkg/${BUILD}.wasm`"));
        assert!(!worker.contains("__BUILD__"));
    }
}
