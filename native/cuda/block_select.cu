// Block-Sparse block choice for all block_sparse heads of a layer: mean-pool Q and K over 64-row
// blocks (fp64, fixed order), score the causal key blocks of each query block by the pooled dot
// product and keep the top_k (diagonal forced) with the shared radix select.
#include "index_build.cuh"
#include "select_topk.cuh"

namespace sparsescope::cuda {

namespace {

constexpr int kSelectThreads = 256;

// pooled[listed][block][d] = mean over the block's rows of tensor[heads[listed]][row][d], in fp64
// and row order like the CPU builder, so both choose the same blocks.
template <typename T, int D>
__global__ void poolKernel(const T* tensor, int seqLen, const int32_t* heads, double* pooled) {
  const int block = blockIdx.x, listed = blockIdx.y, d = threadIdx.x;
  const int head = heads ? heads[listed] : listed;
  const int begin = block * kTileRows, end = min(begin + kTileRows, seqLen);
  const T* rows = tensor + size_t(head) * seqLen * D;
  double sum = 0.0;
  for (int row = begin; row < end; ++row) sum = __dadd_rn(sum, double(ElementTraits<T>::toFloat(rows[size_t(row) * D + d])));
  pooled[(size_t(listed) * gridDim.x + block) * D + d] = sum / double(end - begin);
}

template <typename T, int D>
__global__ void __launch_bounds__(kSelectThreads) chooseBlocksKernel(const BlockSelectJob<T> job, int numBlocks) {
  extern __shared__ float blockScores[];  // [numBlocks]
  const int block = blockIdx.x, listed = blockIdx.y;
  const int kvHead = job.heads[listed] / job.groupSize;
  const double* query = job.pooledQ + (size_t(listed) * numBlocks + block) * D;
  for (int keyBlock = threadIdx.x; keyBlock <= block; keyBlock += kSelectThreads) {
    const double* key = job.pooledK + (size_t(kvHead) * numBlocks + keyBlock) * D;
    double dot = 0.0;  // unfused, in order: the CPU's rounding
    for (int d = 0; d < D; ++d) dot = __dadd_rn(dot, __dmul_rn(query[d], key[d]));
    blockScores[keyBlock] = keyBlock == block ? INFINITY : __double2float_rn(dot);
  }
  __syncthreads();
  const int keep = min(job.topK[listed], block + 1);
  const size_t slot = size_t(listed) * numBlocks + block;
  selectTopKAscending<kSelectThreads>(block + 1, keep, [&](int i) { return orderedKey(blockScores[i]); },
                                      job.chosen + slot * job.stride);
  if (threadIdx.x == 0) job.chosenCount[slot] = keep;
}

}  // namespace

template <typename T, int D>
std::string selectSparseBlocks(const BlockSelectJob<T>& job) {
  if (job.numHeads == 0) return "";
  const int N = job.seqLen, numBlocks = (N + kTileRows - 1) / kTileRows;
  poolKernel<T, D><<<dim3(numBlocks, job.numHeads), D>>>(job.q, N, job.heads, job.pooledQ);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  poolKernel<T, D><<<dim3(numBlocks, job.numKvHeads), D>>>(job.k, N, nullptr, job.pooledK);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());

  const size_t sharedBytes = size_t(numBlocks) * sizeof(float);
  SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(chooseBlocksKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            int(sharedBytes)));
  chooseBlocksKernel<T, D><<<dim3(numBlocks, job.numHeads), kSelectThreads, sharedBytes>>>(job, numBlocks);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  return "";
}

template std::string selectSparseBlocks<__half, 64>(const BlockSelectJob<__half>&);
template std::string selectSparseBlocks<__half, 128>(const BlockSelectJob<__half>&);
template std::string selectSparseBlocks<__nv_bfloat16, 64>(const BlockSelectJob<__nv_bfloat16>&);
template std::string selectSparseBlocks<__nv_bfloat16, 128>(const BlockSelectJob<__nv_bfloat16>&);

}  // namespace sparsescope::cuda
