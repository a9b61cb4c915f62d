//! Registration, sign-in, sign-out, who-am-I.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, PASSWORD, browser, error_of, spawn_app, spawn_app_with};

async fn registering_returns_the_user_and_signs_them_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.register_with(&app.client, "  Ann@Example.com ", "  Ann  ", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["email"], "ann@example.com");
    assert_eq!(user["name"], "Ann");
    assert_eq!(user["is_admin"], false);
    assert!(user.get("password_hash").is_none());

    let me = app.me(&app.client).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<serde_json::Value>().await.unwrap()["id"], user["id"]);
}

async fn a_taken_email_in_any_letter_case_gives_409(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("bob@example.com", "Bob").await;
    let response = app.register_with(&browser(), "BOB@example.COM", "Other Bob", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error = error_of(response).await;
    assert_eq!(error["code"], "email_taken");
    assert_eq!(error["message"], "an account with this email already exists");
    assert_eq!(error["fields"]["email"], "an account with this email already exists");
}

async fn invalid_registrations_name_every_bad_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.register_with(&app.client, "not-an-email", "   ", "short").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = error_of(response).await;
    assert_eq!(error["code"], "invalid_input");
    assert_eq!(error["fields"]["email"], "this does not look like an email address");
    assert_eq!(error["fields"]["name"], "enter a name");
    assert_eq!(error["fields"]["password"], "a password has at least 12 characters");

    let long_name = "n".repeat(65);
    let long_password = "p".repeat(129);
    let error = error_of(app.register_with(&app.client, "x@example.com", &long_name, &long_password).await).await;
    assert_eq!(error["fields"]["name"], "a name has at most 64 characters");
    assert_eq!(error["fields"]["password"], "a password has at most 128 characters");
    // A name that would display reversed, or carries a NUL byte, is refused on both databases.
    for name in ["\u{202E}nimda", "Ann\u{0}"] {
        let response = app.register_with(&app.client, "y@example.com", name, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(error_of(response).await["fields"]["name"].is_string());
    }
    // Nothing was created, and nobody is signed in.
    assert_eq!(app.me(&app.client).await.status(), StatusCode::UNAUTHORIZED);
}

async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("carol@example.com", "Carol").await;
    let client = browser();
    let wrong_password = app.login(&client, "carol@example.com", "not her password").await;
    let unknown_email = app.login(&client, "nobody@example.com", "not her password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(wrong_password).await, error_of(unknown_email).await);
    assert_eq!(app.me(&client).await.status(), StatusCode::UNAUTHORIZED);
}

async fn signing_in_sets_a_30_day_httponly_samesite_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("dan@example.com", "Dan").await;
    let client = browser();
    let response = app.login(&client, "DAN@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not get Secure cookies: {cookie}");
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["name"], "Dan");
    assert_eq!(app.me(&client).await.status(), StatusCode::OK);
}

async fn behind_https_the_cookie_is_secure_and_host_only(backend: Backend) {
    let app = spawn_app_with(backend, &[("PUBLIC_URL", "https://chat.example.com")]).await;
    let response = app.register_with(&app.client, "eve@example.com", "Eve", PASSWORD).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = |cookie: String| app.client.get(app.url("/api/v1/me")).header("cookie", cookie).send();
    assert_eq!(me(pair.clone()).await.unwrap().status(), StatusCode::OK, "the __Host- cookie signs in");
    let plain = pair.replacen("__Host-session=", "session=", 1);
    assert_eq!(me(plain).await.unwrap().status(), StatusCode::UNAUTHORIZED, "the plain name does not, over https");
}

async fn signing_out_revokes_the_session_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.register_with(&app.client, "fay@example.com", "Fay", PASSWORD).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();

    let logout = app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me(&app.client).await.status(), StatusCode::UNAUTHORIZED);

    // Someone who kept a copy of the cookie cannot use it either.
    let replay = reqwest::Client::new().get(app.url("/api/v1/me")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

async fn session_tokens_are_stored_only_as_hashes_and_passwords_as_argon2id(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.register_with(&app.client, "gus@example.com", "Gus", PASSWORD).await;
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let token = cookie.trim_start_matches("session=").split(';').next().unwrap();
    assert!(token.len() >= 22, "at least 128 bits of token");

    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT s.token_hash, u.password_hash FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.email = 'gus@example.com'",
        ))
        .await
        .unwrap()
        .expect("a session row");
    let token_hash: String = row.try_get("", "token_hash").unwrap();
    let password_hash: String = row.try_get("", "password_hash").unwrap();
    assert_ne!(token_hash, token);
    assert!(!token_hash.contains(token));
    assert!(password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{password_hash}");
}

async fn deactivated_users_cannot_sign_in_and_lose_their_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, user) = app.register("hal@example.com", "Hal").await;
    domain::accounts::set_active(&app.db, user["id"].as_i64().unwrap(), false).await.unwrap();

    assert_eq!(app.me(&client).await.status(), StatusCode::UNAUTHORIZED);
    let response = app.login(&browser(), "hal@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(response).await["code"], "account_disabled");
}

async fn the_administrator_exists_from_the_first_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.login(&app.client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["is_admin"], true);
}

async fn who_am_i_without_a_session_is_401_in_the_error_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.me(&app.client).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let error = error_of(response).await;
    assert_eq!(error["code"], "unauthenticated");
    assert_eq!(error["message"], "please sign in");
}

async fn malformed_and_oversized_bodies_get_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let not_json = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(not_json).await["code"], "malformed_request");

    let missing_field = app.post_json(&app.client, "/api/v1/auth/login", json!({ "email": "a@b.c" })).await;
    assert_eq!(missing_field.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let huge = json!({ "email": "a@example.com", "name": "x".repeat(100_000), "password": PASSWORD });
    let too_large = app.post_json(&app.client, "/api/v1/auth/register", huge).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The server is still fine.
    assert_eq!(app.me(&app.client).await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_write_from_another_site_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("origin", "https://evil.example")
        .json(&json!({ "email": "ivy@example.com", "name": "Ivy", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(response).await["code"], "bad_origin");
    // A browser that sends no Origin still says where the request came from.
    for site in ["cross-site", "same-site"] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .header("sec-fetch-site", site)
            .json(&json!({ "email": "ivy@example.com", "name": "Ivy", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{site}");
        assert_eq!(error_of(response).await["code"], "bad_origin");
    }
    // The same request from our own page works.
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "email": "ivy@example.com", "name": "Ivy", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn the_ui_server_functions_sign_in_and_out_with_the_same_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = browser();
    let form = [("email", "JO@example.com"), ("name", "Jo"), ("password", PASSWORD)];
    let response = client.post(app.url("/_fn/register")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me(&client).await.json::<serde_json::Value>().await.unwrap()["email"], "jo@example.com");

    // The same taken-email rule as the REST endpoint, with the field named.
    let again = browser().post(app.url("/_fn/register")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let error: serde_json::Value = again.json().await.unwrap();
    assert_eq!(error["code"], "email_taken");
    assert_eq!(error["fields"]["email"], "an account with this email already exists");

    let out = client.post(app.url("/_fn/logout")).form(&[("", ""); 0]).send().await.unwrap();
    assert!(out.status().is_success());
    assert_eq!(app.me(&client).await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_flood_of_sign_ups_beyond_the_hashing_queue_is_refused_with_503_and_retry_after(backend: Backend) {
    // One password hash at a time and one waiting: twelve at once overflow it.
    let app = spawn_app_with(backend, &[("HASHING_WORKERS", "1"), ("HASHING_QUEUE", "1")]).await;
    let attempts = (0..12).map(|i| {
        let client = browser();
        let app = &app;
        async move { (i, app.register_with(&client, &format!("p{i}@example.com"), "P", PASSWORD).await) }
    });
    let mut refused = Vec::new();
    for (i, response) in futures::future::join_all(attempts).await {
        match response.status() {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(error_of(response).await["code"], "busy");
                refused.push(i);
            }
            other => panic!("sign-up {i} answered {other}"),
        }
    }
    assert!(!refused.is_empty(), "a queue of one overflowed");
    assert!(refused.len() < 12, "some were admitted");
    // Nothing was created for a refused sign-up, so its retry goes through.
    let retry = app.register_with(&browser(), &format!("p{}@example.com", refused[0]), "P", PASSWORD).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
}

async fn the_chosen_language_is_kept_with_the_account_and_comes_back_at_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.register("lena@example.com", "Lena").await;
    let me = || async { app.me(&client).await.json::<serde_json::Value>().await.unwrap() };
    assert!(me().await.get("language").is_none(), "none chosen yet");

    let set = |language: &'static str| {
        client.put(app.url("/api/v1/me/language")).json(&json!({ "language": language })).send()
    };
    assert_eq!(set("ru").await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(me().await["language"], "ru");
    // Only the languages the interface speaks.
    let refused = set("de").await.unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(me().await["language"], "ru");

    // Signing in on another device (the page's sign-in) brings the language along as its cookie.
    let other = browser();
    let form = [("email", "lena@example.com"), ("password", PASSWORD)];
    let response = other.post(app.url("/_fn/login")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> =
        response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let lang = cookies.iter().find(|c| c.starts_with("lang=")).unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(lang.starts_with("lang=ru;") && lang.contains("Path=/") && !lang.contains("HttpOnly"), "{lang}");

    // The page's own switch keeps it too.
    let switched = other.post(app.url("/_fn/set_language")).form(&[("language", "en")]).send().await.unwrap();
    assert_eq!(switched.status(), StatusCode::OK);
    assert_eq!(me().await["language"], "en");
    let refused = other.post(app.url("/_fn/set_language")).form(&[("language", "xx")]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["field_codes"]["language"], "unsupported");
}

async fn field_problems_carry_codes_beside_their_english_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let error = error_of(app.register_with(&app.client, "not-an-email", "   ", "short").await).await;
    assert_eq!(error["field_codes"]["email"], "not_an_email");
    assert_eq!(error["field_codes"]["name"], "required");
    assert_eq!(error["field_codes"]["password"], "too_short");
    app.register("max@example.com", "Max").await;
    let taken = error_of(app.register_with(&browser(), "max@example.com", "Max", PASSWORD).await).await;
    assert_eq!(taken["field_codes"]["email"], "taken");
}

crate::on_both_backends!(
    the_chosen_language_is_kept_with_the_account_and_comes_back_at_sign_in,
    field_problems_carry_codes_beside_their_english_words,
    a_flood_of_sign_ups_beyond_the_hashing_queue_is_refused_with_503_and_retry_after,
    registering_returns_the_user_and_signs_them_in,
    a_taken_email_in_any_letter_case_gives_409,
    invalid_registrations_name_every_bad_field,
    an_unknown_email_and_a_wrong_password_get_the_same_answer,
    signing_in_sets_a_30_day_httponly_samesite_cookie,
    behind_https_the_cookie_is_secure_and_host_only,
    signing_out_revokes_the_session_on_the_server,
    session_tokens_are_stored_only_as_hashes_and_passwords_as_argon2id,
    deactivated_users_cannot_sign_in_and_lose_their_sessions,
    the_administrator_exists_from_the_first_start,
    who_am_i_without_a_session_is_401_in_the_error_shape,
    malformed_and_oversized_bodies_get_clear_errors,
    a_write_from_another_site_is_refused,
    the_ui_server_functions_sign_in_and_out_with_the_same_rules,
);
