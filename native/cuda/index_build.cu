// cudaBuildIndex: the sparse index of every query head of a layer on the GPU. The pattern stages
// (Vertical-Slash estimate, Block-Sparse choice) run for all their heads at once; then one
// warp per (head, query block) converts the choice into tiles and loose columns, in a
// counting pass (sizes, computed entries) and, after a device scan, a writing pass. For
// Vertical-Slash heads a per-head pass first finds the range each chosen offset opens, so the
// conversion follows a chain of ranges instead of walking every offset.
#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <memory>

#include "cuda_backend.h"
#include "index_build.cuh"
#include "ops/head_index.h"
#include "ops/flexprefill_index.h"
#include "ops/sparse_index.h"

namespace sparsescope {
namespace cuda {

namespace {

constexpr int kConvertThreads = 128;  // the per-offset kernels
constexpr unsigned kFullWarp = 0xffffffffu;
constexpr int kWarpSize = 32;
constexpr int kConvertWarps = 8;  // query blocks per CTA of the conversion, one warp each

struct ConvertArgs {
  int seqLen = 0, numBlocks = 0;
  const int32_t* patterns = nullptr;  // [H][3]
  const int32_t* verticalOffsets = nullptr;
  const int32_t* verticals = nullptr;
  const int32_t* slashOffsets = nullptr;
  const int32_t* slashes = nullptr;
  const int32_t* rangeLow = nullptr;    // per chosen offset (indexed like slashes), see slashRangesKernel
  const int32_t* nextRange = nullptr;   // per chosen offset: head-local index of the next range's offset, or -1
  const unsigned long long* slashBits = nullptr;  // [H][slashBitWords]: bit o set when offset o is chosen
  int slashBitWords = 0;
  const int32_t* blockSparseSlot = nullptr;  // listed position of each head among block_sparse heads, or -1
  const int32_t* chosenBlocks = nullptr;
  const int32_t* chosenCount = nullptr;
  int chosenStride = 0;
  const uint8_t* wantedBlocks = nullptr;  // [numBlocks] or null (IndexSettings::wantedBlocks)
  // counting pass
  int32_t* tileCount = nullptr;
  int32_t* columnCount = nullptr;
  long long* entries = nullptr;
  // writing pass
  const int32_t* tileOffsets = nullptr;
  const int32_t* colOffsets = nullptr;
  int32_t* tileStarts = nullptr;
  int32_t* columns = nullptr;
};

// Computed entries of tile [s, s + 64) for rows [rowBegin, rowEnd): sum_i clamp(i - s + 1, 0, 64).
__device__ long long tileEntries(int s, int rowBegin, int rowEnd) {
  auto prefix = [](long long x) -> long long {  // sum_{y=1..x} clamp(y, 0, 64)
    if (x <= 0) return 0;
    return x <= kTileRows ? x * (x + 1) / 2 : kTileRows * (kTileRows + 1) / 2 + kTileRows * (x - kTileRows);
  };
  return prefix(rowEnd - s) - prefix(rowBegin - s);
}

// The same under the A-shape window (j < nInit or i - nLocal < j <= i).
__device__ long long windowedTileEntries(int s, int rowBegin, int rowEnd, int nInit, int nLocal) {
  long long total = 0;
  for (int i = rowBegin; i < rowEnd; ++i) {
    const int last = min(s + kTileRows - 1, i);
    if (last < s) continue;
    total += max(0, min(last, nInit - 1) - s + 1);
    total += max(0, last - max(max(s, nInit), i - nLocal + 1) + 1);
  }
  return total;
}

// The conversion runs one warp per (head, query block): a block's list is built by its 32 lanes
// together, so that no lane walks a long list alone (one thread per block left 85% of the warp
// slots idle and serialized the lanes' ranges).
__device__ int laneIndex() { return threadIdx.x % kWarpSize; }

template <typename V>
__device__ V warpSum(V value) {
  for (int d = kWarpSize / 2; d > 0; d /= 2) value += __shfl_xor_sync(kFullWarp, value, d);
  return value;
}

__device__ int warpInclusiveSum(int value) {
  for (int d = 1; d < kWarpSize; d *= 2) {
    const int up = __shfl_up_sync(kFullWarp, value, d);
    if (laneIndex() >= d) value += up;
  }
  return value;
}

// One lane's share of a block's lists: the tiles first, first + 64, ... (count of them), preceded
// in the column list by verticals[columnBegin, columnBegin + columns) (indices into the layer's
// verticals). A warp hands over up to 32 runs at once; lane order is their order in the lists.
struct Run {
  int first = 0, count = 0;
  int columnBegin = 0, columns = 0;
};

// Visits the items of the lanes' runs (lane i holds count_i of them) in lane order, one item per
// lane per step, so that consecutive items go to consecutive lanes (coalesced stores). Every lane
// calls item(valid, position, owner, index) (it may shuffle): position in that order, owner the
// lane whose run holds the item, index its place there. Returns the number of items.
template <class Item>
__device__ int forEachItem(int count, Item&& item) {
  const int inclusive = warpInclusiveSum(count);
  const int total = __shfl_sync(kFullWarp, inclusive, kWarpSize - 1);
  for (int base = 0; base < total; base += kWarpSize) {
    const int position = base + laneIndex();
    int owner = 0;  // how many lanes' runs end at or before `position`
    for (int step = kWarpSize / 2; step > 0; step /= 2)
      if (__shfl_sync(kFullWarp, inclusive, owner + step - 1) <= position) owner += step;
    const int before = __shfl_sync(kFullWarp, inclusive - count, owner);
    item(position < total, position, owner, position - before);
  }
  return total;
}

struct CountEmitter {
  int rowBegin, rowEnd, nInit, nLocal;  // nInit < 0: no A-shape window
  int tiles = 0, columns = 0;           // this lane's part, summed over the warp by finish
  long long entries = 0;

  __device__ void runs(const Run& run) {
    tiles += run.count;
    columns += run.columns;
    if (nInit < 0) {
      entries += plainEntries(run);
      return;
    }
    forEachItem(run.count, [&](bool valid, int, int owner, int index) {
      const int first = __shfl_sync(kFullWarp, run.first, owner);
      if (valid) entries += windowedTileEntries(first + index * kTileRows, rowBegin, rowEnd, nInit, nLocal);
    });
  }
  // A run's columns lie below rowBegin (below a range start, which is at most end - 64), and its
  // tiles that end by rowBegin are seen by every row, so only the (at most two) tiles near the
  // diagonal need tileEntries.
  __device__ long long plainEntries(const Run& run) const {
    const int rows = rowEnd - rowBegin;
    const int seenByAll =
        run.first <= rowBegin - kTileRows ? min(run.count, (rowBegin - kTileRows - run.first) / kTileRows + 1) : 0;
    long long total = (static_cast<long long>(seenByAll) * kTileRows + run.columns) * rows;
    for (int t = seenByAll; t < run.count; ++t) total += tileEntries(run.first + t * kTileRows, rowBegin, rowEnd);
    return total;
  }
  // An unwanted block keeps its entries (density) but no lists.
  __device__ void finish(const ConvertArgs& args, size_t slot, bool wanted) {
    const int allTiles = warpSum(tiles), allColumns = warpSum(columns);
    const long long allEntries = warpSum(entries);
    if (laneIndex() != 0) return;
    args.tileCount[slot] = wanted ? allTiles : 0;
    args.columnCount[slot] = wanted ? allColumns : 0;
    args.entries[slot] = allEntries;
  }
};

struct WriteEmitter {
  int32_t* tiles;
  int32_t* columns;
  const int32_t* verticals;  // the layer's, which Run::columnBegin indexes

  __device__ void runs(const Run& run) {
    const int tilesWritten = forEachItem(run.count, [&](bool valid, int position, int owner, int index) {
      const int first = __shfl_sync(kFullWarp, run.first, owner);
      if (valid) tiles[position] = first + index * kTileRows;
    });
    const int columnsWritten = forEachItem(run.columns, [&](bool valid, int position, int owner, int index) {
      const int begin = __shfl_sync(kFullWarp, run.columnBegin, owner);
      if (valid) columns[position] = verticals[begin + index];
    });
    tiles += tilesWritten;
    columns += columnsWritten;
  }
};

// Vertical-Slash (spec 2.1 step 5, MInference's convert_vertical_slash_indexes, as the CPU builder
// and bench/gpu_index.js): with end = 64m + 64 (not clipped to N), offsets o < end give windows
// [e - 64, e), e = max(end - o, 64), visited by increasing e; a window within 64 of the open range
// extends it by one tile, a farther one starts a new range. Verticals below a range and in no
// earlier range are loose columns.
// In offset space that walk does not depend on end: a range opened by offset `top` absorbs the
// offset tiles [top - 64k, top - 64(k - 1)), k = 1, 2, ..., up to the first empty one, ending at
// low = top - 64 * (absorbed tiles), and spans keys [end - top - 64, end - low); the next range
// is opened by the largest offset below low. Only the block's first range depends on end (offsets
// >= end - 64 all give e = 64, so they open it as top = end - 64).

// Whether any bit of [lo, hi) is set, hi - lo <= 64; bits below 0 count as clear.
__device__ bool anyBitIn(const unsigned long long* bits, int lo, int hi) {
  lo = max(lo, 0);
  if (lo >= hi) return false;
  const int first = lo / 64, last = (hi - 1) / 64;
  const unsigned long long fromLo = ~0ull << (lo % 64), toHi = ~0ull >> (63 - (hi - 1) % 64);
  if (first == last) return (bits[first] & fromLo & toHi) != 0;
  return (bits[first] & fromLo) != 0 || (bits[last] & toHi) != 0;
}

// The low end of the range that offset `top` opens.
__device__ int rangeLowOf(const unsigned long long* slashBits, int top) {
  int low = top;
  while (anyBitIn(slashBits, low - kTileRows, low)) low -= kTileRows;
  return low;
}

// The same by a whole warp, 32 offset tiles per step (lane k looks k tiles further down).
__device__ int warpRangeLowOf(const unsigned long long* slashBits, int top) {
  const int lane = laneIndex();
  for (int low = top;; low -= kWarpSize * kTileRows) {
    const unsigned empty = __ballot_sync(kFullWarp, !anyBitIn(slashBits, low - (lane + 1) * kTileRows, low - lane * kTileRows));
    if (empty != 0) return low - (__ffs(empty) - 1) * kTileRows;
  }
}

// Number of elements < x in ascending values[0..count).
__device__ int countBelow(const int32_t* values, int count, int x) {
  int lo = 0, hi = count;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (values[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// Marks each head's chosen offsets in its bitmap (zeroed before).
__global__ void markSlashesKernel(const int32_t* slashOffsets, const int32_t* slashes, unsigned long long* bits,
                                  int words) {
  const int head = blockIdx.y;
  const int i = slashOffsets[head] + blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= slashOffsets[head + 1]) return;
  atomicOr(bits + size_t(head) * words + slashes[i] / 64, 1ull << (slashes[i] % 64));
}

// Per chosen offset: the low end of the range it opens and which offset opens the next one.
__global__ void slashRangesKernel(const ConvertArgs args, int32_t* rangeLow, int32_t* nextRange) {
  const int head = blockIdx.y;
  const int first = args.slashOffsets[head], count = args.slashOffsets[head + 1] - first;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int32_t* slashes = args.slashes + first;
  const int low = rangeLowOf(args.slashBits + size_t(head) * args.slashBitWords, slashes[i]);
  rangeLow[first + i] = low;
  nextRange[first + i] = countBelow(slashes, i, low) - 1;
}

// A block's ranges, 32 per round: every lane follows the chain alike (one dependent load per
// range, the same address on all lanes) and lane r keeps the round's r-th range; then each lane
// finds its range's columns by binary search in the verticals (the verticals between the previous
// range's end and its start), and the emitter takes the round's ranges at once.
template <class Emit>
__device__ void verticalSlashBlock(const ConvertArgs& args, int head, int blockEnd, Emit& emit) {
  const int lane = laneIndex();
  const int v0 = args.verticalOffsets[head], verticalCount = args.verticalOffsets[head + 1] - v0;
  const int32_t* verticals = args.verticals + v0;
  const int s0 = args.slashOffsets[head];
  const int32_t* slashes = args.slashes + s0;
  const int below = countBelow(slashes, args.slashOffsets[head + 1] - s0, blockEnd);
  if (below == 0) return;
  // The range in hand: opened by offset `top`, ending at `low`; `next` indexes the offset that
  // opens the one after it (-1: none).
  int top, low, next;
  if (slashes[below - 1] >= blockEnd - kTileRows) {  // clamped windows open the first range
    top = blockEnd - kTileRows;
    low = warpRangeLowOf(args.slashBits + size_t(head) * args.slashBitWords, top);
    next = countBelow(slashes, below, low) - 1;
  } else {
    top = slashes[below - 1];
    low = args.rangeLow[s0 + below - 1];
    next = args.nextRange[s0 + below - 1];
  }
  int passedVerticals = 0;  // verticals below the end of the previous round's last range
  for (bool more = true; more;) {
    int myTop = 0, myLow = 0;
    bool mine = false;
    for (int r = 0; r < kWarpSize && more; ++r) {
      if (lane == r) {
        myTop = top;
        myLow = low;
        mine = true;
      }
      more = next >= 0;
      if (more) {
        top = slashes[next];
        low = args.rangeLow[s0 + next];
        next = args.nextRange[s0 + next];
      }
    }
    const int rangeStart = blockEnd - myTop - kTileRows, rangeEnd = blockEnd - myLow;
    const int startRank = mine ? countBelow(verticals, verticalCount, rangeStart) : 0;
    const int endRank = mine ? countBelow(verticals, verticalCount, rangeEnd) : 0;
    const int previousEnd = __shfl_up_sync(kFullWarp, endRank, 1);
    const int columnBegin = lane == 0 ? passedVerticals : previousEnd;
    emit.runs(mine ? Run{rangeStart, (rangeEnd - rangeStart) / kTileRows, v0 + columnBegin, startRank - columnBegin}
                   : Run{});
    passedVerticals = __shfl_sync(kFullWarp, endRank, kWarpSize - 1);  // used only after a full round
  }
}

// A-shape bounding tiles as two runs: the 64-aligned tiles of [0, min(nInit, end)) below the local
// band (lane 0) and those of the local band (start - nLocal, end) (lane 1).
__device__ Run aShapeRun(int nInit, int nLocal, int rowBegin, int rowEnd) {
  const int localFirst = nLocal > 0 ? max(0, rowBegin - nLocal + 1) / kTileRows * kTileRows : rowEnd;
  const int localLast = nLocal > 0 ? (rowEnd - 1) / kTileRows * kTileRows : rowEnd - kTileRows;
  const int initEnd = min(min(nInit, rowEnd), localFirst);
  switch (laneIndex()) {
    case 0:
      return Run{0, initEnd > 0 ? (initEnd + kTileRows - 1) / kTileRows : 0};
    case 1:
      return Run{localFirst, localLast >= localFirst ? (localLast - localFirst) / kTileRows + 1 : 0};
    default:
      return Run{};
  }
}

// Called by a whole warp for query block `block` of `head`.
template <class Emit>
__device__ void generateBlock(const ConvertArgs& args, int head, int block, Emit& emit) {
  const int rowBegin = block * kTileRows, rowEnd = min(rowBegin + kTileRows, args.seqLen);
  const int32_t* pattern = args.patterns + 3 * head;
  switch (PatternId(pattern[0])) {
    case PatternId::Dense:
      emit.runs(laneIndex() == 0 ? Run{0, block + 1} : Run{});
      break;
    case PatternId::VerticalSlash:
      verticalSlashBlock(args, head, rowBegin + kTileRows, emit);
      break;
    case PatternId::StreamLlm:
      emit.runs(aShapeRun(pattern[1], pattern[2], rowBegin, rowEnd));
      break;
    case PatternId::BlockSparse: {
      const size_t slot = size_t(args.blockSparseSlot[head]) * args.numBlocks + block;
      const int count = args.chosenCount[slot];
      const int32_t* chosen = args.chosenBlocks + slot * args.chosenStride;
      for (int base = 0; base < count; base += kWarpSize) {
        const int c = base + laneIndex();
        emit.runs(c < count ? Run{chosen[c] * kTileRows, 1} : Run{});
      }
      break;
    }
  }
}

// Grid (ceil(numBlocks / kConvertWarps), H): a CTA's warps take neighbouring blocks of one head
// (they share its chain of ranges in L1), the last blocks (the longest lists) first.
template <bool kWrite>
__global__ void __launch_bounds__(kConvertWarps * kWarpSize) convertKernel(const ConvertArgs args) {
  const int head = blockIdx.y;
  const int fromLast = blockIdx.x * kConvertWarps + threadIdx.x / kWarpSize;
  if (fromLast >= args.numBlocks) return;  // whole warps only
  const int block = args.numBlocks - 1 - fromLast;
  const size_t slot = size_t(head) * args.numBlocks + block;
  const bool wanted = args.wantedBlocks == nullptr || args.wantedBlocks[block] != 0;
  if constexpr (kWrite) {
    if (!wanted) return;
    WriteEmitter emit{args.tileStarts + args.tileOffsets[slot], args.columns + args.colOffsets[slot], args.verticals};
    generateBlock(args, head, block, emit);
  } else {
    const bool windowed = PatternId(args.patterns[3 * head]) == PatternId::StreamLlm;
    const int rowBegin = block * kTileRows;
    CountEmitter emit{rowBegin, min(rowBegin + kTileRows, args.seqLen), windowed ? args.patterns[3 * head + 1] : -1,
                      windowed ? args.patterns[3 * head + 2] : -1};
    generateBlock(args, head, block, emit);
    emit.finish(args, slot, wanted);
  }
}

// offsets[0..count] = exclusive prefix sums of counts[0..count) (counts[count] must be 0), with
// scratch from scanScratchBytes(count).
size_t scanScratchBytes(int count) {
  size_t bytes = 0;
  cub::DeviceScan::ExclusiveSum(nullptr, bytes, static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
                                count + 1);
  return bytes;
}
std::string exclusiveScan(const int32_t* counts, int32_t* offsets, int count, DeviceBuffer<unsigned char>& scratch) {
  size_t bytes = scratch.size();
  SPARSESCOPE_CUDA_TRY(cub::DeviceScan::ExclusiveSum(scratch.get(), bytes, counts, offsets, count + 1));
  return "";
}

// Host view of the layer's patterns, validated, with the per-head selection sizes.
struct PatternPlan {
  std::vector<int32_t> verticalSlashHeads, blockSparseHeads, blockSparseTopK;
  std::vector<int32_t> selection;  // per vertical_and_slash head: vOffset, vCount, sOffset, sCount
  std::vector<int32_t> blockSparseSlot;
  int maxTopK = 0;
};

std::string planPatterns(const AttentionInputs& inputs, HeadPatternsView patterns, SparseIndex* index,
                         PatternPlan* plan) {
  const int H = inputs.numHeads, N = inputs.seqLen;
  index->verticalOffsets.assign(H + 1, 0);
  index->slashOffsets.assign(H + 1, 0);
  index->window.assign(size_t(H) * 2, -1);
  plan->blockSparseSlot.assign(H, -1);
  for (int h = 0; h < H; ++h) {
    const int a = patterns.a(h), b = patterns.b(h);
    const int id = int(patterns.pattern(h));
    if (id < 0 || id > int(PatternId::BlockSparse))
      return "patterns: head " + std::to_string(h) + " has unknown pattern id " + std::to_string(id);
    if (a < 0 || b < 0) return "patterns: head " + std::to_string(h) + " has a negative parameter";
    int verticalCount = 0, slashCount = 0;
    switch (patterns.pattern(h)) {
      case PatternId::Dense:
        break;
      case PatternId::VerticalSlash:
        verticalCount = std::min(N, std::max(a, kForcedVerticals));
        slashCount = std::min(N, std::max(b, 50));
        plan->selection.insert(plan->selection.end(),
                               {index->verticalOffsets[h], verticalCount, index->slashOffsets[h], slashCount});
        plan->verticalSlashHeads.push_back(h);
        break;
      case PatternId::StreamLlm:
        index->window[2 * h] = a;
        index->window[2 * h + 1] = b;
        break;
      case PatternId::BlockSparse:
        plan->blockSparseSlot[h] = int(plan->blockSparseHeads.size());
        plan->blockSparseHeads.push_back(h);
        plan->blockSparseTopK.push_back(std::min(std::max(a, 1), inputs.numBlocks()));
        plan->maxTopK = std::max(plan->maxTopK, plan->blockSparseTopK.back());
        break;
    }
    index->verticalOffsets[h + 1] = index->verticalOffsets[h] + verticalCount;
    index->slashOffsets[h + 1] = index->slashOffsets[h] + slashCount;
  }
  return "";
}

// The heads whose index a method estimate builds (patterns as the caller gave them).
struct MethodPlan {
  HeadPatternsView patterns;
  std::vector<int32_t> xattention, flexprefill;
  bool any() const { return !xattention.empty() || !flexprefill.empty(); }
};

// Replaces the method heads of *index (built with them empty) by their estimates' indexes.
template <typename T, int D>
std::string addMethodHeads(const MethodInputs<T>& inputs, const MethodPlan& methods, const IndexSettings& settings,
                           SparseIndex* index, MethodTimes* times, const CallContext& ctx) {
  std::vector<HeadIndex> heads = splitIndex(*index);
  SPARSESCOPE_TRY(xattentionHeads<T, D>(inputs, methods.patterns, settings.xattentionBlockSize, methods.xattention, heads, times, ctx));
  SPARSESCOPE_TRY(flexprefillHeads<T, D>(inputs, methods.patterns, settings, methods.flexprefill, heads, times, ctx));
  assembleIndex(heads, inputs.host.seqLen, index);
  return "";
}

template <typename T, int D>
std::string buildIndex(const AttentionInputs& inputs, HeadPatternsView patterns, const MethodPlan& methods,
                       const IndexSettings& settings, SparseIndex* index, const CallContext& ctx) {
  const int H = inputs.numHeads, N = inputs.seqLen, numBlocks = inputs.numBlocks();
  const int slots = H * numBlocks;
  index->numHeads = H;
  index->seqLen = N;
  index->numBlocks = numBlocks;
  PatternPlan plan;
  SPARSESCOPE_TRY(planPatterns(inputs, patterns, index, &plan));

  const bool needsData = !plan.verticalSlashHeads.empty() || !plan.blockSparseHeads.empty() || methods.any();
  DeviceBuffer<T> q, k;
  if (needsData) {
    SPARSESCOPE_TRY(q.upload(inputs.q, inputs.deviceQ, size_t(H) * N * D, "q"));
    SPARSESCOPE_TRY(k.upload(inputs.k, inputs.deviceK, size_t(inputs.numKvHeads) * N * D, "k"));
  }
  DeviceBuffer<int32_t> patternValues, verticalOffsets, slashOffsets, verticals, slashes, selection, vsHeads;
  DeviceBuffer<int32_t> bsHeads, bsTopK, bsSlot, chosen, chosenCount;
  SPARSESCOPE_TRY(patternValues.upload(patterns.values, size_t(H) * 3, "patterns"));
  SPARSESCOPE_TRY(verticalOffsets.upload(index->verticalOffsets.data(), H + 1, "vertical offsets"));
  SPARSESCOPE_TRY(slashOffsets.upload(index->slashOffsets.data(), H + 1, "slash offsets"));
  SPARSESCOPE_TRY(verticals.allocate(index->verticalOffsets[H], "verticals"));
  SPARSESCOPE_TRY(slashes.allocate(index->slashOffsets[H], "slashes"));
  SPARSESCOPE_TRY(selection.upload(plan.selection.data(), plan.selection.size(), "selection sizes"));
  SPARSESCOPE_TRY(vsHeads.upload(plan.verticalSlashHeads.data(), plan.verticalSlashHeads.size(), "heads"));
  SPARSESCOPE_TRY(bsHeads.upload(plan.blockSparseHeads.data(), plan.blockSparseHeads.size(), "heads"));
  SPARSESCOPE_TRY(bsTopK.upload(plan.blockSparseTopK.data(), plan.blockSparseTopK.size(), "top_k"));
  SPARSESCOPE_TRY(bsSlot.upload(plan.blockSparseSlot.data(), H, "block-sparse slots"));
  SPARSESCOPE_TRY(chosen.allocate(plan.blockSparseHeads.size() * numBlocks * plan.maxTopK, "chosen blocks"));
  SPARSESCOPE_TRY(chosenCount.allocate(plan.blockSparseHeads.size() * numBlocks, "chosen block counts"));
  const int slashBitWords = (N + 63) / 64;
  DeviceBuffer<unsigned long long> slashBits;
  DeviceBuffer<int32_t> rangeLow, nextRange;
  SPARSESCOPE_TRY(slashBits.allocate(size_t(H) * slashBitWords, "slash bitmaps"));
  SPARSESCOPE_TRY(rangeLow.allocate(index->slashOffsets[H], "slash ranges"));
  SPARSESCOPE_TRY(nextRange.allocate(index->slashOffsets[H], "slash range chain"));
  DeviceBuffer<int32_t> tileCount, columnCount, tileOffsets, colOffsets, tileStarts, columns;
  DeviceBuffer<long long> entries;
  SPARSESCOPE_TRY(tileCount.allocate(slots + 1, "tile counts"));
  SPARSESCOPE_TRY(columnCount.allocate(slots + 1, "column counts"));
  SPARSESCOPE_TRY(tileOffsets.allocate(slots + 1, "tile offsets"));
  SPARSESCOPE_TRY(colOffsets.allocate(slots + 1, "column offsets"));
  SPARSESCOPE_TRY(entries.allocate(slots, "entry counts"));
  DeviceBuffer<unsigned char> scanScratch;
  SPARSESCOPE_TRY(scanScratch.allocate(scanScratchBytes(slots), "scan scratch"));
  const EstimateScratchSizes estimateSizes = estimateScratchSizes(int(plan.verticalSlashHeads.size()), N);
  DeviceBuffer<float2> rowStats;
  DeviceBuffer<float> verticalScores, slashScores, diagonalPartials;
  SPARSESCOPE_TRY(rowStats.allocate(estimateSizes.rowStats, "estimate row statistics"));
  SPARSESCOPE_TRY(verticalScores.allocate(estimateSizes.verticalScores, "vertical scores"));
  SPARSESCOPE_TRY(slashScores.allocate(estimateSizes.slashScores, "slash scores"));
  SPARSESCOPE_TRY(diagonalPartials.allocate(estimateSizes.diagonalPartials, "diagonal partial sums"));
  DeviceBuffer<double> pooledQ, pooledK;
  SPARSESCOPE_TRY(pooledQ.allocate(plan.blockSparseHeads.size() * numBlocks * D, "pooled queries"));
  SPARSESCOPE_TRY(pooledK.allocate(plan.blockSparseHeads.empty() ? 0 : size_t(inputs.numKvHeads) * numBlocks * D,
                                   "pooled keys"));

  // Timed: the device work, not the uploads or the one allocation sized by the counting pass.
  auto timer = std::make_unique<DeviceTimer>();
  EstimateJob<T> estimate;
  estimate.q = q.get();
  estimate.k = k.get();
  estimate.seqLen = N;
  estimate.lastQ = settings.lastQ;
  estimate.groupSize = H / inputs.numKvHeads;
  estimate.numHeads = int(plan.verticalSlashHeads.size());
  estimate.heads = vsHeads.get();
  estimate.selection = selection.get();
  estimate.verticals = verticals.get();
  estimate.slashes = slashes.get();
  estimate.rowStats = rowStats.get();
  estimate.verticalScores = verticalScores.get();
  estimate.slashScores = slashScores.get();
  estimate.diagonalPartials = diagonalPartials.get();
  SPARSESCOPE_TRY(estimateVerticalSlash<T, D>(estimate));
  SPARSESCOPE_TRY(cancelledOrEmpty(ctx));
  ctx.report(0.4);

  BlockSelectJob<T> blockSelect;
  blockSelect.q = q.get();
  blockSelect.k = k.get();
  blockSelect.seqLen = N;
  blockSelect.groupSize = H / inputs.numKvHeads;
  blockSelect.numKvHeads = inputs.numKvHeads;
  blockSelect.numHeads = int(plan.blockSparseHeads.size());
  blockSelect.heads = bsHeads.get();
  blockSelect.topK = bsTopK.get();
  blockSelect.chosen = chosen.get();
  blockSelect.chosenCount = chosenCount.get();
  blockSelect.stride = plan.maxTopK;
  blockSelect.pooledQ = pooledQ.get();
  blockSelect.pooledK = pooledK.get();
  SPARSESCOPE_TRY(selectSparseBlocks<T, D>(blockSelect));
  SPARSESCOPE_TRY(cancelledOrEmpty(ctx));
  ctx.report(0.6);

  ConvertArgs args;
  args.seqLen = N;
  args.numBlocks = numBlocks;
  args.patterns = patternValues.get();
  args.verticalOffsets = verticalOffsets.get();
  args.verticals = verticals.get();
  args.slashOffsets = slashOffsets.get();
  args.slashes = slashes.get();
  args.rangeLow = rangeLow.get();
  args.nextRange = nextRange.get();
  args.slashBits = slashBits.get();
  args.slashBitWords = slashBitWords;
  args.blockSparseSlot = bsSlot.get();
  args.chosenBlocks = chosen.get();
  args.chosenCount = chosenCount.get();
  args.chosenStride = plan.maxTopK;
  DeviceBuffer<uint8_t> wantedBlocks;
  if (settings.wantedBlocks != nullptr) {
    SPARSESCOPE_TRY(wantedBlocks.upload(settings.wantedBlocks, numBlocks, "wanted blocks"));
    args.wantedBlocks = wantedBlocks.get();
  }
  args.tileCount = tileCount.get();
  args.columnCount = columnCount.get();
  args.entries = entries.get();
  int maxSlashCount = 0;
  for (int h = 0; h < H; ++h) maxSlashCount = std::max(maxSlashCount, index->slashOffsets[h + 1] - index->slashOffsets[h]);
  if (maxSlashCount > 0) {
    const dim3 slashGrid((maxSlashCount + kConvertThreads - 1) / kConvertThreads, H);
    SPARSESCOPE_CUDA_TRY(cudaMemset(slashBits.get(), 0, slashBits.size() * sizeof(unsigned long long)));
    markSlashesKernel<<<slashGrid, kConvertThreads>>>(slashOffsets.get(), slashes.get(), slashBits.get(), slashBitWords);
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
    slashRangesKernel<<<slashGrid, kConvertThreads>>>(args, rangeLow.get(), nextRange.get());
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  }
  const dim3 grid((numBlocks + kConvertWarps - 1) / kConvertWarps, H);
  SPARSESCOPE_CUDA_TRY(cudaMemset(tileCount.get() + slots, 0, sizeof(int32_t)));
  SPARSESCOPE_CUDA_TRY(cudaMemset(columnCount.get() + slots, 0, sizeof(int32_t)));
  convertKernel<false><<<grid, kConvertWarps * kWarpSize>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  SPARSESCOPE_TRY(exclusiveScan(tileCount.get(), tileOffsets.get(), slots, scanScratch));
  SPARSESCOPE_TRY(exclusiveScan(columnCount.get(), colOffsets.get(), slots, scanScratch));
  SPARSESCOPE_TRY(timer->stop());
  const double countingMs = cudaTakeDeviceMs();
  int32_t totals[2] = {0, 0};
  SPARSESCOPE_CUDA_TRY(cudaMemcpy(&totals[0], tileOffsets.get() + slots, sizeof(int32_t), cudaMemcpyDeviceToHost));
  SPARSESCOPE_CUDA_TRY(cudaMemcpy(&totals[1], colOffsets.get() + slots, sizeof(int32_t), cudaMemcpyDeviceToHost));
  SPARSESCOPE_TRY(tileStarts.allocate(totals[0], "tile starts"));
  SPARSESCOPE_TRY(columns.allocate(totals[1], "columns"));
  args.tileOffsets = tileOffsets.get();
  args.colOffsets = colOffsets.get();
  args.tileStarts = tileStarts.get();
  args.columns = columns.get();
  timer = std::make_unique<DeviceTimer>();
  convertKernel<true><<<grid, kConvertWarps * kWarpSize>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  SPARSESCOPE_TRY(timer->stop());
  const double convertingMs = countingMs + cudaTakeDeviceMs();

  index->tileOffsets.resize(slots + 1);
  index->colOffsets.resize(slots + 1);
  index->tileStarts.resize(totals[0]);
  index->columns.resize(totals[1]);
  index->verticals.resize(index->verticalOffsets[H]);
  index->slashes.resize(index->slashOffsets[H]);
  std::vector<long long> entryCounts(slots);
  SPARSESCOPE_TRY(tileOffsets.download(index->tileOffsets.data(), slots + 1));
  SPARSESCOPE_TRY(colOffsets.download(index->colOffsets.data(), slots + 1));
  SPARSESCOPE_TRY(tileStarts.download(index->tileStarts.data(), totals[0]));
  SPARSESCOPE_TRY(columns.download(index->columns.data(), totals[1]));
  SPARSESCOPE_TRY(verticals.download(index->verticals.data(), index->verticals.size()));
  SPARSESCOPE_TRY(slashes.download(index->slashes.data(), index->slashes.size()));
  SPARSESCOPE_TRY(entries.download(entryCounts.data(), slots));
  const double causalEntries = double(N) * (double(N) + 1) / 2;
  index->density.assign(H, 0.0);
  for (int h = 0; h < H; ++h) {
    long long total = 0;
    for (int m = 0; m < numBlocks; ++m) total += entryCounts[size_t(h) * numBlocks + m];
    index->density[h] = double(total) / causalEntries;
  }
  MethodTimes methodTimes;
  if (methods.any()) {
    SPARSESCOPE_TRY(addMethodHeads<T, D>(MethodInputs<T>{inputs, q.get(), k.get()}, methods, settings, index, &methodTimes, ctx));
    keepWantedBlocks(settings.wantedBlocks, index);  // the method heads come whole from the host builder
  }
  recordDeviceMs(convertingMs + methodTimes.deviceMs + methodTimes.hostMs);
  ctx.report(1.0);
  return "";
}

}  // namespace
}  // namespace cuda

namespace {

// The patterns the device builder takes, with the method heads listed apart: an XAttention or
// FlexPrefill head becomes an empty stream_llm there (its index comes from its estimate), or
// dense where FlexPrefill falls back to dense.
std::vector<int32_t> devicePatterns(HeadPatternsView patterns, int numHeads, int seqLen, const IndexSettings& settings,
                                    cuda::MethodPlan* methods) {
  std::vector<int32_t> values(patterns.values, patterns.values + 3 * size_t(numHeads));
  for (int h = 0; h < numHeads; ++h) {
    const PatternId id = patterns.pattern(h);
    if (id != PatternId::XAttention && id != PatternId::FlexPrefill) continue;
    const bool dense = id == PatternId::FlexPrefill && flexprefillDense(seqLen, flexprefillSettings(patterns, h, settings));
    if (!dense) (id == PatternId::XAttention ? methods->xattention : methods->flexprefill).push_back(h);
    values[3 * size_t(h)] = int32_t(dense ? PatternId::Dense : PatternId::StreamLlm);
    values[3 * size_t(h) + 1] = values[3 * size_t(h) + 2] = 0;
  }
  return values;
}

}  // namespace

// XAttention and FlexPrefill heads: their estimates run on the device (xattention_estimate.cu,
// flexprefill_estimate.cu) and the selection shared with the CPU builder on the host; the
// reported time is the device time of every stage plus that host selection.
std::string cudaBuildIndex(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                           SparseIndex* index, const CallContext& ctx) {
  SPARSESCOPE_TRY(cuda::useDevice());
  SPARSESCOPE_TRY(cuda::checkShape(inputs));
  SPARSESCOPE_TRY(validatePatterns(inputs, patterns, settings));
  cuda::MethodPlan methods{patterns, {}, {}};
  const std::vector<int32_t> onDevice = devicePatterns(patterns, inputs.numHeads, inputs.seqLen, settings, &methods);
  return cuda::withElementType(inputs.dtype, [&]<typename T>() {
    return cuda::withHeadDim(inputs.headDim, [&]<int D>() {
      return cuda::buildIndex<T, D>(inputs, HeadPatternsView{onDevice.data()}, methods, settings, index, ctx);
    });
  });
}

}  // namespace sparsescope
