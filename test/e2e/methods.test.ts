/**
 * Issue 15's method comparison in Chromium against the real `sparsescope serve`, on the sample the
 * app ships: the Methods view draws MInference's, XAttention's, FlexPrefill's and DuoAttention's
 * masks over the same map with four rows of numbers (each method at its defaults), then a search
 * across the four methods fills the view with the search's choices and colours the overview by the
 * method that wins. With UPDATE_SCREENSHOTS=1 it writes methods.png and overview-methods.png to assets/screenshots/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasPixels, waitForHeatmap } from './browser.js';
import { openServedApp, waitForIdle, type ServedApp } from './served-app.js';

const METHODS = ['minference', 'xattention', 'flexprefill', 'duo'];

/** Every tile drawn and every row of the table measured. */
async function methodsShown(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=method-mask][data-ready=true]').length === 4, undefined, { timeout: 120_000, polling: 200 });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=methods-table] tbody tr td:nth-child(3)')].every((cell) => Number.isFinite(Number(cell.textContent))), undefined, { timeout: 120_000, polling: 200 });
}

describe('issue 15: every method on one head, and the method that wins each head', () => {
  let app: ServedApp;
  let page: Page;

  beforeAll(async () => {
    app = await openServedApp('methods');
    page = app.page;
  });

  afterAll(() => app?.close());

  it('draws the four methods’ masks over the same map with four rows of numbers, at the methods’ defaults', async () => {
    await app.openIdle();
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
    await app.screenshot('methods');
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
    await waitForIdle(page);

    await page.click('[data-testid=tab-methods]');
    await methodsShown(page);
    expect(await page.textContent('[data-testid=methods-source]')).toMatch(/as your search chose it/);
    expect(await page.textContent('[data-testid=methods-winner-rule]')).toMatch(/the search's verdict|No method keeps/);
    expect(await page.textContent('[data-testid=methods-table] tbody')).toMatch(/measured/);
    await app.screenshot('methods-searched');

    await page.click('[data-testid=tab-overview]');
    await page.selectOption('[data-testid=grid-colour]', 'method');
    expect(await page.getAttribute('[data-testid=head-grid]', 'data-colour')).toBe('method');
    const legend = await page.textContent('[data-testid=method-legend]');
    const won = [...legend!.matchAll(/(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(won).toBe(16);
    await waitForHeatmap(page);
    await app.screenshot('overview-methods');
  });

  it('holds its layout at 960x600: four maps and four rows in view', async () => {
    await page.setViewportSize({ width: 960, height: 600 });
    await page.click('[data-testid=tab-methods]');
    await methodsShown(page);
    const boxes = await page.$$eval('[data-testid=method-mask], [data-testid=methods-table] tbody tr', (elements) => elements.map((element) => element.getBoundingClientRect().toJSON() as DOMRect));
    expect(boxes).toHaveLength(8);
    for (const box of boxes) expect(box.bottom <= 600 && box.right <= 960 && box.height >= 20).toBe(true);
    await app.screenshot('methods-960');
    expect(app.browser.errors).toEqual([]);
  });
});
