//! `/` and `/settings`: the messenger. Directory and chats on the left; on the right the
//! open chat, or the settings (one pane at a time on a phone). Anonymous visitors go to
//! `/login`. `/?chat=<id>` (the links in Telegram notifications) opens that chat.

use domain::model::User;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::Session;
use crate::api::auth::logout;
use crate::api::messenger::{my_chats, open_chat};
use crate::components::chat_list::ChatList;
use crate::components::chat_view::ChatView;
use crate::components::connection_badge::ConnectionBadge;
use crate::components::directory::Directory;
use crate::components::tab::Tab;
use crate::error::UiError;
use crate::i18n::{t, t_string, use_i18n};
use crate::live::Live;
use crate::store::Store;

/// The main page; its right-hand pane is the route below it ([`ChatPane`] or the settings).
#[component]
pub fn MessengerPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let i18n = use_i18n();
    view! {
        <Transition fallback=move || view! { <p class="loading" aria-live="polite">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(Some(user)) => view! { <Messenger user /> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => {
                        view! { <p class="form-error" role="alert">{move || e.text(i18n.get_locale())}</p> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Which list the sidebar shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Chats,
    People,
}

/// Whether a path is the settings pane's.
fn is_settings(path: &str) -> bool {
    path.trim_end_matches('/') == "/settings"
}

/// The URL of an open chat.
fn chat_url(chat_id: i64) -> String {
    format!("/?chat={chat_id}")
}

/// Whether this page put the open chat's entry in the history (so that leaving the chat is
/// the browser's Back), or the chat was opened by its URL (a link, a reload).
#[derive(Clone, Copy)]
struct ChatHistory {
    opened_here: StoredValue<bool>,
}

/// Navigates within the page without adding a history entry (for URLs tidied up).
fn replace() -> NavigateOptions {
    NavigateOptions { replace: true, scroll: false, ..NavigateOptions::default() }
}

/// The signed-in screen: the store and the live connection (kept while the right-hand
/// pane changes with the route), the sidebar, and that pane.
#[component]
fn Messenger(user: User) -> impl IntoView {
    let i18n = use_i18n();
    let store = Store::new(user.clone());
    let live = Live::new();
    provide_context(store);
    provide_context(live);
    let tab = RwSignal::new(List::Chats);
    let open_error = RwSignal::new(None::<UiError>);
    let location = use_location();
    let query = use_query_map();
    let navigate = use_navigate();
    let settings_open = Memo::new(move |_| location.pathname.with(|path| is_settings(path)));

    let chats = Resource::new(|| (), |_| my_chats(None));
    // Where the next page of my chats starts (`None` once every chat is here).
    let more = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Ok(page)) = chats.get() {
            // Merged with what the page already holds: offline, the page may be an older copy
            // than the chats this browser kept (see `offline`).
            store.merge_chats(page.chats);
            more.set(page.next_cursor);
        }
    });
    #[cfg(feature = "hydrate")]
    crate::offline::restore_and_keep(store);
    #[cfg(feature = "hydrate")]
    crate::live::connect(store, live);

    // The open chat is the URL's: `/?chat=<id>`. Opening one from the list adds a history
    // entry (switching between chats replaces it), so the browser's Back returns to the list,
    // which is how a phone moves between the two; a reload keeps the chat open, and the links
    // in Telegram notifications are such URLs.
    let opened_here = StoredValue::new(false);
    provide_context(ChatHistory { opened_here });
    let open = Callback::new({
        let navigate = navigate.clone();
        move |chat_id: i64| {
            tab.set(List::Chats);
            let switching = store.active.get_untracked().is_some() && !settings_open.get_untracked();
            if !switching {
                opened_here.set_value(true);
            }
            navigate(
                &chat_url(chat_id),
                NavigateOptions { replace: switching, scroll: false, ..NavigateOptions::default() },
            );
        }
    });
    // The URL decides which chat is open, once my chats are here: one of mine opens; any
    // other id is dropped from the URL (replacing the entry), with nothing said.
    Effect::new({
        let navigate = navigate.clone();
        move |_| {
            let wanted = query.with(|q| q.get("chat"));
            if settings_open.get() {
                store.active.set(None);
                return;
            }
            let Some(wanted) = wanted else {
                store.active.set(None);
                return;
            };
            let Some(Ok(_)) = chats.get() else { return };
            let mine =
                wanted.trim().parse::<i64>().ok().filter(|id| store.chats.with(|c| c.iter().any(|c| c.id == *id)));
            match mine {
                Some(id) => {
                    if store.active.get_untracked() != Some(id) {
                        store.active.set(Some(id));
                    }
                }
                None => {
                    store.active.set(None);
                    navigate("/", replace());
                }
            }
        }
    });
    let pick = Callback::new(move |peer_id: i64| {
        leptos::task::spawn_local(async move {
            match open_chat(peer_id).await {
                Ok(chat) => {
                    let id = chat.id;
                    if !store.chats.with_untracked(|c| c.iter().any(|c| c.id == id)) {
                        store.upsert_chat(chat);
                    }
                    open_error.set(None);
                    open.run(id);
                }
                Err(e) => open_error.set(Some(e)),
            }
        });
    });
    let total_unread = move || store.chats.with(|c| c.iter().map(|c| c.unread).sum::<u64>());
    // The unread count, also where the page is not in view: the tab's title and the
    // installed app's badge.
    // On the server a plain string: leptos_meta writes the title after the page is rendered,
    // when this component's signals may be gone.
    #[cfg(not(feature = "hydrate"))]
    let title = crate::i18n::td_string!(i18n.get_locale_untracked(), common.app_name).to_string();
    #[cfg(feature = "hydrate")]
    let title = move || match total_unread() {
        0 => t_string!(i18n, common.app_name).to_string(),
        n => t_string!(i18n, messenger.title_unread, count = n).to_string(),
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| crate::badge::set_app_badge(total_unread()));

    view! {
        <Title text=title />
        <div
            class="messenger"
            class:chat-open=move || store.active.get().is_some() && !settings_open.get()
            class:settings-open=move || settings_open.get()
        >
            <aside class="sidebar">
                <header class="topbar">
                    <span class="brand">{t!(i18n, common.app_name)}</span>
                    <ConnectionBadge />
                    <span class="whoami" data-testid="whoami">{user.name.clone()}</span>
                    <div class="topbar-actions">
                        <a
                            class="settings-link"
                            href="/settings"
                            aria-current=move || settings_open.get().then_some("page")
                        >
                            {t!(i18n, messenger.settings)}
                        </a>
                        <SignOut />
                    </div>
                </header>
                <nav class="tabs" role="tablist" aria-label=move || t_string!(i18n, messenger.lists).to_string()>
                    <Tab value=List::Chats selected=tab>
                        {t!(i18n, messenger.chats)}
                        {move || (total_unread() > 0).then(|| view! { <span class="badge">{total_unread()}</span> })}
                    </Tab>
                    <Tab value=List::People selected=tab>{t!(i18n, messenger.people)}</Tab>
                </nav>
                <Show when=move || open_error.get().is_some()>
                    <p class="form-error" role="alert">{move || open_error.get().map(|e| e.text(i18n.get_locale()))}</p>
                </Show>
                <Show when=move || tab.get() == List::Chats fallback=move || view! { <Directory on_pick=pick /> }>
                    <Transition fallback=move || view! { <p class="loading">{t!(i18n, messenger.loading_chats)}</p> }>
                        {move || chats.get().map(|result| match result {
                            Ok(_) => view! { <ChatList on_open=open more /> }.into_any(),
                            Err(e) => view! {
                                <p class="form-error" role="alert">{move || e.text(i18n.get_locale())}</p>
                            }.into_any(),
                        })}
                    </Transition>
                </Show>
            </aside>
            <Outlet />
            <p class="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
                {move || store.announcement.get()}
            </p>
        </div>
    }
}

/// `/`: the right-hand pane shows the open chat, or a hint when none is open.
#[component]
pub fn ChatPane() -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    let history = expect_context::<ChatHistory>();
    let navigate = use_navigate();
    // Back to the list: the browser's Back when this page opened the chat, else to `/`.
    let back = Callback::new(move |()| {
        if history.opened_here.get_value() {
            history.opened_here.set_value(false);
            let _ = window().history().and_then(|h| h.back());
        } else {
            navigate("/", replace());
        }
    });
    move || match store.active.get() {
        Some(chat_id) => view! { <ChatView chat_id on_back=back /> }.into_any(),
        None => view! {
            <section class="conversation placeholder">
                <p class="empty">{t!(i18n, messenger.choose_chat)}</p>
            </section>
        }
        .into_any(),
    }
}

/// Signs out, then starts from a fresh page: the live connection and everything the page
/// held about the account go away with it.
#[component]
fn SignOut() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let store = expect_context::<Store>();
    let pending = RwSignal::new(false);
    let failed = RwSignal::new(None::<UiError>);
    let sign_out = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        leptos::task::spawn_local(async move {
            match logout().await {
                Ok(()) => {
                    // What this browser kept for offline use goes with the session.
                    #[cfg(feature = "hydrate")]
                    crate::offline::forget(store.my_id());
                    let _ = window().location().assign("/login");
                }
                Err(e) => {
                    pending.set(false);
                    failed.set(Some(e));
                }
            }
        });
    };
    view! {
        <form class="signout" method="post" action="/_fn/logout" on:submit=sign_out>
            <button
                type="submit"
                disabled=pending
                title=move || failed.get().map(|e| e.text(i18n.get_locale())).unwrap_or_default()
            >
                {move || {
                    if pending.get() {
                        t_string!(i18n, messenger.signing_out).to_string()
                    } else {
                        t_string!(i18n, messenger.sign_out).to_string()
                    }
                }}
            </button>
        </form>
        <Show when=move || failed.get().is_some()>
            <span class="form-error" role="alert">{move || failed.get().map(|e| e.text(i18n.get_locale()))}</span>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::is_settings;

    #[test]
    fn the_settings_path_is_known_with_or_without_a_trailing_slash() {
        assert!(is_settings("/settings"));
        assert!(is_settings("/settings/"));
        assert!(!is_settings("/"));
        assert!(!is_settings("/settingsx"));
    }
}
