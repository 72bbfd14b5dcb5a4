/**
 * What the browser suites share: the real `sparsescope serve` with Chromium on it for one describe
 * block, a scratch folder of the suite's own, and where its pictures go.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, waitForHeatmap, type Browser } from './browser.js';
import { startTestServer, type TestServer } from './serve-fixture.js';

/** With UPDATE_SCREENSHOTS=1 the pictures replace assets/screenshots/; otherwise they land in the scratch folder. */
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../assets/screenshots/', import.meta.url)) : null;

export interface ServedApp {
  server: TestServer;
  browser: Browser;
  page: Page;
  /** A folder of the suite's own (downloads, and pictures unless UPDATE_SCREENSHOTS=1). */
  scratch: string;
  /** Write `name`.png; the pointer moves off the page first unless a hover readout is the point. */
  screenshot(name: string, options?: { hover?: boolean }): Promise<void>;
  /** Load the app and wait for the first screen: its map drawn and its search done. */
  openIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Wait until no job runs (the first screen's search, an analysis, a search the test started). */
export async function waitForIdle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('[data-testid=status-jobs]')?.textContent === 'idle', undefined, { timeout: 170_000, polling: 200 });
}

/** Start serve and Chromium for a suite named `name` (its scratch folder's prefix). */
export async function openServedApp(name: string): Promise<ServedApp> {
  const scratch = await mkdtemp(join(tmpdir(), `sparsescope-${name}-`));
  if (SCREENSHOT_DIR) await mkdir(SCREENSHOT_DIR, { recursive: true });
  const server = await startTestServer();
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (error) {
    await server.close();
    throw error;
  }
  const { page } = browser;
  return {
    server,
    browser,
    page,
    scratch,
    async screenshot(name, options = {}) {
      if (!options.hover) await page.mouse.move(0, 799);
      await page.screenshot({ path: join(SCREENSHOT_DIR ?? scratch, `${name}.png`) });
    },
    async openIdle() {
      await page.goto(server.url);
      await waitForHeatmap(page);
      await waitForIdle(page);
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
