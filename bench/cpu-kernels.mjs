// CPU kernel microbenchmark of the native module: dense causal attention and vertical-slash sparse
// attention on the same random inputs, with throughput. Usage:
//   node bench/cpu-kernels.mjs [--seq 16384] [--heads 8] [--kv-heads 8] [--head-dim 128] [--dtype BF16]
// Random Gaussian inputs only measure kernel speed (the index is fixed, not estimated from data).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seq: { type: 'string', default: '16384' },
    heads: { type: 'string', default: '8' },
    'kv-heads': { type: 'string', default: '8' },
    'head-dim': { type: 'string', default: '128' },
    dtype: { type: 'string', default: 'BF16' },
  },
});
const seqLen = Number(values.seq);
const numHeads = Number(values.heads);
const numKvHeads = Number(values['kv-heads']);
const headDim = Number(values['head-dim']);
const dtype = values.dtype;

const addonPath = fileURLToPath(new URL('../native/build/Release/sparsescope.node', import.meta.url));
const native = createRequire(import.meta.url)(addonPath);

function randomTensor(heads) {
  const count = heads * seqLen * headDim;
  if (dtype === 'F32') return new Uint8Array(Float32Array.from({ length: count }, () => Math.random() - 0.5).buffer);
  // bf16 / f16 bit patterns of small numbers with random sign and mantissa.
  const exponentBits = dtype === 'BF16' ? 0x3e80 : 0x3400;
  const mantissaMask = dtype === 'BF16' ? 0x7f : 0x3ff;
  const bits = Uint16Array.from({ length: count }, () => exponentBits | ((Math.random() * 0xffff) & mantissaMask) | (Math.random() < 0.5 ? 0x8000 : 0));
  return new Uint8Array(bits.buffer);
}

const inputs = { dtype, numHeads, numKvHeads, seqLen, headDim, q: randomTensor(numHeads), k: randomTensor(numKvHeads), v: randomTensor(numKvHeads) };
const causalEntries = (seqLen * (seqLen + 1)) / 2;
const gflops = (entries, ms) => ((4 * numHeads * headDim * entries) / ms / 1e6).toFixed(1);

const dense = await native.denseAttention(inputs, { backend: 'cpu' });
console.log(`dense  N=${seqLen} H=${numHeads}/${numKvHeads} D=${headDim} ${dtype}: ${dense.ms.toFixed(0)} ms, ${gflops(causalEntries, dense.ms)} GFLOP/s, ${native.deviceInfo().cpuThreads} threads`);

// MInference's default vertical_and_slash budget (1000 verticals, 6096 diagonals).
const patterns = Int32Array.from({ length: numHeads * 3 }, (_, i) => [1, 1000, 6096][i % 3]);
const index = await native.buildIndex(inputs, patterns, { backend: 'cpu' });
const density = index.density.reduce((sum, x) => sum + x, 0) / numHeads;
const sparse = await native.sparseAttention(inputs, index, { backend: 'cpu' });
console.log(
  `sparse vertical_and_slash(1000, 6096): index ${index.ms.toFixed(0)} ms + kernel ${sparse.ms.toFixed(0)} ms, density ${density.toFixed(3)}, ` +
    `${gflops(density * causalEntries, sparse.ms)} GFLOP/s, speedup ${(dense.ms / (index.ms + sparse.ms)).toFixed(2)}x`,
);
