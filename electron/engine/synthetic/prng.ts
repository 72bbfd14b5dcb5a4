/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that synthetic captures and
 * row samples are identical on every machine for the same seed. Math.random is never used.
 */

/** splitmix32 step: a well-mixed 32-bit hash of `state`. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Hash a seed and stream labels (layer, head, tensor kind...) into one 32-bit seed. */
export function streamSeed(seed: number, ...labels: number[]): number {
  let h = splitmix32(seed >>> 0 ^ Math.floor(seed / 2 ** 32));
  for (const label of labels) h = splitmix32(h ^ splitmix32(label >>> 0));
  return h;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  // A flag beside a plain number (not number | null): the spare stays an unboxed double.
  private hasSpare = false;
  private spare = 0;

  constructor(seed: number, ...labels: number[]) {
    let x = streamSeed(seed, ...labels);
    const next = (): number => (x = splitmix32(x));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1; // never the all-zero state
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 2 ** 32;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller, the second value kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((sum, w) => sum + w, 0);
    let target = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i]!;
      if (target < 0) return i;
    }
    return weights.length - 1;
  }

  /** `count` distinct integers from [lo, hi), ascending (Floyd's algorithm, O(count) memory). */
  distinctSorted(count: number, lo: number, hi: number): Int32Array {
    const span = hi - lo;
    if (count > span) throw new Error(`cannot draw ${count} distinct values from a range of ${span}`);
    const chosen = new Set<number>();
    for (let j = span - count; j < span; j++) {
      const t = this.int(0, j);
      chosen.add(chosen.has(t) ? j : t);
    }
    return Int32Array.from([...chosen].map((value) => value + lo)).sort();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
