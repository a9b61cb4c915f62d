//! The site under `target/site`: what the browser downloads.
//!
//! ```text
//! target/site/
//!   favicon.svg, …                  public/, copied as it is
//!   pkg/messenger-<hash>.wasm       the frontend crate for wasm32, through wasm-bindgen (and wasm-opt)
//!   pkg/messenger-<hash>.js         its glue
//!   pkg/messenger-<hash>.css        style/main.css
//!   pkg/output-name                 "messenger-<hash>": the names the server puts in its pages
//! ```
//!
//! With `--release` every file also gets a `.br` and a `.gz` beside it, which the server sends
//! to browsers that accept them. The new `pkg/` is put together beside the old one and swapped
//! in whole, so a running server never sees half a site.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::{Workspace, cargo, status};

/// The prefix of the site's file names; the server's `output_name` default.
const NAME: &str = "messenger";
/// What the server reads to learn the current names.
pub const OUTPUT_NAME_FILE: &str = "output-name";
/// Hex digits of the content hash in the file names.
const HASH_DIGITS: usize = 16;

/// Builds the WASM and assembles `ws.site`.
pub fn build(ws: &Workspace, release: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let profile = if release { "wasm-release" } else { "dev" };
    let mut wasm_build = cargo(ws);
    wasm_build.args(["build", "-p", "frontend", "--lib", "--target", "wasm32-unknown-unknown", "--profile", profile]);
    status(&mut wasm_build, "building the WASM")?;
    let profile_dir = if release { "wasm-release" } else { "debug" };
    let wasm = ws.target.join("wasm32-unknown-unknown").join(profile_dir).join("frontend.wasm");

    // The site is made from the WASM, the stylesheet and public/: when none of them changed
    // since the site in place was made, it stays (wasm-opt alone takes half a minute).
    let fingerprint = fingerprint(ws, &wasm, release)?;
    let fingerprint_file = ws.target.join("site.fingerprint");
    if std::fs::read_to_string(&fingerprint_file).is_ok_and(|old| old == fingerprint)
        && ws.site.join("pkg").join(OUTPUT_NAME_FILE).is_file()
    {
        eprintln!("    site: up to date");
        return Ok(());
    }
    let _ = std::fs::remove_file(&fingerprint_file);

    let staging = ws.site.join("pkg.new");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let bindgen_started = Instant::now();
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name(NAME)
        .web(true)?
        // Without DWARF: a debug build's WASM would be 30 MB instead of 8.
        .keep_debug(false)
        .generate(&staging)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;
    let generated_wasm = staging.join(format!("{NAME}_bg.wasm"));
    eprintln!("    wasm-bindgen {:.1} s", bindgen_started.elapsed().as_secs_f64());
    if release {
        wasm_opt(&generated_wasm)?;
    }

    // The names: one hash of the three files, so that they always change together.
    let wasm_bytes = read(&generated_wasm)?;
    let js =
        String::from_utf8(read(&staging.join(format!("{NAME}.js")))?).context("the wasm-bindgen JS is not UTF-8")?;
    let css = read(&ws.root.join("style").join("main.css"))?;
    let mut hasher = Sha256::new();
    for part in [&wasm_bytes[..], js.as_bytes(), &css[..]] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let hash = hex::encode(hasher.finalize());
    let output_name = format!("{NAME}-{}", &hash[..HASH_DIGITS]);
    // The JS names the WASM only as a default it never uses (the page passes the path), but
    // it should name the right one.
    let js = js.replace(&format!("{NAME}_bg.wasm"), &format!("{output_name}.wasm"));
    for stale in
        [format!("{NAME}_bg.wasm"), format!("{NAME}.js"), format!("{NAME}_bg.wasm.d.ts"), format!("{NAME}.d.ts")]
    {
        let _ = std::fs::remove_file(staging.join(stale));
    }
    write(&staging.join(format!("{output_name}.wasm")), &wasm_bytes)?;
    write(&staging.join(format!("{output_name}.js")), js.as_bytes())?;
    write(&staging.join(format!("{output_name}.css")), &css)?;
    write(&staging.join(OUTPUT_NAME_FILE), output_name.as_bytes())?;

    // public/ into the site root, then the new pkg/ in place of the old one.
    copy_tree(&ws.root.join("public"), &ws.site)?;
    let pkg = ws.site.join("pkg");
    if release {
        let compress_started = Instant::now();
        precompress(&staging)?;
        precompress(&ws.site)?;
        eprintln!("    brotli and gzip {:.1} s", compress_started.elapsed().as_secs_f64());
    }
    let old = ws.site.join("pkg.old");
    let _ = std::fs::remove_dir_all(&old);
    if pkg.exists() {
        std::fs::rename(&pkg, &old).with_context(|| format!("moving {} aside", pkg.display()))?;
    }
    std::fs::rename(&staging, &pkg).with_context(|| format!("moving {} into place", staging.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    if !release {
        // A release build's compressed public files would be served instead of these.
        remove_compressed(&ws.site)?;
    }

    write(&fingerprint_file, fingerprint.as_bytes())?;

    let size = |ext: &str| std::fs::metadata(pkg.join(format!("{output_name}.{ext}"))).map_or(0, |m| m.len());
    eprintln!(
        "    site: {} ({} KB WASM, {} KB JS{}) in {:.0} s",
        pkg.join(&output_name).display(),
        size("wasm") / 1000,
        size("js") / 1000,
        if release { format!(", {} KB WASM with brotli", size("wasm.br") / 1000) } else { String::new() },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A hash of everything the site is made from, and how.
fn fingerprint(ws: &Workspace, wasm: &Path, release: bool) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    // This very build of xtask: a change to how the site is made makes it anew.
    let me = std::env::current_exe().and_then(std::fs::metadata).context("reading xtask's own file")?;
    hasher.update(format!("{:?} {}", me.modified().ok(), me.len()));
    hasher.update([u8::from(release)]);
    let mut inputs = vec![wasm.to_path_buf(), ws.root.join("style").join("main.css")];
    inputs.extend(all_files(&ws.root.join("public"))?);
    for path in inputs {
        let bytes = read(&path)?;
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Every file under `dir`, folders included, in a stable order.
fn all_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            files.extend(all_files(&entry.path())?);
        } else {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// `wasm-opt -Oz` in place: `WASM_OPT` names the binary, else `wasm-opt` from `PATH`.
fn wasm_opt(wasm: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let binary = std::env::var_os("WASM_OPT").unwrap_or_else(|| "wasm-opt".into());
    let mut command = std::process::Command::new(&binary);
    // The features Rust's wasm32 target uses beyond wasm-opt's defaults (as cargo-leptos passes).
    command.args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"]).arg(wasm).arg("-o").arg(wasm);
    match command.status() {
        Ok(code) if code.success() => {}
        Ok(code) => bail!("wasm-opt failed ({code})"),
        Err(e) => bail!(
            "starting wasm-opt ({}): {e}; `make setup-wasm-opt` installs it, or set WASM_OPT",
            Path::new(&binary).display()
        ),
    }
    eprintln!("    wasm-opt {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// What is worth compressing.
fn compressible(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("wasm" | "js" | "css" | "svg" | "json" | "webmanifest" | "html" | "txt")
    )
}

/// Writes `<file>.br` and `<file>.gz` beside each compressible file directly in `dir`.
fn precompress(dir: &Path) -> anyhow::Result<()> {
    for path in files_in(dir)? {
        if !compressible(&path) {
            continue;
        }
        let bytes = read(&path)?;
        let mut br = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut br, 64 * 1024, 11, 22);
            writer.write_all(&bytes).context("brotli")?;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).context("gzip")?;
        let gz = gz.finish().context("gzip")?;
        write(&with_suffix(&path, ".br"), &br)?;
        write(&with_suffix(&path, ".gz"), &gz)?;
    }
    Ok(())
}

fn remove_compressed(dir: &Path) -> anyhow::Result<()> {
    for path in files_in(dir)? {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files (not folders) directly in `dir`.
fn files_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Copies `from` into `to`, folders included.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {} to {}", entry.path().display(), target.display()))?;
        }
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
