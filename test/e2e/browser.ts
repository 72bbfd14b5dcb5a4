/**
 * Debian Chromium driven by playwright-core for the end-to-end tests: a fresh profile per launch,
 * the flags that keep it off the network, 1280x800, downloads accepted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far, for assertions that the UI stayed clean. */
  errors: string[];
  close(): Promise<void>;
}

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed (apt-get install chromium): the end-to-end tests drive Debian Chromium');
  }
}

export async function launchBrowser(options: { colorScheme?: 'light' | 'dark' } = {}): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'sparsescope-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? 'light',
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  // Every console error counts, CSP violations included: nothing is filtered out.
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Wait for the heatmap canvas to finish drawing its map. */
export async function waitForHeatmap(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForSelector('[data-testid=heatmap][data-ready=true]', { timeout });
}

/** Pixel statistics of a canvas, read back in the page: distinct colours and non-background share. */
export async function canvasPixels(page: Page, selector: string): Promise<{ width: number; height: number; distinctColours: number; litShare: number }> {
  return page.$eval(selector, (element) => {
    const canvas = element as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set<number>();
    const background = (data[0]! << 16) | (data[1]! << 8) | data[2]!;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) {
      const colour = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
      colours.add(colour);
      if (colour !== background) lit++;
    }
    return { width: canvas.width, height: canvas.height, distinctColours: colours.size, litShare: lit / (data.length / 4) };
  });
}
