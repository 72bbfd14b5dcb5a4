/**
 * XAttention's block masses in float64, from the definition in native/src/ops/xattention_index.h:
 * at stride S, query group r and key group c score sum_t q[rS + S-1-t] . k[cS + t] / (sqrt(D) S);
 * each group row is a causal softmax over c <= r; mass[m][n] sums the probabilities of the groups
 * in query block m and key block n (0 for n > m). Plain JavaScript, so that the vitest suites and
 * tools/gpu-tests.js (run by Node alone on the GPU machine) share the one reference.
 */

/** Element x of row i of head h of a [heads, N, D] tensor of values, zero past N. */
function element(values, seqLen, headDim, h, i, x) {
  return i < seqLen ? values[(h * seqLen + i) * headDim + x] : 0;
}

export function xattentionMasses({ seqLen, headDim, numHeads, numKvHeads }, q, k, head, stride, blockSize) {
  const groups = Math.ceil(seqLen / stride);
  const blocks = Math.ceil(seqLen / blockSize);
  const kv = Math.floor(head / (numHeads / numKvHeads));
  const mass = Array.from({ length: blocks }, () => new Array(blocks).fill(0));
  for (let r = 0; r < groups; r++) {
    const scores = [];
    for (let c = 0; c <= r; c++) {
      let sum = 0;
      for (let t = 0; t < stride; t++)
        for (let x = 0; x < headDim; x++) sum += element(q, seqLen, headDim, head, r * stride + stride - 1 - t, x) * element(k, seqLen, headDim, kv, c * stride + t, x);
      scores.push(sum / (Math.sqrt(headDim) * stride));
    }
    const max = Math.max(...scores);
    const total = scores.reduce((acc, s) => acc + Math.exp(s - max), 0);
    scores.forEach((s, c) => {
      mass[Math.floor((r * stride) / blockSize)][Math.floor((c * stride) / blockSize)] += Math.exp(s - max) / total;
    });
  }
  return mass;
}
