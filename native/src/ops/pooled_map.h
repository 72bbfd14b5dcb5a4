// Pooled attention map of one head (CPU), spec 2.2: for a rows x cols grid over a region of the
// N x N map, each cell holds the mean over the cell's (used) query rows of the row's attention
// mass on the cell's columns, sum_{j in cell, j <= i} P[i, j], and the max P[i, j] in the cell.
// Two passes per row group (LSE over all j <= i, then the mass); never N x N.
#pragma once
#include <string>

#include "../attention_inputs.h"
#include "../call_context.h"

namespace sparsescope {

// mean, max: [rows, cols]; cells of a grid row with no used query row are 0.
std::string pooledMap(const AttentionInputs& inputs, const PooledMapArgs& args, float* mean, float* max,
                      int* rowsUsed, const CallContext& ctx);

}  // namespace sparsescope
