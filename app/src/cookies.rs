//! The page's own cookies (`theme`, `lang`): read from the request on the server, written by
//! the page when the choice is made here.

/// The value of the cookie `name` in a `Cookie:` header, if it is there.
pub fn value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// The cookies of the request being rendered, as one `Cookie:` header (the server only, and
/// only while rendering a page).
#[cfg(feature = "ssr")]
pub fn of_request() -> Option<String> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    let cookies = parts.headers.get_all(axum::http::header::COOKIE);
    Some(cookies.iter().filter_map(|value| value.to_str().ok()).collect::<Vec<_>>().join("; "))
}

/// Keeps `name=value` in this browser for a year, for the whole site.
#[cfg(feature = "hydrate")]
pub fn keep(name: &str, value: &str) {
    use wasm_bindgen::JsCast;
    if let Ok(document) = leptos::prelude::document().dyn_into::<web_sys::HtmlDocument>() {
        let _ = document.set_cookie(&format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax"));
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn a_cookie_is_found_by_its_whole_name() {
        assert_eq!(value("session=abc; theme=dark", "theme"), Some("dark"));
        assert_eq!(value("theme=light", "theme"), Some("light"));
        assert_eq!(value("mytheme=dark", "theme"), None);
        assert_eq!(value("lang=ru; theme=dark", "lang"), Some("ru"));
        assert_eq!(value("", "lang"), None);
    }
}
