#include "recall.h"

#include "../simd.h"
#include "dense_attention.h"
#include "sparse_attention.h"

namespace sparsescope {

std::string recall(const AttentionInputs& inputs, const SparseIndexView& index, const RowSelection& rows,
                   const float* denseLse, float* recall, const CallContext& ctx) {
  const size_t rowTotal = size_t(rows.size(inputs.seqLen));
  TransposedKeys keys;
  if (!keys.build(inputs, ctx)) return kCancelled;
  return forEachHeadAndGroup(
      inputs.numHeads, groupRowsByBlock(rows, inputs.seqLen),
      [&](int head, const RowGroup& group) {
        TileWorkspace workspace(inputs, keys);
        int32_t groupRowNumbers[kBlock];
        groupRows(rows, group, groupRowNumbers);
        workspace.loadQueries(head, groupRowNumbers, group.count);
        const size_t firstRow = size_t(head) * rowTotal + group.first;
        float lse2[kBlock];
        double mass[kBlock] = {};
        for (int r = 0; r < group.count; ++r) lse2[r] = denseLse[firstRow + r] * kLog2e;
        workspace.forEachChunk(indexKeySet(index, head, group.block), false, [&] {
          const float* scores = workspace.scores();
          for (int r = 0; r < group.count; ++r) {
            float chunkMass = 0.0f;
            for (int c = 0; c < kBlock; ++c) chunkMass += fastExp2(scores[r * kBlock + c] - lse2[r]);
            mass[r] += chunkMass;
          }
        });
        for (int r = 0; r < group.count; ++r) recall[firstRow + r] = float(mass[r]);
      },
      ctx);
}

}  // namespace sparsescope
