import { test, expect } from "@playwright/test";

import { signUp } from "./people";

test("signing out in one tab sends the person's other tabs to the sign-in page", async ({ browser }) => {
  const first = await signUp(browser, "Sigrid");
  // A second tab of the same browser: the same session.
  const second = await first.context().newPage();
  await second.goto("/");
  await second.locator("body[data-hydrated]").waitFor();
  await expect(second.getByTestId("connection")).toHaveText("online");

  await first.getByRole("button", { name: "Sign out" }).click();
  await expect(first).toHaveURL(/\/login$/);
  // The server closed the second tab's socket as signed out: no reconnecting forever.
  await expect(second).toHaveURL(/\/login$/);
  await expect(second.getByRole("tab", { name: "Sign in" })).toBeVisible();
});
