import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appCsp, appCspMeta } from '../../contract/csp.js';

const source = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const builtIndex = new URL('../../dist/renderer/index.html', import.meta.url);

describe('one CSP for the Electron shell, serve and the page (issue 10)', () => {
  it('names every directive, script-src included, so no violation reports a fallback', () => {
    expect(appCsp()).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    expect(appCsp(['ws://127.0.0.1:7700'])).toContain("connect-src 'self' ws://127.0.0.1:7700;");
    expect(appCspMeta()).toBe(appCsp().replace("; frame-ancestors 'none'", ''));
  });

  it('has no second copy: the shell and serve build theirs from it, the HTML gets it from the build', () => {
    for (const path of ['electron/main/shell.ts', 'electron/serve/server.ts']) {
      expect(source(path)).toContain("from '../../contract/csp.js'");
      expect(source(path)).not.toMatch(/default-src/);
    }
    expect(source('renderer/index.html')).not.toMatch(/Content-Security-Policy|default-src/i);
    expect(source('vite.config.ts')).toContain('appCspMeta()');
  });

  it.skipIf(!existsSync(builtIndex))('the built page carries it as its first meta tag', () => {
    const html = readFileSync(builtIndex, 'utf8').replaceAll('&#39;', "'");
    expect(html).toMatch(new RegExp(`<head>\\s*<meta http-equiv="Content-Security-Policy" content="${appCspMeta().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">`));
  });
});
