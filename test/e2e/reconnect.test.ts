/**
 * Issue 10's fault test in Chromium against the real `sparsescope serve`: the page's job event
 * socket drops in the middle of the first screen's analysis and cannot come back for a while. The status
 * bar says so (reconnecting, then disconnected while tries keep failing), then connected once the
 * socket is back, and the analysis result, finished meanwhile on the server, still arrives.
 * The test sits between page and server with Playwright's WebSocket routing, so it can drop the
 * socket at a chosen event and refuse the tries that follow.
 */
import type { WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Browser } from './browser.js';
import { startTestServer, type TestServer } from './serve-fixture.js';

function isRunningAnalyze(message: string | Buffer): boolean {
  const { event } = JSON.parse(String(message)) as { event?: { kind?: string; state?: string } };
  return event?.kind === 'analyze' && event.state === 'running';
}

describe('issue 10: the event socket drops mid-job', () => {
  let server: TestServer;
  let browser: Browser;
  /** While true, every socket the page opens is closed at once, as if serve were unreachable. */
  let refusing = false;
  let droppedMidJob = false;

  /** Pass messages both ways; drop both sides at the first `running` event of the analysis. */
  function relay(page: WebSocketRoute): void {
    const serve = page.connectToServer();
    page.onMessage((message) => serve.send(message));
    serve.onMessage((message) => {
      if (!droppedMidJob && isRunningAnalyze(message)) {
        droppedMidJob = true;
        refusing = true;
        void page.close();
        void serve.close();
        return;
      }
      page.send(message);
    });
  }

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    await browser.context.routeWebSocket(/\/events/, async (page) => {
      if (refusing) await page.close();
      else relay(page);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows reconnecting, disconnected, then connected, and the analysis result still arrives', async () => {
    const { page } = browser;
    const connection = (state: string, timeout: number) => page.waitForSelector(`[data-testid=status-connection][data-state=${state}]`, { timeout });
    await page.goto(server.url);
    await connection('reconnecting', 120_000);
    expect(droppedMidJob).toBe(true);
    expect(await page.textContent('[data-testid=status-connection]')).toBe('reconnecting…');
    await connection('disconnected', 20_000);
    expect(await page.textContent('[data-testid=status-connection]')).toBe('disconnected, retrying');

    refusing = false;
    await connection('connected', 20_000);
    await page.waitForSelector('[data-testid=job-analyze]', { state: 'detached', timeout: 120_000 });
    // The first screen's search, queued behind the analysis, finishes too.
    await page.waitForFunction(() => document.querySelector('[data-testid=status-jobs]')?.textContent === 'idle', undefined, { timeout: 120_000 });
    const recalls = await page.$$eval('[data-testid=heads-table] tbody tr td:nth-child(3)', (cells) => cells.map((c) => Number(c.textContent)));
    expect(recalls.length).toBeGreaterThan(8);
    expect(recalls.every((r) => r > 0 && r <= 1)).toBe(true);
    expect(browser.errors).toEqual([]);
    expect(server.exited()).toBeNull();
  });
});
