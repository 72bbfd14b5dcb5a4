// Helpers for hot loops that the compiler vectorises in a portable build.
#pragma once
#include <bit>
#include <cstdint>

// Hot kernels get an AVX2+FMA clone next to the portable one; the loader picks at run time
// (GCC/Clang function multiversioning), so the module runs on any x86-64 CI machine.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SPARSESCOPE_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SPARSESCOPE_HOT
#endif

namespace sparsescope {

// 2^x for x <= 0 (scores minus their row max), relative error ~1e-7; exactly 0 below -126 and
// for -inf (masked entries). Branch-free so loops over it vectorise, unlike std::exp2.
inline float fastExp2(float x) {
  const bool underflow = x < -126.0f;
  const float clamped = underflow ? -126.0f : x;
  const float rounded = (clamped + 12582912.0f) - 12582912.0f;  // round to nearest integer
  const float f = clamped - rounded;                            // in [-0.5, 0.5]
  // Taylor series of 2^f = e^(f ln 2) to degree 7: error < 1e-8 on [-0.5, 0.5].
  float p = 1.5252734e-5f;
  p = p * f + 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const int32_t exponentBits = (int32_t(rounded) + 127) << 23;
  const float scaled = p * std::bit_cast<float>(exponentBits);
  return underflow ? 0.0f : scaled;
}

}  // namespace sparsescope
