import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The built server (make e2e builds it) on its own port with a fresh SQLite file, and its
// Telegram bot talking to a fake Bot API (fake-telegram.mjs) on the next port.
const port = Number(process.env.E2E_PORT ?? 3197);
const telegramPort = Number(process.env.E2E_TELEGRAM_PORT ?? port + 1);
// The tests drive the fake through its control endpoints (see tests/telegram.ts); workers
// load this file too, so they see the same address.
process.env.E2E_TELEGRAM_URL = `http://127.0.0.1:${telegramPort}`;
const root = path.resolve(__dirname, "..");
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "messenger-e2e-"));

export default defineConfig({
  testDir: "./tests",
  // `make screenshots` (SCREENSHOTS=1) runs the screenshot script instead of the tests.
  testMatch: process.env.SCREENSHOTS ? "**/*.shot.ts" : "**/*.spec.ts",
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
  // Started in order: the fake Telegram first, so that the bot finds it at once.
  webServer: [
    {
      command: `node fake-telegram.mjs ${telegramPort}`,
      cwd: __dirname,
      url: `http://127.0.0.1:${telegramPort}/control/health`,
      reuseExistingServer: false,
      timeout: 10_000,
      stdout: "pipe",
    },
    {
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
        RUST_LOG: process.env.E2E_RUST_LOG ?? "warn",
        TELEGRAM_BOT_TOKEN: "123456:E2E",
        TELEGRAM_API_URL: `http://127.0.0.1:${telegramPort}`,
        // Short long polls and no wait for a burst to end, to keep the tests quick.
        TELEGRAM_POLL_TIMEOUT: "1",
        TELEGRAM_NOTIFY_DELAY: "200",
      },
    },
  ],
});
