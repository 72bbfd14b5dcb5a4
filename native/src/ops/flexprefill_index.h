// FlexPrefill's block choice (Lai et al., "FlexPrefill: A Context-Aware Sparse Attention Mechanism
// for Efficient Long-Sequence Inference", ICLR 2025; read from ByteDance-Seed/FlexPrefill
// get_active_blocks and the copy MInference runs for attn_type "flexprefill"). Sparsescope's exact
// definition, for a head with gamma = a / 1000, tau = b / 1000, block size B and minimum budget
// (IndexSettings: 128 and 512 tokens by default), M = ceil(N / B) blocks:
//   N <= max(2B, ceil(minBudget / B) B): every causal entry (their dense fallback).
//   The last B queries i = N-B .. N-1 take an fp32 softmax over keys j <= i of q_i.k_j / sqrt(D):
//   A[i][j]. Token scores: vertical v[j] = sum_i A[i][j] / B, slash s[o] = sum_{i - j = o} A[i][j] / B.
//   Block scores: V[n] = sum of v over keys [nB, nB + B); S[d] = sum of s over the offsets o with
//   M - 1 - floor((N - 1 - o) / B) = d (their sum over diagonals indexed from the end, pooled by B).
//   Budgets: kv = floor(c(v) / B) + 1 and ks = floor(c(s) / B) + 1, c(x) = 1 + how many of x's
//   largest values (descending) have a cumulative sum <= gamma; each clamped to
//   [ceil(minBudget / B), M] (their code divides by a literal 128, the default B).
//   Query-aware test: pooled key blocks kbar[n] (mean of the block's keys), qbar the mean of the last
//   B queries; est = softmax_n(qbar.kbar[n] / sqrt(D)) over all M blocks; the head is query-aware
//   when sqrt(JS(est, V)) < tau (natural log; 0 ln 0 = 0, where theirs gives NaN and never
//   passes). A query-aware head uses kv = ks = ceil(minBudget / B).
//   Chosen verticals: the top kv blocks of V with block 0 forced (at least block 0); chosen slashes:
//   the top ks of S with d = 0 forced (at least the diagonal); ties to the lower index.
//   Query block m keeps key blocks n <= m that are chosen verticals, blocks m - d for chosen d <= m,
//   and for a query-aware head also the pooled block estimate: qbar_m (mean of block m's queries)
//   against kbar[n], softmax over n <= m per m; all (m, n <= m) in descending probability (ties to
//   the lower m * M + n) kept while their inclusive cumulative sum is <= gamma * M.
//   Tiles as for every method block (head_index.h headOfKeptBlocks).
// Arithmetic: fp32 scores and softmax, fp64 token and block sums, pooled means and test.
#pragma once
#include <string>
#include <vector>

#include "../attention_inputs.h"
#include "head_index.h"

namespace sparsescope {

struct FlexPrefillSettings {
  int gammaThousandths = 0, tauThousandths = 0, blockSize = 128, minBudget = 512;
};

// "" when the parameters are valid: gamma and tau 0..1000 thousandths.
std::string checkFlexPrefill(int gammaThousandths, int tauThousandths);

// Whether FlexPrefill runs this length dense (no estimate needed).
bool flexprefillDense(int seqLen, const FlexPrefillSettings& settings);

// The token scores v and s of query head `head` from its last B queries (the estimate's O(B N D) part).
void flexprefillTokenScores(const AttentionInputs& inputs, int head, int blockSize, std::vector<double>& vertical,
                            std::vector<double>& slash);

// The head's index from its token scores (shared by the CPU and CUDA builders).
HeadIndex flexprefillHeadFromScores(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings,
                                    const std::vector<double>& vertical, const std::vector<double>& slash);

HeadIndex flexprefillHead(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings);

}  // namespace sparsescope
