import { test, expect, chromium, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { signUp } from "./people";
import { startNode, stopNode, tempDir } from "./deployment";

/** Waits until the service worker controls the page (it claims pages when it activates). */
async function controlled(page: Page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
}

/** Waits until the service worker's offline copy of `/` is a signed-in page that mentions `text`. */
async function offlineCopyShows(page: Page, text: string) {
  await page.waitForFunction(
    async (text) => {
      for (const name of await caches.keys()) {
        if (!name.startsWith("pages-")) continue;
        const copy = await (await caches.open(name)).match("/");
        const html = copy ? await copy.text() : "";
        if (html.includes('data-testid="whoami"') && html.includes(text)) return true;
      }
      return false;
    },
    text,
    { timeout: 30_000, polling: 250 },
  );
}

test("Chromium finds the app installable: manifest, icons, service worker", async ({}, testInfo) => {
  // An ordinary profile: a fresh context is off the record, where nothing installs.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "messenger-pwa-"));
  const config = testInfo.project.use;
  const context = await chromium.launchPersistentContext(profile, {
    ...config.launchOptions,
    baseURL: config.baseURL,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto("/login");
    await page.locator("body[data-hydrated]").waitFor();
    await controlled(page);

    const manifest = await (await page.request.get("/manifest.webmanifest")).json();
    expect(manifest.display).toBe("standalone");
    const sizes = manifest.icons.map((icon: { sizes: string; purpose: string }) => `${icon.sizes} ${icon.purpose}`);
    expect(sizes).toEqual(expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]));
    for (const icon of manifest.icons) {
      const response = await page.request.get(icon.src);
      expect(response.headers()["content-type"]).toBe("image/png");
    }

    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors).toEqual([]);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});

test("After a deployment, the open page offers the new version, and Reload moves it there", async ({ browser }) => {
  // A node of its own, so that it can be replaced by the next build at the same address.
  const port = Number(process.env.E2E_PORT ?? 3197) + 10;
  const dir = tempDir();
  let node = await startNode(port, dir);
  const context = await browser.newContext({ baseURL: `http://127.0.0.1:${port}` });
  try {
    const page = await context.newPage();
    await page.goto("/login");
    await page.locator("body[data-hydrated]").waitFor();
    await controlled(page);
    const prompt = page.getByRole("status").filter({ hasText: "A new version is available." });
    await expect(prompt).toHaveCount(0);

    await stopNode(node);
    node = await startNode(port, dir, "messenger-00000000000000ff");
    // The page is still the old build's; the browser finds the new worker when the page
    // comes back into view (or on its next visit), installs it, and the page offers it.
    await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await expect(prompt).toBeVisible();
    await expect(page.locator("link[rel=stylesheet]")).not.toHaveAttribute("href", /00000000000000ff/);

    const reloaded = page.waitForEvent("load");
    await prompt.getByRole("button", { name: "Reload" }).click();
    await reloaded;
    await expect(page.locator("link[rel=stylesheet]")).toHaveAttribute("href", "/pkg/messenger-00000000000000ff.css");
    await page.locator("body[data-hydrated]").waitFor();
    await expect(prompt).toHaveCount(0);
    // The old build's caches are gone.
    const caches = await page.evaluate(() => globalThis.caches.keys());
    expect(caches.sort()).toEqual(["pages-messenger-00000000000000ff", "shell-messenger-00000000000000ff"]);
  } finally {
    await context.close();
    await stopNode(node);
  }
});

test("Offline, a reload shows the chats the app had, marked offline; back online it reconnects", async ({
  browser,
}) => {
  const page = await signUp(browser, `Olga ${Date.now()}`);
  await controlled(page);
  await page.getByRole("tab", { name: "People" }).click();
  await page.getByTestId("saved-messages").click();
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
  // The page's offline copy is the signed-in page from sign-up, without this chat: the chat
  // comes from what the page kept in the browser.
  await offlineCopyShows(page, "whoami");

  await page.context().setOffline(true);
  await page.goto("/");
  await page.locator("body[data-hydrated]").waitFor();

  await expect(page.getByTestId("chat-item")).toHaveCount(1);
  await expect(page.getByTestId("chat-item")).toContainText("Saved Messages");
  await expect(page.getByTestId("connection")).toHaveText("offline");

  // A page it never saw says so, in a page of its own.
  const never = await page.goto("/nowhere");
  expect(never?.status()).toBe(503);
  await expect(page.getByRole("heading", { name: "Offline" })).toBeVisible();

  await page.context().setOffline(false);
  await page.goto("/");
  await expect(page.getByTestId("connection")).toHaveText("online");
  await page.context().close();
});

test("Signing out forgets the offline copies of the pages", async ({ browser }) => {
  const name = `Pavel ${Date.now()}`;
  const page = await signUp(browser, name);
  await controlled(page);
  await offlineCopyShows(page, name);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.context().setOffline(true);
  await page.goto("/");
  await expect(page.getByText(name)).toHaveCount(0);
  await page.context().close();
});

test("On a phone, the browser's Back leaves a chat for the list and Forward returns", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.getByLabel("Email").fill(`phone-${Date.now()}@example.com`);
  await page.getByLabel("Name").fill("Phone Person");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await page.getByRole("tab", { name: "People" }).click();
  await page.getByTestId("saved-messages").click();

  const list = page.getByRole("tab", { name: "Chats" });
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
  await expect(page).toHaveURL(/\/\?chat=\d+$/);
  await expect(list).toBeHidden();

  await page.goBack();
  await expect(page).toHaveURL(/\/$/);
  await expect(list).toBeVisible();
  await expect(page.getByTestId("chat-title")).toBeHidden();

  await page.goForward();
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
  // The chat's own Back button is the same step back.
  await page.getByRole("button", { name: "Back to chats" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(list).toBeVisible();

  // A reload keeps the open chat.
  await page.getByTestId("chat-item").click();
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
  await context.close();
});

test("The theme chosen in the settings applies at once and stays after a reload", async ({ browser }) => {
  const page = await signUp(browser, `Rita ${Date.now()}`);
  await page.emulateMedia({ colorScheme: "light" });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();

  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("radio", { name: "Dark" }).check();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  const dark = await background();
  expect(dark).not.toBe(light);

  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  expect(await background()).toBe(dark);
  await expect(page.getByRole("radio", { name: "Dark" })).toBeChecked();

  // "As the system" follows the system's scheme again.
  await page.getByRole("radio", { name: "As the system" }).check();
  expect(await background()).toBe(light);
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await background()).toBe(dark);
  await page.context().close();
});

test("Unread messages are counted in the tab's title and announced to screen readers", async ({ browser }) => {
  const stamp = Date.now();
  const ann = await signUp(browser, `Vera ${stamp}`);
  const bob = await signUp(browser, `Yuri ${stamp}`);
  await expect(ann).toHaveTitle("Messenger");

  await bob.getByRole("tab", { name: "People" }).click();
  await bob.getByRole("searchbox", { name: "Search people" }).fill(`Vera ${stamp}`);
  await bob.getByTestId("user-item").filter({ hasText: `Vera ${stamp}` }).click();
  await bob.getByTestId("composer").fill("one");
  await bob.getByTestId("composer").press("Enter");
  await bob.getByTestId("composer").fill("two");
  await bob.getByTestId("composer").press("Enter");
  await expect(ann).toHaveTitle("(2) Messenger");
  await expect(ann.getByTestId("announcer")).toHaveText(`New message from Yuri ${stamp}`);
  await expect(ann.getByTestId("announcer")).toHaveAttribute("aria-live", "polite");

  await ann.getByTestId("chat-item").first().click();
  await expect(ann).toHaveTitle("Messenger");
  await ann.context().close();
  await bob.context().close();
});
