// Shared pieces of the CUDA backend: error handling that returns messages instead of aborting,
// RAII device buffers, device-event timing, element-type traits, and the warp-level tensor-core
// primitives (ldmatrix, mma.sync m16n8k16, cp.async) the kernels are built from (sm_80+).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "attention_inputs.h"
#include "call_context.h"
#include "cuda_backend.h"

namespace sparsescope::cuda {

// ---------------------------------------------------------------- host side: errors and memory

inline std::string describe(const char* what, cudaError_t error) {
  if (error == cudaErrorMemoryAllocation) return std::string("CUDA out of memory (") + what + ")";
  return std::string("CUDA error in ") + what + ": " + cudaGetErrorString(error);
}

// Early-returns the message of a failed CUDA call from a function returning std::string.
#define SPARSESCOPE_CUDA_TRY(...)                                                    \
  do {                                                                               \
    const cudaError_t status_ = (__VA_ARGS__);                                            \
    if (status_ != cudaSuccess) return ::sparsescope::cuda::describe(#__VA_ARGS__, status_); \
  } while (0)

// Early-returns a non-empty message.
#define SPARSESCOPE_TRY(...)                      \
  do {                                            \
    std::string message_ = (__VA_ARGS__);                \
    if (!message_.empty()) return message_;       \
  } while (0)

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }

  std::string allocate(size_t count, const char* what) {
    release();
    count_ = count;
    if (count == 0) return "";
    const cudaError_t error = cudaMalloc(&data_, count * sizeof(T));
    if (error != cudaSuccess) {
      data_ = nullptr;
      cudaGetLastError();  // clear the sticky-free allocation error
      return describe(what, error);
    }
    return "";
  }
  std::string upload(const void* host, size_t count, const char* what) {
    SPARSESCOPE_TRY(allocate(count, what));
    if (count) SPARSESCOPE_CUDA_TRY(cudaMemcpy(data_, host, count * sizeof(T), cudaMemcpyHostToDevice));
    return "";
  }
  // The tensor on the device: `resident`, a copy already there (borrowed, never freed here), else
  // an upload of `host`.
  std::string upload(const void* host, const void* resident, size_t count, const char* what) {
    if (resident == nullptr) return upload(host, count, what);
    release();
    data_ = static_cast<T*>(const_cast<void*>(resident));
    count_ = count;
    owned_ = false;
    return "";
  }
  std::string download(void* host, size_t count) const {
    if (count) SPARSESCOPE_CUDA_TRY(cudaMemcpy(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return "";
  }
  T* get() const { return data_; }
  size_t size() const { return count_; }
  void swap(DeviceBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    std::swap(owned_, other.owned_);
  }

 private:
  void release() {
    if (owned_) cudaFree(data_);
    data_ = nullptr;
    owned_ = true;
  }

  T* data_ = nullptr;
  size_t count_ = 0;
  bool owned_ = true;
};

// Device-event stopwatch; `stop` records the elapsed time for cudaTakeDeviceMs().
class DeviceTimer {
 public:
  DeviceTimer() {
    cudaEventCreate(&begin_);
    cudaEventCreate(&end_);
    cudaEventRecord(begin_);
  }
  ~DeviceTimer() {
    cudaEventDestroy(begin_);
    cudaEventDestroy(end_);
  }
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;
  // Waits for the device, so it also surfaces asynchronous kernel faults.
  std::string stop();

 private:
  cudaEvent_t begin_ = nullptr, end_ = nullptr;
};

// Moves `output` (a dense output of `rows` on the resident's tensors) into the resident, for
// cudaCopyKeptDense; `output` gets what was kept before.
void keepDenseOutput(const ResidentInputs& resident, const RowSelection& rows, DeviceBuffer<float>& output);

// Sets what cudaTakeDeviceMs() reports on this thread (DeviceTimer::stop does it too).
void recordDeviceMs(double ms);

// Selects device 0 and fails with a clear message when there is none.
std::string useDevice();

// Validates the shape fields every op shares (the binding validates buffer sizes).
std::string checkShape(const AttentionInputs& inputs);

// The first message of a cancelled check, for loops over launches.
inline std::string cancelledOrEmpty(const CallContext& ctx) { return ctx.cancelled() ? kCancelled : ""; }

// ---------------------------------------------------------------- element types

template <typename T>
struct ElementTraits;
template <>
struct ElementTraits<__half> {
  __device__ static uint32_t pack(float lo, float hi) {
    __half2 value = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&value);
  }
  __device__ static float toFloat(__half value) { return __half2float(value); }
};
template <>
struct ElementTraits<__nv_bfloat16> {
  __device__ static uint32_t pack(float lo, float hi) {
    __nv_bfloat162 value = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&value);
  }
  __device__ static float toFloat(__nv_bfloat16 value) { return __bfloat162float(value); }
};

// Calls `body.template operator()<T>()` with the CUDA element type of `dtype`.
template <typename Body>
std::string withElementType(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::F16:
      return body.template operator()<__half>();
    case DType::BF16:
      return body.template operator()<__nv_bfloat16>();
    case DType::F32:
      break;
  }
  return "the CUDA backend computes F16 and BF16 inputs only (this capture is F32): use the CPU backend";
}

// Calls `body.template operator()<D>()` with the head dim if it is one of kDims.
template <typename Body, int... kDims>
std::string withHeadDimOf(std::integer_sequence<int, kDims...>, int headDim, Body& body) {
  std::string result;
  if (((headDim == kDims && (result = body.template operator()<kDims>(), true)) || ...)) return result;
  std::string list;
  ((list += (list.empty() ? "" : ", ") + std::to_string(kDims)), ...);
  return "the CUDA backend supports head_dim " + list + ", not " + std::to_string(headDim);
}

// Calls `body.template operator()<D>()` with the head dim if it is one of CudaHeadDims.
template <typename Body>
std::string withHeadDim(int headDim, Body&& body) {
  return withHeadDimOf(CudaHeadDims{}, headDim, body);
}

// ---------------------------------------------------------------- warp-level primitives

// Shared-memory tiles are [64 rows][D] of 2-byte elements stored as D / kSwizzleColumns<D> column
// blocks of [64 rows][kSwizzleColumns<D>] whose rows are XOR-swizzled in 16-byte pieces:
// conflict-free for ldmatrix, and exactly the layout Hopper's wgmma reads through a shared-memory
// descriptor and the tensor copy engine writes (tile base 1024-byte aligned). The swizzle is
// 128-byte (64-element rows) where D is a multiple of 64, else 64-byte (32-element rows, D = 96),
// the widest whose rows divide D.
template <int D>
inline constexpr int kSwizzleBytes = D % 64 == 0 ? 128 : 64;
template <int D>
inline constexpr int kSwizzleColumns = kSwizzleBytes<D> / 2;

// Element offset of 16-byte piece `chunk` (elements 8 chunk .. 8 chunk + 7) of row `row` in a
// tile of kRows rows (64, or 128 for the Hopper kernel's two-tile stages). As the hardware does,
// the piece index within its column-block row is XORed with the index of the row's 128-byte
// line, modulo the pieces per row (a pattern repeating every 1 KiB or 512 B).
template <int D, int kRows = kBlock>
__device__ __forceinline__ int swizzledOffset(int row, int chunk) {
  static_assert(D % 32 == 0, "tiles are made of 32- or 64-element column blocks");
  constexpr int kPieces = kSwizzleBytes<D> / 16;  // pieces per row of a column block: 8 or 4
  const int line = row * kSwizzleBytes<D> / 128;
  return (chunk / kPieces) * (kRows * kSwizzleColumns<D>) + row * kSwizzleColumns<D> +
         (((chunk % kPieces) ^ (line % kPieces)) << 3);
}

__device__ __forceinline__ uint32_t sharedAddress(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16-byte asynchronous global->shared copy; `valid` false writes zeros (no global read).
__device__ __forceinline__ void copyAsync16(void* shared, const void* global, bool valid) {
  const int sourceBytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sharedAddress(shared)), "l"(global),
               "r"(sourceBytes));
}
__device__ __forceinline__ void copyAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int Pending>
__device__ __forceinline__ void copyAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
}

__device__ __forceinline__ void loadMatrixX4(uint32_t (&r)[4], const void* shared) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(shared)));
}
__device__ __forceinline__ void loadMatrixX4Transposed(uint32_t (&r)[4], const void* shared) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(shared)));
}

// c += a(16x16, row) * b(16x8, col), fp32 accumulation.
template <typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

}  // namespace sparsescope::cuda
