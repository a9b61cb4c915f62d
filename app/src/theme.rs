//! Light and dark: the page follows the system's `prefers-color-scheme` unless the person
//! chose one in the settings. The choice lives in the `theme` cookie of this browser, so the
//! server writes it on `<html data-theme>` and the page never flashes the other one.

/// The look someone chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// As the system says (`prefers-color-scheme`).
    #[default]
    System,
    Light,
    Dark,
}

/// The cookie that holds the choice.
pub const COOKIE: &str = "theme";

impl Theme {
    /// Every choice, in the order the settings offer them.
    pub const ALL: [Self; 3] = [Self::System, Self::Light, Self::Dark];

    /// Its name in the cookie and in `data-theme`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The choice a `Cookie:` header holds; anything unknown is the system's.
    pub fn from_cookie_header(header: &str) -> Self {
        crate::cookies::value(header, COOKIE).map(Self::parse).unwrap_or_default()
    }

    fn parse(value: &str) -> Self {
        match value.trim() {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::System,
        }
    }

    /// This page's theme: on the server, the request's `theme` cookie; in the browser, the
    /// `<html data-theme>` the page shows.
    pub fn of_page() -> Self {
        #[cfg(feature = "ssr")]
        if let Some(header) = crate::cookies::of_request() {
            return Self::from_cookie_header(&header);
        }
        #[cfg(feature = "hydrate")]
        if let Some(value) =
            leptos::prelude::document().document_element().and_then(|html| html.get_attribute("data-theme"))
        {
            return Self::parse(&value);
        }
        Self::System
    }

    /// Shows the page in this theme and keeps the choice for a year in this browser.
    #[cfg(feature = "hydrate")]
    pub fn apply(self) {
        if let Some(html) = leptos::prelude::document().document_element() {
            let _ = html.set_attribute("data-theme", self.as_str());
        }
        crate::cookies::keep(COOKIE, self.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn the_cookie_header_gives_the_chosen_theme_and_anything_else_the_systems() {
        assert_eq!(Theme::from_cookie_header("session=abc; theme=dark"), Theme::Dark);
        assert_eq!(Theme::from_cookie_header("theme=light"), Theme::Light);
        assert_eq!(Theme::from_cookie_header("theme=purple; x=1"), Theme::System);
        assert_eq!(Theme::from_cookie_header("mytheme=dark"), Theme::System);
        assert_eq!(Theme::from_cookie_header(""), Theme::System);
    }
}
