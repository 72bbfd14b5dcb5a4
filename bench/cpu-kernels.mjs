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

/**
 * The band index of MInference's default budget (1000 vertical columns, diagonals 0..6095) as
 * buildIndex's merge produces it for those choices: the windows of consecutive diagonals merge into
 * one range per query block, from (smallest window end - 64) up in whole tiles past the block end,
 * and the chosen columns below it are loose. Built here because on random inputs the estimate
 * would pick scattered diagonals and the index would be nearly dense.
 */
function bandIndex(verticalCount, diagonalCount) {
  const numBlocks = Math.ceil(seqLen / 64);
  const verticals = Array.from({ length: verticalCount }, (_, n) => Math.floor((n * seqLen) / verticalCount));
  const tiles = [];
  const columns = [];
  let entries = 0;
  for (let m = 0; m < numBlocks; m++) {
    const end = 64 * m + 64;
    const smallestWindowEnd = Math.max(end - Math.min(diagonalCount - 1, end - 1), 64);
    const rangeStart = smallestWindowEnd - 64;
    const rangeEnd = smallestWindowEnd + 64 * Math.ceil((end - smallestWindowEnd) / 64);
    const blockTiles = [];
    for (let start = rangeStart; start < rangeEnd; start += 64) blockTiles.push(start);
    const blockColumns = verticals.filter((column) => column < rangeStart);
    tiles.push(blockTiles);
    columns.push(blockColumns);
    const rows = Math.min(end, seqLen) - 64 * m;
    for (let i = 64 * m; i < 64 * m + rows; i++) entries += i - rangeStart + 1;
    entries += rows * blockColumns.length;
  }
  const csr = (perBlock) => {
    const offsets = [0];
    const values = [];
    for (let h = 0; h < numHeads; h++) for (const block of perBlock) offsets.push(values.push(...block));
    return [Int32Array.from(offsets), Int32Array.from(values)];
  };
  const [tileOffsets, tileStarts] = csr(tiles);
  const [colOffsets, columnValues] = csr(columns);
  const window = new Int32Array(2 * numHeads).fill(-1);
  return { index: { numHeads, seqLen, numBlocks, tileOffsets, tileStarts, colOffsets, columns: columnValues, window }, density: entries / causalEntries };
}

const band = bandIndex(1000, 6096);
const sparse = await native.sparseAttention(inputs, band.index, { backend: 'cpu' });
console.log(
  `sparse band index (1000 verticals, diagonals 0..6095): ${sparse.ms.toFixed(0)} ms, density ${band.density.toFixed(3)}, ` +
    `${gflops(band.density * causalEntries, sparse.ms)} GFLOP/s, kernel speedup ${(dense.ms / sparse.ms).toFixed(2)}x`,
);
