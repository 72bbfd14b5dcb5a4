#include "dense_attention.h"

#include "../thread_pool.h"

namespace sparsescope {

std::string forEachHeadAndGroup(int numHeads, const std::vector<RowGroup>& groups,
                                const std::function<void(int head, const RowGroup& group)>& task,
                                const CallContext& ctx) {
  const int numGroups = int(groups.size());
  const bool finished = parallelFor(
      numHeads * numGroups,
      [&](int t) { task(t % numHeads, groups[size_t(numGroups - 1 - t / numHeads)]); }, ctx);
  return finished ? "" : kCancelled;
}

std::string attendRowGroups(const AttentionInputs& inputs, const RowSelection& rows,
                            const KeySetSource& keysFor, float* out, float* lse, const CallContext& ctx) {
  const size_t rowTotal = size_t(rows.size(inputs.seqLen));
  return forEachHeadAndGroup(
      inputs.numHeads, groupRowsByBlock(rows, inputs.seqLen),
      [&](int head, const RowGroup& group) {
        TileWorkspace workspace(inputs);
        int32_t groupRowNumbers[kBlock];
        groupRows(rows, group, groupRowNumbers);
        workspace.loadQueries(head, groupRowNumbers, group.count);
        std::vector<int32_t> storage;
        const KeySet keys = keysFor(head, group.block, workspace.lastRow(), storage);
        workspace.resetSoftmax();
        workspace.forEachChunk(keys, true, [&] { workspace.accumulateSoftmax(true); });
        const size_t firstRow = size_t(head) * rowTotal + group.first;
        workspace.finishSoftmax(out + firstRow * inputs.headDim, lse + firstRow);
      },
      ctx);
}

std::string denseAttention(const AttentionInputs& inputs, const RowSelection& rows, float* out,
                           float* lse, const CallContext& ctx) {
  return attendRowGroups(
      inputs, rows,
      [](int, int, int lastRow, std::vector<int32_t>& storage) {
        storage = denseTiles(lastRow);
        return KeySet{storage, {}, {}};
      },
      out, lse, ctx);
}

}  // namespace sparsescope
