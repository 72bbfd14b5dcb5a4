/**
 * Issue 10: bad input is the user's error (exit 1, one readable line), never an internal error
 * (exit 2) and never missed: non-finite capture values whichever rows a command reads, a legal
 * MInference config with 100k+ heads, folders and missing files where files are expected.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapture } from '../../../electron/engine/capture/capture.js';
import { nativeAddonPath } from '../../../electron/engine/native.js';
import { TINY, pokedTensors, tinyMetadata, type TinyCaptureShape } from '../engine/capture/make-capture.js';
import { run } from './run.js';

/** Long enough (N > 5000) that the evaluated rows start at 2500: row 0 is never an evaluated row. */
const LONG: TinyCaptureShape = { layers: [0], numLayers: 1, heads: 2, kvHeads: 1, seqLen: 5120, headDim: 16, dtype: 'F32' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-cli-bad-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(nativeAddonPath()))('non-finite capture values', () => {
  it.each([
    ['a query row no measure evaluates', { layer: 0, kind: 'q' as const, head: 1, row: 0, dim: 2, value: NaN }, 'layer 0 q head 1 row 0 holds NaN (dim 2)'],
    ['a key every row attends to', { layer: 0, kind: 'k' as const, head: 0, row: 4000, dim: 0, value: -Infinity }, 'layer 0 k head 0 row 4000 holds -infinity (dim 0)'],
  ])('analyze finds one in %s: exit 1 naming layer, head and row', { timeout: 60_000 }, async (what, poke, where) => {
    const path = join(dir, `${what.split(' ')[1]}.safetensors`);
    await writeCapture(path, tinyMetadata(LONG), pokedTensors(LONG, [poke]));
    const { code, stderr } = await run(['analyze', path, '--rows', '16', '--backend', 'cpu', '--json']);
    expect(stderr).toContain(`sparsescope: ${path.split('/').pop()}: ${where}`);
    expect(code).toBe(1);
  });
});

describe('configs and files', () => {
  it('converts a legal MInference config of 131 072 heads (32 layers x 4096), to SGLang too (every head converted)', { timeout: 60_000 }, async () => {
    const layer = Object.fromEntries(Array.from({ length: 4096 }, (_, h) => [String(h), ['stream_llm', 100, 800, 1]]));
    const big = join(dir, 'big.json');
    await writeFile(big, JSON.stringify(Array.from({ length: 32 }, () => layer)));
    const minference = await run(['config', 'convert', big, '--to', 'minference', '--out', join(dir, 'big-out.json')]);
    expect(minference).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(await readFile(join(dir, 'big-out.json'), 'utf8'))).toHaveLength(32);
    const sglang = await run(['config', 'convert', big, '--to', 'sglang', '--out', join(dir, 'big-sglang.json')]);
    expect(sglang.stderr).toMatch(/^sparsescope: warning: 131072 heads converted/);
    expect(sglang.code).toBe(0);
  });

  it('names a folder or a missing file in plain words, and leaves no partial file', async () => {
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    await writeFile(join(dir, 'cfg.json'), '[{"0": ["vertical_and_slash", 30, 800, 1]}]');
    const cases: [string[], RegExp][] = [
      [['info', folder], /^sparsescope: a-folder: cannot open: is a folder, not a file \(EISDIR\)\n$/],
      [['config', 'convert', folder, '--to', 'minference', '--out', join(dir, 'x.json')], /^sparsescope: a-folder: cannot read: is a folder, not a file \(EISDIR\)\n$/],
      [['config', 'convert', join(dir, 'cfg.json'), '--to', 'minference', '--out', folder], /^sparsescope: cannot write .*a-folder: it is a folder; give a file name\n$/],
      [['demo', '--out', folder, '--seq', '64'], /^sparsescope: cannot write .*a-folder: it is a folder; give a file name\n$/],
      [['demo', '--out', join(dir, 'missing', 'demo.safetensors'), '--seq', '64'], /^sparsescope: cannot write .*demo\.safetensors: folder .*missing does not exist\n$/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await run(argv);
      expect(stderr).toMatch(message);
      expect(code).toBe(1);
    }
    expect((await readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
    expect(await readdir(folder)).toEqual([]);
  });

  it('search refuses --out into a missing folder before it starts', async () => {
    const capture = join(dir, 'tiny.safetensors');
    await writeCapture(capture, tinyMetadata(), pokedTensors(TINY, []));
    const { code, stderr } = await run(['search', capture, '--out', join(dir, 'missing', 'cfg.json')]);
    expect(stderr).toMatch(/^sparsescope: cannot write .*cfg\.json: folder .*missing does not exist\n$/);
    expect(code).toBe(1);
  });
});
