//! The Password section of the settings: change my password, given the current one. The
//! server signs my other devices out when it changes.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::account::change_password;
use crate::error::UiError;
use crate::i18n::{Locale, t, t_string, td_string, use_i18n};
use crate::store::Store;
use domain::input;

/// The window event sent once the password changed here (the Devices section listens:
/// the other devices are gone from the server's list).
pub const PASSWORD_CHANGED: &str = "messenger:password-changed";

/// A problem the form shows, put in words when it is shown (in the language of the moment).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    /// The new password was typed differently the second time.
    Repeat,
    /// The server's problem with one field of this form.
    Field(UiError, &'static str),
    /// The server's error about the whole form.
    Form(UiError),
    /// The server's problems with fields this form does not have: all of them.
    OtherFields(UiError),
}

impl Problem {
    /// The problem in `locale`'s words.
    fn text(&self, locale: Locale) -> String {
        match self {
            Self::Repeat => td_string!(locale, settings.password_differ).to_string(),
            Self::Field(e, name) => e.field_text(locale, name).unwrap_or_else(|| e.text(locale)),
            Self::Form(e) => e.text(locale),
            Self::OtherFields(e) => {
                e.0.fields.keys().filter_map(|name| e.field_text(locale, name)).collect::<Vec<_>>().join("; ")
            }
        }
    }
}

/// What the browser checks before asking the server: the new password typed twice alike.
fn repeat_problem(new: &str, repeat: &str) -> Option<Problem> {
    (new != repeat).then_some(Problem::Repeat)
}

/// True when nothing on the page has the keyboard focus (a focused control that was
/// disabled while it worked loses it to the page's body).
fn focus_lost() -> bool {
    document().active_element().is_none_or(|el| el.tag_name().eq_ignore_ascii_case("body"))
}

/// The form: current password, new password (with the rules as a hint), the new one again
/// (compared in the browser), and Change password. The server's complaints show under the
/// field they concern, the rest under the form; on success the form empties and a polite
/// status says so.
#[component]
pub fn PasswordSettings() -> impl IntoView {
    let i18n = use_i18n();
    // Whose password it is, for password managers (they file the new one under it).
    let email = use_context::<Store>().map(|store| store.me.with_value(|me| me.email.clone()));
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let current_error = RwSignal::new(None::<Problem>);
    let new_error = RwSignal::new(None::<Problem>);
    let repeat_error = RwSignal::new(None::<Problem>);
    let form_error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(false);
    let pending = RwSignal::new(false);
    // Submitting waits for the page to come alive: a form posted before that would skip
    // the repeat check.
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    let current_input = NodeRef::<html::Input>::new();
    let new_input = NodeRef::<html::Input>::new();
    let repeat_input = NodeRef::<html::Input>::new();
    let submit_button = NodeRef::<html::Button>::new();

    let focus = move |field: NodeRef<html::Input>| {
        if let Some(el) = field.get_untracked() {
            let _ = el.focus();
        }
    };
    let clear_errors = move || {
        current_error.set(None);
        new_error.set(None);
        repeat_error.set(None);
        form_error.set(None);
    };

    // The submit button, disabled while it worked, takes the focus back from the body.
    let keep_focus = move || {
        request_animation_frame(move || {
            if focus_lost()
                && let Some(el) = submit_button.get_untracked()
            {
                let _ = el.focus();
            }
        })
    };
    // The server's answer, each problem next to its field and the first of them focused.
    let show = move |e: UiError| {
        let on_field = |name: &'static str| e.0.fields.contains_key(name).then(|| Problem::Field(e.clone(), name));
        let on_current = on_field("current_password");
        let on_new = on_field("new_password");
        let first = if on_current.is_some() {
            Some(current_input)
        } else if on_new.is_some() {
            Some(new_input)
        } else {
            None
        };
        if e.0.fields.is_empty() {
            form_error.set(Some(Problem::Form(e.clone())));
        } else if on_current.is_none() && on_new.is_none() {
            // Named fields this form does not have: say what they were.
            form_error.set(Some(Problem::OtherFields(e.clone())));
        }
        current_error.set(on_current);
        new_error.set(on_new);
        match first {
            Some(field) => request_animation_frame(move || focus(field)),
            None => keep_focus(),
        }
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        clear_errors();
        done.set(false);
        let (current_password, new_password) = (current.get_untracked(), new.get_untracked());
        if let Some(problem) = repeat_problem(&new_password, &repeat.get_untracked()) {
            repeat_error.set(Some(problem));
            focus(repeat_input);
            return;
        }
        pending.set(true);
        spawn_local(async move {
            let changed = change_password(current_password, new_password).await;
            // (`try_set` gives the value back when the section is gone.)
            if pending.try_set(false).is_some() {
                return;
            }
            match changed {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    repeat.set(String::new());
                    done.set(true);
                    if let Ok(event) = leptos::web_sys::Event::new(PASSWORD_CHANGED) {
                        let _ = window().dispatch_event(&event);
                    }
                    keep_focus();
                }
                Err(e) => show(e),
            }
        });
    };

    view! {
        <section class="settings-section" aria-labelledby="settings-password" data-testid="password-settings">
            <h3 id="settings-password">{t!(i18n, settings.password_title)}</h3>
            <form
                class="password-form"
                method="post"
                aria-label=move || t_string!(i18n, settings.password_change)
                on:submit=submit
            >
                {email.map(|email| view! {
                    <input
                        type="email"
                        name="username"
                        class="visually-hidden"
                        autocomplete="username"
                        value=email
                        readonly
                        tabindex="-1"
                        aria-hidden="true"
                    />
                })}
                <PasswordField
                    id="password-current"
                    label=Signal::derive(move || t_string!(i18n, settings.password_current).to_string())
                    name="current_password"
                    autocomplete="current-password"
                    value=current
                    error=current_error
                    node_ref=current_input
                />
                <PasswordField
                    id="password-new"
                    label=Signal::derive(move || t_string!(i18n, settings.password_new).to_string())
                    name="new_password"
                    autocomplete="new-password"
                    hint=Signal::derive(move || {
                        t_string!(
                            i18n,
                            settings.password_new_hint,
                            min = input::PASSWORD_MIN,
                            max = input::PASSWORD_MAX
                        )
                        .to_string()
                    })
                    value=new
                    error=new_error
                    node_ref=new_input
                    also_clears=repeat_error
                />
                <PasswordField
                    id="password-repeat"
                    label=Signal::derive(move || t_string!(i18n, settings.password_repeat).to_string())
                    name="repeat_password"
                    autocomplete="new-password"
                    value=repeat
                    error=repeat_error
                    node_ref=repeat_input
                />
                <p class="form-error" role="alert">{move || form_error.get().map(|p| p.text(i18n.get_locale()))}</p>
                <div class="settings-actions">
                    <button
                        type="submit"
                        class="accent"
                        node_ref=submit_button
                        disabled=move || pending.get() || !ready.get()
                    >
                        {move || {
                            if pending.get() {
                                t_string!(i18n, settings.password_changing)
                            } else {
                                t_string!(i18n, settings.password_change)
                            }
                        }}
                    </button>
                </div>
            </form>
            <p class="settings-status" role="status">
                {move || done.get().then(|| t_string!(i18n, settings.password_changed))}
            </p>
        </section>
    }
}

/// A labelled password input bound to `value`, with an optional hint under it that gives
/// way to its problem (which also goes when the input is edited, with `also_clears`).
#[component]
fn PasswordField(
    id: &'static str,
    label: Signal<String>,
    name: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] hint: Option<Signal<String>>,
    value: RwSignal<String>,
    error: RwSignal<Option<Problem>>,
    node_ref: NodeRef<html::Input>,
    #[prop(optional)] also_clears: Option<RwSignal<Option<Problem>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let note = format!("{id}-note");
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{move || label.get()}</label>
            <input
                id=id
                name=name
                type="password"
                autocomplete=autocomplete
                required
                node_ref=node_ref
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    error.set(None);
                    if let Some(other) = also_clears {
                        other.set(None);
                    }
                }
                aria-invalid=move || error.with(Option::is_some).to_string()
                aria-describedby=note.clone()
            />
            <p class="field-note" id=note>
                {move || match error.get() {
                    Some(problem) => {
                        view! {
                            <span class="field-error" role="alert">{move || problem.text(i18n.get_locale())}</span>
                        }
                            .into_any()
                    }
                    None => view! { <span class="field-hint">{move || hint.map(|hint| hint.get())}</span> }.into_any(),
                }}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_password_must_be_typed_twice_alike() {
        assert_eq!(repeat_problem("correct horse battery", "correct horse battery"), None);
        let differ = repeat_problem("correct horse battery", "correct horse batery");
        assert_eq!(differ.as_ref().map(|p| p.text(Locale::en)).as_deref(), Some("the passwords differ"));
        assert_eq!(differ.map(|p| p.text(Locale::ru)).as_deref(), Some("Пароли не совпадают"));
    }

    #[test]
    fn problems_with_fields_the_form_lacks_are_each_said_in_the_readers_language() {
        let error = domain::PublicError::new(domain::ErrorKind::Invalid, "invalid_input", "some fields need attention")
            .with_field("password", &domain::Problem::new("too_easy", "this password is too easy to guess"))
            .with_field("client_id", &domain::Problem::new("bad_length", "a client id has 1 to 64 characters"));
        let said = Problem::OtherFields(UiError(error)).text(Locale::en);
        assert!(said.contains("a client id has 1 to 64 characters"), "{said}");
        assert!(said.contains("This password is too easy to guess"), "{said}");
    }
}
