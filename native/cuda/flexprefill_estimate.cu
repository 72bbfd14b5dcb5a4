// FlexPrefill's token scores on the GPU (the CPU twin: ops/flexprefill_index.cpp, whose header
// defines them): the last B queries against every key, then the CPU's own
// flexprefillHeadFromScores (budgets, the JS test with the pooled estimate, the block choice) on
// the downloaded scores. Three launches per head:
//   1. per (64-row query tile of the last B rows, key split), the online (max, sum) of each row
//      (tensor cores, fp32);
//   2. per run of key tiles, for every query tile in order: the fp32 probabilities
//      exp(s - max) / sum, their column sums and their per-diagonal sums over the tile's 64 rows in
//      fp64, added to the vertical scores and to the key tile's slash partials (each CTA owns its
//      key tiles' entries: no atomics, a fixed order);
//   3. per offset, the slash partials of the key tiles that hold it, in tile order; both scores
//      divided by B.
// Differences from the CPU: tensor-core dot products and exp2f (the CPU sums each dot product
// sequentially and calls expf), so probabilities differ in the last fp32 bits (relative ~1e-6)
// and the fp64 token scores by as much. Where the selection compares them (coverCount's cumulative
// sum against gamma, the sqrt-JS distance against tau, the top blocks of V and S), values within
// that of each other may decide differently. tools/gpu-tests.js checks the scores against float64
// (relative 1e-5) and requires the CPU's index on its inputs, whose decisions lie far from ties.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "index_build.cuh"
#include "ops/flexprefill_index.h"
#include "thread_pool.h"

namespace sparsescope::cuda {

namespace {

constexpr int kStatSplits = 64;
constexpr int kTilesPerScoreCta = 8;
constexpr int kDiagonals = 2 * kTileRows - 1;
constexpr int kMaxQueryRows = 1024;  // the largest method block (checkMethodBlockSize)

template <typename T>
struct ScoreArgs {
  const T* q = nullptr;  // the head's [N, D] rows
  const T* k = nullptr;  // its KV head's
  int seqLen = 0, blockSize = 0;
  int queryTiles = 0;    // B / 64
  int numTiles = 0;      // key tiles, ceil(N / 64)
  int partialWidth = 0;  // slash partials per key tile: 64 * queryTiles + 63
  float scaleLog2 = 0;
  float2* stats = nullptr;          // [queryTiles][kStatSplits][64] (max in log2 units, sum)
  double* vertical = nullptr;       // [N], zeroed before
  double* slash = nullptr;          // [N]
  double* slashPartials = nullptr;  // [numTiles][partialWidth], zeroed before
};

template <typename T>
__device__ __forceinline__ int queryStartOf(const ScoreArgs<T>& args, int queryTile) {
  return args.seqLen - args.blockSize + queryTile * kTileRows;
}

// Loads rows rowOf(r) of `tensor` into `tile` and waits for them.
template <typename T, int D, typename RowOf>
__device__ void loadTile(T* tile, const T* tensor, RowOf rowOf) {
  loadTileAsync<T, D>(tile, tensor, rowOf);
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
}

// Log2-unit scores of query tile `queryTile` (in `queries`) against key tile `keyTile` (loaded),
// -inf where j > i or j >= N.
template <typename T, int D>
__device__ void maskedScores(float (&scores)[8][4], const QueryFragments<D>& queries, const T* keyTile,
                             const ScoreArgs<T>& args, int queryTile, int tileIndex) {
  scoreTile<T, D>(scores, queries, keyTile);
  const int queryStart = queryStartOf(args, queryTile);
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int j = tileIndex * kTileRows + fragmentColumn(nt, e);
      scores[nt][e] = j <= queryStart + fragmentRow(e) && j < args.seqLen ? scores[nt][e] * args.scaleLog2 : -INFINITY;
    }
}

template <typename T, int D>
__device__ void loadQueries(QueryFragments<D>& queries, T* tile, const ScoreArgs<T>& args, int queryTile) {
  const int queryStart = queryStartOf(args, queryTile);
  loadTile<T, D>(tile, args.q, [&](int r) { return queryStart + r; });
  queries.load(tile);
  __syncthreads();
}

template <typename T, int D>
__device__ void loadKeys(T* tile, const ScoreArgs<T>& args, int tileIndex) {
  loadTile<T, D>(tile, args.k, [&](int r) {
    const int j = tileIndex * kTileRows + r;
    return j < args.seqLen ? j : -1;
  });
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) rowStatsKernel(const ScoreArgs<T> args) {
  __shared__ __align__(128) T tile[kTileRows * D];
  const int queryTile = blockIdx.y;
  QueryFragments<D> queries;
  loadQueries<T, D>(queries, tile, args, queryTile);
  const int lastTile = (queryStartOf(args, queryTile) + kTileRows - 1) / kTileRows;
  RowStats stats;
  for (int t = blockIdx.x; t <= lastTile; t += gridDim.x) {
    loadKeys<T, D>(tile, args, t);
    float scores[8][4];
    maskedScores<T, D>(scores, queries, tile, args, queryTile, t);
    __syncthreads();
    stats.add(scores);
  }
  stats.combineQuad();
  if (threadIdx.x % 4 == 0)
#pragma unroll
    for (int half = 0; half < 2; ++half)
      args.stats[(size_t(queryTile) * kStatSplits + blockIdx.x) * kTileRows + fragmentRow(2 * half)] =
          make_float2(stats.max[half], stats.sum[half]);
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) tokenScoresKernel(const ScoreArgs<T> args) {
  __shared__ __align__(128) T tile[kTileRows * D];
  __shared__ float probabilities[kTileRows][kTileRows + 1];
  __shared__ float rowMax[kMaxQueryRows], rowSum[kMaxQueryRows];
  for (int row = threadIdx.x; row < args.blockSize; row += kThreads) {  // the splits' statistics, in split order
    const float2* stats = args.stats + size_t(row / kTileRows) * kStatSplits * kTileRows + row % kTileRows;
    float maximum = -INFINITY;
    for (int s = 0; s < kStatSplits; ++s) maximum = fmaxf(maximum, stats[s * kTileRows].x);
    float sum = 0.f;
    for (int s = 0; s < kStatSplits; ++s)
      if (stats[s * kTileRows].y > 0.f) sum += stats[s * kTileRows].y * exp2f(stats[s * kTileRows].x - maximum);
    rowMax[row] = maximum;
    rowSum[row] = sum;
  }
  const int firstTile = blockIdx.x * kTilesPerScoreCta;
  const int endTile = min(firstTile + kTilesPerScoreCta, args.numTiles);
  for (int queryTile = 0; queryTile < args.queryTiles; ++queryTile) {
    const int queryStart = queryStartOf(args, queryTile);
    QueryFragments<D> queries;
    loadQueries<T, D>(queries, tile, args, queryTile);  // its barriers also publish rowMax / rowSum
    for (int t = firstTile; t < endTile && t * kTileRows <= queryStart + kTileRows - 1; ++t) {
      loadKeys<T, D>(tile, args, t);
      float scores[8][4];
      maskedScores<T, D>(scores, queries, tile, args, queryTile, t);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int r = fragmentRow(e), row = queryTile * kTileRows + r;
          probabilities[r][fragmentColumn(nt, e)] =
              scores[nt][e] == -INFINITY ? 0.f : exp2f(scores[nt][e] - rowMax[row]) / rowSum[row];
        }
      __syncthreads();
      if (threadIdx.x < kTileRows) {
        const int j = t * kTileRows + threadIdx.x;
        double sum = 0.0;
        for (int r = 0; r < kTileRows; ++r) sum += double(probabilities[r][threadIdx.x]);
        if (j < args.seqLen) args.vertical[j] += sum;
      }
      if (threadIdx.x < kDiagonals) {
        // Diagonal d holds (r, c = r + 63 - d): offset queryStart + r - 64 t - c.
        const int d = threadIdx.x;
        double sum = 0.0;
        for (int r = max(0, d - (kTileRows - 1)); r <= min(kTileRows - 1, d); ++r) sum += double(probabilities[r][r + kTileRows - 1 - d]);
        args.slashPartials[size_t(t) * args.partialWidth + queryTile * kTileRows + d] += sum;
      }
      __syncthreads();
    }
  }
}

__device__ __forceinline__ int floorDiv(int a, int b) { return (a >= 0 ? a : a - b + 1) / b; }

// slash[o]: partial u = o - (N - B - 63) + 64 t of key tile t; both scores / B.
template <typename T>
__global__ void combineKernel(const ScoreArgs<T> args) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= args.seqLen) return;
  const int base = o - (args.seqLen - args.blockSize - (kTileRows - 1));
  const int firstTile = max(0, -floorDiv(base, kTileRows));
  const int lastTile = min(args.numTiles - 1, floorDiv(args.partialWidth - 1 - base, kTileRows));
  double sum = 0.0;
  for (int t = firstTile; t <= lastTile; ++t) sum += args.slashPartials[size_t(t) * args.partialWidth + base + kTileRows * t];
  args.slash[o] = sum / args.blockSize;
  args.vertical[o] /= args.blockSize;
}

struct ScoreScratch {
  size_t stats, scores, partials;  // elements per head: float2 statistics, one score list, slash partials
};
ScoreScratch scratchOf(int seqLen, int blockSize) {
  const size_t tiles = (size_t(seqLen) + kTileRows - 1) / kTileRows, queryTiles = size_t(blockSize) / kTileRows;
  return {queryTiles * kStatSplits * kTileRows, size_t(seqLen), tiles * (queryTiles * kTileRows + kTileRows - 1)};
}

template <typename T, int D>
ScoreArgs<T> scoreArgs(const MethodInputs<T>& inputs, int head, int blockSize) {
  const AttentionInputs& host = inputs.host;
  ScoreArgs<T> args;
  args.q = inputs.q + host.rowOffset(head, 0);
  args.k = inputs.k + host.rowOffset(host.kvHeadOf(head), 0);
  args.seqLen = host.seqLen;
  args.blockSize = blockSize;
  args.queryTiles = blockSize / kTileRows;
  args.numTiles = (host.seqLen + kTileRows - 1) / kTileRows;
  args.partialWidth = args.queryTiles * kTileRows + kTileRows - 1;
  args.scaleLog2 = kLog2e / std::sqrt(float(D));
  return args;
}

// The token scores of one head into args.vertical / args.slash (N >= B).
template <typename T, int D>
std::string launchTokenScores(const ScoreArgs<T>& args) {
  SPARSESCOPE_CUDA_TRY(cudaMemsetAsync(args.vertical, 0, size_t(args.seqLen) * sizeof(double)));
  SPARSESCOPE_CUDA_TRY(cudaMemsetAsync(args.slashPartials, 0, size_t(args.numTiles) * args.partialWidth * sizeof(double)));
  rowStatsKernel<T, D><<<dim3(kStatSplits, args.queryTiles), kThreads>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  tokenScoresKernel<T, D><<<(args.numTiles + kTilesPerScoreCta - 1) / kTilesPerScoreCta, kThreads>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  combineKernel<T><<<(args.seqLen + 255) / 256, 256>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  return "";
}

// Device scratch of `heads` heads: statistics, vertical and slash scores, slash partials.
struct ScoreBuffers {
  ScoreScratch sizes{};
  DeviceBuffer<float2> stats;
  DeviceBuffer<double> vertical, slash, partials;

  std::string allocate(int seqLen, int blockSize, size_t heads) {
    sizes = scratchOf(seqLen, blockSize);
    SPARSESCOPE_TRY(stats.allocate(heads * sizes.stats, "flexprefill row statistics"));
    SPARSESCOPE_TRY(vertical.allocate(heads * sizes.scores, "flexprefill vertical scores"));
    SPARSESCOPE_TRY(slash.allocate(heads * sizes.scores, "flexprefill slash scores"));
    return partials.allocate(heads * sizes.partials, "flexprefill slash partials");
  }
  template <typename T>
  void assign(ScoreArgs<T>& args, size_t slot) const {
    args.stats = stats.get() + slot * sizes.stats;
    args.vertical = vertical.get() + slot * sizes.scores;
    args.slash = slash.get() + slot * sizes.scores;
    args.slashPartials = partials.get() + slot * sizes.partials;
  }
};

}  // namespace

template <typename T, int D>
std::string flexprefillHeads(const MethodInputs<T>& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                             const std::vector<int32_t>& heads, std::vector<HeadIndex>& out, MethodTimes* times,
                             const CallContext& ctx) {
  const int N = inputs.host.seqLen, B = settings.flexprefillBlockSize;
  const ScoreScratch perHead = scratchOf(N, B);
  const size_t batch = size_t(headsPerBatch(perHead.stats * sizeof(float2) + (2 * perHead.scores + perHead.partials) * sizeof(double)));
  ScoreBuffers buffers;
  SPARSESCOPE_TRY(buffers.allocate(N, B, std::min(heads.size(), batch)));
  std::vector<double> vertical, slash;
  for (size_t first = 0; first < heads.size(); first += batch) {
    const size_t count = std::min(heads.size() - first, batch);
    DeviceTimer timer;
    for (size_t i = 0; i < count; ++i) {
      ScoreArgs<T> args = scoreArgs<T, D>(inputs, heads[first + i], B);
      buffers.assign(args, i);
      SPARSESCOPE_TRY(launchTokenScores<T, D>(args));
    }
    SPARSESCOPE_TRY(timer.stop());
    times->deviceMs += cudaTakeDeviceMs();
    SPARSESCOPE_TRY(cancelledOrEmpty(ctx));
    vertical.resize(count * size_t(N));
    slash.resize(count * size_t(N));
    SPARSESCOPE_TRY(buffers.vertical.download(vertical.data(), vertical.size()));
    SPARSESCOPE_TRY(buffers.slash.download(slash.data(), slash.size()));
    const auto start = std::chrono::steady_clock::now();
    const bool finished = parallelFor(
        int(count),
        [&](int i) {
          const int head = heads[first + size_t(i)];
          const auto at = [&](const std::vector<double>& scores) {
            return std::vector<double>(scores.begin() + ptrdiff_t(size_t(i) * N), scores.begin() + ptrdiff_t(size_t(i + 1) * N));
          };
          const FlexPrefillSettings flex{patterns.a(head), patterns.b(head), B, settings.flexprefillMinBudget};
          out[size_t(head)] = flexprefillHeadFromScores(inputs.host, head, flex, at(vertical), at(slash));
        },
        ctx);
    times->hostMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!finished) return kCancelled;
  }
  return "";
}

#define SPARSESCOPE_FLEXPREFILL(T, D)                                                                     \
  template std::string flexprefillHeads<T, D>(const MethodInputs<T>&, HeadPatternsView, const IndexSettings&, \
                                              const std::vector<int32_t>&, std::vector<HeadIndex>&, MethodTimes*, \
                                              const CallContext&);
SPARSESCOPE_FLEXPREFILL(__half, 64)
SPARSESCOPE_FLEXPREFILL(__half, 96)
SPARSESCOPE_FLEXPREFILL(__half, 128)
SPARSESCOPE_FLEXPREFILL(__nv_bfloat16, 64)
SPARSESCOPE_FLEXPREFILL(__nv_bfloat16, 96)
SPARSESCOPE_FLEXPREFILL(__nv_bfloat16, 128)
#undef SPARSESCOPE_FLEXPREFILL

}  // namespace sparsescope::cuda

namespace sparsescope {

std::string cudaFlexPrefillScores(const AttentionInputs& inputs, int head, int blockSize, std::vector<double>* vertical,
                                  std::vector<double>* slash, const CallContext& ctx) {
  SPARSESCOPE_TRY(cuda::useDevice());
  SPARSESCOPE_TRY(cuda::checkShape(inputs));
  return cuda::withElementType(inputs.dtype, [&]<typename T>() {
    return cuda::withHeadDim(inputs.headDim, [&]<int D>() -> std::string {
      return cuda::onOneHead<T, D>(inputs, head, ctx, [&](const cuda::MethodInputs<T>& one) -> std::string {
        cuda::ScoreBuffers buffers;
        SPARSESCOPE_TRY(buffers.allocate(inputs.seqLen, blockSize, 1));
        cuda::ScoreArgs<T> args = cuda::scoreArgs<T, D>(one, 0, blockSize);
        buffers.assign(args, 0);
        cuda::DeviceTimer timer;
        SPARSESCOPE_TRY(cuda::launchTokenScores<T, D>(args));
        SPARSESCOPE_TRY(timer.stop());
        vertical->resize(size_t(inputs.seqLen));
        slash->resize(size_t(inputs.seqLen));
        SPARSESCOPE_TRY(buffers.vertical.download(vertical->data(), vertical->size()));
        return buffers.slash.download(slash->data(), slash->size());
      });
    });
  });
}

}  // namespace sparsescope
