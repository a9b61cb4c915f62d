//! Everyone registered: paginated, sortable, searchable; oneself first as Saved Messages.

use domain::model::{UserPage, UserSort};
use leptos::prelude::*;

use crate::api::messenger::directory;
use crate::components::chat_list::{initial, online_dot};
use crate::i18n::{t, t_string, use_i18n};
use crate::store::Store;

const PER_PAGE: u64 = 20;

/// The directory; choosing someone opens the chat with them.
#[component]
pub fn Directory(on_pick: Callback<i64>) -> impl IntoView {
    let i18n = use_i18n();
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
                    placeholder=move || t_string!(i18n, messenger.search_placeholder).to_string()
                    aria-label=move || t_string!(i18n, messenger.search_people).to_string()
                    prop:value=query
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        page.set(1);
                    }
                />
                <select
                    aria-label=move || t_string!(i18n, messenger.sort_people).to_string()
                    on:change=move |ev| {
                        sort.set(UserSort::parse(&event_target_value(&ev)).unwrap_or_default());
                        page.set(1);
                    }
                >
                    <option value="name">{t!(i18n, messenger.sort_name_asc)}</option>
                    <option value="-name">{t!(i18n, messenger.sort_name_desc)}</option>
                    <option value="-created">{t!(i18n, messenger.sort_newest)}</option>
                    <option value="created">{t!(i18n, messenger.sort_oldest)}</option>
                </select>
            </div>
            <ul class="user-list" aria-label=move || t_string!(i18n, messenger.people).to_string()>
                <li>
                    <button class="user-item" data-testid="saved-messages" on:click=move |_| on_pick.run(my_id)>
                        <span class="avatar saved" aria-hidden="true">"★"</span>
                        <span class="chat-text">
                            <span class="chat-title">{t!(i18n, messenger.saved_messages)}</span>
                            <span class="chat-preview">{t!(i18n, messenger.notes_to_yourself)}</span>
                        </span>
                    </button>
                </li>
                <Transition fallback=move || view! { <li class="loading">{t!(i18n, messenger.loading_people)}</li> }>
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
                                                        {online_dot(i18n, online)}
                                                    </span>
                                                    <span class="chat-text">
                                                        <span class="chat-title">{name.clone()}</span>
                                                    </span>
                                                </button>
                                            </li>
                                        }
                                    }).collect_view()}
                                    {empty.then(|| view! { <li class="empty">{t!(i18n, messenger.nobody_matches)}</li> })}
                                    <li class="pager">
                                        <button disabled=move || { page.get() <= 1 } on:click=move |_| page.update(|p| *p -= 1)>
                                            {t!(i18n, messenger.previous_page)}
                                        </button>
                                        <span>{t!(i18n, messenger.page_of, page = move || page.get(), pages = move || pages)}</span>
                                        <button disabled=move || { page.get() >= pages } on:click=move |_| page.update(|p| *p += 1)>
                                            {t!(i18n, messenger.next_page)}
                                        </button>
                                    </li>
                                }.into_any()
                            }
                            Err(e) => view! {
                                <li class="form-error" role="alert">{move || e.text(i18n.get_locale())}</li>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </ul>
        </div>
    }
}
