#include "sparse_attention.h"

#include "dense_attention.h"

namespace sparsescope {

KeySet indexKeySet(const SparseIndexView& index, int head, int block) {
  const int slot = index.slot(head, block);
  const int32_t tileBegin = index.tileOffsets[slot], tileEnd = index.tileOffsets[slot + 1];
  const int32_t columnBegin = index.colOffsets[slot], columnEnd = index.colOffsets[slot + 1];
  return KeySet{{index.tileStarts + tileBegin, size_t(tileEnd - tileBegin)},
                {index.columns + columnBegin, size_t(columnEnd - columnBegin)},
                RowWindow{index.window[2 * head], index.window[2 * head + 1]}};
}

std::string sparseAttention(const AttentionInputs& inputs, const SparseIndexView& index,
                            const RowSelection& rows, float* out, float* lse, const CallContext& ctx) {
  return attendRowGroups(
      inputs, rows, groupRowsByBlock(rows, inputs.seqLen),
      [&](int head, int block, int, std::vector<int32_t>&) { return indexKeySet(index, head, block); },
      out, lse, ctx);
}

}  // namespace sparsescope
