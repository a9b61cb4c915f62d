//! The Language section of the settings: the interface's language, switched at once and
//! kept with the account (so it follows the person to every device they sign in on) and in
//! this browser's `lang` cookie.

use domain::model::Language;
use leptos::prelude::*;

use crate::api::account::set_language;
use crate::i18n::{Locale, t, t_string, use_i18n};

/// The interface's locale for a language.
pub fn locale_of(language: Language) -> Locale {
    match language {
        Language::En => Locale::en,
        Language::Ru => Locale::ru,
    }
}

/// A language's own name for itself (the same in every interface language).
fn native_name(language: Language) -> &'static str {
    match language {
        Language::En => "English",
        Language::Ru => "Русский",
    }
}

/// One radio button per language; choosing one switches the page's words straight away.
#[component]
pub fn LanguageSettings() -> impl IntoView {
    let i18n = use_i18n();
    let saved = RwSignal::new(None::<Result<(), String>>);
    let choose = move |language: Language| {
        i18n.set_locale(locale_of(language));
        // Kept in this browser at once, so that the next page comes in it even when saving to
        // the account fails (the server writes the same cookie when it succeeds).
        #[cfg(feature = "hydrate")]
        crate::cookies::keep(crate::LANGUAGE_COOKIE, language.code());
        saved.set(None);
        leptos::task::spawn_local(async move {
            let outcome = set_language(language.code().to_owned()).await;
            saved.set(Some(outcome.map_err(|e| e.text(i18n.get_locale_untracked()))));
        });
    };
    view! {
        <section class="settings-section" aria-labelledby="language-title">
            <h3 id="language-title">{t!(i18n, common.language)}</h3>
            <fieldset class="theme-choice">
                <legend class="visually-hidden">{t!(i18n, common.language)}</legend>
                {Language::ALL
                    .into_iter()
                    .map(|language| {
                        let locale = locale_of(language);
                        view! {
                            <label lang=language.code()>
                                <input
                                    type="radio"
                                    name="language"
                                    value=language.code()
                                    checked=i18n.get_locale_untracked() == locale
                                    prop:checked=move || i18n.get_locale() == locale
                                    on:change=move |_| choose(language)
                                />
                                {native_name(language)}
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <p class="settings-status" class:form-error=move || matches!(saved.get(), Some(Err(_))) role="status">
                {move || match saved.get() {
                    Some(Ok(())) => t_string!(i18n, common.language_saved).to_string(),
                    Some(Err(problem)) => t_string!(i18n, common.language_not_saved, problem = problem).to_string(),
                    None => String::new(),
                }}
            </p>
        </section>
    }
}
