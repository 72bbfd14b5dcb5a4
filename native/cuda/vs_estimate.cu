// Vertical-Slash estimate for all vertical_and_slash heads of a layer in four launches:
//   1. per key split, online (max, sum) of each of the last 64 query rows (tensor cores);
//   2. per key tile, the softmax probabilities, their column sums (vertical scores) and their
//      per-tile diagonal sums, in a fixed order (deterministic, no atomics);
//   3. diagonal sums of neighbouring tiles combined into slash scores;
//   4. exact top-k of both score lists per head (radix select), written ascending.
#include <algorithm>
#include <cmath>

#include "index_build.cuh"
#include "select_topk.cuh"

namespace sparsescope::cuda {

namespace {

constexpr int kDiagonals = 2 * kTileRows - 1;  // diagonals crossing a 64 x 64 tile
constexpr int kStatSplits = 64;                 // key splits of the statistics pass, per head
constexpr int kTilesPerScoreBlock = 8;
constexpr int kSelectThreads = 1024;

template <typename T>
struct EstimateArgs {
  EstimateJob<T> job;
  int queryStart = 0;  // N - lastQ
  int lastQ = 0;
  int numTiles = 0;
  float scaleLog2 = 0;
  float2* stats = nullptr;         // [heads][kStatSplits][64] (max in log2 units, sum)
  float* vertical = nullptr;       // [heads][N]
  float* slashPartial = nullptr;   // [heads][numTiles][kDiagonals]
  float* slash = nullptr;          // [heads][N]
};

// Loads the last queries of `head` as this warp's fragments (through `tile`).
template <typename T, int D>
__device__ void loadLastQueries(QueryFragments<D>& queries, T* tile, const EstimateArgs<T>& args, int head) {
  const int N = args.job.seqLen;
  loadTileAsync<T, D>(tile, args.job.q + size_t(head) * N * D,
                      [&](int r) { return r < args.lastQ ? args.queryStart + r : -1; });
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  queries.load(tile);
  __syncthreads();
}

// Masked log2-unit scores of the last queries against key tile `tileIndex` (already loaded).
template <typename T, int D>
__device__ void maskedScores(float (&scores)[8][4], const QueryFragments<D>& queries, const T* keyTile,
                             const EstimateArgs<T>& args, int tileIndex) {
  scoreTile<T, D>(scores, queries, keyTile);
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int r = fragmentRow(e);
      const int j = tileIndex * kTileRows + fragmentColumn(nt, e);
      const bool keep = r < args.lastQ && j <= args.queryStart + r && j < args.job.seqLen;
      scores[nt][e] = keep ? scores[nt][e] * args.scaleLog2 : -INFINITY;
    }
}

// Starts loading key tile `tileIndex` into `tile` as one commit group.
template <typename T, int D>
__device__ void startKeyTile(T* tile, const EstimateArgs<T>& args, int head, int tileIndex) {
  const int N = args.job.seqLen;
  const T* keys = args.job.k + size_t(head / args.job.groupSize) * N * D;
  loadTileAsync<T, D>(tile, keys, [&](int r) {
    const int j = tileIndex * kTileRows + r;
    return j < N ? j : -1;
  });
  copyAsyncCommit();
}

template <typename T, int D>
__device__ void loadKeyTile(T* tile, const EstimateArgs<T>& args, int head, int tileIndex) {
  startKeyTile<T, D>(tile, args, head, tileIndex);
  copyAsyncWait<0>();
  __syncthreads();
}

// Double-buffered: the split's next key tile loads while this one is scored (a load waited for
// before every tile left the tensor cores idle for its whole latency).
template <typename T, int D>
__global__ void __launch_bounds__(kThreads) rowStatsKernel(const EstimateArgs<T> args) {
  __shared__ __align__(16) T tiles[2][kTileRows * D];
  const int listed = blockIdx.y, head = args.job.heads[listed];
  QueryFragments<D> queries;
  loadLastQueries<T, D>(queries, tiles[0], args, head);

  RowStats stats;
  if (blockIdx.x < args.numTiles) startKeyTile<T, D>(tiles[0], args, head, blockIdx.x);
  const int step = gridDim.x;
  for (int t = blockIdx.x, buffer = 0; t < args.numTiles; t += step, buffer ^= 1) {
    if (t + step < args.numTiles) startKeyTile<T, D>(tiles[buffer ^ 1], args, head, t + step);
    else copyAsyncCommit();  // an empty group, so that waiting for all but one is waiting for tile t
    copyAsyncWait<1>();
    __syncthreads();
    float scores[8][4];
    maskedScores<T, D>(scores, queries, tiles[buffer], args, t);
    __syncthreads();  // tiles[buffer] is refilled by the next step
    stats.add(scores);
  }
  stats.combineQuad();
#pragma unroll
  for (int half = 0; half < 2; ++half)
    if (threadIdx.x % 4 == 0)
      args.stats[(size_t(listed) * kStatSplits + blockIdx.x) * kTileRows + fragmentRow(2 * half)] =
          make_float2(stats.max[half], stats.sum[half]);
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) tileScoresKernel(const EstimateArgs<T> args) {
  __shared__ __align__(16) T tile[kTileRows * D];
  __shared__ float probabilities[kTileRows][kTileRows + 1];
  __shared__ float rowReference[kTileRows], rowInverse[kTileRows];
  const int listed = blockIdx.y, head = args.job.heads[listed];
  const int N = args.job.seqLen;

  if (threadIdx.x < kTileRows) {  // combine the splits' statistics, in split order
    const float2* stats = args.stats + size_t(listed) * kStatSplits * kTileRows + threadIdx.x;
    float maximum = -INFINITY;
    for (int s = 0; s < kStatSplits; ++s) maximum = fmaxf(maximum, stats[s * kTileRows].x);
    float sum = 0.f;
    if (maximum != -INFINITY)
      for (int s = 0; s < kStatSplits; ++s)
        if (stats[s * kTileRows].y > 0.f) sum += stats[s * kTileRows].y * exp2f(stats[s * kTileRows].x - maximum);
    rowReference[threadIdx.x] = maximum == -INFINITY ? 0.f : maximum;
    rowInverse[threadIdx.x] = sum > 0.f ? 1.f / sum : 0.f;
  }
  QueryFragments<D> queries;
  loadLastQueries<T, D>(queries, tile, args, head);

  const int firstTile = blockIdx.x * kTilesPerScoreBlock;
  const int lastTile = min(firstTile + kTilesPerScoreBlock, args.numTiles);
  for (int t = firstTile; t < lastTile; ++t) {
    loadKeyTile<T, D>(tile, args, head, t);
    float scores[8][4];
    maskedScores<T, D>(scores, queries, tile, args, t);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = fragmentRow(e);
        probabilities[r][fragmentColumn(nt, e)] = exp2f(scores[nt][e] - rowReference[r]) * rowInverse[r];
      }
    __syncthreads();
    // Threads 64..127 sum the columns while thread d < 64 sums diagonals d and 126 - d (d + 1
    // entries each): 64 steps per tile, where threads 0..63 did the columns and then the longest
    // diagonals (128 steps). Each sum keeps its order, so the scores are unchanged.
    static_assert(kThreads == 2 * kTileRows, "one thread per column and per diagonal pair");
    if (threadIdx.x >= kTileRows) {
      const int c = threadIdx.x - kTileRows, j = t * kTileRows + c;
      float sum = 0.f;
      for (int r = 0; r < kTileRows; ++r) sum += probabilities[r][c];
      if (j < N) args.vertical[size_t(listed) * N + j] = j < kForcedVerticals ? INFINITY : sum;
    } else {
      // Local diagonal d holds (r, c = r + 63 - d): offset (queryStart + r) - (64 t + c).
      float* partials = args.slashPartial + (size_t(listed) * args.numTiles + t) * kDiagonals;
      auto diagonalSum = [&](int d) {
        float sum = 0.f;
        for (int r = max(0, d - (kTileRows - 1)); r <= min(kTileRows - 1, d); ++r) sum += probabilities[r][r + kTileRows - 1 - d];
        return sum;
      };
      const int d = threadIdx.x, mirrored = kDiagonals - 1 - threadIdx.x;
      partials[d] = diagonalSum(d);
      if (mirrored != d) partials[mirrored] = diagonalSum(mirrored);
    }
    __syncthreads();
  }
}

__device__ __forceinline__ int floorDiv(int a, int b) { return (a >= 0 ? a : a - b + 1) / b; }

template <typename T>
__global__ void slashCombineKernel(const EstimateArgs<T> args) {
  const int listed = blockIdx.y, N = args.job.seqLen;
  const int offset = blockIdx.x * blockDim.x + threadIdx.x;
  if (offset >= N) return;
  // Tile t holds this offset at local diagonal d = offset - queryStart + 64 t + 63, 0 <= d < 127.
  const int base = offset - args.queryStart + kTileRows - 1;
  const int firstTile = max(0, -floorDiv(base, kTileRows));
  const int lastTile = min(args.numTiles - 1, floorDiv(kDiagonals - 1 - base, kTileRows));
  float sum = 0.f;
  for (int t = firstTile; t <= lastTile; ++t)
    sum += args.slashPartial[(size_t(listed) * args.numTiles + t) * kDiagonals + base + kTileRows * t];
  args.slash[size_t(listed) * N + offset] = offset < kForcedSlashes ? INFINITY : sum;
}

template <typename T>
__global__ void __launch_bounds__(kSelectThreads) selectKernel(const EstimateArgs<T> args) {
  const int listed = blockIdx.x, N = args.job.seqLen;
  const bool slash = blockIdx.y == 1;
  const int32_t* selection = args.job.selection + 4 * listed;
  const float* scores = (slash ? args.slash : args.vertical) + size_t(listed) * N;
  int32_t* out = slash ? args.job.slashes + selection[2] : args.job.verticals + selection[0];
  selectTopKAscending<kSelectThreads>(N, slash ? selection[3] : selection[1],
                                      [&](int i) { return orderedKey(scores[i]); }, out);
}

}  // namespace

template <typename T, int D>
std::string estimateVerticalSlash(const EstimateJob<T>& job) {
  if (job.numHeads == 0) return "";
  const int N = job.seqLen;
  EstimateArgs<T> args;
  args.job = job;
  args.lastQ = std::min({N, job.lastQ, kTileRows});
  args.queryStart = N - args.lastQ;
  args.numTiles = (N + kTileRows - 1) / kTileRows;
  args.scaleLog2 = kLog2e / std::sqrt(float(D));

  args.stats = job.rowStats;
  args.vertical = job.verticalScores;
  args.slash = job.slashScores;
  args.slashPartial = job.diagonalPartials;

  rowStatsKernel<T, D><<<dim3(kStatSplits, job.numHeads), kThreads>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  const int scoreBlocks = (args.numTiles + kTilesPerScoreBlock - 1) / kTilesPerScoreBlock;
  tileScoresKernel<T, D><<<dim3(scoreBlocks, job.numHeads), kThreads>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  slashCombineKernel<T><<<dim3((N + 255) / 256, job.numHeads), 256>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  selectKernel<T><<<dim3(job.numHeads, 2), kSelectThreads>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  return "";
}

EstimateScratchSizes estimateScratchSizes(int numHeads, int seqLen) {
  const size_t heads = size_t(numHeads), tiles = (size_t(seqLen) + kTileRows - 1) / kTileRows;
  return {heads * kStatSplits * kTileRows, heads * seqLen, heads * seqLen, heads * tiles * kDiagonals};
}

// Every element type and head dim of withHeadDim (CudaHeadDims).
template std::string estimateVerticalSlash<__half, 64>(const EstimateJob<__half>&);
template std::string estimateVerticalSlash<__half, 96>(const EstimateJob<__half>&);
template std::string estimateVerticalSlash<__half, 128>(const EstimateJob<__half>&);
template std::string estimateVerticalSlash<__nv_bfloat16, 64>(const EstimateJob<__nv_bfloat16>&);
template std::string estimateVerticalSlash<__nv_bfloat16, 96>(const EstimateJob<__nv_bfloat16>&);
template std::string estimateVerticalSlash<__nv_bfloat16, 128>(const EstimateJob<__nv_bfloat16>&);

}  // namespace sparsescope::cuda
