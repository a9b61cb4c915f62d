import { test, expect } from "@playwright/test";

test("a person registers, signs out and signs in again", async ({ page }) => {
  const email = `ann-${Date.now()}@example.com`;
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();

  // Field hints, then a server error next to the field it concerns.
  await page.getByRole("tab", { name: "Create account" }).click();
  await expect(page.getByText("12 to 128 characters.")).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Name").fill("Ann");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.locator(".field-error")).toHaveText("A password has at least 12 characters.");

  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("whoami")).toHaveText("Ann");

  await page.getByRole("button", { name: "Sign out" }).click();
  // Signing out loads a fresh sign-in page.
  await expect(page).toHaveURL(/\/login$/);
  await page.locator("body[data-hydrated]").waitFor();

  // A wrong password is refused with a message; the right one signs in.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password here");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("whoami")).toHaveText("Ann");

  // The session survives a reload (the cookie, not page state, signs us in).
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(page.getByTestId("whoami")).toHaveText("Ann");
});
