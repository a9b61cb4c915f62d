import { test, expect } from "@playwright/test";
import { signUp } from "./people";

test("The interface follows the browser's language; the server's errors are said in Russian", async ({ browser }) => {
  const context = await browser.newContext({ locale: "ru-RU" });
  const page = await context.newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await expect(page.getByRole("heading", { name: "Мессенджер" })).toBeVisible();

  // A refused sign-in, in the reader's language.
  await page.getByLabel("Эл. почта").fill("nobody@example.com");
  await page.getByLabel("Пароль").fill("not the password at all");
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Неверная почта или пароль." })).toBeVisible();

  // Field problems from the server, each under its field.
  await page.getByRole("tab", { name: "Создать аккаунт" }).click();
  await page.getByLabel("Эл. почта").fill(`ru-${Date.now()}@example.com`);
  await page.getByLabel("Имя").fill("Ирина");
  await page.getByLabel("Пароль").fill("short");
  await page.getByRole("button", { name: "Создать аккаунт", exact: true }).click();
  await expect(page.getByText("Пароль не короче 12 символов.")).toBeVisible();
  await context.close();
});

test("The language chosen in the settings applies at once, stays, and follows the account to another device", async ({
  browser,
}) => {
  const email = `lang-${Date.now()}@example.com`;
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Name").fill("Lang Person");
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.getByTestId("connection")).toHaveText("online");

  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("radio", { name: "Русский" }).check();
  await expect(page.getByRole("tab", { name: "Чаты" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "ru");
  await expect(page.getByText("Сохранено: язык будет таким же на всех ваших устройствах.")).toBeVisible();

  await page.reload();
  await page.locator("body[data-hydrated]").waitFor();
  await expect(page.getByRole("tab", { name: "Чаты" })).toBeVisible();
  await expect(page.getByRole("radio", { name: "Русский" })).toBeChecked();

  // Another device with an English browser: English until the account signs in there.
  const other = await (await browser.newContext({ locale: "en-US" })).newPage();
  await other.goto("/login");
  await other.locator("body[data-hydrated]").waitFor();
  await other.getByLabel("Email").fill(email);
  await other.getByLabel("Password").fill("correct horse battery");
  await other.getByRole("button", { name: "Sign in" }).click();
  await expect(other.getByRole("tab", { name: "Чаты" })).toBeVisible();
  await other.reload();
  await other.locator("body[data-hydrated]").waitFor();
  await expect(other.getByRole("tab", { name: "Чаты" })).toBeVisible();

  // And back to English.
  await page.getByRole("radio", { name: "English" }).check();
  await expect(page.getByRole("tab", { name: "Chats" })).toBeVisible();
  await context.close();
  await other.context().close();
});
