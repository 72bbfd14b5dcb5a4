// What bench/gpu_minference.py needs to run MInference's Triton kernel on the same inputs and
// index as ours (written by bench/gpu.js when MINFERENCE_EXPORT names a folder): the layer's
// q/k/v as raw bf16, the index's verticals and diagonal offsets (the same for every head), our
// index of head 0 (tile_offsets/tile_starts/col_offsets/columns, int32), our output on sampled
// rows (ours_rows.f32, [H, R, D] float32, from a run over all rows: the path that was timed) and
// meta.json with the shape, the lists, the sampled rows and our time.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Ascending query rows to compare: block edges, both ends and `count` in all (xorshift, fixed seed). */
export function sampleRows(seqLen, count = 128) {
  const rows = new Set([0, 1, 63, 64, 65, Math.floor(seqLen / 2), seqLen - 65, seqLen - 64, seqLen - 2, seqLen - 1].filter((r) => r >= 0 && r < seqLen));
  let state = 0x2545f491;
  while (rows.size < Math.min(count, seqLen)) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    rows.add((state >>> 0) % seqLen);
  }
  return Int32Array.from([...rows].sort((a, b) => a - b));
}

/** Rows `rows` of every head of an all-rows output [H, N, D]: [H, R, D]. */
export function pickRows(out, numHeads, seqLen, headDim, rows) {
  const picked = new Float32Array(numHeads * rows.length * headDim);
  for (let h = 0; h < numHeads; h += 1)
    rows.forEach((row, r) => picked.set(out.subarray((h * seqLen + row) * headDim, (h * seqLen + row + 1) * headDim), (h * rows.length + r) * headDim));
  return picked;
}

const bytesOf = (typed) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);

/** Writes the folder; `index` is the layer's SparseIndex of `verticals`/`slashes` on every head. */
export async function exportBand(native, inputs, index, { dir, verticals, slashes, ms, backend = 'cuda', rowCount = 128 }) {
  if (inputs.dtype !== 'BF16') throw new Error(`exportBand: dtype ${inputs.dtype}, the comparison reads bf16`);
  mkdirSync(dir, { recursive: true });
  const { numHeads, numKvHeads, seqLen, headDim } = inputs;
  const rows = sampleRows(seqLen, rowCount);
  const full = await native.sparseAttention(inputs, index, { backend });
  writeFileSync(path.join(dir, 'ours_rows.f32'), bytesOf(pickRows(full.out, numHeads, seqLen, headDim, rows)));
  const nb = index.numBlocks;
  const tileEnd = index.tileOffsets[nb];
  const colEnd = index.colOffsets[nb];
  writeFileSync(path.join(dir, 'tile_offsets.i32'), bytesOf(index.tileOffsets.slice(0, nb + 1)));
  writeFileSync(path.join(dir, 'tile_starts.i32'), bytesOf(index.tileStarts.slice(0, tileEnd)));
  writeFileSync(path.join(dir, 'col_offsets.i32'), bytesOf(index.colOffsets.slice(0, nb + 1)));
  writeFileSync(path.join(dir, 'columns.i32'), bytesOf(index.columns.slice(0, colEnd)));
  for (const kind of ['q', 'k', 'v']) writeFileSync(path.join(dir, `${kind}.bin`), inputs[kind]);
  const meta = { dtype: inputs.dtype, numHeads, numKvHeads, seqLen, headDim, verticals: [...verticals], slashes: [...slashes], rows: [...rows], oursMs: ms, backend };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return dir;
}
