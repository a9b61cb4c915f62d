//! Sign in and create an account: one page, two forms, switchable.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::Session;
use crate::components::tab::Tab;
use crate::error::UiError;
use crate::i18n::{Locale, t, t_string, use_i18n};
use domain::input;

/// Which of the two forms is showing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    SignIn,
    Register,
}

/// `/login`: the sign-in and registration forms.
#[component]
pub fn AuthPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let i18n = use_i18n();
    let mode = RwSignal::new(Mode::SignIn);

    view! {
        <main class="auth">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    matches!(session.me.await, Ok(Some(_))).then(|| view! { <Redirect path="/" /> })
                })}
            </Transition>
            <section class="auth-card">
                <h1 class="brand">{t!(i18n, common.app_name)}</h1>
                <div class="tabs" role="tablist">
                    <Tab value=Mode::SignIn selected=mode>{t!(i18n, auth.sign_in)}</Tab>
                    <Tab value=Mode::Register selected=mode>{t!(i18n, auth.create_account)}</Tab>
                </div>
                <Show when=move || mode.get() == Mode::SignIn fallback=move || view! { <RegisterForm /> }>
                    <SignInForm />
                </Show>
            </section>
        </main>
    }
}

/// The problem with a field in the reader's language: the server's if it named this field,
/// else nothing.
fn field_error(locale: Locale, result: Option<Result<impl Sized, UiError>>, field: &str) -> Option<String> {
    result?.err()?.field_text(locale, field)
}

/// The problem with the form as a whole (errors that name no field), in the reader's language.
fn form_error(locale: Locale, result: Option<Result<impl Sized, UiError>>) -> Option<String> {
    let error = result?.err()?;
    error.0.fields.is_empty().then(|| error.text(locale))
}

#[component]
fn SignInForm() -> impl IntoView {
    let session = expect_context::<Session>();
    let i18n = use_i18n();
    let action = session.login;
    let value = action.value();
    let pending = action.pending();
    let problem = move |field| Signal::derive(move || field_error(i18n.get_locale(), value.get(), field));

    view! {
        <ActionForm action=action attr:class="auth-form" attr:aria-label=move || t_string!(i18n, auth.sign_in).to_string()>
            <Field label=move || t_string!(i18n, auth.email).to_string() name="email" kind="email" autocomplete="username" error=problem("email") />
            <Field label=move || t_string!(i18n, auth.password).to_string() name="password" kind="password" autocomplete="current-password" error=problem("password") />
            <p class="form-error" role="alert">{move || form_error(i18n.get_locale(), value.get())}</p>
            <button type="submit" class="primary" disabled=pending>
                {move || if pending.get() { t_string!(i18n, auth.signing_in) } else { t_string!(i18n, auth.sign_in) }}
            </button>
        </ActionForm>
    }
}

#[component]
fn RegisterForm() -> impl IntoView {
    let session = expect_context::<Session>();
    let i18n = use_i18n();
    let action = session.register;
    let value = action.value();
    let pending = action.pending();
    let problem = move |field| Signal::derive(move || field_error(i18n.get_locale(), value.get(), field));

    view! {
        <ActionForm action=action attr:class="auth-form" attr:aria-label=move || t_string!(i18n, auth.create_account).to_string()>
            <Field label=move || t_string!(i18n, auth.email).to_string() name="email" kind="email" autocomplete="email" error=problem("email") />
            <Field
                label=move || t_string!(i18n, auth.name).to_string()
                name="name"
                kind="text"
                autocomplete="nickname"
                hint=Signal::derive(move || t_string!(i18n, auth.name_hint, max = input::NAME_MAX).to_string())
                error=problem("name")
            />
            <Field
                label=move || t_string!(i18n, auth.password).to_string()
                name="password"
                kind="password"
                autocomplete="new-password"
                hint=Signal::derive(move || {
                    t_string!(i18n, auth.password_hint, min = input::PASSWORD_MIN, max = input::PASSWORD_MAX).to_string()
                })
                error=problem("password")
            />
            <p class="form-error" role="alert">{move || form_error(i18n.get_locale(), value.get())}</p>
            <button type="submit" class="primary" disabled=pending>
                {move || if pending.get() { t_string!(i18n, auth.creating_account) } else { t_string!(i18n, auth.create_account) }}
            </button>
        </ActionForm>
    }
}

/// A labelled input with an optional hint and the server's complaint about it.
#[component]
fn Field(
    #[prop(into)] label: Signal<String>,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional, into)] hint: Signal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let described = format!("{id}-note");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described.clone()
            />
            <p class="field-note" id=described>
                {move || match error.get() {
                    Some(problem) => view! { <span class="field-error">{problem}</span> }.into_any(),
                    None => view! { <span class="field-hint">{move || hint.get()}</span> }.into_any(),
                }}
            </p>
        </div>
    }
}
