/**
 * The engine on a real capture (samples/: ref-byte-llama, a trained model, on 2048
 * tokens of sqlite3.h; layers 3 and 5), beside the synthetic tests: open it with its tokens, and
 * hold a searched target recall on every row, not only on the sampled ones.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchSettings } from '../../../../contract/api.js';
import { analyzeCapture } from '../../../../electron/engine/analysis/analyze.js';
import { searchCapture } from '../../../../electron/engine/analysis/search.js';
import { openCapture } from '../../../../electron/engine/capture/capture.js';
import { exportConfig, importConfig } from '../../../../electron/engine/config/index.js';
import type { Capture } from '../../../../electron/engine/capture/types.js';
import { nativeOrReference } from './native-or-reference.js';

const FIXTURE = fileURLToPath(new URL('../../../../samples/ref-byte-llama-2k.safetensors', import.meta.url));
const { native } = await nativeOrReference();
/** Few sampled rows, so that a choice made on them alone would miss on some head. */
const TARGET: SearchSettings = { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 64, seed: 0 } };

describe('a real capture (ref-byte-llama, 2K tokens of sqlite3.h)', () => {
  let capture: Capture;

  beforeAll(async () => {
    capture = await openCapture(FIXTURE);
  });
  afterAll(async () => {
    await capture?.close?.();
  });

  it('opens with its provenance, shapes and tokens', async () => {
    const { summary } = capture;
    expect(summary).toMatchObject({ model: 'ref-byte-llama', layers: [3, 5], numHeads: 8, numKvHeads: 2, headDim: 64, seqLen: 2048, dtype: 'BF16', tokens: true });
    expect(summary.source).toMatch(/sqlite3\.h .*libsqlite3-dev/);
    const { ids, text } = await capture.readTokens(0, 16);
    expect(text.join('')).toBe('/*\n** 2001-09-15');
    expect([...ids]).toEqual([...Buffer.from('/*\n** 2001-09-15')]);
  });

  it('holds the target recall on every evaluated row after a search on 64 sampled rows', async () => {
    const { config, report, settings } = await searchCapture(native, capture, TARGET, 'cpu');
    // What `search --format sparsescope` writes reads back (recalls of fully computed heads stay <= 1).
    const { text } = await exportConfig(config, 'sparsescope', { capture: capture.summary, report, settings });
    expect(importConfig(text, 'searched.json').config.heads).toEqual(config.heads);
    const exact = await analyzeCapture(native, capture, { config, backend: 'cpu', sampling: { mode: 'exact' } });
    const misses = exact.heads.filter((head) => head.recall < TARGET.targetRecall);
    expect(misses.map((head) => `L${head.layer}H${head.head} ${head.pattern} ${head.recall.toFixed(4)}`)).toEqual([]);
    // The config's score is the exact recall of that head.
    for (const head of exact.heads) expect(config.heads[head.layer]![head.head]!.score).toBeCloseTo(head.recall, 4);
    // Real attention here is local and scattered: the search finds sparse heads, not only dense ones.
    expect(exact.heads.filter((head) => head.pattern !== 'dense').length).toBeGreaterThan(exact.heads.length / 2);
  }, 120_000);
});
