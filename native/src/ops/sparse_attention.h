// Sparse attention (CPU) over exactly the computed set of a SparseIndex: its tiles, its loose
// columns and, for stream_llm heads, its row window, with the same tile machinery as dense.
#pragma once
#include <string>

#include "../attention_inputs.h"
#include "../call_context.h"
#include "../index_format.h"
#include "attention_tiles.h"

namespace sparsescope {

// The key set of (head, block) in the index.
KeySet indexKeySet(const SparseIndexView& index, int head, int block);

// out: [H, R, D] or null (not written), lse: [H, R] natural log over the computed set. Returns "" or kCancelled.
std::string sparseAttention(const AttentionInputs& inputs, const SparseIndexView& index,
                            const RowSelection& rows, float* out, float* lse, const CallContext& ctx);

}  // namespace sparsescope
