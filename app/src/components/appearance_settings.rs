//! The Appearance section of the settings: the theme of this browser (as the system says,
//! light or dark), applied at once and kept in its cookie.

use leptos::prelude::*;

use crate::theme::Theme;

/// The words for a theme choice.
fn label(theme: Theme) -> &'static str {
    match theme {
        Theme::System => "As the system",
        Theme::Light => "Light",
        Theme::Dark => "Dark",
    }
}

/// Three radio buttons; choosing one changes the page's colours straight away.
#[component]
pub fn AppearanceSettings() -> impl IntoView {
    let chosen = RwSignal::new(Theme::of_page());
    let choose = move |theme: Theme| {
        chosen.set(theme);
        #[cfg(feature = "hydrate")]
        theme.apply();
    };
    view! {
        <section class="settings-section" aria-labelledby="appearance-title">
            <h3 id="appearance-title">"Appearance"</h3>
            <fieldset class="theme-choice">
                <legend>"Theme"</legend>
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
                                {label(theme)}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </section>
    }
}
