#include "sparse_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../simd.h"
#include "../thread_pool.h"
#include "attention_tiles.h"
#include "flexprefill_index.h"
#include "head_index.h"
#include "xattention_index.h"

namespace sparsescope {
namespace {

constexpr int kForcedVerticals = 30;
constexpr int kForcedSlashes = 100;
constexpr int kMinVerticals = 30;
constexpr int kMinSlashes = 50;

void appendRangeTiles(int rangeStart, int rangeEnd, std::vector<int32_t>& tiles) {
  for (int start = rangeStart; start < rangeEnd; start += kBlock) tiles.push_back(start);
}

// MInference's convert_vertical_slash_indexes for one query block (see sparse_index.h).
void mergeVerticalSlashBlock(int block, const std::vector<int32_t>& verticals,
                             const std::vector<int32_t>& slashesDescending, std::vector<int32_t>& tiles,
                             std::vector<int32_t>& columns) {
  const int blockEnd = block * kBlock + kBlock;
  size_t nextVertical = 0;
  int rangeStart = 0, rangeEnd = 0;
  bool rangeOpen = false;
  auto takeVerticalsBelowRangeEnd = [&] {
    for (; nextVertical < verticals.size() && verticals[nextVertical] < rangeEnd; ++nextVertical)
      if (verticals[nextVertical] < rangeStart) columns.push_back(verticals[nextVertical]);
  };
  for (const int32_t offset : slashesDescending) {
    if (offset >= blockEnd) continue;
    const int windowEnd = std::max(blockEnd - offset, kBlock);
    if (!rangeOpen) {
      rangeStart = windowEnd - kBlock;
      rangeEnd = windowEnd;
      rangeOpen = true;
      continue;
    }
    takeVerticalsBelowRangeEnd();
    if (windowEnd > rangeEnd + kBlock) {
      appendRangeTiles(rangeStart, rangeEnd, tiles);
      rangeStart = windowEnd - kBlock;
      rangeEnd = windowEnd;
    } else if (windowEnd > rangeEnd) {
      rangeEnd += kBlock;
    }
  }
  takeVerticalsBelowRangeEnd();
  appendRangeTiles(rangeStart, rangeEnd, tiles);
}

// Vertical and slash scores of one head from its last min(lastQ, N) queries. Every offset
// 0..N-1 is scored, as in MInference: one beyond N - lastQ sums only the rows that reach it.
void estimateVerticalSlash(const AttentionInputs& inputs, const TransposedKeys& keys, int head, int lastQRows,
                           std::vector<float>& vertical, std::vector<float>& slash) {
  const int seqLen = inputs.seqLen;
  const int lastQ = std::min(lastQRows, seqLen);
  int32_t rows[kBlock];
  for (int r = 0; r < lastQ; ++r) rows[r] = seqLen - lastQ + r;
  TileWorkspace workspace(inputs, keys);
  workspace.loadQueries(head, rows, lastQ);
  const std::vector<int32_t> tiles = denseTiles(seqLen - 1);
  const KeySet allKeys{tiles, {}, {}};
  workspace.resetSoftmax();
  workspace.forEachChunk(allKeys, false, [&] { workspace.accumulateSoftmax(false); });
  float lse2[kBlock];
  for (int r = 0; r < lastQ; ++r) lse2[r] = workspace.rowLse2(r);
  vertical.assign(size_t(seqLen), 0.0f);
  slash.assign(size_t(seqLen), 0.0f);
  workspace.forEachChunk(allKeys, false, [&] {
    const float* scores = workspace.scores();
    for (int r = 0; r < lastQ; ++r) {
      const int i = rows[r];
      for (int c = 0; c < workspace.keyCount(); ++c) {
        const int j = workspace.key(c);
        if (j > i) break;  // keys ascend inside a chunk
        const float p = fastExp2(scores[r * kBlock + c] - lse2[r]);
        vertical[size_t(j)] += p;
        slash[size_t(i - j)] += p;
      }
    }
  });
}

HeadIndex verticalSlashHead(const AttentionInputs& inputs, const TransposedKeys& keys, int head, int lastQ,
                            int verticalSize, int slashSize) {
  const int seqLen = inputs.seqLen, numBlocks = inputs.numBlocks();
  std::vector<float> vertical, slash;
  estimateVerticalSlash(inputs, keys, head, lastQ, vertical, slash);
  const float forced = std::numeric_limits<float>::infinity();
  std::fill(vertical.begin(), vertical.begin() + std::min(kForcedVerticals, seqLen), forced);
  std::fill(slash.begin(), slash.begin() + std::min(kForcedSlashes, seqLen), forced);

  HeadIndex result;
  result.verticals = topIndices(vertical, std::min(seqLen, std::max(verticalSize, kMinVerticals)));
  result.slashes = topIndices(slash, std::min(seqLen, std::max(slashSize, kMinSlashes)));
  const std::vector<int32_t> slashesDescending(result.slashes.rbegin(), result.slashes.rend());
  result.tiles.resize(size_t(numBlocks));
  result.columns.resize(size_t(numBlocks));
  int64_t entries = 0;
  for (int m = 0; m < numBlocks; ++m) {
    mergeVerticalSlashBlock(m, result.verticals, slashesDescending, result.tiles[size_t(m)], result.columns[size_t(m)]);
    const BlockRows rows = blockRows(m, seqLen);
    for (const int32_t start : result.tiles[size_t(m)]) entries += start < seqLen ? tileEntries(start, rows, seqLen) : 0;
    for (const int32_t column : result.columns[size_t(m)]) entries += columnEntries(column, rows);
  }
  result.density = densityOf(entries, seqLen);
  return result;
}

HeadIndex streamLlmHead(const AttentionInputs& inputs, int nInit, int nLocal) {
  const int seqLen = inputs.seqLen, numBlocks = inputs.numBlocks();
  HeadIndex result;
  result.window[0] = nInit;
  result.window[1] = nLocal;
  result.tiles.resize(size_t(numBlocks));
  result.columns.resize(size_t(numBlocks));
  int64_t entries = 0;
  for (int m = 0; m < numBlocks; ++m) {
    const BlockRows rows = blockRows(m, seqLen);
    std::vector<int32_t>& tiles = result.tiles[size_t(m)];
    const int sinkEnd = std::min(nInit, rows.end);  // sink keys j < sinkEnd
    for (int start = 0; start < sinkEnd; start += kBlock) tiles.push_back(start);
    if (nLocal > 0) {
      const int localFirst = std::max(0, rows.first - nLocal + 1);
      for (int start = localFirst / kBlock * kBlock; start < rows.end; start += kBlock)
        if (tiles.empty() || start > tiles.back()) tiles.push_back(start);
    }
    for (int i = rows.first; i < rows.end; ++i) {
      const int sink = std::min(nInit, i + 1);
      const int localStart = std::max(0, i - nLocal + 1);
      const int local = i + 1 - localStart;
      entries += sink + local - std::max(0, sink - localStart);
    }
  }
  result.density = densityOf(entries, seqLen);
  return result;
}

// Mean of rows [first, end) of head `head` of a [heads, N, D] tensor, in fp64.
std::vector<double> pooledBlock(const AttentionInputs& inputs, const void* tensor, int head, BlockRows rows) {
  std::vector<double> sum(size_t(inputs.headDim), 0.0);
  std::vector<float> row(size_t(inputs.headDim));
  for (int i = rows.first; i < rows.end; ++i) {
    toFloat(inputs.dtype, tensor, inputs.rowOffset(head, i), size_t(inputs.headDim), row.data());
    for (int d = 0; d < inputs.headDim; ++d) sum[size_t(d)] += row[size_t(d)];
  }
  for (double& value : sum) value /= double(rows.end - rows.first);
  return sum;
}

HeadIndex blockSparseHead(const AttentionInputs& inputs, int head, int topK) {
  const int seqLen = inputs.seqLen, numBlocks = inputs.numBlocks();
  std::vector<std::vector<double>> pooledQ, pooledK;
  for (int m = 0; m < numBlocks; ++m) {
    pooledQ.push_back(pooledBlock(inputs, inputs.q, head, blockRows(m, seqLen)));
    pooledK.push_back(pooledBlock(inputs, inputs.k, inputs.kvHeadOf(head), blockRows(m, seqLen)));
  }
  HeadIndex result;
  result.tiles.resize(size_t(numBlocks));
  result.columns.resize(size_t(numBlocks));
  int64_t entries = 0;
  std::vector<double> scores;
  for (int m = 0; m < numBlocks; ++m) {
    scores.assign(size_t(m + 1), 0.0);
    for (int n = 0; n < m; ++n) {
      double dot = 0.0;
      for (int d = 0; d < inputs.headDim; ++d) dot += pooledQ[size_t(m)][size_t(d)] * pooledK[size_t(n)][size_t(d)];
      scores[size_t(n)] = dot;
    }
    scores[size_t(m)] = std::numeric_limits<double>::infinity();  // the diagonal block is always kept
    const std::vector<int32_t> kept = topIndices(scores, std::min(m + 1, std::max(topK, 1)));
    const BlockRows rows = blockRows(m, seqLen);
    for (const int32_t n : kept) {
      result.tiles[size_t(m)].push_back(n * kBlock);
      entries += tileEntries(n * kBlock, rows, seqLen);
    }
  }
  result.density = densityOf(entries, seqLen);
  return result;
}

HeadIndex denseHead(const AttentionInputs& inputs) {
  HeadIndex result;
  result.tiles.resize(size_t(inputs.numBlocks()));
  result.columns.resize(size_t(inputs.numBlocks()));
  for (int m = 0; m < inputs.numBlocks(); ++m) result.tiles[size_t(m)] = denseTiles(blockRows(m, inputs.seqLen).end - 1);
  result.density = 1.0;
  return result;
}

}  // namespace

std::string validatePatterns(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings) {
  bool anyXAttention = false, anyFlexPrefill = false;
  for (int h = 0; h < inputs.numHeads; ++h) {
    const int32_t id = int32_t(patterns.pattern(h));
    const std::string where = "patterns: head " + std::to_string(h);
    if (id < 0 || id > int32_t(PatternId::FlexPrefill)) return where + " has unknown pattern id " + std::to_string(id);
    if (patterns.a(h) < 0 || patterns.b(h) < 0) return where + " has a negative parameter";
    std::string problem;
    if (patterns.pattern(h) == PatternId::XAttention) {
      anyXAttention = true;
      problem = checkXAttention(patterns.a(h), patterns.b(h), settings.xattentionBlockSize);
    }
    if (patterns.pattern(h) == PatternId::FlexPrefill) {
      anyFlexPrefill = true;
      problem = checkFlexPrefill(patterns.a(h), patterns.b(h));
    }
    if (!problem.empty()) return where + ": " + problem;
  }
  if (std::string problem = anyXAttention ? checkMethodBlockSize("xattention", settings.xattentionBlockSize) : ""; !problem.empty())
    return problem;
  return anyFlexPrefill ? checkMethodBlockSize("flexprefill", settings.flexprefillBlockSize) : "";
}

FlexPrefillSettings flexprefillSettings(HeadPatternsView patterns, int head, const IndexSettings& settings) {
  return {patterns.a(head), patterns.b(head), settings.flexprefillBlockSize, settings.flexprefillMinBudget};
}

namespace {

// Every head's part of the index. The keys that the vertical_and_slash estimate reads (fp32, as
// large as K: 256 MiB per KV head at 1M tokens, D = 64) are freed on return, before the heads are
// assembled into the index.
bool buildHeads(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                std::vector<HeadIndex>& heads, const CallContext& ctx) {
  const int numHeads = inputs.numHeads;
  TransposedKeys keys;
  bool anyVerticalSlash = false;
  for (int h = 0; h < numHeads; ++h) anyVerticalSlash |= patterns.pattern(h) == PatternId::VerticalSlash;
  if (anyVerticalSlash && !keys.build(inputs, ctx)) return false;
  return parallelFor(
      numHeads,
      [&](int h) {
        switch (patterns.pattern(h)) {
          case PatternId::Dense: heads[size_t(h)] = denseHead(inputs); break;
          case PatternId::VerticalSlash: heads[size_t(h)] = verticalSlashHead(inputs, keys, h, settings.lastQ, patterns.a(h), patterns.b(h)); break;
          case PatternId::StreamLlm: heads[size_t(h)] = streamLlmHead(inputs, patterns.a(h), patterns.b(h)); break;
          case PatternId::BlockSparse: heads[size_t(h)] = blockSparseHead(inputs, h, patterns.a(h)); break;
          case PatternId::XAttention:
            heads[size_t(h)] = xattentionHead(inputs, h, patterns.a(h), patterns.b(h), settings.xattentionBlockSize);
            break;
          case PatternId::FlexPrefill: {
            const FlexPrefillSettings flex = flexprefillSettings(patterns, h, settings);
            heads[size_t(h)] = flexprefillDense(inputs.seqLen, flex) ? denseHead(inputs) : flexprefillHead(inputs, h, flex);
            break;
          }
        }
      },
      ctx);
}

}  // namespace

std::string buildSparseIndex(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                             SparseIndex* index, const CallContext& ctx) {
  if (std::string problem = validatePatterns(inputs, patterns, settings); !problem.empty()) return problem;
  std::vector<HeadIndex> heads(static_cast<size_t>(inputs.numHeads));
  if (!buildHeads(inputs, patterns, settings, heads, ctx)) return kCancelled;
  assembleIndex(heads, inputs.seqLen, index);
  keepWantedBlocks(settings.wantedBlocks, index);
  return "";
}

}  // namespace sparsescope
