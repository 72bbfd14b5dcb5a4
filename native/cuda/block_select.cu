// Block-Sparse block choice for all block_sparse heads of a layer: mean-pool Q and K over 64-row
// blocks (fp64, fixed order), score the causal key blocks of each query block by the pooled dot
// product and keep the top_k (diagonal forced) with the shared radix select. A thread block
// scores kQueryBlocks query blocks at once (8 where their scores fit in shared memory) against
// pooled keys stored dimension-major, so each coalesced key load feeds kQueryBlocks dot products.
#include "index_build.cuh"
#include "select_topk.cuh"

namespace sparsescope::cuda {

namespace {

constexpr int kSelectThreads = 256;
constexpr int kScoreBytes = 160 * 1024;  // shared memory for the scores of a thread block's query blocks

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

template <typename T, int D, int kQueryBlocks>
__global__ void __launch_bounds__(kSelectThreads) chooseBlocksKernel(const BlockSelectJob<T> job, int numBlocks) {
  extern __shared__ float blockScores[];  // [kQueryBlocks][numBlocks]
  __shared__ double queries[kQueryBlocks][D];
  const int firstBlock = blockIdx.x * kQueryBlocks, listed = blockIdx.y;
  const int lastBlock = min(firstBlock + kQueryBlocks, numBlocks) - 1;
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

  auto choose = [&]<int kQueryBlocks>() -> std::string {
    const size_t sharedBytes = size_t(kQueryBlocks) * numBlocks * sizeof(float);
    SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(chooseBlocksKernel<T, D, kQueryBlocks>,
                                              cudaFuncAttributeMaxDynamicSharedMemorySize, int(sharedBytes)));
    const dim3 grid((numBlocks + kQueryBlocks - 1) / kQueryBlocks, job.numHeads);
    chooseBlocksKernel<T, D, kQueryBlocks><<<grid, kSelectThreads, sharedBytes>>>(job, numBlocks);
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
    return "";
  };
  if (size_t(numBlocks) * sizeof(float) > kScoreBytes) return "Block-Sparse selection supports up to " + std::to_string(kScoreBytes / sizeof(float) * kTileRows) + " tokens";
  SPARSESCOPE_TRY(8 * numBlocks * sizeof(float) <= kScoreBytes ? choose.template operator()<8>() : choose.template operator()<1>());
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
