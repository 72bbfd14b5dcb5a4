// cudaPooledMap: the pooled attention map of one head (spec 2.2) without N x N memory. Pass 1 is
// the flash kernel in LSE-only mode over the used rows; pass 2 recomputes the scores of the region
// on tensor cores, turns them into probabilities, and folds each 64x64 tile into the grid cells
// (per column, runs of rows in one grid row are summed before one atomic per run).
#include <cmath>
#include <cstring>

#include "attention_kernel.cuh"
#include "cuda_backend.h"

namespace sparsescope {
namespace cuda {

namespace {

template <typename T>
struct MapArgs {
  const T* q = nullptr;  // [N, D] of the head
  const T* k = nullptr;
  int seqLen = 0;
  const int32_t* usedRows = nullptr;  // ascending query rows
  const int32_t* gridRowOf = nullptr;  // per used row
  const float* lse2 = nullptr;        // per used row, log2 units
  int usedCount = 0;
  int colStart = 0, colEnd = 0;
  const int32_t* cellOfColumn = nullptr;  // per region column
  int cols = 0;
  int tilesPerSplit = 0;
  float scaleLog2 = 0;
  float* mass = nullptr;     // [rows][cols], summed over used rows
  uint32_t* max = nullptr;   // [rows][cols], float bits (probabilities are >= 0)
};

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) mapKernel(const MapArgs<T> args) {
  __shared__ __align__(16) T tile[kTileRows * D];
  __shared__ float probabilities[kTileRows][kTileRows + 1];
  __shared__ int rows[kTileRows], gridRows[kTileRows];
  __shared__ float lse2[kTileRows];
  const int first = blockIdx.x * kTileRows;
  const int count = min(kTileRows, args.usedCount - first);
  if (threadIdx.x < kTileRows) {
    const bool valid = threadIdx.x < count;
    rows[threadIdx.x] = valid ? args.usedRows[first + threadIdx.x] : -1;
    gridRows[threadIdx.x] = valid ? args.gridRowOf[first + threadIdx.x] : -1;
    lse2[threadIdx.x] = valid ? args.lse2[first + threadIdx.x] : 0.f;
  }
  __syncthreads();
  loadTileAsync<T, D>(tile, args.q, [&](int r) { return rows[r]; });
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  QueryFragments<D> queries;
  queries.load(tile);
  __syncthreads();

  const int visibleEnd = min(args.colEnd, rows[count - 1] + 1);
  const int firstTile = blockIdx.y * args.tilesPerSplit;
  for (int t = firstTile; t < firstTile + args.tilesPerSplit; ++t) {
    const int start = args.colStart + t * kTileRows;
    if (start >= visibleEnd) break;
    loadTileAsync<T, D>(tile, args.k, [&](int r) { return start + r < visibleEnd ? start + r : -1; });
    copyAsyncCommit();
    copyAsyncWait<0>();
    __syncthreads();
    float scores[8][4];
    scoreTile<T, D>(scores, queries, tile);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = fragmentRow(e), c = fragmentColumn(nt, e), j = start + c;
        const bool keep = r < count && j < visibleEnd && j <= rows[r];
        probabilities[r][c] = keep ? exp2f(scores[nt][e] * args.scaleLog2 - lse2[r]) : 0.f;
      }
    __syncthreads();
    if (threadIdx.x < kTileRows && start + int(threadIdx.x) < visibleEnd) {
      const int cell = args.cellOfColumn[start + threadIdx.x - args.colStart];
      int runRow = gridRows[0];
      float runMass = 0.f, runMax = 0.f;
      auto flush = [&] {
        const size_t at = size_t(runRow) * args.cols + cell;
        if (runMass > 0.f) atomicAdd(args.mass + at, runMass);
        if (runMax > 0.f) atomicMax(args.max + at, __float_as_uint(runMax));
      };
      for (int r = 0; r < count; ++r) {
        if (gridRows[r] != runRow) {
          flush();
          runRow = gridRows[r];
          runMass = runMax = 0.f;
        }
        const float p = probabilities[r][threadIdx.x];
        runMass += p;
        runMax = fmaxf(runMax, p);
      }
      flush();
    }
    __syncthreads();
  }
}

template <typename T, int D>
std::string pooledMap(const AttentionInputs& inputs, const PooledMapArgs& args, float* mean, float* max,
                      int* rowsUsed, const CallContext& ctx) {
  const int N = inputs.seqLen;
  if (args.rowStart < 0 || args.rowStart >= args.rowEnd || args.rowEnd > N || args.colStart < 0 ||
      args.colStart >= args.colEnd || args.colEnd > N || args.rows < 1 || args.cols < 1)
    return "pooled map: the region must be non-empty and inside [0, " + std::to_string(N) +
           ") and the grid at least 1 x 1";
  const int64_t regionRows = args.rowEnd - args.rowStart, regionCols = args.colEnd - args.colStart;
  std::vector<int32_t> used, gridRowOf;
  for (int r = 0; r < args.sampleRows.size(N); ++r) {
    const int i = args.sampleRows.at(r);
    if (i < args.rowStart || i >= args.rowEnd) continue;
    used.push_back(i);
    gridRowOf.push_back(int32_t((i - args.rowStart) * args.rows / regionRows));
  }
  *rowsUsed = int(used.size());
  const size_t cells = size_t(args.rows) * args.cols;
  std::fill(mean, mean + cells, 0.f);
  std::fill(max, max + cells, 0.f);
  if (used.empty()) return "";

  // Pass 1: the dense log-sum-exp of every used row.
  AttentionInputs head = inputs;
  head.numHeads = head.numKvHeads = 1;
  std::vector<float> lse(used.size());
  AttentionJob lseJob;
  lseJob.inputs = &head;
  const RowSelection usedRows{used.data(), int(used.size())};
  lseJob.rows = &usedRows;
  lseJob.withValues = false;
  lseJob.lse = lse.data();
  SPARSESCOPE_TRY(runAttention(lseJob, ctx));
  const double lseMs = cudaTakeDeviceMs();
  for (float& value : lse) value *= kLog2e;

  std::vector<int32_t> cellOfColumn(regionCols);
  for (int64_t c = 0; c < regionCols; ++c) cellOfColumn[c] = int32_t(c * args.cols / regionCols);
  DeviceBuffer<T> q, k;
  DeviceBuffer<int32_t> usedDevice, gridRowDevice, cellDevice;
  DeviceBuffer<float> lseDevice, massDevice;
  DeviceBuffer<uint32_t> maxDevice;
  SPARSESCOPE_TRY(q.upload(inputs.q, inputs.deviceQ, size_t(N) * D, "q"));
  SPARSESCOPE_TRY(k.upload(inputs.k, inputs.deviceK, size_t(N) * D, "k"));
  SPARSESCOPE_TRY(usedDevice.upload(used.data(), used.size(), "used rows"));
  SPARSESCOPE_TRY(gridRowDevice.upload(gridRowOf.data(), gridRowOf.size(), "grid rows"));
  SPARSESCOPE_TRY(cellDevice.upload(cellOfColumn.data(), cellOfColumn.size(), "grid columns"));
  SPARSESCOPE_TRY(lseDevice.upload(lse.data(), lse.size(), "row log-sum-exp"));
  SPARSESCOPE_TRY(massDevice.allocate(cells, "map cells"));
  SPARSESCOPE_TRY(maxDevice.allocate(cells, "map maxima"));
  SPARSESCOPE_CUDA_TRY(cudaMemset(massDevice.get(), 0, cells * sizeof(float)));
  SPARSESCOPE_CUDA_TRY(cudaMemset(maxDevice.get(), 0, cells * sizeof(uint32_t)));

  MapArgs<T> map;
  map.q = q.get();
  map.k = k.get();
  map.seqLen = N;
  map.usedRows = usedDevice.get();
  map.gridRowOf = gridRowDevice.get();
  map.lse2 = lseDevice.get();
  map.usedCount = int(used.size());
  map.colStart = args.colStart;
  map.colEnd = args.colEnd;
  map.cellOfColumn = cellDevice.get();
  map.cols = args.cols;
  map.scaleLog2 = kLog2e / std::sqrt(float(D));
  map.mass = massDevice.get();
  map.max = maxDevice.get();
  // Enough (row group, column split) blocks to fill the device a few times over.
  const int rowGroups = int((used.size() + kTileRows - 1) / kTileRows);
  const int regionTiles = int((regionCols + kTileRows - 1) / kTileRows);
  const int splits = std::max(1, std::min(regionTiles, (1024 + rowGroups - 1) / rowGroups));
  map.tilesPerSplit = (regionTiles + splits - 1) / splits;

  DeviceTimer timer;
  mapKernel<T, D><<<dim3(rowGroups, splits), kThreads>>>(map);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  SPARSESCOPE_TRY(timer.stop());
  recordDeviceMs(lseMs + cudaTakeDeviceMs());
  if (ctx.cancelled()) return kCancelled;

  std::vector<uint32_t> maxBits(cells);
  SPARSESCOPE_TRY(massDevice.download(mean, cells));
  SPARSESCOPE_TRY(maxDevice.download(maxBits.data(), cells));
  std::vector<int> rowsPerGridRow(args.rows, 0);
  for (const int32_t g : gridRowOf) ++rowsPerGridRow[g];
  for (size_t cell = 0; cell < cells; ++cell) {
    const int rowsInCell = rowsPerGridRow[cell / args.cols];
    if (rowsInCell > 0) mean[cell] /= float(rowsInCell);
    std::memcpy(&max[cell], &maxBits[cell], sizeof(float));
  }
  return "";
}

}  // namespace
}  // namespace cuda

std::string cudaPooledMap(const AttentionInputs& inputs, const PooledMapArgs& args, float* mean, float* max,
                          int* rowsUsed, const CallContext& ctx) {
  SPARSESCOPE_TRY(cuda::useDevice());
  SPARSESCOPE_TRY(cuda::checkShape(inputs));
  return cuda::withElementType(inputs.dtype, [&]<typename T>() {
    return cuda::withHeadDim(inputs.headDim,
                             [&]<int D>() { return cuda::pooledMap<T, D>(inputs, args, mean, max, rowsUsed, ctx); });
  });
}

}  // namespace sparsescope
