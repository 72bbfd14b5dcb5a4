/**
 * The native addon when it is built, else the TypeScript reference: analysis tests run either way
 * and say which one they used.
 */
import type { NativeModule } from '../../../../electron/engine/native-api.js';
import { referenceNative } from './reference-native.js';

export async function nativeOrReference(): Promise<{ native: NativeModule; kind: 'native' | 'reference' }> {
  try {
    const { loadNative } = await import('../../../../electron/engine/native.js');
    return { native: loadNative(), kind: 'native' };
  } catch {
    return { native: referenceNative(), kind: 'reference' };
  }
}
