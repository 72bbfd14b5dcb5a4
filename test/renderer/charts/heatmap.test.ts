import { describe, expect, it } from 'vitest';
import { causalCell, tokenToPixelX, visibleRegion } from '../../../renderer/src/charts/heatmap';

describe('heatmap geometry', () => {
  it('maps tokens to pixels under a zoom and finds the visible region', () => {
    const view = { seqLen: 4096, size: 512, transform: { k: 4, x: -512, y: -1024 } };
    expect(tokenToPixelX(view, 1024)).toBe(0);
    expect(visibleRegion(view)).toEqual({ rowStart: 2048, rowEnd: 3072, colStart: 1024, colEnd: 2048 });
    expect(visibleRegion({ ...view, transform: { k: 1, x: 0, y: 0 } })).toEqual({ rowStart: 0, rowEnd: 4096, colStart: 0, colEnd: 4096 });
  });

  it('knows which grid cells hold causal entries', () => {
    const causal = causalCell({ rowStart: 0, rowEnd: 128, colStart: 0, colEnd: 128 }, 2, 2);
    expect([0, 1, 2, 3].map(causal)).toEqual([true, false, true, true]);
    const offDiagonal = causalCell({ rowStart: 0, rowEnd: 64, colStart: 64, colEnd: 128 }, 1, 1);
    expect(offDiagonal(0)).toBe(false);
  });
});
