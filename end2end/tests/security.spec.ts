import { test, expect } from "@playwright/test";

test("the pages run under a strict Content-Security-Policy without a single violation", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  page.on("pageerror", (error) => violations.push(error.message));

  const response = await page.goto("/login");
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+' 'wasm-unsafe-eval'/);
  expect(policy).toContain("default-src 'self'");
  expect(policy).toContain("frame-ancestors 'none'");
  await page.locator("body[data-hydrated]").waitFor();

  // Sign up, chat with oneself, open the settings and show a Telegram QR code.
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.getByLabel("Email").fill(`csp-${Date.now()}@example.com`);
  await page.getByLabel("Name").fill("Cecil");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.getByTestId("connection")).toHaveText("online");
  await page.getByRole("tab", { name: "People" }).click();
  await page.getByTestId("saved-messages").click();
  await page.getByTestId("composer").fill("a note");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("message").getByText("a note")).toBeVisible();
  await page.getByRole("link", { name: "Settings" }).click();
  const telegram = page.getByRole("region", { name: "Telegram" });
  await telegram.getByRole("button", { name: "Link Telegram" }).click();
  await expect(telegram.getByRole("img", { name: /QR code/ }).locator("svg")).toBeVisible();

  // Each page load gets a nonce of its own.
  const again = await page.goto("/settings");
  expect(again?.headers()["content-security-policy"]).not.toEqual(policy);
  await page.locator("body[data-hydrated]").waitFor();
  expect(violations).toEqual([]);
});
