import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/api.js';
import { MAX_BLOCKS, TOKEN_BLOCK, TokenText, tokenContext } from '../../../renderer/src/state/tokens';
import { FAKE_SAMPLE, FakeApi } from '../fake-api.js';

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('token text around the pointer', () => {
  it('reads whole blocks once, only those asked for, and tells its listeners when they land', async () => {
    const api = new FakeApi();
    const tokens = new TokenText(api, FAKE_SAMPLE.captureId, 2048);
    let heard = 0;
    tokens.subscribe(() => heard++);
    tokens.request(250, 260);
    tokens.request(255, 258);
    expect(tokens.at(251)).toBeUndefined();
    await settle();
    const reads = api.calls.filter((c) => c.method === 'capture.tokens').map((c) => c.params);
    expect(reads).toEqual([
      { captureId: FAKE_SAMPLE.captureId, start: 0, end: TOKEN_BLOCK },
      { captureId: FAKE_SAMPLE.captureId, start: TOKEN_BLOCK, end: 2 * TOKEN_BLOCK },
    ]);
    expect(heard).toBe(2);
    expect(tokens.at(251)).toBe(' t251');
    expect(tokenContext(tokens, 256, 2048, 2)).toEqual({ before: [' t254', ' t255'], token: ' t256', after: [' t257', ' t258'] });
    expect(tokenContext(tokens, 600, 2048, 2)).toBeNull();
  });

  it('stops at the end of the capture and keeps a bounded number of blocks', async () => {
    const api = new FakeApi();
    const seqLen = TOKEN_BLOCK * (MAX_BLOCKS + 10) + 7;
    const tokens = new TokenText(api, FAKE_SAMPLE.captureId, seqLen);
    tokens.request(seqLen - 3, seqLen + 50);
    tokens.request(0, TOKEN_BLOCK * MAX_BLOCKS);
    await settle();
    const reads = api.calls.filter((c) => c.method === 'capture.tokens').map((c) => c.params as { start: number; end: number });
    expect(reads[0]).toMatchObject({ start: seqLen - 7, end: seqLen });
    expect(reads.every((r) => r.end - r.start <= TOKEN_BLOCK && r.end <= seqLen)).toBe(true);
    // The oldest blocks went to keep the bound.
    expect(tokens.at(seqLen - 1)).toBeUndefined();
    expect(tokens.at(TOKEN_BLOCK * MAX_BLOCKS - 1)).toBe(` t${TOKEN_BLOCK * MAX_BLOCKS - 1}`);
  });

  it('says why when the capture\'s tokens cannot be read', async () => {
    const api = new FakeApi();
    api.failures.set('capture.tokens', new ApiError('tokens damaged', 'bad-request'));
    const tokens = new TokenText(api, FAKE_SAMPLE.captureId, 2048);
    tokens.request(0, 10);
    await settle();
    expect(tokens.error).toBe('tokens damaged');
    expect(tokens.at(3)).toBeUndefined();
  });
});
