import { describe, expect, it } from 'vitest';
import { parseNumberField } from '../../../renderer/src/views/NumberField';

describe('number fields', () => {
  it('take numbers in range and say why they refuse the rest', () => {
    const budget = { min: 30, max: 4096, integer: true };
    expect(parseNumberField(' 120 ', budget)).toEqual({ value: 120 });
    expect(parseNumberField('12', budget)).toEqual({ error: 'between 30 and 4,096' });
    expect(parseNumberField('5000', budget)).toEqual({ error: 'between 30 and 4,096' });
    expect(parseNumberField('31.5', budget)).toEqual({ error: 'enter a whole number' });
    expect(parseNumberField('', budget)).toEqual({ error: 'enter a number' });
    expect(parseNumberField('abc', budget)).toEqual({ error: 'enter a number' });
    expect(parseNumberField('0.95', { min: 0.5, max: 1 })).toEqual({ value: 0.95 });
  });
});
