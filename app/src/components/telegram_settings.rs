//! The Telegram section of the settings: link my account to the bot (a one-time link and
//! its QR code), see it become linked live, show or hide message text in notifications,
//! unlink.

use domain::ErrorKind;
use domain::model::{TelegramLinkOffer, TelegramStatus};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::telegram::{telegram_link, telegram_previews, telegram_status, telegram_unlink};
use crate::components::time::clock;
use crate::error::UiError;
use crate::i18n::{Locale, t, t_string, td_string, use_i18n};
use crate::store::Store;

/// What the section shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// The status is on its way.
    Loading,
    /// The status could not be fetched (the reason is in `status_error`).
    Failed,
    /// The server has no bot token.
    NotConfigured,
    /// The server has a bot that has not reached Telegram yet.
    Unreachable,
    /// My account is not linked: offer a link.
    NotLinked,
    /// My account is linked, to the bot of this name when it is known.
    Linked(Option<String>),
}

impl Phase {
    /// The phase a status puts the section in.
    fn of(status: &TelegramStatus) -> Self {
        if !status.configured {
            Self::NotConfigured
        } else if status.linked {
            Self::Linked(status.bot_username.clone())
        } else if status.bot_username.is_none() {
            Self::Unreachable
        } else {
            Self::NotLinked
        }
    }
}

/// True when nothing on the page has the keyboard focus (a focused control that was
/// disabled while it saved loses it to the page's body).
fn focus_lost() -> bool {
    document().active_element().is_none_or(|el| el.tag_name().eq_ignore_ascii_case("body"))
}

/// The Telegram settings: loading, not set up on this server, bot out of reach, not
/// linked (with a link to press Start on), or linked (previews switch, Unlink). A
/// `telegram` frame on the live connection (linked from Telegram, unlinked by `/stop` or
/// in another tab) fetches the status again.
#[component]
pub fn TelegramSettings() -> impl IntoView {
    let i18n = use_i18n();
    let store = expect_context::<Store>();
    // The newest status the server gave (`None` until the first arrives).
    let status = RwSignal::new(None::<TelegramStatus>);
    let status_error = RwSignal::new(None::<UiError>);
    let checking = RwSignal::new(false);
    // Numbers the status fetches: only the newest one's answer counts.
    let fetches = StoredValue::new(0_u64);
    // What the checkbox shows: the saved value, or the one being saved.
    let previews = RwSignal::new(true);
    let saving = RwSignal::new(false);
    let previews_error = RwSignal::new(None::<UiError>);
    let offer = RwSignal::new(None::<TelegramLinkOffer>);
    let expired = RwSignal::new(false);
    let linking = RwSignal::new(false);
    let link_error = RwSignal::new(None::<UiError>);
    let unlinking = RwSignal::new(false);
    let unlink_error = RwSignal::new(None::<UiError>);
    let checkbox = NodeRef::<html::Input>::new();

    let apply = move |fresh: TelegramStatus| {
        if !saving.get_untracked() {
            previews.set(fresh.previews);
        }
        status.set(Some(fresh));
    };
    let refresh = move || {
        let Some(mine) = fetches.try_update_value(|n| {
            *n += 1;
            *n
        }) else {
            return;
        };
        checking.set(true);
        spawn_local(async move {
            let fetched = telegram_status().await;
            if fetches.try_get_value() != Some(mine) {
                return;
            }
            checking.try_set(false);
            match fetched {
                Ok(fresh) => {
                    status_error.set(None);
                    apply(fresh);
                }
                Err(e) => status_error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| refresh());
    // Linked or unlinked elsewhere: show it at once, then ask the server for the rest.
    Effect::new(move |first: Option<()>| {
        let linked = store.telegram_linked.get();
        if first.is_none() {
            return;
        }
        if let Some(linked) = linked {
            status.update(|s| {
                if let Some(s) = s {
                    s.linked = linked;
                }
            });
        }
        refresh();
    });

    let phase = Memo::new(move |_| match status.get() {
        Some(s) => Phase::of(&s),
        None if status_error.with(Option::is_some) => Phase::Failed,
        None => Phase::Loading,
    });
    // A link offered before is done with once the account is linked.
    Effect::new(move |_| {
        if matches!(phase.get(), Phase::Linked(_)) {
            offer.set(None);
            link_error.set(None);
        } else {
            previews_error.set(None);
            unlink_error.set(None);
        }
    });

    let get_link = move |_| {
        linking.set(true);
        link_error.set(None);
        spawn_local(async move {
            match telegram_link().await {
                Ok(fresh) => {
                    // Say when it has run out, unless another link replaced it meanwhile.
                    let url = fresh.url.clone();
                    let left = (fresh.expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
                    set_timeout(
                        move || {
                            let current = offer.try_with_untracked(|o| o.as_ref().is_some_and(|o| o.url == url));
                            if current == Some(true) {
                                expired.try_set(true);
                            }
                        },
                        left,
                    );
                    expired.set(false);
                    offer.set(Some(fresh));
                }
                Err(e) => {
                    // The bot went away or is not up yet: the status says which.
                    let gone = matches!(e.0.code.as_str(), "telegram_not_configured" | "telegram_unavailable");
                    link_error.set(Some(e));
                    if gone {
                        refresh();
                    }
                }
            }
            linking.try_set(false);
        });
    };

    let save_previews = move |ev: leptos::ev::Event| {
        let wanted = event_target_checked(&ev);
        let had_focus =
            checkbox.get_untracked().is_some_and(|el| document().active_element().is_some_and(|active| active == **el));
        previews.set(wanted);
        saving.set(true);
        previews_error.set(None);
        spawn_local(async move {
            let saved = telegram_previews(wanted).await;
            // (`try_set` gives the value back when the section is gone.)
            if saving.try_set(false).is_some() {
                return;
            }
            match saved {
                Ok(fresh) => apply(fresh),
                Err(e) => {
                    previews.set(!wanted);
                    // Unlinked meanwhile (from Telegram or another tab).
                    let unlinked = e.0.kind == ErrorKind::NotFound;
                    previews_error.set(Some(e));
                    if unlinked {
                        refresh();
                    }
                }
            }
            if had_focus {
                request_animation_frame(move || {
                    if focus_lost()
                        && let Some(el) = checkbox.get_untracked()
                    {
                        let _ = el.focus();
                    }
                });
            }
        });
    };

    let unlink = move |_| {
        unlinking.set(true);
        unlink_error.set(None);
        spawn_local(async move {
            match telegram_unlink().await {
                Ok(()) => {
                    status.update(|s| {
                        if let Some(s) = s {
                            s.linked = false;
                        }
                    });
                    refresh();
                }
                Err(e) => unlink_error.set(Some(e)),
            }
            unlinking.try_set(false);
        });
    };

    // An error, in the reader's words as `say` puts it.
    let alert = move |error: RwSignal<Option<UiError>>, say: fn(Locale, &UiError) -> String| {
        move || {
            error.get().map(|e| view! { <p class="form-error" role="alert">{move || say(i18n.get_locale(), &e)}</p> })
        }
    };
    let check_again = move |label: fn(Locale) -> String| {
        view! {
            <button type="button" on:click=move |_| refresh() disabled=move || checking.get()>
                {move || {
                    if checking.get() {
                        t_string!(i18n, settings.telegram_checking).to_string()
                    } else {
                        label(i18n.get_locale())
                    }
                }}
            </button>
        }
    };
    // The last status fetch's error in the reader's words.
    let status_error_text = move || status_error.get().map(|e| e.text(i18n.get_locale())).unwrap_or_default();

    view! {
        <section class="settings-section" aria-labelledby="settings-telegram" data-testid="telegram-settings">
            <h3 id="settings-telegram">{t!(i18n, settings.telegram_title)}</h3>
            {move || match phase.get() {
                Phase::Loading => {
                    view! { <p class="settings-note" aria-live="polite">{t!(i18n, common.loading)}</p> }.into_any()
                }
                Phase::Failed => view! {
                    <p class="form-error" role="alert">
                        {t!(i18n, settings.telegram_load_failed, error = status_error_text)}
                    </p>
                    {check_again(|locale| td_string!(locale, settings.try_again).to_string())}
                }
                .into_any(),
                Phase::NotConfigured => view! {
                    <p>{t!(i18n, settings.telegram_not_configured)}</p>
                    <p class="settings-note">
                        {t!(
                            i18n,
                            settings.telegram_not_configured_note,
                            token = || view! { <code>"TELEGRAM_BOT_TOKEN"</code> }
                        )}
                    </p>
                }
                .into_any(),
                Phase::Unreachable => view! {
                    <p>{t!(i18n, settings.telegram_unreachable)}</p>
                    {check_again(|locale| td_string!(locale, settings.telegram_check_again).to_string())}
                }
                .into_any(),
                Phase::NotLinked => view! {
                    <p>{t!(i18n, settings.telegram_pitch)}</p>
                    <div class="settings-actions">
                        <button type="button" class="accent" on:click=get_link disabled=move || linking.get()>
                            {move || match (linking.get(), offer.with(Option::is_some)) {
                                (true, _) => t_string!(i18n, settings.telegram_getting_link),
                                (false, true) => t_string!(i18n, settings.telegram_new_link),
                                (false, false) => t_string!(i18n, settings.telegram_link),
                            }}
                        </button>
                    </div>
                    {alert(link_error, |locale, e| e.text(locale))}
                    {move || offer.get().map(|offer| view! { <LinkOffer offer expired /> })}
                }
                .into_any(),
                Phase::Linked(bot) => view! {
                    <p class="telegram-linked" data-testid="telegram-linked">
                        {match bot {
                            Some(bot) => t!(i18n, settings.telegram_linked_bot, bot = move || bot.clone()).into_any(),
                            None => t!(i18n, settings.telegram_linked).into_any(),
                        }}
                    </p>
                    <div class="check">
                        <label>
                            <input
                                type="checkbox"
                                node_ref=checkbox
                                prop:checked=move || previews.get()
                                disabled=move || saving.get()
                                aria-describedby="telegram-previews-note"
                                on:change=save_previews
                            />
                            {t!(i18n, settings.telegram_previews)}
                        </label>
                        <span class="settings-note" aria-live="polite">
                            {move || saving.get().then(|| t_string!(i18n, settings.telegram_saving))}
                        </span>
                    </div>
                    <p class="settings-note" id="telegram-previews-note">{t!(i18n, settings.telegram_previews_note)}</p>
                    {alert(previews_error, |locale, e| {
                        td_string!(locale, settings.telegram_not_saved, error = e.text(locale)).to_string()
                    })}
                    <div class="settings-actions">
                        <button type="button" on:click=unlink disabled=move || unlinking.get()>
                            {move || {
                                if unlinking.get() {
                                    t_string!(i18n, settings.telegram_unlinking)
                                } else {
                                    t_string!(i18n, settings.telegram_unlink)
                                }
                            }}
                        </button>
                    </div>
                    {alert(unlink_error, |locale, e| {
                        td_string!(locale, settings.telegram_not_unlinked, error = e.text(locale)).to_string()
                    })}
                }
                .into_any(),
            }}
            // A later fetch that failed, while an earlier status is still shown.
            {move || {
                (status.with(Option::is_some) && status_error.with(Option::is_some)).then(|| view! {
                    <p class="form-error" role="alert">
                        {t!(i18n, settings.telegram_check_failed, error = status_error_text)}
                    </p>
                })
            }}
        </section>
    }
}

/// A one-time link to the bot: as a link, as a QR code, until when it works, and that the
/// page waits for Start to be pressed (it changes by itself once it is).
#[component]
fn LinkOffer(offer: TelegramLinkOffer, expired: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let TelegramLinkOffer { url, expires_at, qr_svg } = offer;
    let until = move || view! { <time datetime=expires_at.to_rfc3339()>{clock(expires_at)}</time> };
    view! {
        <div class="telegram-offer" data-testid="telegram-offer">
            // The server draws the SVG (a QR code of the link): no text of anyone's in it.
            <div
                class="telegram-qr"
                role="img"
                aria-label=move || t_string!(i18n, settings.telegram_qr_label)
                data-testid="telegram-qr"
                inner_html=qr_svg
            ></div>
            <div class="telegram-offer-text">
                <p>{t!(i18n, settings.telegram_open_link)}</p>
                <p class="telegram-url">
                    <a href=url.clone() target="_blank" rel="noopener" data-testid="telegram-link">{url.clone()}</a>
                </p>
                <p class="settings-note">{t!(i18n, settings.telegram_scan, time = until)}</p>
                <p class="telegram-waiting" role="status" data-testid="telegram-waiting">
                    {move || {
                        if expired.get() {
                            t_string!(i18n, settings.telegram_expired)
                        } else {
                            t_string!(i18n, settings.telegram_waiting)
                        }
                    }}
                </p>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(configured: bool, bot: Option<&str>, linked: bool) -> TelegramStatus {
        TelegramStatus { configured, bot_username: bot.map(str::to_owned), linked, previews: true }
    }

    #[test]
    fn each_status_has_its_phase() {
        assert_eq!(Phase::of(&status(false, None, false)), Phase::NotConfigured);
        // A token removed after linking: nothing will come, whatever the link says.
        assert_eq!(Phase::of(&status(false, None, true)), Phase::NotConfigured);
        assert_eq!(Phase::of(&status(true, None, false)), Phase::Unreachable);
        assert_eq!(Phase::of(&status(true, Some("bot"), false)), Phase::NotLinked);
        assert_eq!(Phase::of(&status(true, Some("bot"), true)), Phase::Linked(Some("bot".into())));
        // Linked while the bot has not reached Telegram yet: still linked, and unlinkable.
        assert_eq!(Phase::of(&status(true, None, true)), Phase::Linked(None));
    }
}
