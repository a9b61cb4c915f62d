import { test, expect, type Browser, type Page } from "@playwright/test";

import { signUp } from "./people";

/** The password `signUp` gives everyone. */
const FIRST_PASSWORD = "correct horse battery";
/** The one this test changes it to. */
const NEW_PASSWORD = "violet anchor drizzle 73";

/** Signs in on a page at `/login` and waits until the messenger is online. */
async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("connection")).toHaveText("online");
}

/** A page in a browser context of its own (another device, as far as the server can tell). */
async function newDevice(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test("Devices: this one marked, the others signed out from here; then the password changes", async ({ browser }) => {
  const name = `Dora ${Date.now().toString(36).slice(-5)}`;
  const page = await signUp(browser, name);
  const email: string = (await (await page.request.get("/api/v1/me")).json()).email;
  const other = await newDevice(browser);
  await signIn(other, email, FIRST_PASSWORD);

  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  const devices = page.getByRole("region", { name: "Devices" });
  const rows = devices.getByTestId("device");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: "This device" })).toHaveCount(1);
  // This device comes first, with no End button of its own; the other one has one.
  await expect(rows.first()).toContainText("This device");
  await expect(rows.first()).toContainText(/signed in today at \d\d:\d\d/);
  await expect(rows.first().getByRole("button", { name: "End" })).toHaveCount(0);
  await expect(rows.nth(1).getByRole("button", { name: "End" })).toBeVisible();

  // Ending the other one: gone from the list, and its page goes to the sign-in page by itself.
  await rows.nth(1).getByRole("button", { name: "End" }).click();
  await expect(rows).toHaveCount(1);
  await expect(other).toHaveURL(/\/login$/);
  await expect(devices.getByRole("button", { name: "Sign out all other devices" })).toBeDisabled();

  // Signed in there again, then signed out with every other device at once.
  await signIn(other, email, FIRST_PASSWORD);
  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(rows).toHaveCount(2);
  await devices.getByRole("button", { name: "Sign out all other devices" }).click();
  await expect(devices.getByRole("status")).toHaveText("Signed out 1 other device.");
  await expect(rows).toHaveCount(1);
  await expect(devices.getByRole("button", { name: "Sign out all other devices" })).toBeDisabled();
  await expect(other).toHaveURL(/\/login$/);
  await expect(other.getByRole("tab", { name: "Sign in" })).toBeVisible();

  // The password: each problem under the field it concerns.
  const form = page.getByRole("region", { name: "Password" });
  const current = form.getByLabel("Current password");
  const fresh = form.getByLabel("New password", { exact: true });
  const again = form.getByLabel("Repeat new password");
  const change = form.getByRole("button", { name: "Change password" });
  await expect(current).toHaveAttribute("autocomplete", "current-password");
  await expect(fresh).toHaveAttribute("autocomplete", "new-password");
  await expect(fresh).toHaveAccessibleDescription("12 to 128 characters; not a common password.");

  // Typed differently twice: the browser says so without asking the server.
  await current.fill(FIRST_PASSWORD);
  await fresh.fill(NEW_PASSWORD);
  await again.fill(`${NEW_PASSWORD}!`);
  await change.click();
  await expect(again).toHaveAccessibleDescription("the passwords differ");
  await expect(again).toHaveAttribute("aria-invalid", "true");
  await expect(again).toBeFocused();

  // A wrong current password.
  await current.fill("not my password at all");
  await again.fill(NEW_PASSWORD);
  await change.click();
  await expect(current).toHaveAccessibleDescription("This is not your current password.");
  await expect(current).toHaveAttribute("aria-invalid", "true");
  await expect(current).toBeFocused();
  await expect(fresh).toHaveAttribute("aria-invalid", "false");

  // A new password that is too common.
  await current.fill(FIRST_PASSWORD);
  await expect(current).toHaveAttribute("aria-invalid", "false");
  await fresh.fill("password1234");
  await again.fill("password1234");
  await change.press("Enter");
  await expect(fresh).toHaveAccessibleDescription(/too easy to guess/);
  await expect(fresh).toBeFocused();
  await expect(current).toHaveAttribute("aria-invalid", "false");

  // A good one: said politely, the form emptied, this device still signed in.
  await fresh.fill(NEW_PASSWORD);
  await again.fill(NEW_PASSWORD);
  await again.press("Enter");
  await expect(form.getByRole("status")).toHaveText("Password changed. Your other devices were signed out.");
  await expect(current).toHaveValue("");
  await expect(fresh).toHaveValue("");
  await expect(again).toHaveValue("");
  await expect(page.getByTestId("connection")).toHaveText("online");

  // The old password no longer signs in; the new one does.
  const later = await newDevice(browser);
  await later.goto("/login");
  await later.locator("body[data-hydrated]").waitFor();
  await later.getByLabel("Email").fill(email);
  await later.getByLabel("Password").fill(FIRST_PASSWORD);
  await later.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(later.getByRole("alert").filter({ hasText: "wrong email or password" })).toBeVisible();
  await signIn(later, email, NEW_PASSWORD);
  await expect(later.getByTestId("whoami")).toHaveText(name);
});
