// Renders the app's icons (public/icons/*.png) from their SVG sources in Debian's Chromium:
//   node scripts/icons.mjs        (Playwright comes from end2end/node_modules)
// icon.svg has rounded corners on a transparent ground; maskable.svg fills its square and
// keeps the drawing inside the middle 80 %, the safe zone a launcher may crop to any shape.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = createRequire(join(root, "end2end/package.json"))("@playwright/test");
const icons = [
  ["icon.svg", "icon-192.png", 192],
  ["icon.svg", "icon-512.png", 512],
  ["maskable.svg", "maskable-512.png", 512],
];

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
for (const [source, target, size] of icons) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const svg = readFileSync(join(root, "public/icons", source), "utf8");
  await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`);
  await page.screenshot({ path: join(root, "public/icons", target), omitBackground: true });
  await page.close();
  console.log(`public/icons/${target} (${size}×${size})`);
}
await browser.close();
