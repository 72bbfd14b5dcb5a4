import { describe, expect, it } from 'vitest';
import { blockAtPixel, drawKernelBand, keyToX, readIntervals, skippedIntervals } from '../../../renderer/src/charts/kernel';

describe('the kernel band', () => {
  it('merges a block’s tiles and loose columns into the key intervals it reads, cut at the block’s last row', () => {
    const read = readIntervals({ blockOffset: [0, 100, 1000], columnIndex: [64, 65, 70, 300], rowEnd: 1024 });
    expect(read).toEqual([
      [0, 66],
      [70, 71],
      [100, 164],
      [300, 301],
      [1000, 1024],
    ]);
    expect(skippedIntervals(read, 1024)).toEqual([
      [66, 70],
      [71, 100],
      [164, 300],
      [301, 1000],
    ]);
    expect(skippedIntervals([], 10)).toEqual([[0, 10]]);
    expect(skippedIntervals([[0, 10]], 10)).toEqual([]);
  });

  it('maps keys to pixels over the keys shown, and a click on the small map to its query block', () => {
    const band = { keyStart: 768, keyEnd: 1024, width: 512, height: 100 };
    expect([keyToX(band, 768), keyToX(band, 896), keyToX(band, 1024)]).toEqual([0, 256, 512]);
    // 4096 tokens in 256 pixels: 16 tokens a pixel, 4 pixels a 64-row block.
    expect(blockAtPixel(0, 256, 4096)).toBe(0);
    expect(blockAtPixel(5, 256, 4096)).toBe(1);
    expect(blockAtPixel(255.9, 256, 4096)).toBe(63);
    expect(blockAtPixel(300, 256, 4096)).toBe(63);
    // A partial last block (100 tokens: blocks 0 and 1).
    expect(blockAtPixel(99, 100, 100)).toBe(1);
  });
});

describe('drawing a block’s reads', () => {
  /** A 2D context that records the rectangles filled in each colour. */
  function recordingContext() {
    const filled: { colour: string; x: number; y: number; w: number; h: number }[] = [];
    const context = {
      fillStyle: '',
      strokeStyle: '',
      lineWidth: 1,
      globalAlpha: 1,
      font: '',
      textAlign: '',
      textBaseline: '',
      fillRect(x: number, y: number, w: number, h: number) {
        filled.push({ colour: String(this.fillStyle), x, y, w, h });
      },
      strokeRect() {},
      fillText() {},
      beginPath() {},
      moveTo() {},
      lineTo() {},
      closePath() {},
      fill() {},
      stroke() {},
    };
    return { context: context as unknown as CanvasRenderingContext2D, filled };
  }
  const colours = { veil: 'veil', tile: 'tile', label: 'label', column: 'column', causal: 'causal' };

  it('veils the keys it skips, and greys inside an A-shape’s tiles what its window drops', () => {
    const { context, filled } = recordingContext();
    // One key a pixel over keys [0, 256); rows 192–255 (one pixel each); sink 16, window 32.
    const band = { keyStart: 0, keyEnd: 256, width: 256, height: 64 };
    const blocks = { queryBlock: 3, numBlocks: 4, rowStart: 192, rowEnd: 256, blockCount: 2, blockOffset: [0, 192], columnCount: 0, columnIndex: [], window: [16, 32] as [number, number], computedEntries: 0, causalEntries: 0, density: 0 };
    drawKernelBand(context, band, blocks, colours);
    expect(filled.filter((f) => f.colour === 'veil').map((f) => [f.x, f.w])).toEqual([[64, 128]]);
    const dropped = filled.filter((f) => f.colour === 'causal');
    // Row 192 (y 0): keys 16–63 of the first tile are dropped; the second tile is all inside its window.
    expect(dropped.filter((f) => f.y === 0).map((f) => [f.x, f.w])).toEqual([[16, 48]]);
    // Row 255 (y 63): keys 16–63 of the first tile and 192–223 of the second are dropped.
    expect(dropped.filter((f) => f.y === 63).map((f) => [f.x, f.w])).toEqual([
      [16, 48],
      [192, 32],
    ]);
  });
});
