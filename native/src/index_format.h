// The sparse index of one layer: exactly the entries a sparse kernel computes (CSR over
// (head, query block)). Mirrors SparseIndex in electron/engine/native-api.ts, which documents the
// format; the CPU and CUDA backends produce and consume the same arrays.
#pragma once
#include <cstdint>
#include <vector>

namespace sparsescope {

enum class PatternId : int32_t { Dense = 0, VerticalSlash = 1, StreamLlm = 2, BlockSparse = 3, XAttention = 4, FlexPrefill = 5 };

// Per query head three int32: [patternId, a, b] (vertical_and_slash: a = vertical_size,
// b = slash_size; stream_llm: a = n_init, b = n_local; block_sparse: a = top_k; xattention:
// a = threshold in thousandths, b = stride; flexprefill: a = gamma, b = tau in thousandths).
struct HeadPatternsView {
  const int32_t* values = nullptr;  // 3 * numHeads
  PatternId pattern(int head) const { return PatternId(values[3 * head]); }
  int32_t a(int head) const { return values[3 * head + 1]; }
  int32_t b(int head) const { return values[3 * head + 2]; }
};

// Settings of one index build that apply to every head.
inline constexpr int kMaxLastQ = 64;
struct IndexSettings {
  // Query rows of the Vertical-Slash estimate: the last min(lastQ, N), 1..kMaxLastQ. MInference
  // always uses 64; SGLang/vLLM read it from sparse_attention_last_q.
  int lastQ = kMaxLastQ;
  // XAttention's and FlexPrefill's blocks (multiples of 64) and FlexPrefill's minimum budget in
  // tokens: the papers' defaults (ops/xattention_index.h, ops/flexprefill_index.h).
  int xattentionBlockSize = 128;
  int flexprefillBlockSize = 128;
  int flexprefillMinBudget = 512;
  // Null: every query block gets its lists. Else [numBlocks] flags: only flagged blocks do, the
  // rest are left empty (density still counts every block). A probe that measures recall on a few
  // hundred rows of a 1M-token head needs the lists of their blocks only, not 200 MB of index.
  const uint8_t* wantedBlocks = nullptr;
};

// Owning form, filled by index builders.
struct SparseIndex {
  int numHeads = 0;
  int seqLen = 0;
  int numBlocks = 0;
  std::vector<int32_t> tileOffsets;  // numHeads * numBlocks + 1
  std::vector<int32_t> tileStarts;   // ascending, disjoint key tile starts per (head, block); 64-aligned
                                     // except vertical_and_slash ranges (see ops/sparse_index.h)
  std::vector<int32_t> colOffsets;   // numHeads * numBlocks + 1
  std::vector<int32_t> columns;      // ascending loose key columns, none inside a tile
  std::vector<int32_t> window;       // numHeads * 2: [nInit, nLocal] for stream_llm, else [-1, -1]
  std::vector<int32_t> verticalOffsets;  // numHeads + 1
  std::vector<int32_t> verticals;        // chosen vertical columns (vertical_and_slash), ascending
  std::vector<int32_t> slashOffsets;     // numHeads + 1
  std::vector<int32_t> slashes;          // chosen diagonal offsets (vertical_and_slash), ascending
  std::vector<double> density;           // numHeads
};

// Flags of the query blocks holding `rows` (ascending, each < seqLen), for IndexSettings::wantedBlocks.
std::vector<uint8_t> blocksOfRows(const int32_t* rows, int count, int numBlocks);

// Empties the lists of every block not flagged in `wanted` (all heads); density is left as built.
void keepWantedBlocks(const uint8_t* wanted, SparseIndex* index);

// Borrowed form, what kernels read (from a SparseIndex or from JS typed arrays).
struct SparseIndexView {
  int numHeads = 0;
  int seqLen = 0;
  int numBlocks = 0;
  const int32_t* tileOffsets = nullptr;
  const int32_t* tileStarts = nullptr;
  const int32_t* colOffsets = nullptr;
  const int32_t* columns = nullptr;
  const int32_t* window = nullptr;

  static SparseIndexView of(const SparseIndex& index) {
    return {index.numHeads,         index.seqLen,         index.numBlocks,
            index.tileOffsets.data(), index.tileStarts.data(), index.colOffsets.data(),
            index.columns.data(),     index.window.data()};
  }
  int slot(int head, int block) const { return head * numBlocks + block; }
};

}  // namespace sparsescope
