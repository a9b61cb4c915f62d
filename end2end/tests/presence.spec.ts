import { test, expect } from "@playwright/test";

import { signUp } from "./people";

test("the peer's presence and typing show live in the header and the lists", async ({ browser }) => {
  // All tests share one database: names of their own, so that no other test's
  // `hasText: "Bob"` finds these two (and the other way round).
  const tag = Date.now().toString(36).slice(-5);
  const bobName = `Boris ${tag}`;
  const annName = `Anouk ${tag}`;
  const bob = await signUp(browser, bobName);
  const ann = await signUp(browser, annName);

  // Ann finds Bob under People: he is online there, in her chat list and in the header.
  await ann.getByRole("tab", { name: "People" }).click();
  await ann.getByRole("searchbox", { name: "Search people" }).fill(bobName);
  const bobInDirectory = ann.getByTestId("user-item").filter({ hasText: bobName });
  await expect(bobInDirectory.getByTestId("online-dot")).toBeVisible();
  await bobInDirectory.click();
  await expect(ann.getByTestId("chat-title")).toHaveText(bobName);
  const status = ann.getByTestId("peer-status");
  await expect(status).toHaveText("online");
  await expect(status).toHaveAttribute("aria-live", "polite");
  const bobInChats = ann.getByTestId("chat-item").filter({ hasText: bobName });
  await expect(bobInChats.getByTestId("online-dot")).toBeVisible();

  // Saved Messages say nothing about presence.
  await ann.getByRole("tab", { name: "People" }).click();
  await ann.getByTestId("saved-messages").click();
  await expect(ann.getByTestId("chat-title")).toHaveText("Saved Messages");
  await expect(ann.getByTestId("peer-status")).toHaveText("");
  await expect(ann.getByTestId("chat-item").filter({ hasText: "Saved Messages" }).getByTestId("online-dot")).toHaveCount(0);
  await bobInChats.click();
  await expect(status).toHaveText("online");

  // Bob opens the chat with Ann and types: Ann sees it.
  await bob.getByRole("tab", { name: "People" }).click();
  await bob.getByRole("searchbox", { name: "Search people" }).fill(annName);
  await bob.getByTestId("user-item").filter({ hasText: annName }).click();
  await expect(bob.getByTestId("chat-title")).toHaveText(annName);
  await expect(bob.getByTestId("peer-status")).toHaveText("online");
  await bob.getByTestId("composer").pressSequentially("Hi Ann");
  await expect(status).toHaveText("typing…");

  // Bob sends: the indicator goes with the message, not only when it runs out (5 s).
  await bob.getByTestId("composer").press("Enter");
  await expect(ann.getByTestId("message").last()).toContainText("Hi Ann");
  await expect(status).toHaveText("online", { timeout: 1_000 });

  // Bob closes his page: Ann sees when he was last seen, and the dot goes.
  await bob.context().close();
  await expect(status).toHaveText(/^last seen (today|yesterday) at \d\d:\d\d$/);
  await expect(bobInChats.getByTestId("online-dot")).toHaveCount(0);
  await ann.getByRole("tab", { name: "People" }).click();
  await ann.getByRole("searchbox", { name: "Search people" }).fill(bobName);
  await expect(bobInDirectory).toBeVisible();
  await expect(bobInDirectory.getByTestId("online-dot")).toHaveCount(0);
});
