// Hopper (sm_90a) warpgroup MMA, used by the attention kernel's Hopper path: wgmma with A in
// registers (the same fragments as mma.sync) and B in shared memory in the 128-byte-swizzled
// layout of swizzledOffset(). Compiled only for sm_90a (other targets get a trap that the host
// never reaches: it probes the loaded code first, see hopperPathAvailable()).
#pragma once
#include "tile_mma.cuh"

namespace sparsescope::cuda {

// Shared-memory matrix descriptor, 128-byte swizzle: start address, leading and stride byte offsets.
__device__ __forceinline__ uint64_t wgmmaDescriptor(const void* shared, uint32_t leadingBytes, uint32_t strideBytes) {
  const uint64_t address = sharedAddress(shared);
  return ((address & 0x3ffff) >> 4) | (uint64_t((leadingBytes >> 4) & 0x3fff) << 16) |
         (uint64_t((strideBytes >> 4) & 0x3fff) << 32) | (uint64_t(1) << 62);
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

// d (m64 x n64, fp32, the mma.sync C layout per warp: d[nt][e]) = (accumulate ? d : 0) + a (registers, this warp's 16 rows
// x k16, the mma.sync A layout) * B (k16 x n64, shared memory through `descriptor`).
template <typename T, int kTransposeB>
__device__ __forceinline__ void wgmmaM64N64K16(float (&d)[8][4], const uint32_t (&a)[4], uint64_t descriptor, int accumulate = 1) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
        "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
        : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descriptor), "r"(accumulate), "n"(kTransposeB));
  } else {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
        "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
        : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descriptor), "r"(accumulate), "n"(kTransposeB));
  }
#else
  __trap();  // only called where the sm_90a probe passed
#endif
}

// d (m64 x n128, fp32, the mma.sync C layout per warp: d[nt][e]) = (accumulate ? d : 0) + a (registers, this warp's 16 rows
// x k16, the mma.sync A layout) * B (k16 x n128, shared memory through `descriptor`).
template <typename T, int kTransposeB>
__device__ __forceinline__ void wgmmaM64N128K16(float (&d)[16][4], const uint32_t (&a)[4], uint64_t descriptor, int accumulate = 1) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
        : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descriptor), "r"(accumulate), "n"(kTransposeB));
  } else {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
        : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descriptor), "r"(accumulate), "n"(kTransposeB));
  }
#else
  __trap();  // only called where the sm_90a probe passed
#endif
}

// Issues scores = q (registers) x keyTile^T (shared) for the warpgroup's 64 rows and the tile's
// 64 keys, in the C layout of scoreTile (tile_mma.cuh); the caller commits and waits.
template <typename T, int D>
__device__ __forceinline__ void issueScoresHopper(float (&scores)[8][4], const QueryFragments<D>& q, const T* keyTile) {
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)  // K-major keys: 16 dims = 32 bytes into a 64-dim column block
    wgmmaM64N64K16<T, 0>(scores, q.a[kk], wgmmaDescriptor(keyTile + (kk / 4) * 64 * 64 + (kk % 4) * 16, 16, 1024),
                         kk > 0);
}

// Issues out += probabilities (packed A fragments, packProbabilities) x valueTile (shared, 64 x D);
// the caller commits and waits, and keeps `probabilities` unchanged until then.
template <typename T, int D>
__device__ __forceinline__ void issueValuesHopper(float (&out)[D / 8][4], const uint32_t (&probabilities)[4][4],
                                                  const T* valueTile) {
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
    // MN-major values: 16 keys = 16 rows of 128 bytes; column blocks of 64 dims are 8 KiB apart.
    const uint64_t descriptor = wgmmaDescriptor(valueTile + kk * 16 * 64, 64 * 64 * 2, 1024);
    if constexpr (D == 128) wgmmaM64N128K16<T, 1>(out, probabilities[kk], descriptor);
    else wgmmaM64N64K16<T, 1>(out, probabilities[kk], descriptor);
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
