import { describe, expect, it } from 'vitest';
import { fileErrorReason } from '../../../electron/engine/fs-errors.js';

describe('fileErrorReason', () => {
  it('says what an errno code means and keeps the code', () => {
    expect(fileErrorReason(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('no such file (ENOENT)');
    expect(fileErrorReason(Object.assign(new Error('x'), { code: 'EISDIR' }))).toBe('is a folder, not a file (EISDIR)');
    expect(fileErrorReason(Object.assign(new Error('x'), { code: 'EIO' }))).toBe('error (EIO)');
  });

  it('falls back to the error text without a code', () => {
    expect(fileErrorReason(new Error('disk on fire'))).toBe('Error: disk on fire');
  });
});
