//! `cargo xtask`: how the messenger is built and run from source.
//!
//! ```text
//! cargo xtask build [--release] [--server-profile P] [--site-only]
//!                                               the site under target/site, then the server
//! cargo xtask run [--release] [--server-profile P]  build, then serve http://127.0.0.1:3000
//! cargo xtask dev                               debug build and serve; rebuild and restart on changes
//! ```
//!
//! The site is the browser's half: the `frontend` crate compiled to WebAssembly, its
//! JavaScript glue from wasm-bindgen (the library, at the `wasm-bindgen` crate's version),
//! `style/main.css` and the files of `public/`. `--release` builds the WASM for size, shrinks
//! it with wasm-opt and precompresses every file with brotli and gzip. Either way the WASM,
//! JS and CSS are named after a hash of their content (`pkg/messenger-<hash>.{wasm,js,css}`),
//! so browsers may keep them for good, and `pkg/output-name` says which name is current; the
//! server reads it at start-up.

mod dev;
mod site;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "xtask", about = "Builds and runs the messenger from source")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Build the site under target/site, then the server
    Build(BuildArgs),
    /// Build, then start the server on target/site (SQLite under ./data unless .env says otherwise)
    Run(BuildArgs),
    /// Debug build and start; rebuild and restart whenever a source file changes
    Dev,
}

#[derive(Args, Debug, Clone)]
struct BuildArgs {
    /// The optimized build: WASM for size plus wasm-opt, precompressed files, and the release
    /// server unless --server-profile names another profile
    #[arg(long)]
    release: bool,
    /// The cargo profile the server is built with: `release` with --release, else `dev`
    /// (`make run` passes `dev`: the optimized site with the server's debug build)
    #[arg(long, value_name = "PROFILE")]
    server_profile: Option<String>,
    /// Only the site (no server binary)
    #[arg(long)]
    site_only: bool,
}

impl BuildArgs {
    /// The cargo profile the server is built with.
    fn server_profile(&self) -> &str {
        match &self.server_profile {
            Some(profile) => profile,
            None if self.release => "release",
            None => "dev",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Task::Build(args) => build(&Workspace::locate(), &args).map(drop),
        Task::Run(args) => run(&Workspace::locate(), &args),
        Task::Dev => dev::run(&Workspace::locate()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where things are.
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target folder (`CARGO_TARGET_DIR`, else `target/`).
    pub target: PathBuf,
    /// The site the server serves: `target/site` under the root, wherever cargo builds.
    pub site: PathBuf,
}

impl Workspace {
    /// The workspace this run is for: `cargo run` says where xtask's manifest is (at run time,
    /// not the path it was compiled at: another checkout may share the build folder); run
    /// directly, the nearest folder up from here whose Cargo.toml has a `[workspace]`.
    fn locate() -> Self {
        let from_cargo = std::env::var_os("CARGO_MANIFEST_DIR")
            .and_then(|dir| Path::new(&dir).parent().map(Path::to_path_buf))
            .filter(|root| is_workspace_root(root));
        let root = from_cargo
            .or_else(|| {
                let here = std::env::current_dir().ok()?;
                here.ancestors().find(|dir| is_workspace_root(dir)).map(Path::to_path_buf)
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        let site = root.join("target").join("site");
        Self { root, target, site }
    }

    /// The server binary that a build with this cargo profile writes.
    pub fn server_binary(&self, profile: &str) -> PathBuf {
        // Cargo's one exception: the `dev` profile's folder is `debug`.
        self.target.join(if profile == "dev" { "debug" } else { profile }).join("messenger")
    }
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|manifest| manifest.contains("[workspace]"))
}

/// Builds the site, then (unless `site_only`) the server; the server binary's path.
fn build(ws: &Workspace, args: &BuildArgs) -> anyhow::Result<PathBuf> {
    site::build(ws, args.release)?;
    let profile = args.server_profile();
    let binary = ws.server_binary(profile);
    if !args.site_only {
        // Without `-p`: the workspace's default members (app, domain, server), as plain
        // `cargo build` and `cargo run` at the root build them.
        let mut cargo = cargo(ws);
        cargo.args(["build", "--bin", "messenger", "--profile", profile]);
        status(&mut cargo, "building the server")?;
    }
    Ok(binary)
}

fn run(ws: &Workspace, args: &BuildArgs) -> anyhow::Result<()> {
    if args.site_only {
        bail!("`run` needs the server: leave out --site-only");
    }
    let binary = build(ws, args)?;
    let code = server(ws, &binary).status().with_context(|| format!("starting {}", binary.display()))?;
    if code.success() { Ok(()) } else { bail!("the server stopped: {code}") }
}

/// The server, started from the workspace root on the built site.
fn server(ws: &Workspace, binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.current_dir(&ws.root).env("LEPTOS_SITE_ROOT", &ws.site);
    command
}

/// `cargo` from the workspace root.
fn cargo(ws: &Workspace) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(&ws.root);
    command
}

/// Runs `command` to its end; an error naming `what` unless it succeeded.
fn status(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let code = command.status().with_context(|| format!("{what}: starting {:?}", command.get_program()))?;
    if code.success() { Ok(()) } else { bail!("{what} failed ({code})") }
}
