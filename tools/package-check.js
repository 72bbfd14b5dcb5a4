#!/usr/bin/env node
// `npm run package:check`: packs the app offline as `npm run dist` would (electron-builder with
// electron-builder.yml), for Linux `--dir`, from a stand-in Electron distribution instead of the
// download, then opens the result and checks it. One line per check, then `N passed, N failed`;
// `--report=FILE` also writes the counts as JSON (tools/test-all.js runs it as a suite).
//
// The stand-in has Electron's layout and a placeholder binary that holds Electron's fuse wire, so
// electron-builder flips the fuses in it as in the real binary. It cannot run: the packaged app is
// never started here, and no installer (AppImage, deb, dmg, nsis) is built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar');

const repo = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const ADDON = 'native/build/Release/sparsescope.node';
/** The real capture the app opens first (capture.openSample). */
const SAMPLE = 'samples/ref-byte-llama-2k.safetensors';
/** electron-builder.yml's linux.executableName. */
const EXECUTABLE = 'sparsescope';

// Electron's fuse wire: a sentinel, the wire version (1), its length, then one byte per fuse ('1'
// on, '0' off) in @electron/fuses' order. Stock values: run as node on, cookie encryption off,
// NODE_OPTIONS on, --inspect on, asar integrity off, only-load-from-asar off, browser V8 snapshot
// off, file:// privileges on.
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const STOCK_FUSES = '10110001';
/** What Electron's security checklist asks for (index in the wire: expected state). */
const WANTED_FUSES = {
  'run as node': [0, '0'],
  'cookie encryption': [1, '1'],
  'NODE_OPTIONS': [2, '0'],
  '--inspect arguments': [3, '0'],
  'asar integrity validation': [4, '1'],
  'only load app from asar': [5, '1'],
};

const results = [];
function check(name, test) {
  let problem;
  try {
    problem = test();
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  results.push(!problem);
  console.log(`${problem ? 'FAIL' : 'ok  '} ${name}${problem ? `: ${problem}` : ''}`);
}

/** Files under a folder, relative to it, with forward slashes. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

function standInElectron(dir) {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = `${FUSE_SENTINEL}\x01${String.fromCharCode(STOCK_FUSES.length)}${STOCK_FUSES}`;
  writeFileSync(join(dir, 'electron'), `#!/bin/sh\n# Stand-in for Electron's binary (tools/package-check.js); it only carries the fuse wire.\nexit 1\n# ${wire}\n`, { mode: 0o755 });
}

/** The fuse bytes of a binary ('' when it has no fuse wire). */
function fuseWire(path) {
  const binary = existsSync(path) ? readFileSync(path).toString('latin1') : '';
  const at = binary.indexOf(FUSE_SENTINEL);
  return at < 0 ? '' : binary.slice(at + FUSE_SENTINEL.length + 2, at + FUSE_SENTINEL.length + 2 + STOCK_FUSES.length);
}

/** Runs the packaged engine in Node: its worker must load the addon from app.asar.unpacked. */
function runPackagedEngine(appDir, scratch) {
  const url = (path) => JSON.stringify(pathToFileURL(join(appDir, path)).href);
  const script = `
    import { createEngine } from ${url('dist/electron/engine/handlers.js')};
    import { nodeWorkerSpawner } from ${url('dist/electron/engine/jobs/node-spawner.js')};
    import { nativeAddonPath } from ${url('dist/electron/engine/native.js')};
    const engine = createEngine({ host: 'electron', roots: [${JSON.stringify(scratch)}], cacheDir: ${JSON.stringify(join(scratch, 'cache'))}, spawnWorker: nodeWorkerSpawner() });
    const info = await engine.handlers['device.info']();
    const sample = await engine.handlers['capture.openSample']({});
    await engine.dispose();
    console.log(JSON.stringify({ addon: nativeAddonPath(), info, sample: { path: sample.path, tokens: sample.tokens } }));`;
  const env = { ...process.env };
  delete env.SPARSESCOPE_NATIVE;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 120_000 });
  if (child.status !== 0) {
    const lines = child.stderr.trim().split('\n');
    throw new Error(`node exited with ${child.status ?? child.signal}: ${lines.find((line) => /^\w*Error: /.test(line)) ?? lines.at(-1)}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1));
}

function main() {
  const reportArg = process.argv.find((arg) => arg.startsWith('--report='));
  const missing = ['dist/build-info.json', 'dist/electron/main/main.js', 'dist/renderer/index.html', ADDON].filter((path) => !existsSync(join(repo, path)));
  const work = mkdtempSync(join(tmpdir(), 'sparsescope-package-'));
  const out = join(work, 'out');
  const appOut = join(out, 'linux-unpacked');
  const archive = join(appOut, 'resources', 'app.asar');

  check('the app is built (dist/ and the native addon)', () => missing.length > 0 && `${missing.join(', ')} missing: run \`npm install\` (or \`npm run install\` and \`npm run build\`)`);
  if (missing.length === 0) {
    standInElectron(join(work, 'electron'));
    const builder = spawnSync(process.execPath, [require.resolve('electron-builder/cli.js'), '--linux', '--dir', `-c.electronDist=${join(work, 'electron')}`, `-c.directories.output=${out}`], { cwd: repo, stdio: 'inherit' });
    check('electron-builder packs it for Linux (--dir) without downloading Electron', () => (builder.status !== 0 ? `exit status ${builder.status ?? builder.signal}` : !existsSync(archive) && `${archive} is missing`));
  }
  if (existsSync(archive)) {
    const entries = asar.listPackage(archive, {}).map((path) => path.split(sep).join('/').replace(/^\//, ''));
    const app = join(work, 'app', 'resources', 'app.asar');
    asar.extractAll(archive, app);
    const files = filesUnder(app);

    check('app.asar holds the built main, preload, engine worker and renderer', () => {
      const renderer = filesUnder(join(repo, 'dist/renderer')).filter((path) => !path.endsWith('.map')).map((path) => `dist/renderer/${path}`);
      const wanted = ['package.json', 'dist/build-info.json', 'dist/electron/main/main.js', 'dist/electron/preload/preload.cjs', 'dist/electron/engine/jobs/worker.js', ...renderer];
      const absent = wanted.filter((path) => !entries.includes(path));
      return absent.length > 0 && `missing ${absent.join(', ')}`;
    });
    check('app.asar holds nothing from test/, bench/, tools/, the sources, source maps or dev dependencies', () => {
      const devOnly = Object.keys(manifest.devDependencies).map((name) => `node_modules/${name}/`);
      const stray = entries.filter(
        (path) =>
          /^(test|bench|tools|electron|renderer|contract|assets|bin)(\/|$)/.test(path) ||
          /\.(ts|tsx|map)$/.test(path) ||
          (path.startsWith('native/') && path !== ADDON && !ADDON.startsWith(`${path}/`)) ||
          devOnly.some((prefix) => `${path}/`.startsWith(prefix)),
      );
      return stray.length > 0 && `found ${stray.slice(0, 10).join(', ')}${stray.length > 10 ? ` and ${stray.length - 10} more` : ''}`;
    });
    check('every package the packaged JavaScript imports is packaged', () => {
      const builtins = new Set([...builtinModules, 'electron']);
      const imported = new Set();
      // The Node side; the renderer is one bundle that imports nothing at run time.
      for (const path of files.filter((file) => /^dist\/(electron|contract)\/.*\.c?js$/.test(file))) {
        const text = readFileSync(join(app, path), 'utf8');
        for (const [, specifier] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
          if (!builtins.has(name) && !name.startsWith('node:')) imported.add(name);
        }
      }
      const absent = [...imported].filter((name) => !entries.includes(`node_modules/${name}/package.json`));
      return absent.length > 0 && `not packaged: ${absent.join(', ')}`;
    });
    check(`the addon sits unpacked in app.asar.unpacked/${ADDON}`, () => {
      if (!asar.statFile(archive, ADDON).unpacked) return `${ADDON} is packed inside app.asar`;
      return !existsSync(join(appOut, 'resources', 'app.asar.unpacked', ADDON)) && 'the unpacked file is missing';
    });
    check(`the sample capture sits unpacked in app.asar.unpacked/${SAMPLE}`, () => {
      if (!asar.statFile(archive, SAMPLE).unpacked) return `${SAMPLE} is packed inside app.asar`;
      return !existsSync(join(appOut, 'resources', 'app.asar.unpacked', SAMPLE)) && 'the unpacked file is missing';
    });
    check("the packaged engine's worker loads the addon and opens the sample from app.asar.unpacked in Node", () => {
      // As in the app: the archive's files, the addon and the sample only beside it in app.asar.unpacked.
      rmSync(join(app, 'native'), { recursive: true, force: true });
      rmSync(join(app, 'samples'), { recursive: true, force: true });
      cpSync(`${archive}.unpacked`, `${app}.unpacked`, { recursive: true });
      const { addon, info, sample } = runPackagedEngine(app, work);
      if (addon !== join(`${app}.unpacked`, ADDON)) return `the engine looks for the addon at ${addon}`;
      if (sample.path !== join(`${app}.unpacked`, SAMPLE) || !sample.tokens) return `the engine opened the sample at ${sample.path} (tokens: ${sample.tokens})`;
      if (info.engineVersion !== manifest.version) return `engine version ${info.engineVersion}, package.json says ${manifest.version}`;
      return !(info.cpu.threads >= 1) && `device.info answered ${JSON.stringify(info)}`;
    });
    const wire = fuseWire(join(appOut, EXECUTABLE));
    for (const [fuse, [index, state]] of Object.entries(WANTED_FUSES)) {
      check(`fuse ${fuse} ${state === '1' ? 'on' : 'off'}`, () => wire[index] !== state && (wire ? `the packaged binary has it ${wire[index] === '1' ? 'on' : 'off'}` : 'no fuse wire in the packaged binary'));
    }
  }

  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  if (failed === 0) rmSync(work, { recursive: true, force: true });
  else console.log(`package:check: kept ${work} to look at`);
  if (reportArg) writeFileSync(reportArg.slice('--report='.length), JSON.stringify({ passed, failed }));
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main();
