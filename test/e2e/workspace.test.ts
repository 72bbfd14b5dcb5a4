/**
 * Issue 12 in Chromium against the real `sparsescope serve`: the user's work survives a reload
 * (item 6: config edit, undo history, view and head come back; the page asks before unloading over
 * an unexported edit), numbers grey out while the event stream is down (item 8), and the views no
 * peer has: the kernel's reads for a query block, the output error per row with the keys that
 * carried the missing mass, and one head under two configs side by side. With UPDATE_SCREENSHOTS=1
 * it writes kernel.png, output-error.png and compare.png to assets/screenshots/.
 */
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasPixels, waitForHeatmap } from './browser.js';
import { openServedApp, waitForIdle, type ServedApp } from './served-app.js';

const configLine = (page: Page) => page.textContent('.tune-controls p.muted.small');

/** Wait until both sides of Compare show their numbers (a newer request would cancel a pending one). */
async function compareMeasured(page: Page): Promise<void> {
  await page.waitForFunction(() => [...document.querySelectorAll('.compare-numbers tbody tr:first-child td')].every((cell) => cell.textContent !== '—'), undefined, { timeout: 120_000 });
}

/** Tune's numbers once the measurement a change started has landed (past the 80 ms debounce, then not pending). */
async function tuneSettled(page: Page): Promise<void> {
  await page.waitForTimeout(300);
  await page.waitForSelector('[data-testid=tune-stats][data-pending=false]', { timeout: 60_000 });
}

describe('issue 12: work kept across reloads, and the views no peer shows', () => {
  let app: ServedApp;
  let page: Page;
  const dialogs: string[] = [];
  /** The page's event socket as routed through the test, and whether new ones are refused. */
  let socket: { page: WebSocketRoute; serve: WebSocketRoute } | null = null;
  let refusing = false;

  beforeAll(async () => {
    app = await openServedApp('workspace');
    page = app.page;
    await app.browser.context.routeWebSocket(/\/events/, (route) => {
      if (refusing) return void route.close();
      const serve = route.connectToServer();
      route.onMessage((message) => serve.send(message));
      serve.onMessage((message) => route.send(message));
      socket = { page: route, serve };
    });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.accept();
    });
  });

  afterAll(() => app?.close());

  it('keeps an edited head, its undo history, the view and the head across a reload, asking first', async () => {
    await app.openIdle();
    await page.click('[data-testid=tab-tune]');
    await page.waitForSelector('[data-testid=tune-stats][data-pending=false]', { timeout: 60_000 });
    const radio = 'input[name=pattern][value=vertical_and_slash]';
    if (!(await page.isChecked(radio))) {
      await page.check(radio);
      await tuneSettled(page);
    }
    // Each commit's measurement settles before the next, so none is cancelled under it (a 409 in the console).
    for (const [field, value] of [['param-a-number', '30'], ['param-b-number', '50']] as const) {
      await page.fill(`[data-testid=${field}]`, value);
      await page.press(`[data-testid=${field}]`, 'Enter');
      await tuneSettled(page);
    }
    await page.click('[data-testid=apply]');
    await page.waitForSelector('[data-testid=tab-tune] .badge >> text=1');
    const head = [await page.inputValue('[data-testid=pick-layer]'), await page.inputValue('[data-testid=pick-head]')];
    expect(await configLine(page)).toMatch(/vertical 30 · slash 50/);

    await page.reload();
    // The unexported edit made the page ask before it went (Playwright accepts: reload anyway).
    expect(dialogs).toEqual(['beforeunload']);
    await waitForHeatmap(page);
    await page.waitForSelector('[data-testid=tab-tune][aria-selected=true]');
    expect(await configLine(page)).toMatch(/vertical 30 · slash 50/);
    expect([await page.inputValue('[data-testid=pick-layer]'), await page.inputValue('[data-testid=pick-head]')]).toEqual(head);
    expect(await page.textContent('[data-testid=tab-tune] .badge')).toBe('1');
    await waitForIdle(page);
  });

  it('greys the numbers while the event stream is down, and brings them back once it is up', async () => {
    const opacity = async () => Number(await page.$eval('[data-testid=tune-stats] .stat-value', (element) => getComputedStyle(element).opacity));
    await page.waitForSelector('[data-testid=status-connection][data-state=connected]', { timeout: 20_000 });
    await page.waitForSelector('[data-testid=tune-stats][data-pending=false]', { timeout: 60_000 }); // Tune dims while it measures
    expect(await opacity()).toBe(1);
    refusing = true;
    await Promise.all([socket!.page.close(), socket!.serve.close()]);
    await page.waitForSelector('[data-testid=status-connection][data-state=reconnecting]', { timeout: 20_000 });
    expect(await opacity()).toBeLessThan(0.6);
    refusing = false;
    await page.waitForSelector('[data-testid=status-connection][data-state=connected]', { timeout: 20_000 });
    expect(await opacity()).toBe(1);
  });

  it('draws what the kernel reads for a query block, with MInference’s names and counts', async () => {
    await page.click('[data-testid=tab-kernel]');
    await page.waitForSelector('[data-testid=kernel-band][data-ready=true]', { timeout: 60_000 });
    const lastBlock = Number(await page.inputValue('[data-testid=query-block]'));
    expect(lastBlock).toBeGreaterThan(0);
    expect(Number(await page.textContent('[data-testid=block-count]'))).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid=kernel-lists]')).toMatch(/block_offset[\s\S]*column_count[\s\S]*column_index/);
    // A click on the small map picks the query block under it.
    const box = (await page.locator('[data-testid=kernel-picker]').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height * 0.55);
    await page.waitForFunction((last) => Number((document.querySelector('[data-testid=query-block]') as HTMLInputElement).value) < last, lastBlock);
    const picked = await page.inputValue('[data-testid=query-block]');
    // The view has two bands (every key, the last 256); the one measured must be the one drawn.
    await page.waitForFunction(
      (block) => {
        const bands = [...document.querySelectorAll('[data-testid=kernel-band]')];
        return bands.length > 0 && bands.every((band) => band.getAttribute('data-block') === block && band.getAttribute('data-ready') === 'true');
      },
      picked,
      { timeout: 60_000 },
    );
    expect((await canvasPixels(page, '[data-testid=kernel-band]')).distinctColours).toBeGreaterThan(10);
    await app.screenshot('kernel');
  });

  it('shows the output error of each row and the skipped keys that carried the missing mass', async () => {
    await page.click('[data-testid=tab-error]');
    await page.waitForSelector('[data-testid=row-error-strip] rect', { timeout: 120_000 });
    expect(await page.locator('[data-testid=row-error-strip] rect').count()).toBeGreaterThan(100);
    expect(await page.locator('[data-testid=worst-rows] tbody tr').count()).toBe(8);
    expect(await page.locator('[data-testid=missed-columns] li').count()).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid=diagnosis]')).toMatch(/attention mass/);
    await app.screenshot('output-error');
  });

  it('compares the head under the searched config and the edited one, side by side with the difference', async () => {
    await page.click('[data-testid=tab-compare]');
    // A: what the first screen's search chose; B: the config with the edit.
    expect(await page.inputValue('[data-testid=compare-source-A]')).toBe('searched');
    expect(await page.inputValue('[data-testid=compare-source-B]')).toBe('working');
    await page.waitForSelector('[data-testid=compare-diff-map][data-ready=true]', { timeout: 120_000 });
    await compareMeasured(page);
    expect(await page.textContent('[data-testid=compare-B]')).toMatch(/vertical 30 · slash 50/);
    const recallDelta = await page.textContent('.compare-numbers tbody tr:first-child td:last-child');
    expect(recallDelta).toMatch(/^[+−]\d\.\d{4}$/);
    await page.waitForSelector('[data-testid=heatmap][data-mask=drawn]', { timeout: 60_000 });
    await app.screenshot('compare');
  });

  it('undoes the edit made before the reload', async () => {
    await page.click('[data-testid=tab-tune]');
    // Undo once Tune has measured the head, so the undo's measurement does not cancel that one.
    await page.waitForSelector('[data-testid=tune-stats][data-pending=false]', { timeout: 60_000 });
    await page.keyboard.press('Control+z');
    await page.waitForSelector('[data-testid=tab-tune] .badge', { state: 'detached' });
    expect(await configLine(page)).not.toMatch(/vertical 30 · slash 50/);
    await page.waitForSelector('[data-testid=tune-stats][data-pending=false]', { timeout: 60_000 });
    await waitForIdle(page);
    expect(app.browser.errors, app.browser.errors.join('\n')).toEqual([]);
  });
});
