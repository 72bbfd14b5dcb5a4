// Block-Sparse block choice for all block_sparse heads of a layer: mean-pool Q and K over 64-row
// blocks (fp64, fixed order), score the causal key blocks of each query block by the pooled dot
// product and keep the top_k (diagonal forced) with the shared radix select. A thread block
// scores kQueryBlocks query blocks at once against pooled keys stored dimension-major, so each
// coalesced key load feeds kQueryBlocks dot products. Up to 5120 blocks (327,680 tokens) the
// scores of 8 query blocks fit in shared memory. Beyond, 8 rows of scores no longer fit, and one
// query block per thread block would stream every earlier pooled key from L2 once per query block
// (137 GB a head at 1M tokens, docs/kernels.md): there 16 query blocks share each key load and
// their scores go to a global scratch, a slab of thread blocks per launch.
#include <cstdlib>

#include "index_build.cuh"
#include "select_topk.cuh"

namespace sparsescope::cuda {

namespace {

constexpr int kSelectThreads = 256;
constexpr int kScoreBytes = 160 * 1024;  // shared memory for the scores of a thread block's query blocks
constexpr int kWideQueryBlocks = 16;     // query blocks per thread block when scores go to global memory
// Global score scratch of one launch: at 1M tokens, 128 thread blocks a head for 4 heads, about
// one wave of an H100 at 4 thread blocks an SM.
constexpr size_t kScratchBytes = size_t(512) << 20;

// SPARSESCOPE_BLOCK_SELECT_SLAB_GROUPS when set: thread blocks a head per launch, and the global
// path at any length (the GPU tests: several launches a head at a few thousand tokens); else 0.
int forcedSlabGroups() {
  const char* forced = std::getenv("SPARSESCOPE_BLOCK_SELECT_SLAB_GROUPS");
  return forced != nullptr && *forced != '\0' ? std::max(1, std::atoi(forced)) : 0;
}

// Mean over a block's rows of tensor[heads[listed]][row][d], in fp64 and row order like the CPU
// builder, so both choose the same blocks; stored at pooled[(listed * numBlocks + block) * D + d]
// or, dimension-major, at pooled[(listed * D + d) * numBlocks + block].
template <typename T, int D, bool kDimensionMajor>
__global__ void poolKernel(const T* tensor, int seqLen, const int32_t* heads, double* pooled) {
  const int block = blockIdx.x, numBlocks = gridDim.x, listed = blockIdx.y, d = threadIdx.x;
  const int head = heads ? heads[listed] : listed;
  const int begin = block * kTileRows, end = min(begin + kTileRows, seqLen);
  const T* rows = tensor + size_t(head) * seqLen * D;
  double sum = 0.0;
  for (int row = begin; row < end; ++row) sum = __dadd_rn(sum, double(ElementTraits<T>::toFloat(rows[size_t(row) * D + d])));
  const size_t at = kDimensionMajor ? (size_t(listed) * D + d) * numBlocks + block : (size_t(listed) * numBlocks + block) * D + d;
  pooled[at] = sum / double(end - begin);
}

// Thread block (x, y) scores query blocks slabFirst + x * kQueryBlocks + [0, kQueryBlocks) of listed
// head y into `globalScores` (its own [kQueryBlocks][numBlocks] rows of the launch's scratch) or,
// when that is null, into dynamic shared memory; then selects each query block's top_k from them.
template <typename T, int D, int kQueryBlocks>
__global__ void __launch_bounds__(kSelectThreads) chooseBlocksKernel(const BlockSelectJob<T> job, int numBlocks, int slabFirst, float* globalScores) {
  extern __shared__ float sharedScores[];
  __shared__ double queries[kQueryBlocks][D];
  const int firstBlock = slabFirst + blockIdx.x * kQueryBlocks, listed = blockIdx.y;
  const int lastBlock = min(firstBlock + kQueryBlocks, numBlocks) - 1;
  float* blockScores = globalScores ? globalScores + (size_t(listed) * gridDim.x + blockIdx.x) * kQueryBlocks * numBlocks : sharedScores;
  const int kvHead = job.heads[listed] / job.groupSize;
  for (int i = threadIdx.x; i < kQueryBlocks * D; i += kSelectThreads) {
    const int block = min(firstBlock + i / D, lastBlock);
    queries[i / D][i % D] = job.pooledQ[(size_t(listed) * numBlocks + block) * D + i % D];
  }
  __syncthreads();
  const double* keys = job.pooledK + size_t(kvHead) * D * numBlocks;  // [D][numBlocks]
  for (int keyBlock = threadIdx.x; keyBlock <= lastBlock; keyBlock += kSelectThreads) {
    double dot[kQueryBlocks] = {};  // unfused, in order: the CPU's rounding
    for (int d = 0; d < D; ++d) {
      const double key = keys[size_t(d) * numBlocks + keyBlock];
#pragma unroll
      for (int q = 0; q < kQueryBlocks; ++q) dot[q] = __dadd_rn(dot[q], __dmul_rn(queries[q][d], key));
    }
#pragma unroll
    for (int q = 0; q < kQueryBlocks; ++q) {
      const int block = firstBlock + q;
      if (keyBlock <= block) blockScores[q * numBlocks + keyBlock] = keyBlock == block ? INFINITY : __double2float_rn(dot[q]);
    }
  }
  __syncthreads();
  for (int block = firstBlock; block <= lastBlock; ++block) {
    const float* scores = blockScores + (block - firstBlock) * numBlocks;
    const int keep = min(job.topK[listed], block + 1);
    const size_t slot = size_t(listed) * numBlocks + block;
    selectTopKAscending<kSelectThreads>(block + 1, keep, [&](int i) { return orderedKey(scores[i]); },
                                        job.chosen + slot * job.stride);
    if (threadIdx.x == 0) job.chosenCount[slot] = keep;
    __syncthreads();  // the select's shared scratch is reused by the next block
  }
}

}  // namespace

template <typename T, int D>
std::string selectSparseBlocks(const BlockSelectJob<T>& job) {
  if (job.numHeads == 0) return "";
  const int N = job.seqLen, numBlocks = (N + kTileRows - 1) / kTileRows;
  poolKernel<T, D, false><<<dim3(numBlocks, job.numHeads), D>>>(job.q, N, job.heads, job.pooledQ);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  poolKernel<T, D, true><<<dim3(numBlocks, job.numKvHeads), D>>>(job.k, N, nullptr, job.pooledK);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());

  constexpr int kSharedQueryBlocks = 8;
  const size_t sharedBytes = size_t(kSharedQueryBlocks) * numBlocks * sizeof(float);
  const int forced = forcedSlabGroups();
  if (sharedBytes <= kScoreBytes && forced == 0) {
    SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(chooseBlocksKernel<T, D, kSharedQueryBlocks>,
                                              cudaFuncAttributeMaxDynamicSharedMemorySize, int(sharedBytes)));
    const dim3 grid((numBlocks + kSharedQueryBlocks - 1) / kSharedQueryBlocks, job.numHeads);
    chooseBlocksKernel<T, D, kSharedQueryBlocks><<<grid, kSelectThreads, sharedBytes>>>(job, numBlocks, 0, nullptr);
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
    return "";
  }
  // Slabs of thread blocks (of every listed head) whose score rows fill at most kScratchBytes.
  const int groupsPerHead = (numBlocks + kWideQueryBlocks - 1) / kWideQueryBlocks;
  const size_t groupBytes = size_t(kWideQueryBlocks) * numBlocks * sizeof(float) * job.numHeads;
  const int slabGroups = std::min(groupsPerHead, forced ? forced : int(std::max<size_t>(1, kScratchBytes / groupBytes)));
  DeviceBuffer<float> scratch;
  SPARSESCOPE_TRY(scratch.allocate(size_t(slabGroups) * job.numHeads * kWideQueryBlocks * numBlocks, "Block-Sparse score scratch"));
  for (int first = 0; first < groupsPerHead; first += slabGroups) {
    const dim3 grid(std::min(slabGroups, groupsPerHead - first), job.numHeads);
    chooseBlocksKernel<T, D, kWideQueryBlocks><<<grid, kSelectThreads>>>(job, numBlocks, first * kWideQueryBlocks, scratch.get());
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  }
  return "";
}

// Every element type and head dim of withHeadDim (CudaHeadDims).
template std::string selectSparseBlocks<__half, 64>(const BlockSelectJob<__half>&);
template std::string selectSparseBlocks<__half, 96>(const BlockSelectJob<__half>&);
template std::string selectSparseBlocks<__half, 128>(const BlockSelectJob<__half>&);
template std::string selectSparseBlocks<__nv_bfloat16, 64>(const BlockSelectJob<__nv_bfloat16>&);
template std::string selectSparseBlocks<__nv_bfloat16, 96>(const BlockSelectJob<__nv_bfloat16>&);
template std::string selectSparseBlocks<__nv_bfloat16, 128>(const BlockSelectJob<__nv_bfloat16>&);

}  // namespace sparsescope::cuda
