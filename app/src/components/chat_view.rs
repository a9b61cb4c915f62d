//! The open chat: history with day separators, infinite scroll upwards that keeps the
//! reading position, pending bubbles, and the composer.

use domain::input::MESSAGE_MAX;
use domain::model::{ChatId, Message};
use leptos::html;
use leptos::prelude::*;

use crate::components::chat_list::chat_title;
use crate::components::rich_text::RichText;
use crate::components::time::{clock, day_key, day_label, last_seen, now_ms};
use crate::error::{UiError, error_text, field_text};
use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::live::Live;
use crate::store::{Connection, Store};

/// Messages fetched per page of history.
const PAGE: u64 = 50;

/// One chat, from its history to the composer.
#[component]
pub fn ChatView(chat_id: ChatId, on_back: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    let live = expect_context::<Live>();
    let scroller = NodeRef::<html::Div>::new();
    let loading_older = RwSignal::new(false);
    let load_error = RwSignal::new(None::<UiError>);
    let near_bottom = StoredValue::new(true);

    let chat = Memo::new(move |_| store.chats.with(|chats| chats.iter().find(|c| c.id == chat_id).cloned()));
    let messages = Memo::new(move |_| {
        store.logs.with(|logs| logs.get(&chat_id).map(|log| log.messages.clone()).unwrap_or_default())
    });
    let loaded = Memo::new(move |_| store.logs.with(|logs| logs.get(&chat_id).is_some_and(|l| l.loaded)));
    let pending = Memo::new(move |_| {
        store.pending.with(|p| p.iter().filter(|p| p.chat_id == chat_id).cloned().collect::<Vec<_>>())
    });

    // First page of history, once per chat.
    Effect::new(move |_| {
        if !loaded.get_untracked() {
            leptos::task::spawn_local(load_page(store, chat_id, None, load_error));
        }
    });
    // Read what is on screen.
    Effect::new(move |_| {
        let unread = chat.with(|c| c.as_ref().is_some_and(|c| c.unread > 0 || c.last_read_seq < c.last_seq));
        if unread {
            live.mark_read(store, chat_id);
        }
    });
    // Follow new messages when the reader is at the bottom; restore the position on return.
    Effect::new(move |first: Option<()>| {
        let _ = messages.with(Vec::len) + pending.with(Vec::len);
        if let Some(el) = scroller.get() {
            let saved = store.scroll.with_value(|s| s.get(&chat_id).copied());
            match (first, saved) {
                (None, Some(top)) => el.set_scroll_top(top),
                _ if near_bottom.get_value() => el.set_scroll_top(el.scroll_height()),
                _ => {}
            }
        }
    });
    on_cleanup(move || {
        if let Some(el) = scroller.get_untracked() {
            let top = el.scroll_top();
            store.scroll.update_value(|s| {
                s.insert(chat_id, top);
            });
        }
    });

    let on_scroll = move |_| {
        let Some(el) = scroller.get() else { return };
        near_bottom.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 80);
        let has_older = store.logs.with_untracked(|logs| logs.get(&chat_id).is_some_and(|l| l.has_older));
        if el.scroll_top() < 80 && has_older && !loading_older.get_untracked() {
            loading_older.set(true);
            let before = store.logs.with_untracked(|logs| logs.get(&chat_id).and_then(|l| l.first_seq()));
            let height_before = el.scroll_height();
            leptos::task::spawn_local(async move {
                load_page(store, chat_id, before, load_error).await;
                loading_older.set(false);
                // Keep the message that was on screen where it was.
                request_animation_frame(move || {
                    if let Some(el) = scroller.get_untracked() {
                        el.set_scroll_top(el.scroll_top() + el.scroll_height() - height_before);
                    }
                });
            });
        }
    };

    let title = move || chat.with(|c| c.as_ref().map(|c| chat_title(i18n.get_locale(), c)).unwrap_or_default());
    // Under the title: "typing…", "online" or when the peer was last seen (nothing in Saved Messages).
    let peer = Memo::new(move |_| chat.with(|c| c.as_ref().filter(|c| !c.is_saved_messages).map(|c| c.peer.clone())));
    let peer_typing = move || {
        peer.with(Option::is_some) && store.typing.with(|t| t.get(&chat_id).is_some_and(|until| *until > now_ms()))
    };
    let peer_status = move || {
        let peer = peer.get()?;
        if peer_typing() {
            return Some(t_string!(i18n, messenger.typing).to_string());
        }
        let seen = store.seen(&peer);
        if seen.online {
            Some(t_string!(i18n, messenger.online).to_string())
        } else {
            seen.last_seen_at.map(|at| last_seen(i18n.get_locale(), at))
        }
    };
    view! {
        <section class="conversation" aria-label=title>
            <header class="conversation-header">
                <button
                    class="back"
                    aria-label=move || t_string!(i18n, messenger.back_to_chats).to_string()
                    on:click=move |_| on_back.run(())
                >
                    "‹"
                </button>
                <div class="conversation-heading">
                    <h2 data-testid="chat-title">{title}</h2>
                    <p class="peer-status" class:typing=peer_typing data-testid="peer-status" aria-live="polite">
                        {peer_status}
                    </p>
                </div>
            </header>
            <div class="messages" node_ref=scroller on:scroll=on_scroll role="log" aria-live="polite" data-testid="messages">
                <Show when=move || loading_older.get()>
                    <p class="loading">{t!(i18n, messenger.loading_earlier)}</p>
                </Show>
                <Show when=move || load_error.get().is_some()>
                    <p class="form-error" role="alert">
                        {move || load_error.get().map(|e| {
                            let locale = i18n.get_locale();
                            t_string!(i18n, messenger.load_messages_failed, reason = e.text(locale)).to_string()
                        })}
                    </p>
                </Show>
                <Show when=move || !loaded.get()>
                    <p class="loading">{t!(i18n, messenger.loading_messages)}</p>
                </Show>
                <Show when=move || loaded.get() && messages.with(Vec::is_empty) && pending.with(Vec::is_empty)>
                    <p class="empty">
                        {move || if chat.with(|c| c.as_ref().is_some_and(|c| c.is_saved_messages)) {
                            t_string!(i18n, messenger.saved_messages_empty).to_string()
                        } else {
                            t_string!(i18n, messenger.chat_empty).to_string()
                        }}
                    </p>
                </Show>
                {move || bubbles(store.my_id(), i18n.get_locale(), messages.get())}
                <For
                    each=move || pending.get()
                    key=|p| (p.client_id.clone(), p.failed.as_ref().map(|e| (e.code.clone(), e.message.clone())))
                    let:p
                >
                    {
                        let client_id = p.client_id.clone();
                        let failed = p.failed.clone();
                        let is_failed = failed.is_some();
                        view! {
                            <div class="bubble mine pending" class:failed=is_failed data-testid="pending">
                                <p class="text"><RichText text=p.text.clone() /></p>
                                {match failed {
                                    Some(why) => view! {
                                        <p class="status">
                                            <span class="field-error">
                                                {move || {
                                                    let reason = send_failure(i18n.get_locale(), &why);
                                                    t_string!(i18n, messenger.not_sent, reason = reason).to_string()
                                                }}
                                            </span>
                                            " "
                                            <button class="link" on:click=move |_| live.retry(store, &client_id)>
                                                {t!(i18n, messenger.retry)}
                                            </button>
                                        </p>
                                    }.into_any(),
                                    None => view! {
                                        <p class="status">
                                            {move || if store.connection.get() == Connection::Online {
                                                t_string!(i18n, messenger.sending).to_string()
                                            } else {
                                                t_string!(i18n, messenger.waiting_for_connection).to_string()
                                            }}
                                        </p>
                                    }.into_any(),
                                }}
                            </div>
                        }
                    }
                </For>
            </div>
            <Composer chat_id />
        </section>
    }
}

/// Why the server refused a send, in the reader's language: the problem with the text when
/// it named one, else the error's own words.
fn send_failure(locale: Locale, error: &domain::PublicError) -> String {
    field_text(locale, error, "text").unwrap_or_else(|| error_text(locale, error))
}

/// Bubbles with a separator wherever the local day changes.
fn bubbles(me: i64, locale: Locale, messages: Vec<Message>) -> impl IntoView {
    let mut previous_day = None;
    messages
        .into_iter()
        .map(|message| {
            let day = day_key(message.created_at);
            let separator = (previous_day != Some(day)).then(|| {
                view! { <div class="day" role="separator">{day_label(locale, message.created_at)}</div> }
            });
            previous_day = Some(day);
            let mine = message.sender_id == me;
            view! {
                {separator}
                <div class="bubble" class:mine=mine class:theirs=!mine data-testid="message" data-seq=message.seq>
                    <p class="text"><RichText text=message.text.clone() /></p>
                    <time class="status" datetime=message.created_at.to_rfc3339()>{clock(message.created_at)}</time>
                </div>
            }
        })
        .collect_view()
}

/// Fetches a page of history (the newest, or the one before `before`) into the store.
async fn load_page(store: Store, chat_id: ChatId, before: Option<i64>, error: RwSignal<Option<UiError>>) {
    match crate::api::messenger::history(chat_id, before, PAGE).await {
        Ok(page) => {
            error.set(None);
            store.logs.update(|logs| {
                let log = logs.entry(chat_id).or_default();
                log.has_older = page.len() as u64 == PAGE;
                log.loaded = true;
                log.merge(page);
            });
        }
        Err(e) => error.set(Some(e)),
    }
}

/// The text box: Enter sends, Shift+Enter starts a new line; the draft is kept per chat.
#[component]
fn Composer(chat_id: ChatId) -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    let live = expect_context::<Live>();
    let textarea = NodeRef::<html::Textarea>::new();
    let draft = move || store.drafts.with(|d| d.get(&chat_id).cloned().unwrap_or_default());
    let too_long = move || draft().trim().chars().count() > MESSAGE_MAX;

    let send = move || {
        let text = draft();
        if text.trim().is_empty() || too_long() {
            return;
        }
        live.send_message(store, chat_id, text.trim().to_owned());
        store.drafts.update(|d| {
            d.remove(&chat_id);
        });
    };
    Effect::new(move |_| {
        if let Some(el) = textarea.get() {
            let _ = el.focus();
        }
    });

    view! {
        <form class="composer" on:submit=move |ev| {
            ev.prevent_default();
            send();
        }>
            <textarea
                node_ref=textarea
                rows="1"
                placeholder=move || t_string!(i18n, messenger.composer_placeholder).to_string()
                aria-label=move || t_string!(i18n, messenger.composer_label).to_string()
                data-testid="composer"
                prop:value=draft
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    // My peer sees that I am typing (nobody is told in Saved Messages).
                    let with_peer = store
                        .chats
                        .with_untracked(|chats| chats.iter().any(|c| c.id == chat_id && !c.is_saved_messages));
                    if with_peer && !value.is_empty() {
                        live.typing(chat_id);
                    }
                    store.drafts.update(|d| {
                        d.insert(chat_id, value);
                    });
                }
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button type="submit" class="send" disabled=move || draft().trim().is_empty() || too_long()>
                {t!(i18n, messenger.send)}
            </button>
            <Show when=too_long>
                <p class="field-error composer-note" role="alert">
                    {t!(i18n, messenger.too_long, length = move || draft().trim().chars().count(), count = move || MESSAGE_MAX)}
                </p>
            </Show>
        </form>
    }
}
