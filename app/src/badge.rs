//! The installed app's badge (the Badging API): the number on its icon.

use js_sys::{Function, Promise, Reflect};
use leptos::prelude::window;
use wasm_bindgen::{JsCast, JsValue};

/// Shows `count` on the app's icon, or clears it at 0. Where the browser has no badge (or
/// the app is not installed) nothing happens.
pub fn set_app_badge(count: u64) {
    let navigator = window().navigator();
    let method = if count > 0 { "setAppBadge" } else { "clearAppBadge" };
    let Some(call) =
        Reflect::get(&navigator, &JsValue::from_str(method)).ok().and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    // Counts beyond 2^53 do not happen; the badge shows a number, not a string.
    #[allow(clippy::cast_precision_loss)]
    let result =
        if count > 0 { call.call1(&navigator, &JsValue::from_f64(count as f64)) } else { call.call0(&navigator) };
    if let Ok(promise) = result.and_then(|value| value.dyn_into::<Promise>()) {
        // A refusal (no permission, not installed) is not the page's business.
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }
}
