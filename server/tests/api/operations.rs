//! Health, readiness and the server-rendered pages.

use reqwest::StatusCode;

use crate::helpers::{Backend, spawn_app, spawn_app_with};

async fn health_and_readiness_report_the_database_and_redis(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    let expected_redis = if backend == Backend::Postgres { "ok" } else { "not configured" };
    assert_eq!(body["redis"], expected_redis);
}

async fn every_response_says_no_sniffing_no_framing_and_no_referrer_to_other_sites(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/login", "/api/v1/me", "/healthz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        let policy = header("content-security-policy").unwrap_or_default();
        if path == "/login" {
            // A page: scripts only from here or with this response's nonce.
            assert!(policy.starts_with("default-src 'self'; script-src 'self' 'nonce-"), "{policy}");
            assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
        } else {
            assert_eq!(policy, "frame-ancestors 'none'", "{path}");
        }
        assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"), "{path}");
        assert_eq!(header("strict-transport-security"), None, "no HSTS over plain http: {path}");
    }
    let behind_https = spawn_app_with(backend, &[("PUBLIC_URL", "https://chat.example.com")]).await;
    let response = behind_https.client.get(behind_https.url("/healthz")).send().await.unwrap();
    assert!(response.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
}

async fn the_sign_in_page_is_rendered_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
    assert!(html.contains(r#"name="password""#), "{html}");
}

async fn the_main_page_sends_visitors_without_a_session_to_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.client.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert_eq!(page.headers()["location"], "/login");
}

async fn unknown_api_paths_answer_404_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(crate::helpers::error_of(response).await["code"], "not_found");
}

async fn an_unknown_page_renders_the_not_found_page_without_server_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("This page does not exist."));
}

async fn the_page_loads_the_wasm_file_the_build_produces(backend: Backend) {
    // Without a name file (a site built otherwise, or none), the files are pkg/messenger.*
    // (see .cargo/config.toml).
    let app = spawn_app(backend).await;
    let html = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"href="/pkg/messenger.wasm""#), "{html}");
    assert!(html.contains(r#"href="/pkg/messenger.css""#), "{html}");
}

async fn the_pages_name_the_hashed_files_and_browsers_keep_them_for_good(backend: Backend) {
    // What `cargo xtask build --release` writes.
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("output-name"), "messenger-0123456789abcdef\n").unwrap();
    std::fs::write(pkg.join("messenger-0123456789abcdef.js"), "export default 1;").unwrap();
    std::fs::write(pkg.join("messenger-0123456789abcdef.js.br"), b"\x0b\x08\x80export default 1;\x03").unwrap();
    std::fs::write(pkg.join("messenger-0123456789abcdef.css"), "body{}").unwrap();
    let app = spawn_app_with(backend, &[("LEPTOS_SITE_ROOT", site.path().to_str().unwrap())]).await;

    let html = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    for file in ["messenger-0123456789abcdef.js", "messenger-0123456789abcdef.wasm", "messenger-0123456789abcdef.css"] {
        assert!(html.contains(&format!(r#"href="/pkg/{file}""#)), "{file} in {html}");
    }
    let get = |path: &str, encoding: &str| app.client.get(app.url(path)).header("accept-encoding", encoding).send();
    let script = get("/pkg/messenger-0123456789abcdef.js", "identity").await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(script.text().await.unwrap(), "export default 1;");
    // The precompressed file, to a browser that takes brotli.
    let compressed = get("/pkg/messenger-0123456789abcdef.js", "br").await.unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");
    assert_eq!(compressed.headers()["cache-control"], "public, max-age=31536000, immutable");
    // The name file changes with every build: revalidated. A missing file is not cached.
    let name = get("/pkg/output-name", "identity").await.unwrap();
    assert_eq!(name.headers()["cache-control"], "no-cache");
    let missing = get("/pkg/messenger-ffffffffffffffff.js", "identity").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get("cache-control").is_none());
}

crate::on_both_backends!(
    every_response_says_no_sniffing_no_framing_and_no_referrer_to_other_sites,
    an_unknown_page_renders_the_not_found_page_without_server_errors,
    the_page_loads_the_wasm_file_the_build_produces,
    the_pages_name_the_hashed_files_and_browsers_keep_them_for_good,
    health_and_readiness_report_the_database_and_redis,
    the_sign_in_page_is_rendered_on_the_server,
    the_main_page_sends_visitors_without_a_session_to_sign_in,
    unknown_api_paths_answer_404_in_the_error_shape,
);
