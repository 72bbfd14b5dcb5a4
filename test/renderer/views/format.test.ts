import { describe, expect, it } from 'vitest';
import { fmtMass, plural, tokenGlyphs, tokenLabel } from '../../../renderer/src/views/format';

describe('formatting', () => {
  it('pluralises counts', () => {
    expect([plural(1, 'head'), plural(0, 'head'), plural(2048, 'row'), plural(2, 'query', 'queries')]).toEqual(['1 head', '0 heads', '2,048 rows', '2 queries']);
  });

  it('writes attention mass as a share, small ones in scientific notation', () => {
    expect([fmtMass(0.0345), fmtMass(0.0001234), fmtMass(2.1e-7), fmtMass(0)]).toEqual(['3.5%', '0.012%', '2.1e-7', '0']);
  });

  it('draws invisible characters of token text', () => {
    expect(tokenGlyphs('a\nb\tc\u0000')).toBe('a⏎b⇥c␀');
    expect([tokenLabel(' the'), tokenLabel('')]).toEqual(['␣the', '(empty)']);
  });
});
