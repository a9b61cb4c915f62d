//! The Appearance section of the settings: the theme of this browser (as the system says,
//! light or dark), applied at once and kept in its cookie.

use leptos::prelude::*;

use crate::i18n::{Locale, t, td_string, use_i18n};
use crate::theme::Theme;

/// The words for a theme choice.
fn label(locale: Locale, theme: Theme) -> String {
    match theme {
        Theme::System => td_string!(locale, settings.theme_system).to_string(),
        Theme::Light => td_string!(locale, settings.theme_light).to_string(),
        Theme::Dark => td_string!(locale, settings.theme_dark).to_string(),
    }
}

/// Three radio buttons; choosing one changes the page's colours straight away.
#[component]
pub fn AppearanceSettings() -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(Theme::of_page());
    let choose = move |theme: Theme| {
        chosen.set(theme);
        #[cfg(feature = "hydrate")]
        theme.apply();
    };
    view! {
        <section class="settings-section" aria-labelledby="appearance-title">
            <h3 id="appearance-title">{t!(i18n, settings.appearance_title)}</h3>
            <fieldset class="theme-choice">
                <legend>{t!(i18n, settings.appearance_theme)}</legend>
                {Theme::ALL
                    .into_iter()
                    .map(|theme| {
                        view! {
                            <label>
                                <input
                                    type="radio"
                                    name="theme"
                                    value=theme.as_str()
                                    checked=chosen.get_untracked() == theme
                                    prop:checked=move || chosen.get() == theme
                                    on:change=move |_| choose(theme)
                                />
                                {move || label(i18n.get_locale(), theme)}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_theme_has_its_words() {
        assert_eq!(label(Locale::en, Theme::System), "As the system");
        assert_eq!(label(Locale::ru, Theme::Dark), "Тёмная");
    }
}
