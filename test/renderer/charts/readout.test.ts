import { describe, expect, it } from 'vitest';
import type { MaskGeometry, PooledMap } from '../../../contract/api.js';
import { readoutAt } from '../../../renderer/src/charts/readout';

const region = (rowStart: number, rowEnd: number, colStart: number, colEnd: number) => ({ rowStart, rowEnd, colStart, colEnd });

function map(r: ReturnType<typeof region>, rows: number, cols: number, value: (index: number) => number): PooledMap {
  const mean = Float32Array.from({ length: rows * cols }, (_, i) => value(i));
  return { region: r, rows, cols, mean, max: mean.map((v) => v * 2), rowsUsed: 64, backend: 'cpu', ms: 1 };
}

const whole = map(region(0, 1024, 0, 1024), 4, 4, (i) => i / 100);
const detail = map(region(256, 512, 0, 256), 256, 256, () => 0.5);
const mask: MaskGeometry = { region: region(0, 1024, 0, 1024), rows: 4, cols: 4, coverage: Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? 0.25 : 1)), slashOffsets: [0, 1, 300], verticalColumns: [0, 700], density: 0.5 };
const lines = { slashOffsets: [0, 1, 300], verticalColumns: [0, 700] };

describe('the hover readout', () => {
  it('reads the cell under the pointer from the finest map that holds it, with the mask coverage there', () => {
    const onWhole = readoutAt({ row: 300.7, col: 260.2 }, [null, whole], [mask], lines, 2)!;
    expect(onWhole).toMatchObject({ row: 300, col: 260, future: false, cell: region(256, 512, 256, 512), coverage: 0.25, vertical: null, slash: null });
    expect(onWhole.mass).toBeCloseTo(0.05, 6);
    expect(onWhole.peak).toBeCloseTo(0.1, 6);
    const zoomed = readoutAt({ row: 300, col: 10 }, [detail, whole], [mask], lines, 2)!;
    expect(zoomed).toMatchObject({ cell: region(300, 301, 10, 11), mass: 0.5 });
  });

  it('names a chosen column or diagonal within reach, only on the causal side', () => {
    expect(readoutAt({ row: 900, col: 701 }, [whole], [], lines, 2)).toMatchObject({ vertical: 700, slash: null, coverage: null });
    expect(readoutAt({ row: 900, col: 704 }, [whole], [], lines, 2)?.vertical).toBeNull();
    expect(readoutAt({ row: 900, col: 601 }, [whole], [], lines, 2)).toMatchObject({ slash: 300, vertical: null });
    expect(readoutAt({ row: 100, col: 700 }, [whole], [], lines, 2)).toMatchObject({ future: true, vertical: null, slash: null });
    expect(readoutAt({ row: 5000, col: 3 }, [whole], [], lines, 2)).toBeNull();
  });
});
