// Hopper (sm_90a) warpgroup MMA, used by the attention kernel's Hopper path: wgmma with A in
// registers (the same fragments as mma.sync) and B in shared memory in the swizzled layout of
// swizzledOffset() (128-byte, or 64-byte at D = 96). Compiled only for sm_90a (other targets get a
// trap that the host never reaches: it probes the loaded code first, see hopperPathAvailable()).
#pragma once
#include "tile_mma.cuh"

namespace sparsescope::cuda {

// Shared-memory matrix descriptor of a tile in the layout of swizzledOffset<D>: start address,
// leading and stride byte offsets, and the swizzle mode (1: 128-byte, 2: 64-byte).
template <int D>
__device__ __forceinline__ uint64_t wgmmaDescriptor(const void* shared, uint32_t leadingBytes, uint32_t strideBytes) {
  constexpr uint64_t kSwizzleMode = kSwizzleBytes<D> == 128 ? 1 : 2;
  const uint64_t address = sharedAddress(shared);
  return ((address & 0x3ffff) >> 4) | (uint64_t((leadingBytes >> 4) & 0x3fff) << 16) |
         (uint64_t((strideBytes >> 4) & 0x3fff) << 32) | (kSwizzleMode << 62);
}

__device__ __forceinline__ void wgmmaFence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmmaCommit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most `Pending` committed wgmma groups of this warpgroup are still running.
template <int Pending>
__device__ __forceinline__ void wgmmaWait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
#endif
}
// Orders this thread's earlier shared-memory writes (cp.async included) before later reads by
// the tensor cores' async proxy; follow with a barrier.
__device__ __forceinline__ void asyncProxyFence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Makes the compiler treat registers an asynchronous wgmma reads or writes (fp32 accumulators or
// packed 16-bit operands) as used right here.
template <typename Value, int Rows, int Cols>
__device__ __forceinline__ void keepRegisters(Value (&values)[Rows][Cols]) {
  static_assert(std::is_same_v<Value, float> || std::is_same_v<Value, uint32_t>);
#pragma unroll
  for (int r = 0; r < Rows; ++r)
#pragma unroll
    for (int c = 0; c < Cols; ++c) {
      if constexpr (std::is_same_v<Value, float>) asm volatile("" : "+f"(values[r][c])::"memory");
      else asm volatile("" : "+r"(values[r][c])::"memory");
    }
}

// d (m64 x nN, fp32, the mma.sync C layout per warp: d[nt][e]) = (accumulate ? d : 0) + a (registers,
// this warp's 16 rows x k16, the mma.sync A layout) * B (k16 x nN, shared memory through `descriptor`).
// One asm statement per shape and element type; the macros below spell out its operands: the N / 2
// accumulators (%0 ...), A (4 registers), the descriptor, the accumulate flag (as predicate p) and
// the transpose immediate.
#define SPARSESCOPE_WGMMA_D(i) "+f"(d[i][0]), "+f"(d[i][1]), "+f"(d[i][2]), "+f"(d[i][3])
#define SPARSESCOPE_WGMMA(N, TYPE, FLAG, TAIL, REGISTERS, ...)                                                 \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " FLAG ", 0;\n"                                                \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TYPE "." TYPE " " REGISTERS ", " TAIL ";\n}\n" \
               : __VA_ARGS__                                                                                   \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descriptor), "r"(accumulate), "n"(kTransposeB))
#define SPARSESCOPE_WGMMA_N64(TYPE) \
  SPARSESCOPE_WGMMA(64, TYPE, "%37", "{%32, %33, %34, %35}, %36, p, 1, 1, %38", \
                    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}", \
                    SPARSESCOPE_WGMMA_D(0), SPARSESCOPE_WGMMA_D(1), SPARSESCOPE_WGMMA_D(2), SPARSESCOPE_WGMMA_D(3), SPARSESCOPE_WGMMA_D(4), SPARSESCOPE_WGMMA_D(5), SPARSESCOPE_WGMMA_D(6), SPARSESCOPE_WGMMA_D(7))
#define SPARSESCOPE_WGMMA_N96(TYPE) \
  SPARSESCOPE_WGMMA(96, TYPE, "%53", "{%48, %49, %50, %51}, %52, p, 1, 1, %54", \
                    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47}", \
                    SPARSESCOPE_WGMMA_D(0), SPARSESCOPE_WGMMA_D(1), SPARSESCOPE_WGMMA_D(2), SPARSESCOPE_WGMMA_D(3), SPARSESCOPE_WGMMA_D(4), SPARSESCOPE_WGMMA_D(5), SPARSESCOPE_WGMMA_D(6), SPARSESCOPE_WGMMA_D(7), SPARSESCOPE_WGMMA_D(8), SPARSESCOPE_WGMMA_D(9), SPARSESCOPE_WGMMA_D(10), SPARSESCOPE_WGMMA_D(11))
#define SPARSESCOPE_WGMMA_N128(TYPE) \
  SPARSESCOPE_WGMMA(128, TYPE, "%69", "{%64, %65, %66, %67}, %68, p, 1, 1, %70", \
                    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}", \
                    SPARSESCOPE_WGMMA_D(0), SPARSESCOPE_WGMMA_D(1), SPARSESCOPE_WGMMA_D(2), SPARSESCOPE_WGMMA_D(3), SPARSESCOPE_WGMMA_D(4), SPARSESCOPE_WGMMA_D(5), SPARSESCOPE_WGMMA_D(6), SPARSESCOPE_WGMMA_D(7), SPARSESCOPE_WGMMA_D(8), SPARSESCOPE_WGMMA_D(9), SPARSESCOPE_WGMMA_D(10), SPARSESCOPE_WGMMA_D(11), SPARSESCOPE_WGMMA_D(12), SPARSESCOPE_WGMMA_D(13), SPARSESCOPE_WGMMA_D(14), SPARSESCOPE_WGMMA_D(15))

template <typename T, int N, int kTransposeB>
__device__ __forceinline__ void wgmmaM64K16(float (&d)[N / 8][4], const uint32_t (&a)[4], uint64_t descriptor,
                                            int accumulate = 1) {
  static_assert(N == 64 || N == 96 || N == 128, "wgmma shapes used: n64 or n128 (scores), n = D (P x V)");
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr bool kHalf = std::is_same_v<T, __half>;
  if constexpr (N == 64) {
    if constexpr (kHalf) SPARSESCOPE_WGMMA_N64("f16");
    else SPARSESCOPE_WGMMA_N64("bf16");
  } else if constexpr (N == 96) {
    if constexpr (kHalf) SPARSESCOPE_WGMMA_N96("f16");
    else SPARSESCOPE_WGMMA_N96("bf16");
  } else {
    if constexpr (kHalf) SPARSESCOPE_WGMMA_N128("f16");
    else SPARSESCOPE_WGMMA_N128("bf16");
  }
#else
  __trap();  // only called where the sm_90a probe passed
#endif
}
#undef SPARSESCOPE_WGMMA_N64
#undef SPARSESCOPE_WGMMA_N96
#undef SPARSESCOPE_WGMMA_N128
#undef SPARSESCOPE_WGMMA
#undef SPARSESCOPE_WGMMA_D

// Issues scores = q (registers) x keyTile^T (shared) for the warpgroup's 64 rows and the tile's
// kKeys keys (64 or 128: one n64 or n128 product per 16 dims), in the C layout of scoreTile
// (tile_mma.cuh) extended to kKeys columns; the tile's column blocks hold kBlockRows rows. The
// caller commits and waits.
template <typename T, int D, int kKeys = kTileRows, int kBlockRows = kTileRows>
__device__ __forceinline__ void issueScoresHopper(float (&scores)[kKeys / 8][4], const QueryFragments<D>& q,
                                                  const T* keyTile) {
  static_assert(kKeys <= kBlockRows);
  // K-major keys: a 16-dim step is 32 bytes into the rows of its column block; 8-row groups are
  // 8 swizzled rows apart.
  constexpr int kStepsPerBlock = kSwizzleColumns<D> / 16;
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
    wgmmaM64K16<T, kKeys, 0>(scores, q.a[kk],
                             wgmmaDescriptor<D>(keyTile + (kk / kStepsPerBlock) * kBlockRows * kSwizzleColumns<D> +
                                                    (kk % kStepsPerBlock) * 16,
                                                16, 8 * kSwizzleBytes<D>),
                             kk > 0);
}

// Issues out += probabilities (packed A fragments of kSteps 16-key steps, packProbabilities) x
// valueTile (shared, the first 16 kSteps rows of a tile whose column blocks hold kBlockRows rows);
// the caller commits and waits, and keeps `probabilities` unchanged until then.
template <typename T, int D, int kSteps, int kBlockRows>
__device__ __forceinline__ void issueValuesHopper(float (&out)[D / 8][4], const uint32_t (&probabilities)[kSteps][4],
                                                  const T* valueTile) {
  static_assert(16 * kSteps <= kBlockRows);
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    // MN-major values: 16 keys are 16 rows of every column block; the leading offset steps from
    // one column block to the next, the stride from one 8-row group to the next.
    const uint64_t descriptor = wgmmaDescriptor<D>(valueTile + kk * 16 * kSwizzleColumns<D>,
                                                   kBlockRows * kSwizzleBytes<D>, 8 * kSwizzleBytes<D>);
    wgmmaM64K16<T, D, 1>(out, probabilities[kk], descriptor);
  }
}

// Hopper version of scoreTile (tile_mma.cuh): same operands, same C layout.
template <typename T, int D>
__device__ __forceinline__ void scoreTileHopper(float (&scores)[8][4], const QueryFragments<D>& q, const T* keyTile) {
  issueScoresHopper<T, D>(scores, q, keyTile);
  wgmmaCommit();
  wgmmaWait<0>();
  keepRegisters(scores);
}

}  // namespace sparsescope::cuda
