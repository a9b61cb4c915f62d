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
use crate::error::UiError;
use crate::i18n::{Locale, t, t_string, td_string, use_i18n};

/// "today at 14:05", "yesterday at 09:30" or "12 March 2026" (in `locale`'s words), in
/// the reader's time zone.
fn when(locale: Locale, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let day = day_key(at);
    if day == day_key(now) {
        td_string!(locale, settings.today_at, time = clock(at)).to_string()
    } else if day == day_key(now - Duration::days(1)) {
        td_string!(locale, settings.yesterday_at, time = clock(at)).to_string()
    } else {
        day_label(locale, at)
    }
}

/// When a device was last used, as people say it. The server knows it to within ten
/// minutes, so nothing finer is claimed.
fn last_active(locale: Locale, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ago = now - at;
    if ago < Duration::minutes(10) {
        td_string!(locale, settings.devices_active_recently).to_string()
    } else if ago < Duration::hours(1) {
        td_string!(locale, settings.devices_active_minutes, count = ago.num_minutes()).to_string()
    } else {
        td_string!(locale, settings.devices_active_at, when = when(locale, at, now)).to_string()
    }
}

/// "Signed out 1 other device." / "Signed out 3 other devices."
fn ended_note(locale: Locale, ended: u64) -> String {
    match ended {
        0 => td_string!(locale, settings.devices_none_ended).to_string(),
        n => td_string!(locale, settings.devices_ended, count = n).to_string(),
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
    let i18n = use_i18n();
    // The newest list the server gave (`None` until the first arrives).
    let sessions = RwSignal::new(None::<Vec<SessionInfo>>);
    let load_error = RwSignal::new(None::<UiError>);
    let loading = RwSignal::new(false);
    // Numbers the fetches: only the newest one's answer counts.
    let fetches = StoredValue::new(0_u64);
    let ending_others = RwSignal::new(false);
    // How many other devices the last "sign out all" ended.
    let others_note = RwSignal::new(None::<u64>);
    let others_error = RwSignal::new(None::<UiError>);
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
                    load_error.set(Some(e));
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
                    others_note.set(Some(ended));
                }
                Err(e) => others_error.set(Some(e)),
            }
            refocus();
        });
    };

    // The last load's error in the reader's words.
    let load_error_text = move || load_error.get().map(|e| e.text(i18n.get_locale())).unwrap_or_default();

    view! {
        <section class="settings-section" aria-labelledby="settings-devices" data-testid="sessions-settings">
            <h3 id="settings-devices" tabindex="-1" node_ref=heading>{t!(i18n, settings.devices_title)}</h3>
            <p class="settings-note">{t!(i18n, settings.devices_note)}</p>
            {move || match phase.get() {
                Phase::Loading => {
                    view! { <p class="settings-note" aria-live="polite">{t!(i18n, common.loading)}</p> }.into_any()
                }
                Phase::Failed => view! {
                    <p class="form-error" role="alert">
                        {t!(i18n, settings.devices_load_failed, error = load_error_text)}
                    </p>
                    <div class="settings-actions">
                        <button type="button" on:click=move |_| refresh() disabled=move || loading.get()>
                            {move || {
                                if loading.get() {
                                    t_string!(i18n, settings.devices_trying)
                                } else {
                                    t_string!(i18n, settings.try_again)
                                }
                            }}
                        </button>
                    </div>
                }
                .into_any(),
                Phase::Empty => view! { <p class="settings-note">{t!(i18n, settings.devices_empty)}</p> }.into_any(),
                Phase::Listed => view! {
                    <ul
                        class="device-list"
                        aria-label=move || t_string!(i18n, settings.devices_list_label)
                        node_ref=list
                    >
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
                            {move || {
                                if ending_others.get() {
                                    t_string!(i18n, settings.devices_signing_out)
                                } else {
                                    t_string!(i18n, settings.devices_sign_out_others)
                                }
                            }}
                        </button>
                    </div>
                    {move || {
                        (others.get() == 0 && others_note.with(Option::is_none))
                            .then(|| view! { <p class="settings-note">{t!(i18n, settings.devices_no_others)}</p> })
                    }}
                    {move || {
                        others_error.get().map(|e| view! {
                            <p class="form-error" role="alert">
                                {t!(i18n, settings.devices_not_signed_out, error = move || e.text(i18n.get_locale()))}
                            </p>
                        })
                    }}
                }
                .into_any(),
            }}
            <p class="settings-status" role="status">
                {move || others_note.get().map(|ended| ended_note(i18n.get_locale(), ended))}
            </p>
            // A later fetch that failed, while an earlier list is still shown.
            {move || {
                (sessions.with(Option::is_some) && load_error.with(Option::is_some)).then(|| view! {
                    <p class="form-error" role="alert">
                        {t!(i18n, settings.devices_refresh_failed, error = load_error_text)}
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
    let i18n = use_i18n();
    let SessionInfo { id, device, created_at, last_used_at, current } = session;
    let ending = RwSignal::new(false);
    let error = RwSignal::new(None::<UiError>);
    let name_id = format!("device-{id}");
    let now = Utc::now();
    let signed_in = move || {
        let locale = i18n.get_locale();
        td_string!(locale, settings.devices_signed_in_at, when = when(locale, created_at, now)).to_string()
    };
    let seen = move || {
        if current {
            t_string!(i18n, settings.devices_active_now).to_string()
        } else {
            last_active(i18n.get_locale(), last_used_at, now)
        }
    };

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
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <li class="device" class:current=current data-testid="device">
            <div class="device-text">
                <span class="device-name" id=name_id.clone()>
                    {device}
                    {current
                        .then(|| view! { <span class="device-badge">{t!(i18n, settings.devices_this_device)}</span> })}
                </span>
                <span class="device-times">
                    <time datetime=created_at.to_rfc3339()>{signed_in}</time>
                    " · "
                    <time datetime=last_used_at.to_rfc3339()>{seen}</time>
                </span>
                {move || {
                    error.get().map(|e| view! {
                        <span class="form-error" role="alert">
                            {t!(i18n, settings.devices_not_signed_out, error = move || e.text(i18n.get_locale()))}
                        </span>
                    })
                }}
            </div>
            {(!current).then(|| view! {
                <button
                    type="button"
                    class="device-end"
                    aria-describedby=name_id
                    on:click=end
                    disabled=move || ending.get()
                >
                    {move || {
                        if ending.get() {
                            t_string!(i18n, settings.devices_ending)
                        } else {
                            t_string!(i18n, settings.devices_end)
                        }
                    }}
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
        assert_eq!(last_active(Locale::en, now - Duration::minutes(3), now), "last active in the last 10 minutes");
        assert_eq!(last_active(Locale::en, now - Duration::minutes(25), now), "last active 25 minutes ago");
        let long_ago = Utc.with_ymd_and_hms(2020, 3, 12, 14, 5, 0).unwrap();
        assert_eq!(last_active(Locale::en, long_ago, now), "last active 12 March 2020");
        assert_eq!(when(Locale::en, now, now), format!("today at {}", clock(now)));
    }

    #[test]
    fn last_activity_reads_well_in_russian() {
        let now = Utc::now();
        assert_eq!(last_active(Locale::ru, now - Duration::minutes(25), now), "последняя активность 25 минут назад");
        assert_eq!(last_active(Locale::ru, now - Duration::minutes(21), now), "последняя активность 21 минуту назад");
        assert_eq!(last_active(Locale::ru, now - Duration::minutes(42), now), "последняя активность 42 минуты назад");
        let long_ago = Utc.with_ymd_and_hms(2020, 3, 12, 14, 5, 0).unwrap();
        assert_eq!(last_active(Locale::ru, long_ago, now), "последняя активность 12 марта 2020");
        assert_eq!(when(Locale::ru, now, now), format!("сегодня в {}", clock(now)));
    }

    #[test]
    fn this_device_comes_first_and_the_others_keep_their_order() {
        let sorted = this_device_first(vec![session(1, false), session(2, true), session(3, false)]);
        assert_eq!(sorted.iter().map(|s| s.id).collect::<Vec<_>>(), [2, 1, 3]);
    }

    #[test]
    fn the_count_of_signed_out_devices_reads_well() {
        assert_eq!(ended_note(Locale::en, 1), "Signed out 1 other device.");
        assert_eq!(ended_note(Locale::en, 2), "Signed out 2 other devices.");
        assert_eq!(ended_note(Locale::en, 0), "No other device was signed in.");
        assert_eq!(ended_note(Locale::ru, 1), "Выполнен выход на 1 другом устройстве.");
        assert_eq!(ended_note(Locale::ru, 3), "Выполнен выход на 3 других устройствах.");
        assert_eq!(ended_note(Locale::ru, 5), "Выполнен выход на 5 других устройствах.");
    }
}
