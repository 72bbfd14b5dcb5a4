// Helpers for hot loops, written with GCC/Clang vector extensions so they compile to AVX2 in the
// x86-64-v3 clone of a hot kernel and to pairs of SSE2 operations in the portable one.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

// Hot kernels get an AVX2+FMA clone next to the portable one; the loader picks at run time
// (function multiversioning), so the module runs on any x86-64 CI machine.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SPARSESCOPE_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SPARSESCOPE_HOT
#endif

namespace sparsescope {

typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));

inline f32x8 load8(const float* source) {
  f32x8 value;
  std::memcpy(&value, source, sizeof value);
  return value;
}
inline void store8(float* target, f32x8 value) { std::memcpy(target, &value, sizeof value); }
// Written as a shuffle of lane 0 so it compiles to one broadcast (the vector constructor and
// `vector + scalar` both compile to longer sequences in GCC 12).
inline f32x8 splat8(float value) {
  const f32x8 lane0 = {value};
  return __builtin_shufflevector(lane0, lane0, 0, 0, 0, 0, 0, 0, 0, 0);
}

inline int32_t truncateToInt(float value) { return int32_t(value); }
inline i32x8 truncateToInt(f32x8 value) { return __builtin_convertvector(value, i32x8); }
inline float floatFromBits(int32_t bits) { return std::bit_cast<float>(bits); }
inline f32x8 floatFromBits(i32x8 bits) { return std::bit_cast<f32x8>(bits); }

// 2^x for x <= 0 (scores minus their row max), relative error ~1e-7; exactly 0 below -126 and for
// -inf (masked entries). Branch-free, for float or f32x8, unlike std::exp2 which does not vectorise.
template <class Float>
inline Float fastExp2(Float x) {
  const auto underflow = x < -126.0f;
  const Float zero{};
  const Float clamped = underflow ? zero - 126.0f : x;
  const Float rounded = (clamped + 12582912.0f) - 12582912.0f;  // round to nearest integer
  const Float f = clamped - rounded;                            // in [-0.5, 0.5]
  // Taylor series of 2^f = e^(f ln 2) to degree 7: error < 1e-8 on [-0.5, 0.5].
  Float p = zero + 1.5252734e-5f;
  p = p * f + 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  const Float scaled = p * floatFromBits((truncateToInt(rounded) + 127) << 23);
  return underflow ? zero + 0.0f : scaled;
}

}  // namespace sparsescope
