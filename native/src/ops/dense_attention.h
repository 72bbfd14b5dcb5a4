// Dense causal attention (CPU): streaming softmax over 64-wide key tiles, fp32 accumulation,
// never N x N. Also the driver sparse attention shares, so both cost the same per computed entry.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "../attention_inputs.h"
#include "../call_context.h"
#include "attention_tiles.h"

namespace sparsescope {

// out: [H, R, D] or null (not written), lse: [H, R] natural log, R = rows.size(N). Returns "" or kCancelled.
std::string denseAttention(const AttentionInputs& inputs, const RowSelection& rows, float* out,
                           float* lse, const CallContext& ctx);

// The keys of (head, query block) for rows up to lastRow; `storage` may back the spans.
using KeySetSource = std::function<KeySet(int head, int block, int lastRow, std::vector<int32_t>& storage)>;

// Softmax attention of every query head over the row groups (of `rows`), each seeing keysFor's set.
std::string attendRowGroups(const AttentionInputs& inputs, const RowSelection& rows, const std::vector<RowGroup>& groups,
                            const KeySetSource& keysFor, float* out, float* lse, const CallContext& ctx);

// Runs task(head, group) over all heads and row groups on the thread pool, the heaviest (latest)
// query blocks first so the causal triangle balances. Returns "" or kCancelled.
std::string forEachHeadAndGroup(int numHeads, const std::vector<RowGroup>& groups,
                                const std::function<void(int head, const RowGroup& group)>& task,
                                const CallContext& ctx);

}  // namespace sparsescope
