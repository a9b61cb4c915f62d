//! `/`: the signed-in main page.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::Session;

/// The main page: who is signed in, and the way out. Anonymous visitors go to `/login`.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    let logout = session.logout;

    view! {
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(Some(user)) => view! {
                        <header class="topbar">
                            <span class="brand">"Messenger"</span>
                            <span class="whoami" data-testid="whoami">{user.name}</span>
                            <ActionForm action=logout attr:class="signout">
                                <button type="submit" disabled=logout.pending()>"Sign out"</button>
                            </ActionForm>
                        </header>
                        <main class="home">
                            <p class="empty">"Your chats will appear here."</p>
                        </main>
                    }.into_any(),
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
