import { describe, expect, it } from 'vitest';
import { blockAtPixel, keyToX, readIntervals, skippedIntervals } from '../../../renderer/src/charts/kernel';

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
