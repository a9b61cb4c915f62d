import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const builtSite = path.join(root, "target", "site");

/**
 * A messenger of its own (the built server on `port`, SQLite under `dir`), serving a copy of
 * the built site; `build` renames that copy's files to another build name, as the next
 * deployment of changed code would be named.
 */
export async function startNode(port: number, dir: string, build?: string): Promise<ChildProcess> {
  const site = path.join(dir, `site-${build ?? "current"}`);
  fs.rmSync(site, { recursive: true, force: true });
  fs.cpSync(builtSite, site, { recursive: true });
  if (build) {
    const pkg = path.join(site, "pkg");
    const current = fs.readFileSync(path.join(pkg, "output-name"), "utf8").trim();
    for (const file of fs.readdirSync(pkg)) {
      if (file.startsWith(`${current}.`)) fs.renameSync(path.join(pkg, file), path.join(pkg, file.replace(current, build)));
    }
    fs.writeFileSync(path.join(pkg, "output-name"), build);
  }
  const server = spawn(path.join(targetDir, "debug", "messenger"), [], {
    cwd: root,
    stdio: "ignore",
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: `sqlite://${path.join(dir, "node.db")}?mode=rwc`,
      LEPTOS_SITE_ROOT: site,
      RUST_LOG: "warn",
      TELEGRAM_BOT_TOKEN: "",
    },
  });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return server;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill("SIGKILL");
  throw new Error(`the messenger on port ${port} did not start`);
}

/** Stops a node started by [`startNode`] and waits until it is gone. */
export async function stopNode(server: ChildProcess) {
  if (server.exitCode !== null) return;
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await exited;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "messenger-node-"));
}
