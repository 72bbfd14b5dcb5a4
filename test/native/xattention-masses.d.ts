/** Types of xattention-masses.js (plain JavaScript, shared with tools/gpu-tests.js). */
export function xattentionMasses(
  shape: { seqLen: number; headDim: number; numHeads: number; numKvHeads: number },
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  head: number,
  stride: number,
  blockSize: number,
): number[][];
