// Inputs and timing shared by the GPU benchmarks (bench/gpu.js, bench/gpu_focus.js,
// bench/gpu_head_dims.js): the layer shape of issue 4 with random bf16 tensors (any head dim), and
// the median of device times after a warm-up.

export const HEADS = 32;
export const KV_HEADS = 8;
export const HEAD_DIM = 128;

// Random bf16 tensors, drawn from a table of Gaussian values (fast enough for 1 GiB).
export function randomBf16(count, state) {
  const table = new Uint16Array(4096);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < table.length; i += 1) {
    const u = (i + 0.5) / table.length;
    f32[0] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * ((i * 0.618034) % 1));
    table[i] = u32[0] >>> 16;
  }
  const bits = new Uint16Array(count);
  for (let i = 0; i < count; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bits[i] = table[(state >>> 0) & 4095];
  }
  return new Uint8Array(bits.buffer);
}

/** AttentionInputs of the benchmark layer at `seqLen` (the same seeds every run). */
export function layerInputs(seqLen, headDim = HEAD_DIM) {
  return {
    dtype: 'BF16',
    numHeads: HEADS,
    numKvHeads: KV_HEADS,
    seqLen,
    headDim,
    q: randomBf16(HEADS * seqLen * headDim, 0x9e3779b9),
    k: randomBf16(KV_HEADS * seqLen * headDim, 0x85ebca6b),
    v: randomBf16(KV_HEADS * seqLen * headDim, 0xc2b2ae35),
  };
}

/** Median `ms` of `repeats` calls of `run` after one warm-up call. */
export async function medianMs(run, repeats) {
  await run();
  const times = [];
  for (let r = 0; r < repeats; r += 1) times.push((await run()).ms);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Per-head [patternId, a, b] with the same pattern for every head. */
export function samePatterns(patternId, a, b) {
  const patterns = new Int32Array(HEADS * 3);
  for (let h = 0; h < HEADS; h += 1) patterns.set([patternId, a, b], 3 * h);
  return patterns;
}

/** The rule a bench/gpu_e2e.js result's config was searched under, in words (its min recall is reported beside it). */
export function searchedRule(e2e) {
  const target = e2e?.target ?? 0.95;
  return e2e?.scope === 'layer' ? `layer mean recall ${target}` : `target recall ${target}`;
}
