import { test, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { signUp } from "./people";

/** axe-core's findings on the page that are serious or critical, against WCAG 2.1 A and AA. */
async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ rule: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
}

for (const scheme of ["light", "dark"] as const) {
  test(`No serious accessibility problems on the sign-in, messenger and settings pages (${scheme})`, async ({
    browser,
  }) => {
    // Every finding of every screen, reported together.
    const found: object[] = [];
    const scan = async (page: Page, screen: string) =>
      found.push(...(await seriousViolations(page)).map((v) => ({ screen, ...v })));
    const stamp = Date.now();
    const ann = await signUp(browser, `Vera ${stamp}`);
    const bob = await signUp(browser, `Yuri ${stamp}`);
    await bob.emulateMedia({ colorScheme: scheme });

    // Someone writes: an unread badge, a chat with messages both ways, a link.
    await ann.getByRole("tab", { name: "People" }).click();
    await ann.getByRole("searchbox", { name: "Search people" }).fill(`Yuri ${stamp}`);
    await ann.getByTestId("user-item").filter({ hasText: `Yuri ${stamp}` }).click();
    await ann.getByTestId("composer").fill("Hello, see https://example.com");
    await ann.getByTestId("composer").press("Enter");
    await expect(bob.getByTestId("unread")).toHaveText("1");
    await scan(bob, "chat list with an unread chat");

    await bob.getByTestId("chat-item").first().click();
    await bob.getByTestId("composer").fill("Hi Ann");
    await bob.getByTestId("composer").press("Enter");
    await expect(ann.getByTestId("message").last()).toContainText("Hi Ann");
    await scan(bob, "open chat");

    await bob.getByRole("tab", { name: "People" }).click();
    await expect(bob.getByTestId("user-item").first()).toBeVisible();
    await scan(bob, "people");

    await bob.getByRole("link", { name: "Settings" }).click();
    await expect(bob.getByRole("region", { name: "Telegram" })).toBeVisible();
    await scan(bob, "settings");

    const visitor = await (await browser.newContext({ colorScheme: scheme })).newPage();
    await visitor.goto("/login");
    await visitor.locator("body[data-hydrated]").waitFor();
    await scan(visitor, "sign-in");
    // The form with its errors showing.
    await visitor.getByRole("button", { name: "Sign in" }).click();
    await visitor.getByLabel("Email").fill("nobody@example.com");
    await visitor.getByLabel("Password").fill("wrong password here");
    await visitor.getByRole("button", { name: "Sign in" }).click();
    await expect(visitor.getByRole("alert").filter({ hasText: /./ })).toBeVisible();
    await scan(visitor, "sign-in with errors");
    await visitor.getByRole("tab", { name: "Create account" }).click();
    await scan(visitor, "create account");

    expect(found).toEqual([]);
    for (const page of [ann, bob, visitor]) await page.context().close();
  });
}

/** Presses Tab until the focused element matches `selector` (at most `limit` times). */
async function tabTo(page: Page, selector: string, limit = 40) {
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

test("Everything a person needs is reachable and usable with the keyboard alone, with visible focus", async ({
  browser,
}) => {
  const stamp = Date.now();
  const page = await (await browser.newContext()).newPage();
  await page.goto("/login");
  await page.locator("body[data-hydrated]").waitFor();
  // Create an account: the tab, the fields, the button.
  await tabTo(page, '[role="tab"]:not(.active)');
  await page.keyboard.press("Enter");
  await tabTo(page, "#field-email");
  await page.keyboard.type(`keys-${stamp}@example.com`);
  await page.keyboard.press("Tab");
  await page.keyboard.type("Keyboard Person");
  await page.keyboard.press("Tab");
  await page.keyboard.type("correct horse battery");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("connection")).toHaveText("online");

  // Focus shows: the outline of :focus-visible.
  await tabTo(page, '[role="tab"]:not([aria-selected="true"])');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  expect(outline).not.toBe("none");
  // People, then Saved Messages, then write and send.
  await page.keyboard.press("Enter");
  await tabTo(page, '[data-testid="saved-messages"]');
  await page.keyboard.press("Enter");
  await tabTo(page, '[data-testid="composer"]');
  await page.keyboard.type("sent without a mouse");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("message").last()).toContainText("sent without a mouse");
  // The settings, and a theme chosen there.
  await tabTo(page, "a.settings-link");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/settings$/);
  await tabTo(page, 'input[name="theme"]');
  await page.keyboard.press("ArrowRight");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await page.context().close();
});
