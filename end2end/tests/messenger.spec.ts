import { test, expect } from "@playwright/test";

import { signUp } from "./people";

test("two people chat live; the unread badge appears and clears", async ({ browser }) => {
  const bob = await signUp(browser, "Bob");
  const ann = await signUp(browser, "Ann");

  // Ann finds Bob in the directory and writes to him.
  await ann.getByRole("tab", { name: "People" }).click();
  await ann.getByRole("searchbox", { name: "Search people" }).fill("Bo");
  await ann.getByTestId("user-item").filter({ hasText: "Bob" }).click();
  await expect(ann.getByTestId("chat-title")).toHaveText("Bob");
  await ann.getByTestId("composer").fill("Hello Bob, <b>this is text</b>");
  await ann.getByTestId("composer").press("Enter");
  await expect(ann.getByTestId("message").last()).toContainText("Hello Bob, <b>this is text</b>");

  // Bob sees the chat appear with an unread badge, without reloading.
  const chat = bob.getByTestId("chat-item").filter({ hasText: "Ann" });
  await expect(chat.getByTestId("unread")).toHaveText("1");
  await chat.click();
  await expect(bob.getByTestId("message").last()).toContainText("Hello Bob, <b>this is text</b>");
  await expect(chat.getByTestId("unread")).toHaveCount(0);

  // Shift+Enter makes a new line; Enter sends; Ann sees Bob's answer live.
  await bob.getByTestId("composer").press("H");
  await bob.getByTestId("composer").press("i");
  await bob.getByTestId("composer").press("Shift+Enter");
  await bob.getByTestId("composer").pressSequentially("see https://example.com");
  await bob.getByTestId("composer").press("Enter");
  const answer = ann.getByTestId("message").last();
  await expect(answer).toContainText("Hi\nsee https://example.com");
  await expect(answer.getByRole("link", { name: "https://example.com" })).toHaveAttribute("rel", "noopener noreferrer");

  // A draft stays with its chat while Ann looks at another one.
  await ann.getByTestId("composer").fill("draft for Bob");
  await ann.getByRole("tab", { name: "People" }).click();
  await ann.getByTestId("saved-messages").click();
  await expect(ann.getByTestId("chat-title")).toHaveText("Saved Messages");
  await expect(ann.getByTestId("composer")).toHaveValue("");
  await ann.getByTestId("chat-item").filter({ hasText: "Bob" }).click();
  await expect(ann.getByTestId("composer")).toHaveValue("draft for Bob");
});

test("Saved Messages keeps notes to oneself", async ({ browser }) => {
  const carla = await signUp(browser, "Carla");
  await carla.getByRole("tab", { name: "People" }).click();
  await expect(carla.getByRole("button", { name: "Next ›" })).toBeDisabled();
  await expect(carla.getByText("Page 1 of 1")).toBeVisible();

  // Someone who registers now shows up in Carla's directory without a reload.
  const newcomer = await browser.newContext();
  const registered = await newcomer.request.post("/api/v1/auth/register", {
    data: { email: `zed-${Date.now()}@example.com`, name: "Zed Newcomer", password: "correct horse battery" },
  });
  expect(registered.status()).toBe(201);
  await expect(carla.getByTestId("user-item").filter({ hasText: "Zed Newcomer" })).toBeVisible();

  await carla.getByTestId("saved-messages").click();
  await expect(carla.getByTestId("chat-title")).toHaveText("Saved Messages");
  await carla.getByTestId("composer").fill("buy milk");
  await carla.getByRole("button", { name: "Send" }).click();
  await expect(carla.getByTestId("message")).toHaveText(/buy milk/);
  // It is still there after a reload.
  await carla.reload();
  await carla.locator("body[data-hydrated]").waitFor();
  await carla.getByTestId("chat-item").filter({ hasText: "Saved Messages" }).click();
  await expect(carla.getByTestId("message")).toHaveText(/buy milk/);
});
