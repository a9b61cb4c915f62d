//! Generates the `i18n` module (leptos_i18n) from the interface's words: one JSON file per
//! language and topic under locales/<language>/<topic>.json, checked against each other.

use std::path::PathBuf;

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};

/// The first is the default, and the fallback for a key another language lacks.
const LANGUAGES: [&str; 2] = ["en", "ru"];
const TOPICS: [&str; 5] = ["common", "auth", "messenger", "settings", "errors"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("cargo sets OUT_DIR")?).join("i18n");
    let config = Config::new(LANGUAGES[0])?
        .add_locales(&LANGUAGES[1..])?
        .add_namespaces(TOPICS)?
        // Words with values in them also as strings (attributes, titles), not only as views.
        .parse_options(ParseOptions::default().interpolate_display(true));
    let translations = TranslationsInfos::parse(config)?;
    translations.rerun_if_locales_changed();
    translations.emit_diagnostics();
    translations.generate_i18n_module(out)?;
    Ok(())
}
