//! `/`: the messenger. Directory and chats on the left, the open chat on the right (one
//! pane at a time on a phone). Anonymous visitors go to `/login`.

use domain::model::User;
use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::Session;
use crate::api::auth::logout;
use crate::api::messenger::{my_chats, open_chat};
use crate::components::chat_list::ChatList;
use crate::components::chat_view::ChatView;
use crate::components::connection_badge::ConnectionBadge;
use crate::components::directory::Directory;
use crate::components::tab::Tab;
use crate::live::Live;
use crate::store::Store;

/// The main page.
#[component]
pub fn MessengerPage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(Some(user)) => view! { <Messenger user /> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
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

#[component]
fn Messenger(user: User) -> impl IntoView {
    let store = Store::new(user.clone());
    let live = Live::new();
    provide_context(store);
    provide_context(live);
    let tab = RwSignal::new(List::Chats);
    let open_error = RwSignal::new(None::<String>);

    let chats = Resource::new(|| (), |_| my_chats());
    Effect::new(move |_| {
        if let Some(Ok(list)) = chats.get() {
            store.chats.set(list);
        }
    });
    #[cfg(feature = "hydrate")]
    crate::live::connect(store, live);

    let open = Callback::new(move |chat_id: i64| {
        store.active.set(Some(chat_id));
        tab.set(List::Chats);
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
                Err(e) => open_error.set(Some(e.to_string())),
            }
        });
    });
    let back = Callback::new(move |()| store.active.set(None));
    let total_unread = move || store.chats.with(|c| c.iter().map(|c| c.unread).sum::<u64>());

    view! {
        <div class="messenger" class:chat-open=move || store.active.get().is_some()>
            <aside class="sidebar">
                <header class="topbar">
                    <span class="brand">"Messenger"</span>
                    <ConnectionBadge />
                    <span class="whoami" data-testid="whoami">{user.name.clone()}</span>
                    <SignOut />
                </header>
                <nav class="tabs" role="tablist" aria-label="Lists">
                    <Tab value=List::Chats selected=tab>
                        "Chats"
                        {move || (total_unread() > 0).then(|| view! { <span class="badge">{total_unread()}</span> })}
                    </Tab>
                    <Tab value=List::People selected=tab>"People"</Tab>
                </nav>
                <Show when=move || open_error.get().is_some()>
                    <p class="form-error" role="alert">{move || open_error.get()}</p>
                </Show>
                <Show when=move || tab.get() == List::Chats fallback=move || view! { <Directory on_pick=pick /> }>
                    <Transition fallback=|| view! { <p class="loading">"Loading chats…"</p> }>
                        {move || chats.get().map(|result| match result {
                            Ok(_) => view! { <ChatList on_open=open /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })}
                    </Transition>
                </Show>
            </aside>
            {move || match store.active.get() {
                Some(chat_id) => view! { <ChatView chat_id on_back=back /> }.into_any(),
                None => view! {
                    <section class="conversation placeholder">
                        <p class="empty">"Choose a chat, or find someone under People."</p>
                    </section>
                }.into_any(),
            }}
        </div>
    }
}

/// Signs out, then starts from a fresh page: the live connection and everything the page
/// held about the account go away with it.
#[component]
fn SignOut() -> impl IntoView {
    let pending = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    let sign_out = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        leptos::task::spawn_local(async move {
            match logout().await {
                Ok(()) => {
                    let _ = window().location().assign("/login");
                }
                Err(e) => {
                    pending.set(false);
                    failed.set(Some(e.to_string()));
                }
            }
        });
    };
    view! {
        <form class="signout" method="post" action="/_fn/logout" on:submit=sign_out>
            <button type="submit" disabled=pending title=move || failed.get().unwrap_or_default()>
                {move || if pending.get() { "Signing out…" } else { "Sign out" }}
            </button>
        </form>
        <Show when=move || failed.get().is_some()>
            <span class="form-error" role="alert">{move || failed.get()}</span>
        </Show>
    }
}
