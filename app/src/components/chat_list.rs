//! My chats: peer, preview of the last message, unread count; newest activity first.

use domain::model::ChatSummary;
use leptos::html;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

use crate::api::messenger::my_chats;
use crate::components::time::clock;
use crate::error::UiError;
use crate::i18n::{Locale, t, t_string, td_string, use_i18n};
use crate::store::Store;

/// Scrolled this close to the end of the list (in pixels), the next page loads.
const NEAR_END_PX: i32 = 200;

/// The name a chat goes by (Saved Messages in the reader's language).
pub fn chat_title(locale: Locale, chat: &ChatSummary) -> String {
    if chat.is_saved_messages {
        td_string!(locale, messenger.saved_messages).to_string()
    } else {
        chat.peer.name.clone()
    }
}

/// The first letter of a name, for the round avatar.
pub fn initial(name: &str) -> String {
    name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default()
}

/// The green dot on an avatar while its person is online; `online` is read reactively, so
/// the dot comes and goes with `presence` frames without re-rendering the row.
pub fn online_dot(i18n: I18nContext<Locale>, online: impl Fn() -> bool + Send + Sync + 'static) -> impl IntoView {
    move || {
        online().then(|| {
            view! {
                <span class="online-dot" data-testid="online-dot">
                    <span class="visually-hidden">{t!(i18n, messenger.online)}</span>
                </span>
            }
        })
    }
}

/// The list of my chats; choosing one opens it. `more` is where the next page of them
/// starts (`None` once all are here): scrolling near the end of the list loads it, and so
/// does the button there.
#[component]
pub fn ChatList(on_open: Callback<i64>, more: RwSignal<Option<String>>) -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    let list = NodeRef::<html::Ul>::new();
    let loading = RwSignal::new(false);
    let failed = RwSignal::new(None::<UiError>);
    let load_more = move || {
        let Some(cursor) = more.get_untracked() else { return };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        leptos::task::spawn_local(async move {
            match my_chats(Some(cursor)).await {
                Ok(page) => {
                    store.merge_chats(page.chats);
                    more.set(page.next_cursor);
                    failed.set(None);
                }
                Err(e) => failed.set(Some(e)),
            }
            loading.set(false);
        });
    };
    // After a failure only the button tries again, not every scroll event.
    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else { return };
        let near_end = el.scroll_height() - el.scroll_top() - el.client_height() < NEAR_END_PX;
        if near_end && failed.with_untracked(Option::is_none) {
            load_more();
        }
    };
    view! {
        <Show
            when=move || !store.chats.with(Vec::is_empty)
            fallback=move || view! { <p class="empty">{t!(i18n, messenger.no_chats)}</p> }
        >
            <ul
                class="chat-list"
                aria-label=move || t_string!(i18n, messenger.chats).to_string()
                node_ref=list
                on:scroll=on_scroll
            >
                <For each=move || store.chats.get() key=|chat| (chat.id, chat.last_seq, chat.unread) let:chat>
                    {
                        let id = chat.id;
                        let saved = chat.is_saved_messages;
                        let avatar = if saved { "★".to_owned() } else { initial(&chat.peer.name) };
                        // The words follow the language; the rest is keyed on the messages.
                        let title = {
                            let chat = chat.clone();
                            move || chat_title(i18n.get_locale(), &chat)
                        };
                        let preview = chat.last_message.as_ref().map(|m| {
                            let mine = m.sender_id == store.my_id() && !saved;
                            (mine, m.text.lines().next().unwrap_or("").to_owned())
                        });
                        let preview = move || match &preview {
                            Some((true, text)) => t_string!(i18n, messenger.preview_mine, text = text).to_string(),
                            Some((false, text)) => text.clone(),
                            None => t_string!(i18n, messenger.preview_empty).to_string(),
                        };
                        let when = chat.last_message.as_ref().map(|m| clock(m.created_at));
                        let unread = chat.unread;
                        // The row is keyed on its messages, not on presence: the dot follows
                        // `store.seen` on its own.
                        let peer = chat.peer.clone();
                        let online = move || !saved && store.seen(&peer).online;
                        view! {
                            <li>
                                <button
                                    class="chat-item"
                                    class:active=move || store.active.get() == Some(id)
                                    data-testid="chat-item"
                                    on:click=move |_| on_open.run(id)
                                >
                                    <span class="avatar" class:saved=saved>
                                        <span aria-hidden="true">{avatar}</span>
                                        {online_dot(i18n, online)}
                                    </span>
                                    <span class="chat-text">
                                        <span class="chat-title">{title}</span>
                                        <span class="chat-preview">{preview}</span>
                                    </span>
                                    <span class="chat-meta">
                                        <span class="chat-time">{when}</span>
                                        {(unread > 0).then(|| view! {
                                            <span
                                                class="badge"
                                                data-testid="unread"
                                                aria-label=move || t_string!(i18n, messenger.unread, count = unread).to_string()
                                            >
                                                {unread}
                                            </span>
                                        })}
                                    </span>
                                </button>
                            </li>
                        }
                    }
                </For>
                <Show when=move || more.with(Option::is_some)>
                    <li class="pager load-more">
                        <button data-testid="load-more-chats" disabled=loading on:click=move |_| load_more()>
                            {move || {
                                if loading.get() {
                                    t_string!(i18n, messenger.loading_chats).to_string()
                                } else {
                                    t_string!(i18n, messenger.load_more_chats).to_string()
                                }
                            }}
                        </button>
                    </li>
                    <Show when=move || failed.with(Option::is_some)>
                        <li class="form-error" role="alert">{move || failed.get().map(|e| e.text(i18n.get_locale()))}</li>
                    </Show>
                </Show>
            </ul>
        </Show>
    }
}
