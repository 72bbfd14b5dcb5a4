// XAttention's block choice (Xu et al., "XAttention: Block Sparse Attention with Antidiagonal
// Scoring", 2025; read from mit-han-lab/x-attention xattn_estimate / find_blocks_chunked and the
// copy MInference runs for attn_type "xattention"). Sparsescope's exact definition, for a head
// with threshold tau = a / 1000, stride S = b and block size B (IndexSettings, default 128; S
// divides B):
//   Reshaped rows r = 0 .. R-1, R = ceil(N / S). The antidiagonal score of query group r and key
//   group c is  x(r, c) = sum_{t=0}^{S-1} q[rS + S-1-t] . k[cS + t] / (sqrt(D) S),  with rows past
//   N zero vectors. Each group row r takes a softmax over c <= r (the diagonal group included,
//   as in their causal mask on the reshaped grid). The mass of block pair (m, n), n <= m, is the
//   sum of those probabilities over r in [mB/S, (m+1)B/S) and c in [nB/S, (n+1)B/S).
//   Query block m keeps key block 0 and its diagonal block m, then the other blocks n < m in
//   descending mass (ties to the lower n), each while the mass kept before it is below
//   tau * (the row's total mass): the block that crosses the threshold is kept.
//   Every 64-row query block inside block m reads the 64-wide tiles of the kept key blocks up to
//   its last row (head_index.h headOfKeptBlocks).
// Arithmetic: fp32 scores and softmax, fp64 block masses and cumulative sums (theirs runs the
// softmax in the input dtype; only ties at the threshold can choose differently).
#pragma once
#include <string>
#include <vector>

#include "../attention_inputs.h"
#include "head_index.h"

namespace sparsescope {

// "" when the pattern's parameters are valid: threshold 0..1000 thousandths, stride 1..B dividing B.
std::string checkXAttention(int thresholdThousandths, int stride, int blockSize);

// Block masses of query head `head`: masses[m * M + n] for n <= m (0 above), M = ceil(N / B).
// M x M doubles (512 MiB at 1M tokens, B 128): for tests (methodEstimate); the CPU builder
// (xattentionHead) computes and chooses one block row at a time.
std::vector<double> xattentionMasses(const AttentionInputs& inputs, int head, int stride, int blockSize);

// The kept key blocks of query block m from its masses row[0..m] (the CPU builder's, and the CUDA
// builder's on its downloaded rows).
std::vector<int32_t> xattentionKeepRow(const double* row, int m, int thresholdThousandths);

HeadIndex xattentionHead(const AttentionInputs& inputs, int head, int thresholdThousandths, int stride, int blockSize);

}  // namespace sparsescope
