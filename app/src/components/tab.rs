//! A tab of a tab list: selected when the shared signal holds its value.

use leptos::prelude::*;

/// One tab; clicking it selects `value`.
#[component]
pub fn Tab<T>(value: T, selected: RwSignal<T>, children: Children) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    let is_selected = move || selected.get() == value;
    view! {
        <button
            role="tab"
            class:active=is_selected
            aria-selected=move || is_selected().to_string()
            on:click=move |_| selected.set(value)
        >
            {children()}
        </button>
    }
}
