#include "pooled_map.h"

#include <algorithm>
#include <vector>

#include "../simd.h"
#include "../thread_pool.h"
#include "attention_tiles.h"

namespace sparsescope {
namespace {

// Query rows of the region that share a 64-row block and a grid row: one task.
struct MapTask {
  int gridRow;
  int first;  // index into the used rows
  int count;
};

}  // namespace

std::string pooledMap(const AttentionInputs& inputs, const PooledMapArgs& args, float* mean, float* max,
                      int* rowsUsed, const CallContext& ctx) {
  const int64_t regionRows = args.rowEnd - args.rowStart;
  const int64_t regionCols = args.colEnd - args.colStart;
  auto gridRowOf = [&](int i) { return int((i - args.rowStart) * args.rows / regionRows); };

  std::vector<int32_t> used;
  if (args.sampleRows.all()) {
    for (int i = args.rowStart; i < args.rowEnd; ++i) used.push_back(i);
  } else {
    for (int r = 0; r < args.sampleRows.count; ++r) {
      const int i = args.sampleRows.rows[r];
      if (i >= args.rowStart && i < args.rowEnd) used.push_back(i);
    }
  }
  *rowsUsed = int(used.size());

  std::vector<MapTask> tasks;
  for (int index = 0; index < int(used.size());) {
    const int block = used[index] / kBlock, gridRow = gridRowOf(used[index]);
    int end = index + 1;
    while (end < int(used.size()) && used[end] / kBlock == block && gridRowOf(used[end]) == gridRow) ++end;
    tasks.push_back({gridRow, index, end - index});
    index = end;
  }

  std::vector<int> cellOfColumn(static_cast<size_t>(regionCols));
  for (int64_t c = 0; c < regionCols; ++c) cellOfColumn[size_t(c)] = int(c * args.cols / regionCols);

  // Per task partial sums (mass summed over its rows) and maxima, reduced in order afterwards so
  // the result does not depend on scheduling.
  TransposedKeys keys;
  if (!keys.build(inputs, ctx)) return kCancelled;
  std::vector<float> taskMass(tasks.size() * size_t(args.cols), 0.0f);
  std::vector<float> taskMax(tasks.size() * size_t(args.cols), 0.0f);
  const bool finished = parallelFor(
      int(tasks.size()),
      [&](int t) {
        const MapTask& task = tasks[size_t(t)];
        TileWorkspace workspace(inputs, keys);
        workspace.loadQueries(0, used.data() + task.first, task.count);
        workspace.resetSoftmax();
        const std::vector<int32_t> tiles = denseTiles(workspace.lastRow());
        workspace.forEachChunk(KeySet{tiles, {}, {}}, false,
                               [&] { workspace.accumulateSoftmax(false); });
        float lse2[kBlock];
        for (int r = 0; r < task.count; ++r) lse2[r] = workspace.rowLse2(r);
        float* massOut = taskMass.data() + size_t(t) * args.cols;
        float* maxOut = taskMax.data() + size_t(t) * args.cols;
        workspace.forEachChunkInRange(args.colStart, args.colEnd, {}, false, [&] {
          const float* scores = workspace.scores();
          for (int c = 0; c < workspace.keyCount(); ++c) {
            const int cell = cellOfColumn[size_t(workspace.key(c) - args.colStart)];
            for (int r = 0; r < task.count; ++r) {
              const float p = fastExp2(scores[r * kBlock + c] - lse2[r]);
              massOut[cell] += p;
              maxOut[cell] = std::max(maxOut[cell], p);
            }
          }
        });
      },
      ctx);
  if (!finished) return kCancelled;

  std::vector<int> rowsPerGridRow(size_t(args.rows), 0);
  std::fill(mean, mean + size_t(args.rows) * args.cols, 0.0f);
  std::fill(max, max + size_t(args.rows) * args.cols, 0.0f);
  for (size_t t = 0; t < tasks.size(); ++t) {
    const int gridRow = tasks[t].gridRow;
    rowsPerGridRow[size_t(gridRow)] += tasks[t].count;
    for (int c = 0; c < args.cols; ++c) {
      mean[size_t(gridRow) * args.cols + c] += taskMass[t * args.cols + c];
      float& cellMax = max[size_t(gridRow) * args.cols + c];
      cellMax = std::max(cellMax, taskMax[t * args.cols + c]);
    }
  }
  for (int g = 0; g < args.rows; ++g) {
    if (rowsPerGridRow[size_t(g)] == 0) continue;
    for (int c = 0; c < args.cols; ++c) mean[size_t(g) * args.cols + c] /= float(rowsPerGridRow[size_t(g)]);
  }
  return "";
}

}  // namespace sparsescope
