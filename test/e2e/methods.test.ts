/**
 * Issue 15's method comparison in Chromium against the real `sparsescope serve`, on the sample the
 * app ships: the Methods view draws MInference's, XAttention's, FlexPrefill's and DuoAttention's
 * masks over the same map with four rows of numbers (each method at its defaults), then a search
 * across the four methods fills the view with the search's choices and colours the overview by the
 * method that wins. With UPDATE_SCREENSHOTS=1 it writes methods.png and overview-methods.png to assets/screenshots/.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasPixels, launchBrowser, waitForHeatmap, type Browser } from './browser.js';
import { startTestServer, type TestServer } from './serve-fixture.js';

const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../assets/screenshots/', import.meta.url)) : null;
const METHODS = ['minference', 'xattention', 'flexprefill', 'duo'];

async function screenshot(page: Page, name: string, scratch: string): Promise<void> {
  await page.mouse.move(0, 799); // no hover readouts in the pictures
  await page.screenshot({ path: join(SCREENSHOT_DIR ?? scratch, `${name}.png`) });
}

async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('[data-testid=status-jobs]')?.textContent === 'idle', undefined, { timeout: 170_000, polling: 200 });
}

/** Every tile drawn and every row of the table measured. */
async function methodsShown(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=method-mask][data-ready=true]').length === 4, undefined, { timeout: 120_000, polling: 200 });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=methods-table] tbody tr td:nth-child(3)')].every((cell) => Number.isFinite(Number(cell.textContent))), undefined, { timeout: 120_000, polling: 200 });
}

describe('issue 15: every method on one head, and the method that wins each head', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sparsescope-methods-'));
    if (SCREENSHOT_DIR) await mkdir(SCREENSHOT_DIR, { recursive: true });
    server = await startTestServer();
    browser = await launchBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws the four methods’ masks over the same map with four rows of numbers, at the methods’ defaults', async () => {
    await page.goto(server.url);
    await waitForHeatmap(page);
    await idle(page);
    await page.click('[data-testid=tab-methods]');
    await methodsShown(page);
    expect(await page.$$eval('[data-testid=methods-table] tbody tr', (rows) => rows.map((row) => row.getAttribute('data-method')))).toEqual(METHODS);
    for (const method of METHODS) expect((await canvasPixels(page, `[data-testid=method-mask][data-method=${method}]`)).distinctColours).toBeGreaterThan(10);
    expect(await page.textContent('[data-testid=methods-source]')).toMatch(/No search across methods yet/);
    expect(await page.textContent('[data-testid=methods-table] tbody tr[data-method=xattention] td:nth-child(2)')).toBe('XA 0.9/8');

    // Pointing at one tile puts a cross-hair in every tile, each saying what its method does there.
    const box = (await page.locator('[data-testid=method-mask][data-method=minference]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.8);
    await page.waitForSelector('[data-testid=method-tile-minference] [data-testid=heatmap-readout]');
    for (const method of METHODS) expect(await page.textContent(`[data-testid=method-tile-${method}] figcaption`)).toMatch(/^q [\d,]+ · k [\d,]+: (computed|skipped|\d+% computed)$/);
    await screenshot(page, 'methods', scratch);
  });

  it('an edited parameter is measured and drawn again', async () => {
    await page.fill('[data-testid=method-xattention-a]', '990');
    await page.press('[data-testid=method-xattention-a]', 'Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid=methods-table] tbody tr[data-method=xattention] td:nth-child(2)')?.textContent === 'XA 0.99/8');
    await methodsShown(page);
    expect(await page.textContent('[data-testid=method-tile-xattention]')).toMatch(/your edit/);
    await page.click('[data-testid=method-params-xattention] >> text=reset');
    await methodsShown(page);
  });

  it('a search across the four methods shows each one’s choice, and the overview colours heads by the method that wins', async () => {
    await page.click('[data-testid=tab-search]');
    for (const method of METHODS.slice(1)) await page.check(`[data-testid=search-method-${method}]`);
    await page.click('[data-testid=start-search]');
    await page.waitForFunction(() => document.querySelector('[data-testid=search-result]')?.textContent?.includes('Heads each method wins'), undefined, { timeout: 170_000, polling: 250 });
    await idle(page);

    await page.click('[data-testid=tab-methods]');
    await methodsShown(page);
    expect(await page.textContent('[data-testid=methods-source]')).toMatch(/as your search chose it/);
    expect(await page.textContent('[data-testid=methods-winner-rule]')).toMatch(/the search's verdict|No method keeps/);
    expect(await page.textContent('[data-testid=methods-table] tbody')).toMatch(/measured/);
    await screenshot(page, 'methods-searched', scratch);

    await page.click('[data-testid=tab-overview]');
    await page.selectOption('[data-testid=grid-colour]', 'method');
    expect(await page.getAttribute('[data-testid=head-grid]', 'data-colour')).toBe('method');
    const legend = await page.textContent('[data-testid=method-legend]');
    const won = [...legend!.matchAll(/(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(won).toBe(16);
    await waitForHeatmap(page);
    await screenshot(page, 'overview-methods', scratch);
  });

  it('holds its layout at 960x600: four maps and four rows in view', async () => {
    await page.setViewportSize({ width: 960, height: 600 });
    await page.click('[data-testid=tab-methods]');
    await methodsShown(page);
    const boxes = await page.$$eval('[data-testid=method-mask], [data-testid=methods-table] tbody tr', (elements) => elements.map((element) => element.getBoundingClientRect().toJSON() as DOMRect));
    expect(boxes).toHaveLength(8);
    for (const box of boxes) expect(box.bottom <= 600 && box.right <= 960 && box.height >= 20).toBe(true);
    await screenshot(page, 'methods-960', scratch);
    expect(browser.errors).toEqual([]);
  });
});
