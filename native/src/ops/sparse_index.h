// Index builders (CPU) for the patterns of spec 2.1; the output format is documented in
// index_format.h / electron/engine/native-api.ts. Deterministic: every top-k breaks ties by the
// lower index (column, offset or key block), and NaN scores rank lowest.
//
// vertical_and_slash (MInference's estimate + convert_vertical_slash_indexes):
//   estimate from the last min(settings.lastQ, N) queries (64 by default), fp32 softmax with the
//   causal mask; vertical score = column sums with j < 30 forced, slash score per offset o = i - j
//   (every o in 0..N-1, summed over the rows that reach it) with o < 100 forced; top
//   v' = min(N, max(v, 30)) columns and s' = min(N, max(s, 50)) offsets. Query block m (end_m =
//   64m + 64, not clamped to N) turns each chosen offset o < end_m into the window [e - 64, e),
//   e = max(end_m - o, 64); windows in ascending e merge into 64-multiple ranges (a window with
//   e > range_end + 64 starts a new range, else e > range_end extends it by 64), emitted as tiles
//   range_start + 64t (not 64-aligned); chosen columns below the current range and not in an earlier
//   one are loose columns. Tiles may reach past N or past the block's rows; kernels clip them.
// stream_llm: 64-aligned tiles bounding j < n_init and i - n_local < j <= i, with the exact row
//   window kept in index.window.
// block_sparse: Q and K mean-pooled over 64-token blocks (fp64 sums), key block n <= m scored by the
//   pooled dot product (fp64), the top min(m + 1, max(top_k, 1)) blocks kept, the diagonal always.
// dense: every tile up to the diagonal.
// xattention, flexprefill: defined in xattention_index.h and flexprefill_index.h (blocks of
//   settings' block size, expanded into 64-wide tiles).
#pragma once
#include <string>

#include "../attention_inputs.h"
#include "../call_context.h"
#include "../index_format.h"
#include "flexprefill_index.h"

namespace sparsescope {

// "" when every head's pattern id and parameters are valid (with settings' block sizes), else why not.
std::string validatePatterns(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings);

// FlexPrefill's settings of head `head` (a flexprefill pattern).
FlexPrefillSettings flexprefillSettings(HeadPatternsView patterns, int head, const IndexSettings& settings);

// Fills *index for every query head. Returns "", kCancelled, or a message naming a bad pattern.
std::string buildSparseIndex(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                             SparseIndex* index, const CallContext& ctx);

}  // namespace sparsescope
