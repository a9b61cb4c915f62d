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
    let store = expect_context::<Store>();
    // The newest status the server gave (`None` until the first arrives).
    let status = RwSignal::new(None::<TelegramStatus>);
    let status_error = RwSignal::new(None::<String>);
    let checking = RwSignal::new(false);
    // Numbers the status fetches: only the newest one's answer counts.
    let fetches = StoredValue::new(0_u64);
    // What the checkbox shows: the saved value, or the one being saved.
    let previews = RwSignal::new(true);
    let saving = RwSignal::new(false);
    let previews_error = RwSignal::new(None::<String>);
    let offer = RwSignal::new(None::<TelegramLinkOffer>);
    let expired = RwSignal::new(false);
    let linking = RwSignal::new(false);
    let link_error = RwSignal::new(None::<String>);
    let unlinking = RwSignal::new(false);
    let unlink_error = RwSignal::new(None::<String>);
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
                Err(e) => status_error.set(Some(e.to_string())),
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
                    link_error.set(Some(e.to_string()));
                    // The bot went away or is not up yet: the status says which.
                    if matches!(e.0.code.as_str(), "telegram_not_configured" | "telegram_unavailable") {
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
                    previews_error.set(Some(format!("Not saved: {e}")));
                    // Unlinked meanwhile (from Telegram or another tab).
                    if e.0.kind == ErrorKind::NotFound {
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
                Err(e) => unlink_error.set(Some(format!("Not unlinked: {e}"))),
            }
            unlinking.try_set(false);
        });
    };

    let alert = move |error: RwSignal<Option<String>>| {
        move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })
    };
    let check_again = move |label: &'static str| {
        view! {
            <button type="button" on:click=move |_| refresh() disabled=move || checking.get()>
                {move || if checking.get() { "Checking…" } else { label }}
            </button>
        }
    };

    view! {
        <section class="settings-section" aria-labelledby="settings-telegram" data-testid="telegram-settings">
            <h3 id="settings-telegram">"Telegram"</h3>
            {move || match phase.get() {
                Phase::Loading => view! { <p class="settings-note" aria-live="polite">"Loading…"</p> }.into_any(),
                Phase::Failed => view! {
                    <p class="form-error" role="alert">
                        {move || format!("Could not load the Telegram settings: {}", status_error.get().unwrap_or_default())}
                    </p>
                    {check_again("Try again")}
                }
                .into_any(),
                Phase::NotConfigured => view! {
                    <p>"Telegram notifications are not set up on this server."</p>
                    <p class="settings-note">
                        "An administrator turns them on by setting " <code>"TELEGRAM_BOT_TOKEN"</code> " on the server."
                    </p>
                }
                .into_any(),
                Phase::Unreachable => view! {
                    <p>"The bot cannot reach Telegram right now; try again in a minute."</p>
                    {check_again("Check again")}
                }
                .into_any(),
                Phase::NotLinked => view! {
                    <p>
                        "Get told in Telegram about messages that arrive while you are offline, "
                        "and answer them by replying to the notification."
                    </p>
                    <div class="settings-actions">
                        <button type="button" class="accent" on:click=get_link disabled=move || linking.get()>
                            {move || match (linking.get(), offer.with(Option::is_some)) {
                                (true, _) => "Getting a link…",
                                (false, true) => "Get a new link",
                                (false, false) => "Link Telegram",
                            }}
                        </button>
                    </div>
                    {alert(link_error)}
                    {move || offer.get().map(|offer| view! { <LinkOffer offer expired /> })}
                }
                .into_any(),
                Phase::Linked(bot) => view! {
                    <p class="telegram-linked" data-testid="telegram-linked">
                        {match bot {
                            Some(bot) => format!("Linked to Telegram (@{bot})"),
                            None => "Linked to Telegram".to_owned(),
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
                            "Show message text in notifications"
                        </label>
                        <span class="settings-note" aria-live="polite">{move || saving.get().then_some("Saving…")}</span>
                    </div>
                    <p class="settings-note" id="telegram-previews-note">
                        "When it is off, a notification only says who wrote and how many messages."
                    </p>
                    {alert(previews_error)}
                    <div class="settings-actions">
                        <button type="button" on:click=unlink disabled=move || unlinking.get()>
                            {move || if unlinking.get() { "Unlinking…" } else { "Unlink" }}
                        </button>
                    </div>
                    {alert(unlink_error)}
                }
                .into_any(),
            }}
            // A later fetch that failed, while an earlier status is still shown.
            {move || {
                (status.with(Option::is_some) && status_error.with(Option::is_some)).then(|| view! {
                    <p class="form-error" role="alert">
                        {move || format!("Could not check the link: {}", status_error.get().unwrap_or_default())}
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
    let TelegramLinkOffer { url, expires_at, qr_svg } = offer;
    view! {
        <div class="telegram-offer" data-testid="telegram-offer">
            // The server draws the SVG (a QR code of the link): no text of anyone's in it.
            <div
                class="telegram-qr"
                role="img"
                aria-label="QR code of the link, for your phone's camera"
                data-testid="telegram-qr"
                inner_html=qr_svg
            ></div>
            <div class="telegram-offer-text">
                <p>"Open this link in Telegram and press Start:"</p>
                <p class="telegram-url">
                    <a href=url.clone() target="_blank" rel="noopener" data-testid="telegram-link">{url.clone()}</a>
                </p>
                <p class="settings-note">
                    "Or scan the QR code with your phone. The link works once, valid until "
                    <time datetime=expires_at.to_rfc3339()>{clock(expires_at)}</time> "."
                </p>
                <p class="telegram-waiting" role="status" data-testid="telegram-waiting">
                    {move || if expired.get() {
                        "This link has expired; get a new one."
                    } else {
                        "Waiting for you to press Start in Telegram…"
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
