//! Everyone registered: paginated, sortable, searchable; oneself first as Saved Messages.

use domain::model::{UserPage, UserSort};
use leptos::prelude::*;

use crate::api::messenger::directory;
use crate::components::chat_list::{initial, online_dot};
use crate::store::Store;

const PER_PAGE: u64 = 20;

/// The directory; choosing someone opens the chat with them.
#[component]
pub fn Directory(on_pick: Callback<i64>) -> impl IntoView {
    let store = expect_context::<Store>();
    let query = RwSignal::new(String::new());
    let sort = RwSignal::new(UserSort::NameAsc);
    let page = RwSignal::new(1u64);
    let users = Resource::new(
        move || (query.get(), sort.get(), page.get(), store.directory_version.get()),
        |(q, sort, page, _)| directory(page, PER_PAGE, sort, q),
    );
    let me = store.me.get_value();
    let my_id = me.id;

    view! {
        <div class="directory">
            <div class="directory-tools">
                <input
                    type="search"
                    placeholder="Search by name"
                    aria-label="Search people"
                    prop:value=query
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        page.set(1);
                    }
                />
                <select
                    aria-label="Sort people"
                    on:change=move |ev| {
                        sort.set(UserSort::parse(&event_target_value(&ev)).unwrap_or_default());
                        page.set(1);
                    }
                >
                    <option value="name">"Name A–Z"</option>
                    <option value="-name">"Name Z–A"</option>
                    <option value="-created">"Newest"</option>
                    <option value="created">"Oldest"</option>
                </select>
            </div>
            <ul class="user-list" aria-label="People">
                <li>
                    <button class="user-item" data-testid="saved-messages" on:click=move |_| on_pick.run(my_id)>
                        <span class="avatar saved" aria-hidden="true">"★"</span>
                        <span class="chat-text">
                            <span class="chat-title">"Saved Messages"</span>
                            <span class="chat-preview">"Notes to yourself"</span>
                        </span>
                    </button>
                </li>
                <Transition fallback=|| view! { <li class="loading">"Loading people…"</li> }>
                    {move || Suspend::new(async move {
                        match users.await {
                            Ok(UserPage { users, total, .. }) => {
                                // Who is online as of this page; `presence` frames update it.
                                store.note_presence(&users);
                                let others: Vec<_> = users.into_iter().filter(|u| u.id != my_id).collect();
                                let pages = total.div_ceil(PER_PAGE).max(1);
                                let empty = others.is_empty();
                                view! {
                                    {others.into_iter().map(|user| {
                                        let id = user.id;
                                        let name = user.name.clone();
                                        let online = move || store.seen(&user).online;
                                        view! {
                                            <li>
                                                <button class="user-item" data-testid="user-item" on:click=move |_| on_pick.run(id)>
                                                    <span class="avatar">
                                                        <span aria-hidden="true">{initial(&name)}</span>
                                                        {online_dot(online)}
                                                    </span>
                                                    <span class="chat-text">
                                                        <span class="chat-title">{name.clone()}</span>
                                                    </span>
                                                </button>
                                            </li>
                                        }
                                    }).collect_view()}
                                    {empty.then(|| view! { <li class="empty">"Nobody matches."</li> })}
                                    <li class="pager">
                                        <button disabled=move || { page.get() <= 1 } on:click=move |_| page.update(|p| *p -= 1)>
                                            "‹ Previous"
                                        </button>
                                        <span>{move || format!("Page {} of {pages}", page.get())}</span>
                                        <button disabled=move || { page.get() >= pages } on:click=move |_| page.update(|p| *p += 1)>
                                            "Next ›"
                                        </button>
                                    </li>
                                }.into_any()
                            }
                            Err(e) => view! { <li class="form-error" role="alert">{e.to_string()}</li> }.into_any(),
                        }
                    })}
                </Transition>
            </ul>
        </div>
    }
}
