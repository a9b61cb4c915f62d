//! Generates the `i18n` module (leptos_i18n) from the interface's words: one JSON file per
//! language and topic under locales/<language>/<topic>.json, checked against each other.
//!
//! It calls leptos_i18n's parser and code generator, the two halves of what
//! `leptos_i18n_build::TranslationsInfos::generate_i18n_module` does, without that crate:
//! it also carries ICU's data generation tools (a WebAssembly interpreter among them), which
//! this app does not use (the plural rules come with `icu_compiled_data`) and which took a
//! minute of every first build, twice (once for the browser's build, once for the server's).

use std::path::PathBuf;

use leptos_i18n_parser::parse_locales::options::{Config, ParseOptions};

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
    let parsed = leptos_i18n_parser::parse_locales::parse_locales(None, config)?;
    for path in parsed.tracked_files.iter().flatten() {
        println!("cargo::rerun-if-changed={path}");
    }
    for warning in parsed.diag.warnings().iter() {
        println!("cargo::warning={warning}");
    }
    for error in parsed.diag.errors().iter() {
        println!("cargo::error={error}");
    }
    // As `generate_i18n_module` calls it: the crate's own path, diagnostics already emitted
    // above, no extra attributes, doc comments on.
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, None, true)?;
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("mod.rs"), code.to_string())?;
    Ok(())
}
