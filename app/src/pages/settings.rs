//! `/settings`: my settings, in the messenger's right-hand pane (the whole width on a
//! phone), one `<section>` per topic.

use leptos::prelude::*;

use crate::components::appearance_settings::AppearanceSettings;
use crate::components::language_settings::LanguageSettings;
use crate::components::password_settings::PasswordSettings;
use crate::components::sessions_settings::SessionsSettings;
use crate::components::telegram_settings::TelegramSettings;
use crate::i18n::{t, t_string, use_i18n};

/// The settings pane. The live connection stays open behind it: it belongs to the page
/// around it, which `/` shares.
#[component]
pub fn SettingsPane() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="settings" aria-labelledby="settings-title" data-testid="settings">
            <header class="pane-header">
                <a class="back" href="/" aria-label=move || t_string!(i18n, settings.back_to_chats)>"‹"</a>
                <h2 id="settings-title">{t!(i18n, settings.title)}</h2>
            </header>
            <div class="settings-body">
                <SessionsSettings />
                <PasswordSettings />
                <TelegramSettings />
                <LanguageSettings />
                <AppearanceSettings />
            </div>
        </section>
    }
}
