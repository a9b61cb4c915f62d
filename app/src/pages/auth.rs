//! Sign in and create an account: one page, two forms, switchable.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::Session;
use crate::components::tab::Tab;
use crate::error::UiError;
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
    let mode = RwSignal::new(Mode::SignIn);

    view! {
        <main class="auth">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    matches!(session.me.await, Ok(Some(_))).then(|| view! { <Redirect path="/" /> })
                })}
            </Transition>
            <section class="auth-card">
                <h1 class="brand">"Messenger"</h1>
                <div class="tabs" role="tablist">
                    <Tab value=Mode::SignIn selected=mode>"Sign in"</Tab>
                    <Tab value=Mode::Register selected=mode>"Create account"</Tab>
                </div>
                <Show when=move || mode.get() == Mode::SignIn fallback=move || view! { <RegisterForm /> }>
                    <SignInForm />
                </Show>
            </section>
        </main>
    }
}

/// The message for a field: the server's if it named this field, else nothing.
fn field_error(result: Option<Result<impl Sized, UiError>>, field: &str) -> Option<String> {
    result?.err()?.field(field)
}

/// The message for the form as a whole (errors that name no field).
fn form_error(result: Option<Result<impl Sized, UiError>>) -> Option<String> {
    let error = result?.err()?;
    error.0.fields.is_empty().then_some(error.0.message)
}

#[component]
fn SignInForm() -> impl IntoView {
    let session = expect_context::<Session>();
    let action = session.login;
    let value = action.value();
    let pending = action.pending();

    view! {
        <ActionForm action=action attr:class="auth-form" attr:aria-label="Sign in">
            <Field label="Email" name="email" kind="email" autocomplete="username" error=Signal::derive(move || field_error(value.get(), "email")) />
            <Field label="Password" name="password" kind="password" autocomplete="current-password" error=Signal::derive(move || field_error(value.get(), "password")) />
            <p class="form-error" role="alert">{move || form_error(value.get())}</p>
            <button type="submit" class="primary" disabled=pending>
                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn RegisterForm() -> impl IntoView {
    let session = expect_context::<Session>();
    let action = session.register;
    let value = action.value();
    let pending = action.pending();

    view! {
        <ActionForm action=action attr:class="auth-form" attr:aria-label="Create account">
            <Field label="Email" name="email" kind="email" autocomplete="email" error=Signal::derive(move || field_error(value.get(), "email")) />
            <Field
                label="Name"
                name="name"
                kind="text"
                autocomplete="nickname"
                hint=format!("How others will see you, up to {} characters.", input::NAME_MAX)
                error=Signal::derive(move || field_error(value.get(), "name"))
            />
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="new-password"
                hint=format!("{} to {} characters.", input::PASSWORD_MIN, input::PASSWORD_MAX)
                error=Signal::derive(move || field_error(value.get(), "password"))
            />
            <p class="form-error" role="alert">{move || form_error(value.get())}</p>
            <button type="submit" class="primary" disabled=pending>
                {move || if pending.get() { "Creating account…" } else { "Create account" }}
            </button>
        </ActionForm>
    }
}

/// A labelled input with an optional hint and the server's complaint about it.
#[component]
fn Field(
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] hint: Option<String>,
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
                    None => view! { <span class="field-hint">{hint.clone()}</span> }.into_any(),
                }}
            </p>
        </div>
    }
}
