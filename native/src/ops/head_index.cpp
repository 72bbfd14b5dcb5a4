#include "head_index.h"

#include <numeric>
#include <string>

#include "../dtype.h"

namespace sparsescope {

int64_t tileEntries(int start, BlockRows rows, int seqLen) {
  const int lastKey = std::min(start + kBlock, seqLen) - 1;
  int64_t entries = 0;
  for (int i = std::max(rows.first, start); i < rows.end; ++i) entries += std::min(i, lastKey) - start + 1;
  return entries;
}

std::vector<float> rowsAsFloat(const AttentionInputs& inputs, const void* tensor, int head, int first, int count) {
  std::vector<float> rows(size_t(count) * inputs.headDim, 0.0f);
  const int available = std::max(0, std::min(count, inputs.seqLen - first));
  if (available > 0) toFloat(inputs.dtype, tensor, inputs.rowOffset(head, first), size_t(available) * inputs.headDim, rows.data());
  return rows;
}

std::vector<int32_t> descendingOrder(const std::vector<double>& scores) {
  std::vector<int32_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return rankedBefore(scores[size_t(x)], x, scores[size_t(y)], y); });
  return order;
}

HeadIndex headOfKeptBlocks(const std::vector<std::vector<int32_t>>& kept, int blockSize, int seqLen) {
  const int numBlocks = (seqLen + kBlock - 1) / kBlock, tilesPerBlock = blockSize / kBlock;
  HeadIndex result;
  result.tiles.resize(size_t(numBlocks));
  result.columns.resize(size_t(numBlocks));
  int64_t entries = 0;
  for (int q = 0; q < numBlocks; ++q) {
    const BlockRows rows = blockRows(q, seqLen);
    for (const int32_t n : kept[size_t(q * kBlock / blockSize)]) {
      for (int t = 0; t < tilesPerBlock; ++t) {
        const int start = n * blockSize + t * kBlock;
        if (start >= rows.end) break;
        result.tiles[size_t(q)].push_back(start);
        entries += tileEntries(start, rows, seqLen);
      }
    }
  }
  result.density = densityOf(entries, seqLen);
  return result;
}

void assembleIndex(std::vector<HeadIndex>& heads, int seqLen, SparseIndex* index) {
  const int numBlocks = (seqLen + kBlock - 1) / kBlock;
  *index = SparseIndex{};
  index->numHeads = int(heads.size());
  index->seqLen = seqLen;
  index->numBlocks = numBlocks;
  index->tileOffsets.push_back(0);
  index->colOffsets.push_back(0);
  index->verticalOffsets.push_back(0);
  index->slashOffsets.push_back(0);
  for (HeadIndex& head : heads) {
    for (int m = 0; m < numBlocks; ++m) {
      const auto& tiles = head.tiles[size_t(m)];
      const auto& columns = head.columns[size_t(m)];
      index->tileStarts.insert(index->tileStarts.end(), tiles.begin(), tiles.end());
      index->columns.insert(index->columns.end(), columns.begin(), columns.end());
      index->tileOffsets.push_back(int32_t(index->tileStarts.size()));
      index->colOffsets.push_back(int32_t(index->columns.size()));
    }
    index->verticals.insert(index->verticals.end(), head.verticals.begin(), head.verticals.end());
    index->slashes.insert(index->slashes.end(), head.slashes.begin(), head.slashes.end());
    index->verticalOffsets.push_back(int32_t(index->verticals.size()));
    index->slashOffsets.push_back(int32_t(index->slashes.size()));
    index->window.push_back(head.window[0]);
    index->window.push_back(head.window[1]);
    index->density.push_back(head.density);
    head = HeadIndex{};  // release as we go: indexes of long sequences are large
  }
}

std::vector<uint8_t> blocksOfRows(const int32_t* rows, int count, int numBlocks) {
  std::vector<uint8_t> wanted(size_t(numBlocks), 0);
  for (int r = 0; r < count; ++r) wanted[size_t(rows[r] / kBlock)] = 1;
  return wanted;
}

void keepWantedBlocks(const uint8_t* wanted, SparseIndex* index) {
  if (wanted == nullptr) return;
  auto keep = [&](std::vector<int32_t>& offsets, std::vector<int32_t>& values) {
    size_t written = 0;
    for (size_t slot = 0; slot + 1 < offsets.size(); ++slot) {
      const int32_t begin = offsets[slot], end = offsets[slot + 1];
      offsets[slot] = int32_t(written);
      if (!wanted[slot % size_t(index->numBlocks)]) continue;
      for (int32_t e = begin; e < end; ++e) values[written++] = values[size_t(e)];
    }
    offsets.back() = int32_t(written);
    values.resize(written);
    values.shrink_to_fit();
  };
  keep(index->tileOffsets, index->tileStarts);
  keep(index->colOffsets, index->columns);
}

std::vector<HeadIndex> splitIndex(const SparseIndex& index) {
  std::vector<HeadIndex> heads(size_t(index.numHeads));
  auto slice = [](const std::vector<int32_t>& values, const std::vector<int32_t>& offsets, size_t at) {
    return std::vector<int32_t>(values.begin() + offsets[at], values.begin() + offsets[at + 1]);
  };
  for (int h = 0; h < index.numHeads; ++h) {
    HeadIndex& head = heads[size_t(h)];
    for (int m = 0; m < index.numBlocks; ++m) {
      const size_t slot = size_t(h) * index.numBlocks + m;
      head.tiles.push_back(slice(index.tileStarts, index.tileOffsets, slot));
      head.columns.push_back(slice(index.columns, index.colOffsets, slot));
    }
    head.verticals = slice(index.verticals, index.verticalOffsets, size_t(h));
    head.slashes = slice(index.slashes, index.slashOffsets, size_t(h));
    head.window[0] = index.window[2 * size_t(h)];
    head.window[1] = index.window[2 * size_t(h) + 1];
    head.density = index.density[size_t(h)];
  }
  return heads;
}

std::string checkMethodBlockSize(const char* what, int blockSize) {
  if (blockSize >= kBlock && blockSize <= 16 * kBlock && blockSize % kBlock == 0) return "";
  return std::string(what) + " block size " + std::to_string(blockSize) + " must be a multiple of 64 from 64 to 1024";
}

}  // namespace sparsescope
