/**
 * examples/cluster/search-ssh.sh run here with two `local` hosts: a demo capture searched in two
 * layer shards through xargs and merged with `config merge` gives the config one search over every
 * layer writes. Runs the built command line (dist/) and the native addon; skipped without them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddonPath } from '../../electron/engine/native.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'bin/sparsescope.js');
const missing = [join(repo, 'dist/electron/cli/main.js'), nativeAddonPath()].filter((path) => !existsSync(path));
if (missing.length > 0) console.warn(`cluster example test skipped: ${missing.join(', ')} missing (npm run build; npm run install)`);

const SEARCH_ARGS = ['--target-recall', '0.9', '--rows', '64', '--backend', 'cpu'];

describe.skipIf(missing.length > 0)('examples/cluster/search-ssh.sh', () => {
  let dir: string;
  let capture: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-cluster-'));
    capture = join(dir, 'demo.safetensors');
    execFileSync(process.execPath, [cli, 'demo', '--out', capture, '--seq', '1024', '--layers', '4', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--seed', '2'], { stdio: 'pipe' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('searches a capture in two layer shards with xargs and merges them into the unsharded search\'s config', { timeout: 180_000 }, async () => {
    const whole = join(dir, 'whole.json');
    execFileSync(process.execPath, [cli, 'search', capture, ...SEARCH_ARGS, '--out', whole], { stdio: 'pipe' });
    const merged = join(dir, 'merged.json');
    const env = { ...process.env, SPARSESCOPE: `${process.execPath} ${cli}`, SEARCH_ARGS: SEARCH_ARGS.join(' '), WORK: join(dir, 'shards') };
    const stdout = execFileSync('bash', [join(repo, 'examples/cluster/search-ssh.sh'), capture, merged, 'local', 'local'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(stdout).toBe(`merged 2 configs (layers 0-3, 4 heads each) -> ${merged} (minference)\n`);
    expect((await readdir(join(dir, 'shards'))).filter((name) => name.endsWith('.json')).sort()).toEqual(['part-0.json', 'part-1.json']);
    expect(JSON.parse(await readFile(join(dir, 'shards', 'part-1.json'), 'utf8')).search.layers).toEqual([2, 3]);
    expect(JSON.parse(await readFile(merged, 'utf8'))).toEqual(JSON.parse(await readFile(whole, 'utf8')));
  });
});
