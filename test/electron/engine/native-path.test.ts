import { describe, expect, it } from 'vitest';
import { unpackedTwin } from '../../../electron/engine/native.js';

describe('native addon path in a packaged app', () => {
  it('looks in app.asar.unpacked for what is inside app.asar, on either separator', () => {
    expect(unpackedTwin('/opt/Sparsescope/resources/app.asar/dist/electron/engine')).toBe('/opt/Sparsescope/resources/app.asar.unpacked/dist/electron/engine');
    expect(unpackedTwin('C:\\Sparsescope\\resources\\app.asar\\dist\\electron\\engine')).toBe('C:\\Sparsescope\\resources\\app.asar.unpacked\\dist\\electron\\engine');
    expect(unpackedTwin('/Applications/Sparsescope.app/Contents/Resources/app.asar')).toBe('/Applications/Sparsescope.app/Contents/Resources/app.asar.unpacked');
  });

  it('leaves checkout paths and look-alike names alone', () => {
    for (const path of ['/work/sparsescope/electron/engine', '/data/app.asarx/engine', '/data/my-app.asar/engine', '/r/app.asar.unpacked/dist']) {
      expect(unpackedTwin(path)).toBe(path);
    }
  });
});
