import { expect, type APIRequestContext, type Page } from "@playwright/test";

/** The fake Telegram Bot API's address (playwright.config.ts starts it and sets this). */
export const telegramUrl = process.env.E2E_TELEGRAM_URL ?? "http://127.0.0.1:3198";

/** A message the bot sent through the fake. */
export interface Sent {
  message_id: number;
  chat_id: number;
  text: string;
  reply_to: number | null;
}

/** A Telegram user id of its own for each test (a private chat's id is its user's). */
export function telegramUser(): number {
  return 800_000_000 + Math.floor(Math.random() * 100_000_000);
}

/** Plays a Telegram user writing to the bot (optionally replying to one of its messages). */
export async function tellBot(request: APIRequestContext, chatId: number, text: string, replyTo?: number) {
  const pushed = await request.post(`${telegramUrl}/control/push`, {
    data: { chat_id: chatId, text, name: "Ann", reply_to: replyTo },
  });
  expect(pushed.ok()).toBeTruthy();
}

/** What the bot sent to a Telegram user so far, oldest first. */
export async function sentTo(request: APIRequestContext, chatId: number): Promise<Sent[]> {
  const answer = await request.get(`${telegramUrl}/control/sent?chat_id=${chatId}`);
  expect(answer.ok()).toBeTruthy();
  return (await answer.json()).result as Sent[];
}

/** Links the signed-in person's account to Telegram user `chatId` from the settings, as
 * they would: Link Telegram, then Start in Telegram with the link's token. */
export async function linkTelegram(page: Page, request: APIRequestContext, chatId: number) {
  await page.getByRole("link", { name: "Settings" }).click();
  const section = page.getByRole("region", { name: "Telegram" });
  await section.getByRole("button", { name: "Link Telegram" }).click();
  const link = section.getByRole("link", { name: /t\.me\/e2e_messenger_bot/ });
  const token = new URL((await link.getAttribute("href")) ?? "").searchParams.get("start");
  expect(token).toBeTruthy();
  await tellBot(request, chatId, `/start ${token}`);
  await expect(section.getByText("Linked to Telegram (@e2e_messenger_bot)")).toBeVisible();
}
