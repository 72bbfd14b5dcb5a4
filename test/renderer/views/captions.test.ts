import { describe, expect, it } from 'vitest';
import { captureSubject, configStory, mapCaption } from '../../../renderer/src/views/captions';

describe('what the user is looking at', () => {
  it('names the capture: a model reading its prompt, or planted synthetic patterns', () => {
    expect(captureSubject({ model: 'ref-byte-llama', source: 'sqlite3.h', seqLen: 2048 })).toBe('Attention of ref-byte-llama reading sqlite3.h');
    expect(captureSubject({ model: 'synthetic', source: 'generator', seqLen: 4096, planted: [] })).toMatch(/^Synthetic attention with planted patterns .* over 4,096 tokens$/);
  });

  it('tells where the config comes from', () => {
    const facts = { seqLen: 16384, isDefault: true, searched: null, searching: false, tuned: 0 };
    expect(configStory(facts)).toBe("MInference's default config (Vertical-Slash 1000/6096) on every head.");
    expect(configStory({ ...facts, isDefault: false, tuned: 1 })).toBe('An imported config; 1 head tuned by hand.');
  });
});

describe('the caption of a head map', () => {
  const shown = { region: { rowStart: 0, rowEnd: 4096, colStart: 0, colEnd: 4096 }, rows: 512, cols: 512, rowsUsed: 1024, backend: 'cpu', ms: 71.4, domain: { scale: 'log' as const, vmax: 0.5, decades: 5 } };
  it('says what a cell is and follows the zoom', () => {
    expect(mapCaption(shown, shown.region, 4096, 7.25, true)).toBe('all 4,096 tokens · 512² cells of 8 tokens · 1,024 sampled rows · cpu 71 ms · paint 7.3 ms');
    const zoomed = { ...shown, region: { rowStart: 2048, rowEnd: 2304, colStart: 1024, colEnd: 1280 }, rows: 256, cols: 256, rowsUsed: 256 };
    expect(mapCaption(zoomed, zoomed.region, 4096, null, true)).toBe('queries 2,048–2,304 × keys 1,024–1,280 · 256² cells of 1 token · 256 sampled rows · cpu 71 ms');
    expect(mapCaption(shown, shown.region, 4096, 7.25, false)).toBe('512² cells of 8 tokens');
  });
});
