import { test, expect, type Page } from "@playwright/test";
import { signUp } from "./people";

/** Waits until the service worker controls the page and its offline copy of `/` is signed in. */
async function readyForOffline(page: Page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await page.waitForFunction(
    async () => {
      for (const name of await caches.keys()) {
        if (!name.startsWith("pages-")) continue;
        const copy = await (await caches.open(name)).match("/");
        if (copy && (await copy.text()).includes('data-testid="whoami"')) return true;
      }
      return false;
    },
    null,
    { timeout: 30_000, polling: 250 },
  );
}

/** The texts of a chat's stored messages, as the server has them. */
async function stored(page: Page, chatId: string): Promise<string[]> {
  const response = await page.request.get(`/api/v1/chats/${chatId}/messages?limit=100`);
  return (await response.json()).map((m: { text: string }) => m.text);
}

/** Two people with a chat between them, the first with that chat open. */
async function pair(browser: import("@playwright/test").Browser, first: string, second: string) {
  const stamp = Date.now();
  const writer = await signUp(browser, `${first} ${stamp}`);
  const reader = await signUp(browser, `${second} ${stamp}`);
  await writer.getByRole("tab", { name: "People" }).click();
  await writer.getByRole("searchbox", { name: "Search people" }).fill(`${second} ${stamp}`);
  await writer.getByTestId("user-item").filter({ hasText: `${second} ${stamp}` }).click();
  await writer.getByTestId("composer").fill("before the tunnel");
  await writer.getByTestId("composer").press("Enter");
  await expect(reader.getByTestId("chat-item")).toContainText("before the tunnel");
  const chatId = new URL(writer.url()).searchParams.get("chat")!;
  await readyForOffline(writer);
  return { writer, reader, chatId, readerName: `${second} ${stamp}` };
}

test("Offline, the chat and its messages open from what the browser kept; a message typed there waits in the outbox through a reload and is delivered once", async ({
  browser,
}) => {
  const { writer, reader, chatId } = await pair(browser, "Tanya", "Igor");

  await writer.context().setOffline(true);
  await writer.goto(`/?chat=${chatId}`);
  await writer.locator("body[data-hydrated]").waitFor();
  await expect(writer.getByTestId("connection")).toHaveText("offline");
  await expect(writer.getByTestId("message")).toContainText(["before the tunnel"]);

  await writer.getByTestId("composer").fill("typed in the tunnel");
  await writer.getByTestId("composer").press("Enter");
  await expect(writer.getByTestId("pending")).toContainText("typed in the tunnel");
  await expect(writer.getByTestId("outbox")).toHaveText("1 message waiting to be sent");

  // A reload (still offline) keeps it.
  await writer.reload();
  await writer.locator("body[data-hydrated]").waitFor();
  await expect(writer.getByTestId("pending")).toContainText("typed in the tunnel");
  await expect(writer.getByTestId("outbox")).toHaveText("1 message waiting to be sent");

  // Back online: it goes by itself, once.
  await writer.context().setOffline(false);
  await expect(writer.getByTestId("connection")).toHaveText("online");
  await expect(writer.getByTestId("pending")).toHaveCount(0);
  await expect(writer.getByTestId("outbox")).toHaveCount(0);
  await expect(writer.getByTestId("message").filter({ hasText: "typed in the tunnel" })).toHaveCount(1);
  await expect(reader.getByTestId("chat-item")).toContainText("typed in the tunnel");
  expect((await stored(reader, chatId)).filter((t) => t === "typed in the tunnel")).toHaveLength(1);

  // Nothing waits any more: a later reload sends nothing again.
  await writer.reload();
  await writer.locator("body[data-hydrated]").waitFor();
  await expect(writer.getByTestId("connection")).toHaveText("online");
  await expect(writer.getByTestId("pending")).toHaveCount(0);
  expect((await stored(reader, chatId)).filter((t) => t === "typed in the tunnel")).toHaveLength(1);
  await writer.context().close();
  await reader.context().close();
});

test("Two tabs with the same outbox both send it when the network returns: stored once, shown once in each", async ({
  browser,
}) => {
  const { writer, reader, chatId } = await pair(browser, "Nina", "Oleg");
  const second = await writer.context().newPage();
  await second.goto(`/?chat=${chatId}`);
  await second.locator("body[data-hydrated]").waitFor();
  await expect(second.getByTestId("connection")).toHaveText("online");

  await writer.context().setOffline(true);
  await writer.reload();
  await writer.locator("body[data-hydrated]").waitFor();
  for (const text of ["first from the tunnel", "second from the tunnel"]) {
    await writer.getByTestId("composer").fill(text);
    await writer.getByTestId("composer").press("Enter");
  }
  await expect(writer.getByTestId("outbox")).toHaveText("2 messages waiting to be sent");
  // The other tab loads the same outbox.
  await second.reload();
  await second.locator("body[data-hydrated]").waitFor();
  await expect(second.getByTestId("outbox")).toHaveText("2 messages waiting to be sent");

  await writer.context().setOffline(false);
  for (const page of [writer, second]) {
    await expect(page.getByTestId("connection")).toHaveText("online");
    await expect(page.getByTestId("pending")).toHaveCount(0);
    for (const text of ["first from the tunnel", "second from the tunnel"]) {
      await expect(page.getByTestId("message").filter({ hasText: text })).toHaveCount(1);
    }
  }
  const texts = await stored(reader, chatId);
  expect(texts.filter((t) => t.endsWith("from the tunnel"))).toEqual(["first from the tunnel", "second from the tunnel"]);
  await writer.context().close();
  await reader.context().close();
});
