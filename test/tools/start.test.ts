import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const startScript = fileURLToPath(new URL('../../tools/start.js', import.meta.url));

describe('npm start without a runnable Electron', () => {
  it('says why, points to npm run serve, and exits 1 without building anything', () => {
    // No display and a dist path with no binary: no machine can run the window under these settings.
    const result = spawnSync(process.execPath, [startScript], {
      env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '', ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^sparsescope: no Electron binary can run on this machine: .+\.\n/);
    expect(result.stderr).toContain('Use `npm run serve` instead and open the URL it prints');
    expect(result.stdout).toBe('');
  });
});
