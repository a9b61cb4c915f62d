//! `/settings`: my settings, in the messenger's right-hand pane (the whole width on a
//! phone), one `<section>` per topic.

use leptos::prelude::*;

use crate::components::appearance_settings::AppearanceSettings;
use crate::components::password_settings::PasswordSettings;
use crate::components::sessions_settings::SessionsSettings;
use crate::components::telegram_settings::TelegramSettings;

/// The settings pane. The live connection stays open behind it: it belongs to the page
/// around it, which `/` shares.
#[component]
pub fn SettingsPane() -> impl IntoView {
    view! {
        <section class="settings" aria-labelledby="settings-title" data-testid="settings">
            <header class="pane-header">
                <a class="back" href="/" aria-label="Back to chats">"‹"</a>
                <h2 id="settings-title">"Settings"</h2>
            </header>
            <div class="settings-body">
                <SessionsSettings />
                <PasswordSettings />
                <TelegramSettings />
                <AppearanceSettings />
            </div>
        </section>
    }
}
