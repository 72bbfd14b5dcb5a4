/**
 * What tuning one head would otherwise recompute on every budget change, kept per open capture in
 * the interactive worker: the head's decoded inputs, the dense attention of its evaluated rows and
 * the sparse index of each recent pattern. A budget change then costs one index build (shared with
 * the mask overlay, which asks for the same pattern at the same time), the sparse pass and the
 * recall. Entries are promises, so concurrent calls share one computation; least recently used
 * entries are dropped beyond `maxBytes`; the worker clears the cache when the capture closes.
 */
import { throwIfCancelled, type Control } from './common.js';

/** Enough for about 40 heads of a 16K-token BF16 capture with D = 64 (6 MiB of inputs each). */
export const DEFAULT_HEAD_CACHE_BYTES = 256 * 1024 * 1024;

interface Entry {
  value: Promise<unknown>;
  bytes: number;
}

export class HeadCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(readonly maxBytes: number = DEFAULT_HEAD_CACHE_BYTES) {}

  /** Entries held (pending or settled). */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by the settled entries. */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * The value under `key`, computed by `compute` when absent. A failed computation is not kept;
   * when it was another caller's (say, cancelled by a newer request), this caller computes it
   * again under its own `control` rather than failing with the other caller's error.
   */
  async memo<T>(key: string, compute: () => Promise<T>, sizeOf: (value: T) => number, control?: Control): Promise<T> {
    for (;;) {
      throwIfCancelled(control);
      const known = this.entries.get(key);
      if (known) {
        this.entries.delete(key); // re-insert: Map order is our least-recently-used order
        this.entries.set(key, known);
      }
      const entry = known ?? this.start(key, compute, sizeOf);
      try {
        return (await entry.value) as T;
      } catch (error) {
        if (!known) throw error;
      }
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private start<T>(key: string, compute: () => Promise<T>, sizeOf: (value: T) => number): Entry {
    const entry: Entry = { value: compute(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return; // cleared or evicted while computing
        entry.bytes = sizeOf(value as T);
        this.bytes += entry.bytes;
        this.evictBeyondLimit(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry;
  }

  /** Drop least recently used settled entries until the cache fits, never the one just added. */
  private evictBeyondLimit(keep: string): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (key === keep || entry.bytes === 0) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}

/** Bytes of the typed arrays of a value (inputs, attention results, sparse indexes). */
export function typedArrayBytes(value: object): number {
  return Object.values(value).reduce<number>((sum, field) => sum + (ArrayBuffer.isView(field) ? field.byteLength : 0), 0);
}
