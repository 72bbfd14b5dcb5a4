import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapture } from '../../../electron/engine/capture/capture.js';
import { TINY, tinyMetadata, tinyTensors, tokenArrays, tokenTensors } from '../engine/capture/make-capture.js';
import { run } from './run.js';

const fixturesDir = resolve(import.meta.dirname, '../../fixtures/minference-configs');
const glm = join(fixturesDir, 'GLM_4_9B_1M_instruct_kv_out_v32_fit_o_best_pattern.json');
let dir: string;
let capturePath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-cli-'));
  capturePath = join(dir, 'tiny.safetensors');
  const planted = JSON.stringify([0, 1].map(() => [0, 1, 2, 3].map((h) => ({ pattern: h === 0 ? 'stream_llm' : 'vertical_and_slash', a: 30, b: 800 }))));
  await writeCapture(capturePath, { ...tinyMetadata(), planted }, tinyTensors(TINY));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sparsescope (top level)', () => {
  it('prints usage listing every command', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const name of ['demo', 'info', 'analyze', 'search', 'bench', 'config convert', 'serve']) expect(stdout).toContain(`  ${name} `);
  });

  it('--version prints the name, version and build date that `npm run build` recorded', async () => {
    const info = JSON.parse(await readFile(resolve(import.meta.dirname, '../../../dist/build-info.json'), 'utf8'));
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`Sparsescope ${info.version}, built ${info.builtAt.slice(0, 10)} ${info.builtAt.slice(11, 16)} UTC\n`);
  });

  it('refuses unknown commands with one line and exit 1', async () => {
    expect(await run(['frobnicate'])).toEqual({ code: 1, stdout: '', stderr: 'sparsescope: unknown command "frobnicate" (see sparsescope --help)\n' });
    expect((await run(['config', 'explode'])).stderr).toBe('sparsescope: unknown command "config explode" (did you mean config convert, config merge?)\n');
  });

  it.each(['demo', 'info', 'analyze', 'search', 'bench', 'config convert', 'serve'])('%s --help describes the command', async (name) => {
    const { code, stdout, stderr } = await run([...name.split(' '), '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^usage: sparsescope ${name}`));
  });
});

describe('sparsescope info', () => {
  it('prints a table', async () => {
    const { code, stdout, stderr } = await run(['info', capturePath]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^file +tiny\.safetensors \(\d+\.\d KiB\)$/m);
    expect(stdout).toMatch(/^layers +2 of 2 \(0-1\)$/m);
    expect(stdout).toMatch(/^heads +4 query, 2 kv/m);
    expect(stdout).toMatch(/^seq len +10$/m);
    expect(stdout).toMatch(/^dtype +F32$/m);
    expect(stdout).toMatch(/^planted +stream_llm 2, vertical_and_slash 6$/m);
    expect(stdout).toMatch(/^tokens +no$/m);
    expect(stdout).not.toMatch(/^first tokens/m);
  });

  it('prints JSON with --json', async () => {
    const { code, stdout } = await run(['info', capturePath, '--json']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({ fileName: 'tiny.safetensors', model: 'tiny-test', numLayers: 2, layers: [0, 1], numHeads: 4, numKvHeads: 2, headDim: 8, seqLen: 10, dtype: 'F32', planted: { stream_llm: 2, vertical_and_slash: 6 }, tokens: false, firstTokens: null });
    expect(info.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('shows the tokenizer and the first tokens of a capture with tokens', async () => {
    const withTokens = join(dir, 'tokens.safetensors');
    const pieces = ['Call', ' me', ' Ish', 'mael', '.', '\n', 'Some', ' years', ' ago', '—'];
    await writeCapture(withTokens, { ...tinyMetadata(), tokenizer: 'tiny-tokenizer' }, [...tinyTensors(), ...tokenTensors(tokenArrays(pieces))]);
    const table = await run(['info', withTokens]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^tokens +yes \(tokenizer tiny-tokenizer\)$/m);
    expect(table.stdout).toContain('first tokens  "Call" " me" " Ish" "mael" "." "\\n" "Some" " years"\n');
    const info = JSON.parse((await run(['info', withTokens, '--json'])).stdout);
    expect(info).toMatchObject({ tokens: true, tokenizer: 'tiny-tokenizer', firstTokens: { ids: [100, 101, 102, 103, 104, 105, 106, 107], text: pieces.slice(0, 8) } });
  });

  it('gives one line and exit 1 for a missing or corrupt capture', async () => {
    expect(await run(['info', join(dir, 'missing.safetensors')])).toEqual({ code: 1, stdout: '', stderr: 'sparsescope: missing.safetensors: cannot open: no such file (ENOENT)\n' });
    const corrupt = join(dir, 'corrupt.safetensors');
    const bytes = await readFile(capturePath);
    await writeFile(corrupt, bytes.subarray(0, bytes.length - 7));
    const { code, stderr } = await run(['info', corrupt]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^sparsescope: corrupt\.safetensors: tensor layers\.1\.v: data end \d+ past end of file \(\d+ data bytes\)\n$/);
  });

  it('refuses bad usage', async () => {
    expect(await run(['info'])).toMatchObject({ code: 1, stderr: 'sparsescope: info: missing CAPTURE (see sparsescope info --help)\n' });
    expect(await run(['info', capturePath, '--jsn'])).toMatchObject({ code: 1, stderr: 'sparsescope: info: unknown flag --jsn (see sparsescope info --help)\n' });
  });
});

describe('sparsescope config convert', () => {
  it('converts a fixture to MInference byte for byte and to SGLang nested, vertical_size 30 as 31', async () => {
    const out = join(dir, 'glm.json');
    const result = await run(['config', 'convert', glm, '--to', 'minference', '--out', out]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('(minference, 40 layers x 32 heads) ->');
    expect((await readFile(out, 'utf8')).trimEnd()).toBe((await readFile(glm, 'utf8')).trimEnd());
    const sglang = join(dir, 'glm-sglang.json');
    const toSglang = await run(['config', 'convert', out, '--to', 'sglang', '--out', sglang]);
    expect(toSglang.code).toBe(0);
    expect(toSglang.stderr).toMatch(/^sparsescope: warning: 77 heads converted \(SGLang\/vLLM run vertical_and_slash only/);
    const nested = JSON.parse(await readFile(sglang, 'utf8')).dual_chunk_attention_config.sparse_attention_config as Record<string, [string, number, number, number]>[];
    const original = JSON.parse(await readFile(glm, 'utf8')) as typeof nested;
    expect(nested).toEqual(original.map((layer) => Object.fromEntries(Object.entries(layer).map(([h, [p, a, b, s]]) => [h, [p, a === 30 ? 31 : a, b, s]]))));
    const back = join(dir, 'glm-back.json');
    expect(await run(['config', 'convert', sglang, '--to', 'minference', '--out', back])).toMatchObject({ code: 0, stderr: expect.stringContaining('MInference has no sparse_attention_threshold') });
    expect(JSON.parse(await readFile(back, 'utf8'))).toEqual(nested);
  });

  it('reports converted heads as warnings on stderr', async () => {
    const out = join(dir, 'phi-sglang.json');
    const { code, stderr } = await run(['config', 'convert', join(fixturesDir, 'Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json'), '--to', 'sglang', '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^sparsescope: warning: 93 heads converted \(.*\); recall not measured: .*43 x stream_llm \(100, 800\) -> vertical_and_slash \(100, 800\)/);
    expect(stderr.split('\n')).toHaveLength(2);
  });

  it('names the problem in a corrupt config', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[{"0": ["vertical_and_slash", 30, -800, 1]}]');
    expect(await run(['config', 'convert', bad, '--to', 'sglang', '--out', join(dir, 'x.json')])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sparsescope: bad.json: layer 0 head 0: slash_size -800 is negative\n',
    });
  });

  it('requires --to and --out and checks their values', async () => {
    expect((await run(['config', 'convert', glm, '--out', 'x'])).stderr).toBe('sparsescope: config convert: --to minference|sglang|sparsescope|xattention|duo|flexprefill|minference-attn is required\n');
    expect((await run(['config', 'convert', glm, '--to', 'onnx', '--out', 'x'])).stderr).toBe('sparsescope: --to: "onnx" is not one of minference, sglang, sparsescope, xattention, duo, flexprefill, minference-attn\n');
    expect((await run(['config', 'convert', glm, '--to', 'sglang'])).stderr).toBe('sparsescope: config convert: --out OUT is required\n');
  });
});

describe('sparsescope demo', () => {
  it('writes a capture that info reads back', async () => {
    const out = join(dir, 'demo.safetensors');
    const { code, stdout, stderr } = await run(['demo', '--out', out, '--seq', '256', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--seed', '3']);
    expect(stderr).toMatch(/writing 100%/);
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote ${out}`);
    const info = JSON.parse((await run(['info', out, '--json'])).stdout);
    expect(info).toMatchObject({ numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 32, seqLen: 256, dtype: 'BF16' });
    expect(Object.values(info.planted as Record<string, number>).reduce((x, y) => x + y, 0)).toBe(8);
  });

  it('refuses impossible shapes as a user error', async () => {
    const { code, stderr } = await run(['demo', '--out', join(dir, 'bad.safetensors'), '--heads', '6', '--kv-heads', '4']);
    expect(code).toBe(1);
    expect(stderr).toBe('sparsescope: demo: synthetic capture: heads 6 is not a multiple of kvHeads 4\n');
  });

  it('stops cleanly when cancelled and leaves no file', async () => {
    const out = join(dir, 'cancelled.safetensors');
    const controller = new AbortController();
    controller.abort();
    expect(await run(['demo', '--out', out, '--seq', '256'], controller.signal)).toMatchObject({ code: 1, stderr: expect.stringContaining('sparsescope: cancelled\n') });
    await expect(readFile(out)).rejects.toThrow('ENOENT');
  });
});

describe('commands that need a capture argument', () => {
  it('bench needs exactly one of CAPTURE and --synthetic', async () => {
    expect((await run(['bench'])).stderr).toBe('sparsescope: bench: give either a CAPTURE or --synthetic\n');
    expect((await run(['bench', capturePath, '--synthetic'])).stderr).toBe('sparsescope: bench: give either a CAPTURE or --synthetic\n');
  });
  it('analyze and search check the capture, layers and config before any compute', async () => {
    expect(await run(['analyze', join(dir, 'nope.safetensors'), '--json'])).toMatchObject({ code: 1, stderr: 'sparsescope: nope.safetensors: cannot open: no such file (ENOENT)\n' });
    expect((await run(['analyze', capturePath, '--layers', '0-4'])).stderr).toBe('sparsescope: --layers: layer 2 is not in tiny.safetensors (it has 0, 1)\n');
    expect((await run(['analyze', capturePath, '--layers', 'x'])).stderr).toBe('sparsescope: --layers: "x" is not a layer or a range A-B\n');
    expect((await run(['analyze', capturePath, '--exact', '--rows', '5'])).stderr).toBe('sparsescope: --exact and --rows exclude each other\n');
    expect((await run(['analyze', capturePath, '--config', glm])).stderr).toBe('sparsescope: tiny.safetensors: the config has 40 layers but the capture has 2\n');
    expect((await run(['search', capturePath, '--out', join(dir, 'c.json'), '--target-recall', '2'])).stderr).toBe('sparsescope: --target-recall: 2 is outside 0..1\n');
    expect((await run(['search', capturePath, '--out', join(dir, 'c.json'), '--layers', '3'])).stderr).toBe('sparsescope: --layers: layer 3 is not in tiny.safetensors (it has 0, 1)\n');
  });

  it('search needs --out', async () => {
    expect(await run(['search', capturePath])).toMatchObject({ code: 1, stderr: 'sparsescope: search: --out CFG is required\n' });
  });
});

describe('sparsescope serve', () => {
  it('prints a loopback URL with a token and stops when signalled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { code, stdout } = await run(['serve', '--port', '0', '--root', dir], controller.signal);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sparsescope serve: open http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}\nroots: /);
  });

  it('warns on stderr when bound to every interface, and still prints a URL with a token', async () => {
    const controller = new AbortController();
    controller.abort();
    const { code, stdout, stderr } = await run(['serve', '--host', '0.0.0.0', '--port', '0', '--root', dir], controller.signal);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\?token=[\w-]{20,}\n/);
    expect(stderr).toMatch(/^sparsescope serve: warning: listening on 0\.0\.0\.0 \(every network interface\), port \d+: .*only the token guards/);
    expect(stderr.split('\n')).toHaveLength(2);
  });
});
