//! `cargo xtask dev`: the debug build, served, then rebuilt and restarted whenever a source
//! file, the stylesheet or a public file changes. A failed build leaves the last good server
//! running and waits for the next change. Reload the page to see the new version.

use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::{BuildArgs, Workspace, build, server};

/// What is watched, under the workspace root.
const WATCHED: [&str; 9] =
    ["app", "domain", "frontend", "migration", "server", "style", "public", "Cargo.toml", ".env"];
/// Changes closer together than this make one rebuild.
const DEBOUNCE: Duration = Duration::from_millis(300);

pub fn run(ws: &Workspace) -> anyhow::Result<()> {
    let (events, changes) = mpsc::channel();
    // Only what changes a file: cargo opens every source to check it, and those opens must not
    // start another build.
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_))
            && event.paths.iter().any(|path| !under_target(path))
        {
            let _ = events.send(());
        }
    })
    .context("starting the file watcher")?;
    for name in WATCHED {
        let path = ws.root.join(name);
        if path.exists() {
            let mode = if path.is_dir() { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
            watcher.watch(&path, mode).with_context(|| format!("watching {}", path.display()))?;
        }
    }
    let args = BuildArgs { release: false, server_profile: None, site_only: false };
    let mut running: Option<Child> = None;
    loop {
        match build(ws, &args) {
            Ok(binary) => {
                stop(&mut running);
                running = Some(start(ws, &binary)?);
            }
            Err(e) => eprintln!("xtask dev: {e:#}; the last good build keeps running, waiting for a change"),
        }
        // Wait for a change, then for the rest of its burst (an editor saves in several steps).
        changes.recv().context("the file watcher stopped")?;
        while changes.recv_timeout(DEBOUNCE).is_ok() {}
        eprintln!("xtask dev: a change; rebuilding");
    }
}

fn under_target(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "target" || c.as_os_str() == "node_modules")
}

fn start(ws: &Workspace, binary: &Path) -> anyhow::Result<Child> {
    server(ws, binary).spawn().with_context(|| format!("starting {}", binary.display()))
}

/// Stops the server: SIGTERM, so it closes its sockets and database, then waits.
fn stop(running: &mut Option<Child>) {
    let Some(mut child) = running.take() else { return };
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    for _ in 0..100 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
