import { describe, expect, it } from 'vitest';
import type { HeadPattern } from '../../../contract/api.js';
import { diagnose, worstRows } from '../../../renderer/src/state/diagnosis';

const VS: HeadPattern = { pattern: 'vertical_and_slash', a: 30, b: 50 };
const masses = (values: number[]) => values.map((mass, i) => ({ column: i, offset: i, mass }));

describe('reading an output-error breakdown', () => {
  it('lists the rows that lose most, worst first', () => {
    const breakdown = { rows: [10, 20, 30, 40], rowError: Float32Array.from([0.1, 0.5, 0.05, 0.5]), rowRecall: Float32Array.from([0.9, 0.4, 0.95, 0.6]) };
    expect(worstRows(breakdown, 3)).toEqual([
      { row: 20, error: 0.5, recall: expect.closeTo(0.4, 6) },
      { row: 40, error: 0.5, recall: expect.closeTo(0.6, 6) },
      { row: 10, error: expect.closeTo(0.1, 6), recall: expect.closeTo(0.9, 6) },
    ]);
  });

  it('names the parameter that would catch mass concentrated in columns or on diagonals', () => {
    const columns = diagnose({ missingMass: 0.1, topColumns: masses([0.04, 0.03]), topDiagonals: masses([0.01]) }, VS);
    expect(columns.kind).toBe('columns');
    expect(columns.finding).toMatch(/lose 10% .* 70% of it sits in 2 key columns/);
    expect(columns.advice).toMatch(/raise vertical_size \(now 30\)/);
    const diagonals = diagnose({ missingMass: 0.1, topColumns: masses([0.01]), topDiagonals: masses([0.05, 0.01]) }, VS);
    expect(diagonals.kind).toBe('diagonals');
    expect(diagonals.advice).toMatch(/^Raise slash_size \(now 50\)/);
    expect(diagnose({ missingMass: 0.1, topColumns: masses([0.01]), topDiagonals: masses([0.06]) }, { pattern: 'stream_llm', a: 4, b: 64 }).advice).toMatch(/raise n_local \(now 64\)/i);
    expect(diagnose({ missingMass: 0.1, topColumns: masses([0.08]), topDiagonals: [] }, { pattern: 'block_sparse', a: 3, b: 0 }).advice).toMatch(/raise top_k \(now 3\)/);
  });

  it('says when the loss is spread thin, and when nothing worth catching is missed', () => {
    const spread = diagnose({ missingMass: 0.2, topColumns: masses([0.02, 0.02]), topDiagonals: masses([0.03]) }, VS);
    expect(spread.kind).toBe('spread');
    expect(spread.advice).toMatch(/larger budget overall, or to run dense/);
    expect(diagnose({ missingMass: 0.001, topColumns: masses([0.001]), topDiagonals: [] }, VS).kind).toBe('fine');
    expect(diagnose({ missingMass: 0, topColumns: [], topDiagonals: [] }, { pattern: 'dense', a: 0, b: 0 }).finding).toMatch(/keeps 100%/);
  });
});
