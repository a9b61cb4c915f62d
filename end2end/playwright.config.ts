import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The built server (make e2e builds it) on its own port with a fresh SQLite file.
const port = Number(process.env.E2E_PORT ?? 3197);
const root = path.resolve(__dirname, "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "messenger-e2e-"));

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: path.join(targetDir, "debug", "messenger"),
    cwd: root,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    env: {
      PORT: String(port),
      DATABASE_URL: `sqlite://${path.join(dataDir, "e2e.db")}?mode=rwc`,
      ADMIN_PASSWORD: "e2e-admin-password",
      LEPTOS_SITE_ROOT: path.join(root, "target", "site"),
      RUST_LOG: "warn",
    },
  },
});
