import { describe, expect, it } from 'vitest';
import { captureSubject, configStory } from '../../../renderer/src/views/captions';

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
