import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../contract/api.js';
import { HeadCache, typedArrayBytes } from '../../../../electron/engine/analysis/head-cache.js';

const byteLength = (value: Uint8Array) => value.byteLength;

/** A computation that settles when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const cancelFlag = () => new Int32Array(new SharedArrayBuffer(4));

describe('HeadCache', () => {
  it('computes a key once and shares it with concurrent and later callers', async () => {
    const cache = new HeadCache();
    let computed = 0;
    const compute = async () => {
      computed++;
      return new Uint8Array(8);
    };
    const [a, b] = await Promise.all([cache.memo('k', compute, byteLength), cache.memo('k', compute, byteLength)]);
    expect(a).toBe(b);
    expect(await cache.memo('k', compute, byteLength)).toBe(a);
    expect(computed).toBe(1);
    expect(cache.heldBytes).toBe(8);
  });

  it('drops the least recently used entries beyond its byte limit, never the newest', async () => {
    const cache = new HeadCache(20);
    const fill = (key: string, bytes: number) => cache.memo(key, async () => new Uint8Array(bytes), byteLength);
    await fill('a', 8);
    await fill('b', 8);
    await fill('a', 8); // a is now more recent than b
    await fill('c', 8);
    let recomputed = '';
    for (const key of ['a', 'c', 'b']) await cache.memo(key, async () => ((recomputed += key), new Uint8Array(8)), byteLength);
    expect(recomputed).toBe('b'); // b, the least recently used, went when c came
    expect(cache.heldBytes).toBeLessThanOrEqual(20);

    await fill('huge', 100);
    expect(cache.size).toBe(1);
    expect(cache.heldBytes).toBe(100);
  });

  it('keeps no failed computation, and its own failure reaches only its own caller', async () => {
    const cache = new HeadCache();
    await expect(cache.memo('k', async () => Promise.reject(new Error('bad shape')), byteLength)).rejects.toThrow('bad shape');
    expect(cache.size).toBe(0);
    expect(await cache.memo('k', async () => new Uint8Array(4), byteLength)).toHaveLength(4);
  });

  it('recomputes for a waiter when the caller that started the computation was cancelled', async () => {
    const cache = new HeadCache();
    const first = cancelFlag();
    const firstRun = deferred<Uint8Array>();
    const firstCall = cache.memo('k', () => firstRun.promise, byteLength, { cancel: first });
    const secondCall = cache.memo('k', async () => new Uint8Array(3), byteLength, { cancel: cancelFlag() });
    Atomics.store(first, 0, 1);
    firstRun.reject(new ApiError('cancelled', 'cancelled'));
    await expect(firstCall).rejects.toThrow('cancelled');
    expect(await secondCall).toHaveLength(3);
    expect(cache.size).toBe(1);
  });

  it('refuses a call already cancelled and forgets everything on clear', async () => {
    const cache = new HeadCache();
    const cancel = cancelFlag();
    Atomics.store(cancel, 0, 1);
    await expect(cache.memo('k', async () => new Uint8Array(1), byteLength, { cancel })).rejects.toThrow('cancelled');
    await cache.memo('k', async () => new Uint8Array(1), byteLength);
    const pending = deferred<Uint8Array>();
    const late = cache.memo('late', () => pending.promise, byteLength);
    cache.clear();
    pending.resolve(new Uint8Array(50));
    await late;
    expect(cache.size).toBe(0);
    expect(cache.heldBytes).toBe(0); // a computation that settles after clear is not counted
  });

  it('sizes a value by the typed arrays it holds', () => {
    expect(typedArrayBytes({ q: new Uint8Array(6), lse: new Float32Array(2), ms: 3, name: 'x' })).toBe(14);
  });
});
