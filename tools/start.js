#!/usr/bin/env node
// `npm start`: the desktop app. Builds what is missing, then runs Electron on dist/.
// Where no Electron binary can run (no binary downloaded, no display, a headless server), it says
// so and points to `npm run serve`, which serves the same UI to a browser.
//
// We never `require('electron')` here: that package downloads its binary on first require, which
// would hang or fail on a machine without network. We read its path.txt instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The Electron executable, or the reason there is none that can run. */
function findElectron() {
  let packageDir;
  try {
    packageDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return { reason: 'the electron package is not installed' };
  }
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return { reason: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing; `npx install-electron` downloads it)' };
  const binary = join(process.env.ELECTRON_OVERRIDE_DIST_PATH || join(packageDir, 'dist'), readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(binary)) return { reason: `${binary} does not exist` };
  const probe = spawnSync(binary, ['--version'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 20_000, encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.split('\n').find((line) => line.trim()) ?? `exit status ${probe.status}`;
    return { reason: `${binary} cannot run here (${why})` };
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  return { binary };
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: repo, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`sparsescope: \`${command} ${args.join(' ')}\` failed`);
    process.exit(1);
  }
}

const electron = findElectron();
if (!electron.binary) {
  console.error(`sparsescope: no Electron binary can run on this machine: ${electron.reason}.`);
  console.error('Use `npm run serve` instead and open the URL it prints (token included) in a browser.');
  process.exit(1);
}

if (!existsSync(join(repo, 'native/build/Release/sparsescope.node'))) run(npm, ['run', 'install']);
if (!existsSync(join(repo, 'dist/electron/main/main.js')) || !existsSync(join(repo, 'dist/renderer/index.html'))) run(npm, ['run', 'build']);

const app = spawn(electron.binary, [repo], { cwd: repo, stdio: 'inherit' });
app.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => app.kill(signal));
