/**
 * Test helper: Debian's chromium driven by playwright-core, closed when the test finishes, and screenshots saved as
 * artifacts under apps/webhook-server/test-artifacts/dashboard/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { onTestFinished } from "vitest";

export const CHROMIUM = process.env.ROLLWAY_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), "../../test-artifacts/dashboard");
export const WIDTHS = [375, 1440] as const;

export async function browserResource(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: run scripts/ci/setup-chromium.sh or set ROLLWAY_CHROMIUM`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox refuses to start as root (CI containers).
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  onTestFinished(() => browser.close());
  return browser;
}

/** A page that fails the test on any script error, any dialog (an injected alert) and any request off this server. */
export async function pageResource(browser: Browser, base: string, options: { javaScript?: boolean } = {}) {
  const context: BrowserContext = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    javaScriptEnabled: options.javaScript ?? true,
  });
  const problems: string[] = [];
  const origin = new URL(base).origin;
  context.on("request", (request) => {
    if (!request.url().startsWith(origin)) problems.push(`request off the server: ${request.url()}`);
  });
  const page: Page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A CSP violation is reported on the console: the pages must not cause one.
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, problems };
}

/** Screenshots of the current page at both widths, named `<name>-<width>.png`; checks nothing overflows sideways. */
export async function screenshots(page: Page, name: string): Promise<{ width: number; overflow: number }[]> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const out: { width: number; overflow: number }[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    out.push({ width, overflow: await overflowOf(page) });
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  return out;
}

/** How far the page is wider than the window; a live page may reload itself meanwhile, then it is read again. */
async function overflowOf(page: Page): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      // A string: this package is typed for Node, without the DOM's types.
      return Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    } catch (error) {
      if (attempt >= 5 || !/context was destroyed/.test(String(error))) throw error;
      await page.waitForLoadState("load");
    }
  }
}
