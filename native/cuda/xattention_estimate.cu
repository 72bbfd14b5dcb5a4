// XAttention's antidiagonal block masses on the GPU (the CPU twin: ops/xattention_index.cpp, whose
// header defines them), then the CPU's own xattentionKeepRow on the downloaded mass rows.
//   One CTA owns whole method blocks of group rows (64 / (B/S) blocks when a block has at most 64
//   groups, else one block, in tiles of 64 group rows) and so owns their rows of the mass matrix:
//   no atomics, a fixed summation order. Per 64 x 64 tile of (query group, key group) pairs the
//   antidiagonal score is the sum over t < S of the products of the tile's query rows rS + S-1-t
//   and key rows cS + t (tensor cores, fp32 accumulation). Pass 1 takes each group row's softmax
//   maximum and sum over c <= r; pass 2 recomputes the scores, writes the fp32 probabilities
//   exp(x - max) / sum to shared memory and sums them in fp64 per (row, key block), then per
//   (query block, key block), adding to the block masses.
// Differences from the CPU: the products are summed by the tensor cores in their own order and the
// softmax uses exp2f with a folded log2(e) (the CPU sums each dot product sequentially and calls
// expf), so probabilities differ in the last fp32 bits (relative ~1e-6) and the fp64 block sums by
// as much. Masses are compared, never their bits: a block whose mass is within that of another
// (the descending order), or a cumulative mass within that of tau times the row's total (the stop),
// may be chosen differently. tools/gpu-tests.js checks the masses against float64 (relative 1e-5)
// and accepts an index that differs from the CPU's only where the GPU's choice is right for the
// float64 masses up to such near-ties (1e-5 of the row's total mass).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include "index_build.cuh"
#include "ops/xattention_index.h"
#include "thread_pool.h"

namespace sparsescope::cuda {

namespace {

constexpr int kMaxSegments = kTileRows;  // key blocks crossing a 64-group tile (at most 64)

template <typename T>
struct MassArgs {
  const T* q = nullptr;  // the head's [N, D] rows
  const T* k = nullptr;  // its KV head's
  int seqLen = 0, stride = 1;
  int groups = 0;          // R = ceil(N / S)
  int groupsPerBlock = 0;  // B / S
  int methodBlocks = 0;    // M
  int blocksPerCta = 0;
  int firstBlock = 0, slabBlocks = 0;  // the query blocks of this launch (a slab of whole CTAs)
  float scaleLog2 = 0;                 // log2(e) / (sqrt(D) S)
  double* masses = nullptr;            // the slab's rows: [slabBlocks][M], zeroed before
};

template <typename T, int D>
struct MassShared {
  T queryTile[kTileRows * D];
  T keyTile[kTileRows * D];
  float probabilities[kTileRows][kTileRows + 1];
  double rowSegments[kTileRows][kMaxSegments];
};

// Antidiagonal scores (unscaled) of query groups g0 .. g0+63 against key groups c0 .. c0+63.
template <typename T, int D>
__device__ void antidiagonalScores(float (&scores)[8][4], MassShared<T, D>& shared, const MassArgs<T>& args,
                                   const T* q, const T* k, int g0, int c0) {
  const int N = args.seqLen, S = args.stride;
  zeroScores(scores);
  for (int t = 0; t < S; ++t) {
    loadTileAsync<T, D>(shared.queryTile, q, [&](int r) {
      const int row = (g0 + r) * S + S - 1 - t;
      return row < N ? row : -1;
    });
    loadTileAsync<T, D>(shared.keyTile, k, [&](int r) {
      const int row = (c0 + r) * S + t;
      return row < N ? row : -1;
    });
    copyAsyncCommit();
    copyAsyncWait<0>();
    __syncthreads();
    QueryFragments<D> queries;
    queries.load(shared.queryTile);
    accumulateScores<T, D>(scores, queries, shared.keyTile);
    __syncthreads();
  }
}

// Log2-unit scores of the tile with c <= r < rowEnd kept, the rest -inf.
template <typename T, int D>
__device__ void maskedAntidiagonalScores(float (&scores)[8][4], MassShared<T, D>& shared, const MassArgs<T>& args,
                                         const T* q, const T* k, int g0, int c0, int rowEnd) {
  antidiagonalScores<T, D>(scores, shared, args, q, k, g0, c0);
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int r = g0 + fragmentRow(e), c = c0 + fragmentColumn(nt, e);
      scores[nt][e] = r < rowEnd && c <= r ? scores[nt][e] * args.scaleLog2 : -INFINITY;
    }
}

// Adds the tile's probabilities (in shared memory) to the masses of the CTA's query blocks: fp64
// sums per (row, key block), then per (query block, key block) over the rows.
template <typename T, int D>
__device__ void addTileMasses(MassShared<T, D>& shared, const MassArgs<T>& args, double* masses, int g0, int c0,
                              int rowEnd) {
  const int gpb = args.groupsPerBlock, M = args.methodBlocks;
  const int firstKeyBlock = c0 / gpb, segments = (c0 + kTileRows - 1) / gpb - firstKeyBlock + 1;
  for (int task = threadIdx.x; task < kTileRows * segments; task += kThreads) {
    const int row = task / segments, segment = task % segments;
    const int begin = max(c0, (firstKeyBlock + segment) * gpb) - c0;
    const int end = min(c0 + kTileRows, (firstKeyBlock + segment + 1) * gpb) - c0;
    double sum = 0.0;
    for (int c = begin; c < end; ++c) sum += double(shared.probabilities[row][c]);
    shared.rowSegments[row][segment] = sum;
  }
  __syncthreads();
  const int rowsHere = min(g0 + kTileRows, rowEnd) - g0;
  const int firstQueryBlock = g0 / gpb, queryBlocks = (g0 + rowsHere - 1) / gpb - firstQueryBlock + 1;
  for (int task = threadIdx.x; task < queryBlocks * segments; task += kThreads) {
    const int m = firstQueryBlock + task / segments, n = firstKeyBlock + task % segments;
    if (n > m) continue;  // above the diagonal every probability is 0
    const int begin = max(g0, m * gpb) - g0, end = min(g0 + rowsHere, (m + 1) * gpb) - g0;
    double sum = 0.0;
    for (int row = begin; row < end; ++row) sum += shared.rowSegments[row][task % segments];
    masses[size_t(m - args.firstBlock) * M + n] += sum;
  }
  __syncthreads();
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) blockMassKernel(const MassArgs<T> args) {
  extern __shared__ __align__(128) unsigned char sharedBytes[];
  MassShared<T, D>& shared = *reinterpret_cast<MassShared<T, D>*>(sharedBytes);
  const T* q = args.q;
  const T* k = args.k;
  double* masses = args.masses;
  const int cta = gridDim.x - 1 - blockIdx.x;  // later rows (more keys) first
  const int firstBlock = args.firstBlock + cta * args.blocksPerCta;
  const int slabEnd = min(args.methodBlocks, args.firstBlock + args.slabBlocks);
  const int rowBegin = firstBlock * args.groupsPerBlock;
  const int rowEnd = min(args.groups, min(slabEnd, firstBlock + args.blocksPerCta) * args.groupsPerBlock);

  for (int g0 = rowBegin; g0 < rowEnd; g0 += kTileRows) {
    const int keyTiles = (min(g0 + kTileRows, rowEnd) - 1) / kTileRows + 1;
    RowStats stats;
    for (int kt = 0; kt < keyTiles; ++kt) {
      float scores[8][4];
      maskedAntidiagonalScores<T, D>(scores, shared, args, q, k, g0, kt * kTileRows, rowEnd);
      stats.add(scores);
    }
    stats.combineQuad();
    for (int kt = 0; kt < keyTiles; ++kt) {
      float scores[8][4];
      maskedAntidiagonalScores<T, D>(scores, shared, args, q, k, g0, kt * kTileRows, rowEnd);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int half = e / 2;
          const float p = scores[nt][e] == -INFINITY ? 0.f : exp2f(scores[nt][e] - stats.max[half]) / stats.sum[half];
          shared.probabilities[fragmentRow(e)][fragmentColumn(nt, e)] = p;
        }
      __syncthreads();
      addTileMasses<T, D>(shared, args, masses, g0, kt * kTileRows, rowEnd);
    }
  }
}

// The masses of one slab of one head into args.masses (zeroed by the caller).
template <typename T, int D>
std::string launchBlockMasses(const MassArgs<T>& args) {
  const int ctas = (args.slabBlocks + args.blocksPerCta - 1) / args.blocksPerCta;
  const int bytes = int(sizeof(MassShared<T, D>));
  SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(blockMassKernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  blockMassKernel<T, D><<<ctas, kThreads, bytes>>>(args);
  SPARSESCOPE_CUDA_TRY(cudaGetLastError());
  return "";
}

// The masses of query blocks [firstBlock, firstBlock + slabBlocks) of `head`.
template <typename T, int D>
MassArgs<T> massArgs(const MethodInputs<T>& inputs, int head, int stride, int blockSize, int firstBlock, int slabBlocks,
                     double* masses) {
  const AttentionInputs& host = inputs.host;
  MassArgs<T> args;
  args.q = inputs.q + host.rowOffset(head, 0);
  args.k = inputs.k + host.rowOffset(host.kvHeadOf(head), 0);
  args.seqLen = host.seqLen;
  args.stride = stride;
  args.groups = (args.seqLen + stride - 1) / stride;
  args.groupsPerBlock = blockSize / stride;
  args.methodBlocks = methodBlocks(args.seqLen, blockSize);
  args.blocksPerCta = args.groupsPerBlock <= kTileRows ? kTileRows / args.groupsPerBlock : 1;
  args.firstBlock = firstBlock;
  args.slabBlocks = slabBlocks;
  args.scaleLog2 = kLog2e / (std::sqrt(float(D)) * float(stride));
  args.masses = masses;
  return args;
}

// Rows of the mass matrix per launch: whole CTAs' blocks, at most kSlabBytes (at 1M tokens a head's
// M x M masses are 512 MiB; its choice needs one block row at a time).
constexpr size_t kSlabBytes = size_t(256) << 20;

struct Slab {
  int head = 0, firstBlock = 0, blocks = 0;
  size_t offset = 0;  // in the device and host buffers, doubles
};

// Block rows a slab may hold: kSlabBytes of masses, or SPARSESCOPE_XATTENTION_SLAB_BLOCKS when set
// (the GPU tests: several slabs a head at a few thousand tokens).
int slabBlockLimit(int M) {
  const char* forced = std::getenv("SPARSESCOPE_XATTENTION_SLAB_BLOCKS");
  if (forced != nullptr && *forced != '\0') return std::max(1, std::atoi(forced));
  return int(kSlabBytes / (size_t(M) * sizeof(double)));
}

// The (head, slab) launches in groups whose masses fit kSlabBytes together: many heads a group at
// 128K tokens (launches fill the device), one slab a group at 1M.
std::vector<std::vector<Slab>> slabGroups(const std::vector<int32_t>& heads, int M, int blocksPerCta) {
  const int slabBlocks = std::min(M, std::max(blocksPerCta, slabBlockLimit(M) / blocksPerCta * blocksPerCta));
  std::vector<std::vector<Slab>> groups(1);
  size_t used = 0;
  for (const int32_t head : heads)
    for (int first = 0; first < M; first += slabBlocks) {
      const int blocks = std::min(slabBlocks, M - first);
      const size_t doubles = size_t(blocks) * M;
      if (used > 0 && (used + doubles) * sizeof(double) > kSlabBytes) {
        groups.emplace_back();
        used = 0;
      }
      groups.back().push_back({head, first, blocks, used});
      used += doubles;
    }
  return groups;
}

}  // namespace

template <typename T, int D>
std::string xattentionHeads(const MethodInputs<T>& inputs, HeadPatternsView patterns, int blockSize,
                            const std::vector<int32_t>& heads, std::vector<HeadIndex>& out, MethodTimes* times,
                            const CallContext& ctx) {
  if (heads.empty()) return "";
  const int M = methodBlocks(inputs.host.seqLen, blockSize);
  const int blocksPerCta = massArgs<T, D>(inputs, heads[0], patterns.b(heads[0]), blockSize, 0, M, nullptr).blocksPerCta;
  const std::vector<std::vector<Slab>> groups = slabGroups(heads, M, blocksPerCta);
  size_t capacity = 0;
  for (const std::vector<Slab>& group : groups) capacity = std::max(capacity, group.back().offset + size_t(group.back().blocks) * M);
  DeviceBuffer<double> masses;
  SPARSESCOPE_TRY(masses.allocate(capacity, "xattention masses"));
  std::vector<double> hostMasses(capacity);
  std::vector<std::vector<std::vector<int32_t>>> kept(out.size());
  for (const int32_t head : heads) kept[size_t(head)].resize(size_t(M));
  for (const std::vector<Slab>& group : groups) {
    const size_t used = group.back().offset + size_t(group.back().blocks) * M;
    DeviceTimer timer;
    SPARSESCOPE_CUDA_TRY(cudaMemsetAsync(masses.get(), 0, used * sizeof(double)));
    for (const Slab& slab : group) {
      const int stride = patterns.b(slab.head);
      SPARSESCOPE_TRY(launchBlockMasses<T, D>(massArgs<T, D>(inputs, slab.head, stride, blockSize, slab.firstBlock, slab.blocks, masses.get() + slab.offset)));
    }
    SPARSESCOPE_TRY(timer.stop());
    times->deviceMs += cudaTakeDeviceMs();
    SPARSESCOPE_TRY(cancelledOrEmpty(ctx));
    SPARSESCOPE_TRY(masses.download(hostMasses.data(), used));
    // Each block row's choice on its own thread task: M rows of up to M sorted masses at 1M tokens.
    std::vector<std::pair<const Slab*, int>> rows;
    for (const Slab& slab : group)
      for (int i = 0; i < slab.blocks; ++i) rows.emplace_back(&slab, i);
    const auto start = std::chrono::steady_clock::now();
    const bool finished = parallelFor(
        int(rows.size()),
        [&](int r) {
          const auto [slab, i] = rows[size_t(r)];
          const int m = slab->firstBlock + i;
          const double* row = hostMasses.data() + slab->offset + size_t(i) * M;
          kept[size_t(slab->head)][size_t(m)] = xattentionKeepRow(row, m, patterns.a(slab->head));
        },
        ctx);
    times->hostMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!finished) return kCancelled;
  }
  for (const int32_t head : heads) out[size_t(head)] = headOfKeptBlocks(kept[size_t(head)], blockSize, inputs.host.seqLen);
  return "";
}

#define SPARSESCOPE_XATTENTION(T, D)                                                                                     \
  template std::string xattentionHeads<T, D>(const MethodInputs<T>&, HeadPatternsView, int, const std::vector<int32_t>&, \
                                             std::vector<HeadIndex>&, MethodTimes*, const CallContext&);
SPARSESCOPE_XATTENTION(__half, 64)
SPARSESCOPE_XATTENTION(__half, 96)
SPARSESCOPE_XATTENTION(__half, 128)
SPARSESCOPE_XATTENTION(__nv_bfloat16, 64)
SPARSESCOPE_XATTENTION(__nv_bfloat16, 96)
SPARSESCOPE_XATTENTION(__nv_bfloat16, 128)
#undef SPARSESCOPE_XATTENTION

}  // namespace sparsescope::cuda

namespace sparsescope {

std::string cudaXAttentionMasses(const AttentionInputs& inputs, int head, int stride, int blockSize, std::vector<double>* masses,
                                 const CallContext& ctx) {
  SPARSESCOPE_TRY(cuda::useDevice());
  SPARSESCOPE_TRY(cuda::checkShape(inputs));
  return cuda::withElementType(inputs.dtype, [&]<typename T>() {
    return cuda::withHeadDim(inputs.headDim, [&]<int D>() -> std::string {
      return cuda::onOneHead<T, D>(inputs, head, ctx, [&](const cuda::MethodInputs<T>& one) -> std::string {
        const int M = methodBlocks(inputs.seqLen, blockSize);
        cuda::DeviceBuffer<double> device;
        SPARSESCOPE_TRY(device.allocate(size_t(M) * M, "xattention masses"));
        cuda::DeviceTimer timer;
        SPARSESCOPE_CUDA_TRY(cudaMemsetAsync(device.get(), 0, device.size() * sizeof(double)));
        SPARSESCOPE_TRY(cuda::launchBlockMasses<T, D>(cuda::massArgs<T, D>(one, 0, stride, blockSize, 0, M, device.get())));
        SPARSESCOPE_TRY(timer.stop());
        masses->resize(device.size());
        return device.download(masses->data(), masses->size());
      });
    });
  });
}

}  // namespace sparsescope
