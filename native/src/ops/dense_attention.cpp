#include "dense_attention.h"

#include <algorithm>

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

std::string attendRowGroups(const AttentionInputs& inputs, const RowSelection& rows, const std::vector<RowGroup>& groups,
                            const KeySetSource& keysFor, float* out, float* lse, const CallContext& ctx) {
  const size_t rowTotal = size_t(rows.size(inputs.seqLen));
  TransposedKeys keys;
  if (!keys.build(inputs, ctx)) return kCancelled;
  return forEachHeadAndGroup(
      inputs.numHeads, groups,
      [&](int head, const RowGroup& group) {
        TileWorkspace workspace(inputs, keys);
        int32_t groupRowNumbers[kBlock];
        groupRows(rows, group, groupRowNumbers);
        workspace.loadQueries(head, groupRowNumbers, group.count);
        std::vector<int32_t> storage;
        const KeySet keys = keysFor(head, group.block, workspace.lastRow(), storage);
        workspace.resetSoftmax();
        workspace.forEachChunk(keys, true, [&] { workspace.accumulateSoftmax(true); });
        const size_t firstRow = size_t(head) * rowTotal + group.first;
        workspace.finishSoftmax(out ? out + firstRow * inputs.headDim : nullptr, lse + firstRow);
      },
      ctx);
}

namespace {

// Dense key sets do not depend on the query block, so sampled rows from different blocks can share
// a task (and its key tiles): up to 64 ascending rows whose span stays small next to their position,
// so little of the shared key range is masked work. All rows gives exactly the 64-row blocks.
std::vector<RowGroup> groupRowsForDense(const RowSelection& rows, int seqLen) {
  std::vector<RowGroup> groups;
  const int total = rows.size(seqLen);
  for (int index = 0; index < total;) {
    const int first = rows.at(index);
    int end = index + 1;
    while (end < total && end - index < kBlock && rows.at(end) - first < std::max(kBlock, rows.at(end) / 8)) ++end;
    groups.push_back({first / kBlock, index, end - index});
    index = end;
  }
  return groups;
}

}  // namespace

std::string denseAttention(const AttentionInputs& inputs, const RowSelection& rows, float* out,
                           float* lse, const CallContext& ctx) {
  return attendRowGroups(
      inputs, rows, groupRowsForDense(rows, inputs.seqLen),
      [](int, int, int lastRow, std::vector<int32_t>& storage) {
        storage = denseTiles(lastRow);
        return KeySet{storage, {}, {}};
      },
      out, lse, ctx);
}

}  // namespace sparsescope
