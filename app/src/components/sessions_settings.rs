//! The Devices section of the settings: every browser and client signed in to my account,
//! this one marked, with a way to sign out any of the others, or all of them at once.

use chrono::{DateTime, Duration, Utc};
use domain::ErrorKind;
use domain::model::SessionInfo;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::account::{end_other_sessions, end_session, my_sessions};
use crate::components::password_settings::PASSWORD_CHANGED;
use crate::components::time::{clock, day_key, day_label};

/// "today at 14:05", "yesterday at 09:30" or "12 March 2026", in the reader's time zone.
fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let day = day_key(at);
    if day == day_key(now) {
        format!("today at {}", clock(at))
    } else if day == day_key(now - Duration::days(1)) {
        format!("yesterday at {}", clock(at))
    } else {
        day_label(at)
    }
}

/// When a device was last used, as people say it. The server knows it to within ten
/// minutes, so nothing finer is claimed.
fn last_active(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ago = now - at;
    if ago < Duration::minutes(10) {
        "last active in the last 10 minutes".to_owned()
    } else if ago < Duration::hours(1) {
        format!("last active {} minutes ago", ago.num_minutes())
    } else {
        format!("last active {}", when(at, now))
    }
}

/// "Signed out 1 other device." / "Signed out 3 other devices."
fn ended_note(ended: u64) -> String {
    match ended {
        0 => "No other device was signed in.".to_owned(),
        1 => "Signed out 1 other device.".to_owned(),
        n => format!("Signed out {n} other devices."),
    }
}

/// This device first, then the others as the server ordered them (most recently used first).
fn this_device_first(mut sessions: Vec<SessionInfo>) -> Vec<SessionInfo> {
    sessions.sort_by_key(|s| !s.current);
    sessions
}

/// What the section shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The first list is on its way.
    Loading,
    /// The first list could not be fetched (the reason is in `load_error`).
    Failed,
    /// The server listed no device at all.
    Empty,
    /// The list, with this device marked.
    Listed,
}

/// True when nothing on the page has the keyboard focus (a focused control that was
/// disabled or removed loses it to the page's body).
fn focus_lost() -> bool {
    document().active_element().is_none_or(|el| el.tag_name().eq_ignore_ascii_case("body"))
}

/// My devices: loading, failed (with Try again), or the list with "This device" marked,
/// an End button on each other one, and "Sign out all other devices". The list is fetched
/// in the browser (times are shown in its time zone), and again after a password change
/// on this page signed the other devices out.
#[component]
pub fn SessionsSettings() -> impl IntoView {
    // The newest list the server gave (`None` until the first arrives).
    let sessions = RwSignal::new(None::<Vec<SessionInfo>>);
    let load_error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    // Numbers the fetches: only the newest one's answer counts.
    let fetches = StoredValue::new(0_u64);
    let ending_others = RwSignal::new(false);
    let others_note = RwSignal::new(None::<String>);
    let others_error = RwSignal::new(None::<String>);
    let heading = NodeRef::<html::H3>::new();
    let list = NodeRef::<html::Ul>::new();

    let refresh = move || {
        let Some(mine) = fetches.try_update_value(|n| {
            *n += 1;
            *n
        }) else {
            return;
        };
        loading.set(true);
        spawn_local(async move {
            let fetched = my_sessions().await;
            if fetches.try_get_value() != Some(mine) {
                return;
            }
            loading.try_set(false);
            match fetched {
                Ok(fresh) => {
                    load_error.set(None);
                    sessions.set(Some(this_device_first(fresh)));
                }
                Err(e) => {
                    load_error.set(Some(e.to_string()));
                }
            }
        });
    };
    Effect::new(move |_| refresh());
    // A password changed on this page signed the other devices out.
    let listener = window_event_listener_untyped(PASSWORD_CHANGED, move |_| refresh());
    on_cleanup(move || listener.remove());

    // Keeps the keyboard where it was useful: on the next End button, else the heading.
    let refocus = move || {
        request_animation_frame(move || {
            if !focus_lost() {
                return;
            }
            let next = list.get_untracked().and_then(|ul| ul.query_selector("button.device-end").ok().flatten());
            match next {
                Some(button) => {
                    use leptos::wasm_bindgen::JsCast;
                    let _ = button.unchecked_into::<leptos::web_sys::HtmlElement>().focus();
                }
                None => {
                    if let Some(h) = heading.get_untracked() {
                        let _ = h.focus();
                    }
                }
            }
        });
    };
    let on_ended = Callback::new(move |id: i64| {
        sessions.update(|list| {
            if let Some(list) = list {
                list.retain(|s| s.id != id);
            }
        });
        others_note.set(None);
        refocus();
    });
    let phase = Memo::new(move |_| {
        match (sessions.with(|s| s.as_ref().map(Vec::is_empty)), load_error.with(Option::is_some)) {
            (None, false) => Phase::Loading,
            (None, true) => Phase::Failed,
            (Some(true), _) => Phase::Empty,
            (Some(false), _) => Phase::Listed,
        }
    });
    let others =
        Memo::new(move |_| sessions.with(|s| s.as_ref().map_or(0, |s| s.iter().filter(|s| !s.current).count())));

    let end_others = move |_| {
        ending_others.set(true);
        others_note.set(None);
        others_error.set(None);
        spawn_local(async move {
            let ended = end_other_sessions().await;
            // (`try_set` gives the value back when the section is gone.)
            if ending_others.try_set(false).is_some() {
                return;
            }
            match ended {
                Ok(ended) => {
                    sessions.update(|list| {
                        if let Some(list) = list {
                            list.retain(|s| s.current);
                        }
                    });
                    others_note.set(Some(ended_note(ended)));
                }
                Err(e) => others_error.set(Some(format!("Not signed out: {e}"))),
            }
            refocus();
        });
    };

    view! {
        <section class="settings-section" aria-labelledby="settings-devices" data-testid="sessions-settings">
            <h3 id="settings-devices" tabindex="-1" node_ref=heading>"Devices"</h3>
            <p class="settings-note">"The browsers and apps signed in to your account."</p>
            {move || match phase.get() {
                Phase::Loading => view! { <p class="settings-note" aria-live="polite">"Loading…"</p> }.into_any(),
                Phase::Failed => view! {
                    <p class="form-error" role="alert">
                        {move || format!("Could not load your devices: {}", load_error.get().unwrap_or_default())}
                    </p>
                    <div class="settings-actions">
                        <button type="button" on:click=move |_| refresh() disabled=move || loading.get()>
                            {move || if loading.get() { "Trying…" } else { "Try again" }}
                        </button>
                    </div>
                }
                .into_any(),
                Phase::Empty => view! { <p class="settings-note">"No device is signed in."</p> }.into_any(),
                Phase::Listed => view! {
                    <ul class="device-list" aria-label="Signed-in devices" node_ref=list>
                        <For
                            each=move || sessions.get().unwrap_or_default()
                            key=|s| s.id
                            children=move |session| view! { <DeviceRow session on_ended /> }
                        />
                    </ul>
                    <div class="settings-actions">
                        <button
                            type="button"
                            on:click=end_others
                            disabled=move || ending_others.get() || others.get() == 0
                        >
                            {move || if ending_others.get() { "Signing out…" } else { "Sign out all other devices" }}
                        </button>
                    </div>
                    {move || {
                        (others.get() == 0 && others_note.with(Option::is_none))
                            .then(|| view! { <p class="settings-note">"No other device is signed in."</p> })
                    }}
                    {move || others_error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                }
                .into_any(),
            }}
            <p class="settings-status" role="status">{move || others_note.get()}</p>
            // A later fetch that failed, while an earlier list is still shown.
            {move || {
                (sessions.with(Option::is_some) && load_error.with(Option::is_some)).then(|| view! {
                    <p class="form-error" role="alert">
                        {move || format!("Could not refresh your devices: {}", load_error.get().unwrap_or_default())}
                    </p>
                })
            }}
        </section>
    }
}

/// One device: its name, when it signed in and was last active, and either the "This
/// device" badge or an End button (pending while it works; a failure is said next to it).
#[component]
fn DeviceRow(session: SessionInfo, on_ended: Callback<i64>) -> impl IntoView {
    let SessionInfo { id, device, created_at, last_used_at, current } = session;
    let ending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let name_id = format!("device-{id}");
    let now = Utc::now();
    let seen = if current { "active now".to_owned() } else { last_active(last_used_at, now) };

    let end = move |_| {
        ending.set(true);
        error.set(None);
        spawn_local(async move {
            let ended = end_session(id).await;
            // (`try_set` gives the value back when the section is gone.)
            if ending.try_set(false).is_some() {
                return;
            }
            match ended {
                // Gone already (signed out there, or by a password change): gone either way.
                Ok(()) => on_ended.run(id),
                Err(e) if e.0.kind == ErrorKind::NotFound => on_ended.run(id),
                Err(e) => error.set(Some(format!("Not signed out: {e}"))),
            }
        });
    };

    view! {
        <li class="device" class:current=current data-testid="device">
            <div class="device-text">
                <span class="device-name" id=name_id.clone()>
                    {device}
                    {current.then(|| view! { <span class="device-badge">"This device"</span> })}
                </span>
                <span class="device-times">
                    <time datetime=created_at.to_rfc3339()>{format!("signed in {}", when(created_at, now))}</time>
                    " · "
                    <time datetime=last_used_at.to_rfc3339()>{seen}</time>
                </span>
                {move || error.get().map(|e| view! { <span class="form-error" role="alert">{e}</span> })}
            </div>
            {(!current).then(|| view! {
                <button
                    type="button"
                    class="device-end"
                    aria-describedby=name_id
                    on:click=end
                    disabled=move || ending.get()
                >
                    {move || if ending.get() { "Ending…" } else { "End" }}
                </button>
            })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn session(id: i64, current: bool) -> SessionInfo {
        let at = Utc.with_ymd_and_hms(2026, 3, 12, 14, 5, 0).unwrap();
        SessionInfo { id, device: "Firefox on Linux".into(), created_at: at, last_used_at: at, current }
    }

    #[test]
    fn last_activity_claims_no_more_than_the_server_knows() {
        let now = Utc::now();
        assert_eq!(last_active(now - Duration::minutes(3), now), "last active in the last 10 minutes");
        assert_eq!(last_active(now - Duration::minutes(25), now), "last active 25 minutes ago");
        let long_ago = Utc.with_ymd_and_hms(2020, 3, 12, 14, 5, 0).unwrap();
        assert_eq!(last_active(long_ago, now), "last active 12 March 2020");
        assert_eq!(when(now, now), format!("today at {}", clock(now)));
    }

    #[test]
    fn this_device_comes_first_and_the_others_keep_their_order() {
        let sorted = this_device_first(vec![session(1, false), session(2, true), session(3, false)]);
        assert_eq!(sorted.iter().map(|s| s.id).collect::<Vec<_>>(), [2, 1, 3]);
    }

    #[test]
    fn the_count_of_signed_out_devices_reads_well() {
        assert_eq!(ended_note(1), "Signed out 1 other device.");
        assert_eq!(ended_note(2), "Signed out 2 other devices.");
        assert_eq!(ended_note(0), "No other device was signed in.");
    }
}
