/**
 * Walking skeleton through the real `sparsescope serve`: the page loads with its token, opens the
 * sample capture (the first screen) and draws a heatmap with real pixels; requests without the
 * token are refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { canvasPixels, launchBrowser, waitForHeatmap, type Browser } from './browser.js';
import { startTestServer, type TestServer } from './serve-fixture.js';

describe('skeleton: the first screen’s heatmap in Chromium against serve', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the sample capture’s heatmap with real pixels', async () => {
    const { page } = browser;
    await page.goto(server.url);
    await waitForHeatmap(page);
    const pixels = await canvasPixels(page, '[data-testid=heatmap]');
    expect(pixels.width).toBeGreaterThan(100);
    // A blank or single-colour canvas has one or two colours; an attention map has many.
    expect(pixels.distinctColours).toBeGreaterThan(20);
    expect(pixels.litShare).toBeGreaterThan(0.2);
    // The status bar names the backend once device.info answers.
    await page.waitForFunction(() => /CPU ·|CUDA ·/.test(document.querySelector('[data-testid=status-bar]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page.locator('[data-testid=head-grid]').count()).toBe(1);
    expect(browser.errors).toEqual([]);
  });

  it('says what is wrong with a broken capture in a banner and keeps the open one', async () => {
    const { page } = browser;
    await writeFile(join(server.root, 'broken.safetensors'), Buffer.from('this is not a safetensors file at all'));
    await page.click('[data-testid=tab-files]');
    await page.click('[data-testid=open-capture]');
    await page.click('[data-testid=file-browser] >> text=broken.safetensors');
    const banner = await page.waitForSelector('[data-testid=notice-error]', { timeout: 60_000 });
    expect(await banner.textContent()).toMatch(/^Failed opening .*broken\.safetensors: .{10,}/);
    expect(await page.textContent('[data-testid=capture-facts]')).toContain('ref-byte-llama');
    await page.click('[data-testid=tab-overview]');
    await waitForHeatmap(page);
  });

  it('refuses the page, the API and the event socket without the token', async () => {
    const origin = new URL(server.url).origin;
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(401);
    const api = await fetch(`${origin}/api/device.info`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(api.status).toBe(401);
    const wrong = await fetch(`${origin}/api/device.info`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': 'wrong' }, body: '{}' });
    expect(wrong.status).toBe(401);
    // From Node, so no cookie from the page's visit rides along.
    const opened = await new Promise<boolean>((resolve) => {
      const socket = new WebSocket(`${origin.replace('http', 'ws')}/events`);
      socket.on('open', () => resolve(true));
      socket.on('error', () => resolve(false));
    });
    expect(opened).toBe(false);
  });

  it('counts the page\'s own CSP violations as errors: no console filter hides them (issue 10)', async () => {
    const { page } = browser;
    await page.goto(server.url);
    const before = browser.errors.length;
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineScriptRan = true';
      document.head.append(script);
    });
    await expect.poll(() => browser.errors.slice(before).join('\n')).toMatch(/violates the following Content Security Policy directive 'script-src 'self''/);
    expect(await page.evaluate(() => 'inlineScriptRan' in window)).toBe(false);
  });

  it('without a token in the URL, says how to get in instead of showing a blank page', async () => {
    const { page } = browser;
    // The cookie from the first visit lets the static files load; the API client still needs the token.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(new URL(server.url).origin + '/');
    await page.waitForSelector('.fatal', { timeout: 30_000 });
    expect(await page.textContent('.fatal')).toMatch(/open the URL that `sparsescope serve` printed/);
  });
});
