import { describe, expect, it } from 'vitest';
import { causalCell, cellBounds, cellIndexAt, linesToDraw, nearestChosen, separatedLines, tokenToPixelX, visibleRegion } from '../../../renderer/src/charts/heatmap';

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

  it('finds the cell holding a token and that cell\'s tokens', () => {
    const grid = { region: { rowStart: 1000, rowEnd: 2000, colStart: 0, colEnd: 4000 }, rows: 10, cols: 40 };
    expect(cellIndexAt(grid, 999, 5)).toBeNull();
    expect(cellIndexAt(grid, 1000, 0)).toBe(0);
    expect(cellIndexAt(grid, 1999, 3999)).toBe(399);
    expect(cellIndexAt(grid, 1250, 150)).toBe(2 * 40 + 1);
    expect(cellBounds(grid, 2 * 40 + 1)).toEqual({ rowStart: 1200, rowEnd: 1300, colStart: 100, colEnd: 200 });
  });

  it('draws only chosen lines that stand apart at this zoom; crowded ones are left to the coverage', () => {
    // 0..3 are one token apart: together at 2 px per token, apart at 6.
    expect(separatedLines([0, 1, 2, 3, 40, 100], 0, 1000, 2)).toEqual([40, 100]);
    expect(separatedLines([0, 1, 2, 3, 40, 100], 0, 1000, 6)).toEqual([0, 1, 2, 3, 40, 100]);
    expect(separatedLines([0, 1, 2, 3, 40, 100], 50, 1000, 6)).toEqual([100]);
    const whole = { seqLen: 4096, size: 512, transform: { k: 1, x: 0, y: 0 } };
    const hundreds = { verticalColumns: Array.from({ length: 300 }, (_, i) => i * 13), slashOffsets: Array.from({ length: 150 }, (_, i) => i) };
    expect(linesToDraw(hundreds, whole)).toEqual({ verticalColumns: [], slashOffsets: [] });
    // Zoomed 16x onto keys 1024..1280: columns 13 tokens apart are 26 px apart, diagonals still 1.4 px.
    const zoomed = { ...whole, transform: { k: 16, x: -16 * 128, y: -16 * 128 } };
    const drawn = linesToDraw(hundreds, zoomed);
    expect(drawn.verticalColumns).toEqual(hundreds.verticalColumns.filter((c) => c >= 1024 && c < 1280));
    expect(drawn.slashOffsets).toEqual([]);
  });

  it('finds the chosen line nearest a position', () => {
    expect(nearestChosen([], 4)).toBeNull();
    expect(nearestChosen([3, 10, 40], 6)).toBe(3);
    expect(nearestChosen([3, 10, 40], 7)).toBe(10);
    expect(nearestChosen([3, 10, 40], 900)).toBe(40);
  });
});
