// The screenshots in docs/screenshots/ (shown in the README): the messenger with a chat open,
// at desktop and phone size, light and dark, English and Russian. `make screenshots`.
import { test, expect, type Browser } from "@playwright/test";
import * as path from "node:path";

const OUT = path.resolve(__dirname, "..", "..", "docs", "screenshots");
const PASSWORD = "correct horse battery";

const PEOPLE = {
  en: { me: "Ann Lee", peer: "Ben Carter", others: ["Chloe Martin", "Dmitri Volkov"] },
  ru: { me: "Анна Ли", peer: "Борис Котов", others: ["Вера Миронова", "Глеб Орлов"] },
};
const TALK = {
  en: [
    ["peer", "Are we still on for Saturday?"],
    ["me", "Yes! 10:00 at the station. I'll bring the map."],
    ["peer", "Great. The forecast says sun all day: https://example.com/forecast"],
    ["me", "Perfect!"],
  ],
  ru: [
    ["peer", "В субботу всё в силе?"],
    ["me", "Да! В 10:00 у вокзала. Карту возьму."],
    ["peer", "Отлично. Обещают солнце весь день: https://example.com/forecast"],
    ["me", "Прекрасно!"],
  ],
} as const;

async function signUp(browser: Browser, locale: string, name: string, email: string) {
  const page = await (await browser.newContext({ locale })).newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  await page.locator('[role="tab"]').nth(1).click();
  await page.locator("#field-email").fill(email);
  await page.locator("#field-name").fill(name);
  await page.locator("#field-password").fill(PASSWORD);
  await page.locator('button[type="submit"]').click();
  await page.getByTestId("whoami").waitFor();
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "online");
  return page;
}

async function openChatWith(page: import("@playwright/test").Page, name: string) {
  await page.locator('[role="tab"]').nth(1).click();
  await page.locator('input[type="search"]').fill(name);
  await page.getByTestId("user-item").filter({ hasText: name }).click();
  await page.getByTestId("composer").waitFor();
}

for (const lang of ["en", "ru"] as const) {
  test(`screenshots (${lang})`, async ({ browser }) => {
    test.setTimeout(240_000);
    const stamp = Date.now();
    const locale = lang === "en" ? "en-US" : "ru-RU";
    const people = PEOPLE[lang];
    const email = (who: string) => `${who}-${lang}-${stamp}@example.com`;
    const me = await signUp(browser, locale, people.me, email("me"));
    const peer = await signUp(browser, locale, people.peer, email("peer"));
    for (const [i, other] of people.others.entries()) {
      const page = await signUp(browser, locale, other, email(`other${i}`));
      await openChatWith(page, people.me);
      await page.getByTestId("composer").fill(i === 0 ? (lang === "en" ? "See you tomorrow!" : "До завтра!") : lang === "en" ? "Thanks, got it." : "Спасибо, понял.");
      await page.getByTestId("composer").press("Enter");
      await page.context().close();
    }
    await openChatWith(me, people.peer);
    await openChatWith(peer, people.me);
    for (const [who, text] of TALK[lang]) {
      const page = who === "me" ? me : peer;
      await page.getByTestId("composer").fill(text);
      await page.getByTestId("composer").press("Enter");
      await expect(page.getByTestId("message").last()).toContainText(text.slice(0, 10));
    }
    await peer.getByTestId("composer").fill(lang === "en" ? "Typing…" : "Печатаю…");
    await me.context().close();

    for (const scheme of ["light", "dark"] as const) {
      for (const [size, viewport] of [
        ["desktop", { width: 1200, height: 760 }],
        ["phone", { width: 390, height: 780 }],
      ] as const) {
        const context = await browser.newContext({ locale, colorScheme: scheme, viewport, deviceScaleFactor: 1 });
        const page = await context.newPage();
        await page.goto("/login");
        await page.locator("body[data-hydrated]").waitFor();
        await page.locator("#field-email").fill(email("me"));
        await page.locator("#field-password").fill(PASSWORD);
        await page.locator('button[type="submit"]').click();
        await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "online");
        await page.getByTestId("chat-item").filter({ hasText: people.peer }).click();
        await expect(page.getByTestId("message")).toHaveCount(TALK[lang].length);
        await page.mouse.move(0, 0);
        await page.screenshot({ path: path.join(OUT, `${size}-${scheme}-${lang}.png`) });
        await context.close();
      }
    }
    await peer.context().close();
  });
}
