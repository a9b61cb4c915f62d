import { expect, type Browser, type Page } from "@playwright/test";

/** Registers someone in a browser context of their own and waits until they are online. */
export async function signUp(browser: Browser, name: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await page.getByRole("tab", { name: "Create account" }).click();
  const local = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  await page.getByLabel("Email").fill(`${local}-${Date.now()}@example.com`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.getByTestId("whoami")).toHaveText(name);
  await expect(page.getByTestId("connection")).toHaveText("online");
  return page;
}
