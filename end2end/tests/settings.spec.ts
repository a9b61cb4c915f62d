import { test, expect, type Page } from "@playwright/test";

import { signUp } from "./people";
import { linkTelegram, sentTo, telegramUser, tellBot } from "./telegram";

/** A tag that keeps this test's names apart from the other tests' (one shared database). */
const tag = () => Date.now().toString(36).slice(-5);

/** Counts the live connections a page opens. */
function countSockets(page: Page): () => number {
  let opened = 0;
  page.on("websocket", (socket) => {
    if (socket.url().endsWith("/api/v1/ws")) opened += 1;
  });
  return () => opened;
}

test("Telegram links live from the settings; previews stay switched off; unlink", async ({ browser, request }) => {
  const name = `Tess ${tag()}`;
  const page = await signUp(browser, name);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole("heading", { name: "Settings", level: 2 })).toBeVisible();
  const section = page.getByRole("region", { name: "Telegram" });
  await expect(section.getByText("Get told in Telegram about messages that arrive while you are offline")).toBeVisible();

  // A one-time link: as a link that opens in a new tab, as a QR code, with its expiry.
  await section.getByRole("button", { name: "Link Telegram" }).click();
  const link = section.getByRole("link", { name: /t\.me\/e2e_messenger_bot/ });
  await expect(link).toHaveAttribute("href", /^https:\/\/t\.me\/e2e_messenger_bot\?start=[^&\s]+$/);
  await expect(link).toHaveAttribute("target", "_blank");
  await expect(link).toHaveAttribute("rel", "noopener");
  await expect(section.getByRole("img", { name: /QR code/ }).locator("svg")).toBeVisible();
  await expect(section.getByText(/valid until \d\d:\d\d/)).toBeVisible();
  await expect(section.getByRole("status")).toHaveText("Waiting for you to press Start in Telegram…");
  await expect(section.getByRole("button", { name: "Get a new link" })).toBeVisible();

  // Start in Telegram (the fake plays the user): the page turns linked without a reload.
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  const token = new URL((await link.getAttribute("href")) ?? "").searchParams.get("start");
  const chatId = telegramUser();
  await tellBot(request, chatId, `/start ${token}`);
  await expect(section.getByText("Linked to Telegram (@e2e_messenger_bot)")).toBeVisible();
  await expect(section.getByRole("link", { name: /t\.me/ })).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  // The bot said so in Telegram too.
  await expect.poll(async () => (await sentTo(request, chatId)).map((m) => m.text).join("\n")).toContain(`Linked to ${name}`);

  // Previews, switched off from the keyboard: saved, the focus stays, and a reload keeps it.
  const previews = section.getByRole("checkbox", { name: "Show message text in notifications" });
  await expect(previews).toBeChecked();
  await previews.focus();
  await page.keyboard.press("Space");
  await expect(previews).not.toBeChecked();
  await expect(previews).toBeEnabled();
  await expect(previews).toBeFocused();
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(section.getByText("Linked to Telegram (@e2e_messenger_bot)")).toBeVisible();
  await expect(previews).not.toBeChecked();

  // Unlink: back to the Link button.
  await section.getByRole("button", { name: "Unlink" }).click();
  await expect(section.getByRole("button", { name: "Link Telegram" })).toBeVisible();
  await expect(section.getByText("Linked to Telegram")).toHaveCount(0);
});

test("Unlinking from Telegram (/stop) shows in the open settings at once", async ({ browser, request }) => {
  const page = await signUp(browser, `Stan ${tag()}`);
  const chatId = telegramUser();
  await linkTelegram(page, request, chatId);
  const section = page.getByRole("region", { name: "Telegram" });
  await tellBot(request, chatId, "/stop");
  await expect(section.getByRole("button", { name: "Link Telegram" })).toBeVisible();
});

test("Settings is a page of its own: Back returns to the chats, the connection stays", async ({ browser }) => {
  const page = await signUp(browser, `Sid ${tag()}`);
  const sockets = countSockets(page);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole("link", { name: "Settings" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("region", { name: "Telegram" })).toBeVisible();

  await page.goBack();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("region", { name: "Telegram" })).toHaveCount(0);
  await expect(page.getByText("Choose a chat, or find someone under People.")).toBeVisible();
  await page.goForward();
  await expect(page.getByRole("region", { name: "Telegram" })).toBeVisible();
  // The same page all along: no new live connection, still online.
  await expect(page.getByTestId("connection")).toHaveText("online");
  expect(sockets()).toBe(0);

  // A reload lands on the settings again.
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(page.getByRole("region", { name: "Telegram" })).toBeVisible();
  await expect(page.getByTestId("connection")).toHaveText("online");

  // Opening a chat from the sidebar leaves the settings.
  await page.getByRole("tab", { name: "People" }).click();
  await page.getByTestId("saved-messages").click();
  await expect(page).toHaveURL(/\/\?chat=\d+$/);
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
});

test("On a phone the settings take the whole screen and have a way back", async ({ browser }) => {
  const page = await signUp(browser, `Pip ${tag()}`);
  await page.setViewportSize({ width: 390, height: 800 });
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("region", { name: "Telegram" })).toBeVisible();
  await expect(page.getByRole("tab", { name: "Chats" })).toBeHidden();
  await page.getByRole("link", { name: "Back to chats" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("tab", { name: "Chats" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Telegram" })).toHaveCount(0);
});

test("/?chat=<id> opens that chat; a chat that is not mine is dropped from the URL", async ({ browser }) => {
  const page = await signUp(browser, `Dora ${tag()}`);
  await page.getByRole("tab", { name: "People" }).click();
  await page.getByTestId("saved-messages").click();
  await expect(page.getByTestId("chat-title")).toHaveText("Saved Messages");
  const { chats } = await (await page.request.get("/api/v1/chats")).json();
  const saved = chats.find((c: { is_saved_messages: boolean }) => c.is_saved_messages);
  expect(saved).toBeTruthy();

  // A fresh tab of the same session, straight at the link: the chat is open, and the URL
  // stays the chat's. Its Back button (there is no list entry before it) goes to the list.
  const tab = await page.context().newPage();
  await tab.goto(`/?chat=${saved.id}`);
  await tab.locator("body[data-hydrated]").waitFor();
  await expect(tab.getByTestId("chat-title")).toHaveText("Saved Messages");
  await expect(tab).toHaveURL(new RegExp(`/\\?chat=${saved.id}$`));
  await tab.getByRole("link", { name: "Settings" }).click();
  await expect(tab).toHaveURL(/\/settings$/);
  await tab.goBack();
  await expect(tab.getByTestId("chat-title")).toHaveText("Saved Messages");

  // A chat that is not mine: nothing opens, nothing complains, the query goes.
  await tab.goto("/?chat=999999999");
  await tab.locator("body[data-hydrated]").waitFor();
  await expect(tab).toHaveURL(/\/$/);
  await expect(tab.getByText("Choose a chat, or find someone under People.")).toBeVisible();
  await expect(tab.getByRole("alert")).toHaveCount(0);
});

test("A message to someone offline reaches their Telegram; its link opens the chat, a reply answers", async ({
  browser,
  request,
}) => {
  const t = tag();
  const annName = `Anja ${t}`;
  const bobName = `Bruno ${t}`;
  const ann = await signUp(browser, annName);
  const chatId = telegramUser();
  await linkTelegram(ann, request, chatId);

  // Bob opens a chat with Ann while she is online, then she closes her tab.
  const bob = await signUp(browser, bobName);
  await bob.getByRole("tab", { name: "People" }).click();
  await bob.getByRole("searchbox", { name: "Search people" }).fill(annName);
  await bob.getByTestId("user-item").filter({ hasText: annName }).click();
  await expect(bob.getByTestId("chat-title")).toHaveText(annName);
  const annContext = ann.context();
  await ann.close();
  await expect(bob.getByTestId("peer-status")).toHaveText(/^last seen/);
  await bob.getByTestId("composer").fill("Are you there?");
  await bob.getByTestId("composer").press("Enter");

  // The notification names Bob, quotes the text and links to the chat.
  let notification = undefined as undefined | { message_id: number; text: string };
  await expect
    .poll(async () => {
      notification = (await sentTo(request, chatId)).find((m) => m.text.startsWith(`New message from ${bobName}`));
      return notification?.text ?? "";
    })
    .toContain("Are you there?");
  const url = /http:\/\/\S+\/\?chat=\d+/.exec(notification!.text)?.[0];
  expect(url).toBeTruthy();

  // The link opens that chat.
  const tab = await annContext.newPage();
  await tab.goto(url!);
  await tab.locator("body[data-hydrated]").waitFor();
  await expect(tab.getByTestId("chat-title")).toHaveText(bobName);
  await expect(tab.getByTestId("message").last()).toContainText("Are you there?");
  await expect(tab).toHaveURL(/\/\?chat=\d+$/);

  // A reply to the notification in Telegram goes into the chat, live on both sides.
  await tellBot(request, chatId, "Yes, from Telegram", notification!.message_id);
  await expect(bob.getByTestId("message").last()).toContainText("Yes, from Telegram");
  await expect(tab.getByTestId("message").last()).toContainText("Yes, from Telegram");
});
