//! The messenger's user interface: a Leptos app rendered on the server and hydrated in
//! the browser, plus the server functions it calls.

pub mod api;
#[cfg(feature = "hydrate")]
mod badge;
mod components;
mod cookies;
pub mod error;
pub mod live;
pub mod offline;
mod pages;
#[cfg(feature = "ssr")]
pub mod server_context;
pub mod store;
pub mod theme;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};

// The interface's words in each language, from locales/<language>/<topic>.json (build.rs):
// the module `i18n` with `Locale`, `use_i18n` and the `t!` macros.
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));
use crate::i18n::{I18nContextProvider, t, td_string, use_i18n};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::auth::AuthPage;
use crate::pages::messenger::{ChatPane, MessengerPage};
use crate::pages::settings::SettingsPane;

/// The HTML document around the app (server side only). Its Content-Security-Policy
/// allows scripts from this site and the inline ones Leptos writes with this response's
/// nonce (hydration, resolved resources), WebAssembly, and nothing from elsewhere. It
/// links the web app manifest and `/pwa.js`, which registers the service worker, and
/// carries the theme chosen in this browser (`data-theme`).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    let theme = theme::Theme::of_page();
    view! {
        <!DOCTYPE html>
        <html data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="theme-color" content="#f4f6fa" media="(prefers-color-scheme: light)" />
                <meta name="theme-color" content="#0f141c" media="(prefers-color-scheme: dark)" />
                <meta name="description" content="Private one-to-one chats, live." />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <script src="/pwa.js" defer></script>
                // The build names the stylesheet, like the WASM and JS, after its content.
                <link rel="stylesheet" href=format!("/pkg/{}.css", options.output_name) />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Puts the page's Content-Security-Policy, with the nonce leptos_axum made for this
/// response, on the response.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use axum::http::HeaderValue;
    use axum::http::header::CONTENT_SECURITY_POLICY;
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// The signed-in state, shared by every page.
#[derive(Clone, Copy)]
pub struct Session {
    /// Who is signed in (`Ok(None)`: nobody).
    pub me: Resource<Result<Option<domain::model::User>, error::UiError>>,
    /// Sign-in; its completion refreshes `me`.
    pub login: ServerAction<api::auth::Login>,
    /// Registration; its completion refreshes `me`.
    pub register: ServerAction<api::auth::Register>,
}

/// The cookie that holds the interface's language (`en`, `ru`); without it the language is
/// the browser's (`Accept-Language`), English when neither is known. The server writes it
/// (at sign-in, and when the language is changed in the settings) and reads it to render
/// the page; the browser then keeps the language the page came in (`<html lang>`).
pub const LANGUAGE_COOKIE: &str = "lang";

/// The root component: the language, then session state and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <I18nContextProvider ssr_lang_header_getter=page_languages()>
            <Routed />
        </I18nContextProvider>
    }
}

/// Where the server finds the languages a page may be rendered in (leptos_i18n's own cookie
/// support is left off: it brings a cookie crate and a date library into the browser's WASM).
fn page_languages() -> leptos_i18n::context::UseLocalesOptions {
    leptos_i18n::context::UseLocalesOptions::default().ssr_lang_header_getter(|| {
        #[cfg(feature = "ssr")]
        {
            let parts = use_context::<axum::http::request::Parts>()?;
            let accepted = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
            preferred_languages(cookies::of_request().as_deref(), accepted)
        }
        #[cfg(not(feature = "ssr"))]
        None
    })
}

/// The languages to render a page in, best first, as an `Accept-Language` value: the `lang`
/// cookie's (when it names a language the interface has), then the request's own.
#[cfg(any(feature = "ssr", test))]
fn preferred_languages(cookie_header: Option<&str>, accept_language: Option<&str>) -> Option<String> {
    let chosen = cookie_header
        .and_then(|header| cookies::value(header, LANGUAGE_COOKIE))
        .filter(|code| domain::model::Language::parse(code).is_ok());
    match (chosen, accept_language) {
        (Some(chosen), Some(accepted)) => Some(format!("{chosen}, {accepted}")),
        (chosen, accepted) => chosen.or(accepted).map(str::to_owned),
    }
}

/// Session state and routes.
#[component]
fn Routed() -> impl IntoView {
    let i18n = use_i18n();
    let login = ServerAction::<api::auth::Login>::new();
    let register = ServerAction::<api::auth::Register>::new();
    let me = Resource::new(move || (login.version().get(), register.version().get()), |_| api::auth::me());
    provide_context(Session { me, login, register });
    // The language chosen on another device comes along when the account signs in here.
    Effect::new(move |_| {
        if let Some(Ok(Some(user))) = me.get()
            && let Some(language) = user.language
        {
            let locale = components::language_settings::locale_of(language);
            if i18n.get_locale_untracked() != locale {
                i18n.set_locale(locale);
            }
        }
    });
    // Marks the page as interactive (browser tests wait for it before clicking).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });

    view! {
        // A plain string: the server writes the title after rendering, outside the reactive
        // owner a closure would need (the messenger's own title, below it, follows the language).
        <Title text=td_string!(i18n.get_locale_untracked(), common.app_name).to_string() />
        <Router>
            <Routes fallback=move || view! { <p class="not-found">{t!(i18n, common.not_found)}</p> }>
                // One parent for the messenger's two panes, so that moving between `/` and
                // `/settings` keeps the page (its store and live connection) and swaps only
                // the right-hand pane.
                <ParentRoute path=path!("") view=MessengerPage ssr=SsrMode::Async>
                    <Route path=path!("") view=ChatPane ssr=SsrMode::Async />
                    <Route path=path!("settings") view=SettingsPane ssr=SsrMode::Async />
                </ParentRoute>
                <Route path=path!("/login") view=AuthPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::preferred_languages;

    #[test]
    fn the_language_cookie_goes_ahead_of_the_browsers_languages() {
        assert_eq!(
            preferred_languages(Some("theme=dark; lang=ru"), Some("en-US,en;q=0.9")).as_deref(),
            Some("ru, en-US,en;q=0.9")
        );
        assert_eq!(preferred_languages(Some("lang=ru"), None).as_deref(), Some("ru"));
        assert_eq!(preferred_languages(Some("theme=dark"), Some("ru-RU")).as_deref(), Some("ru-RU"));
        // A language the interface does not have is no choice.
        assert_eq!(preferred_languages(Some("lang=xx"), Some("en")).as_deref(), Some("en"));
        assert_eq!(preferred_languages(None, None), None);
    }
}
