// Element types of capture tensors and their conversion to fp32 (all compute is fp32).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sparsescope {

enum class DType : int32_t { F32 = 0, F16 = 1, BF16 = 2 };

inline size_t bytesPerElement(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

inline float bf16ToFloat(uint16_t bits) {
  const uint32_t widened = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

// IEEE half to float without relying on F16C (portable build; the compiler vectorises the loop).
inline float f16ToFloat(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  uint32_t result;
  if (exponent == 0x1f) {
    result = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
  } else if (exponent != 0) {
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    result = sign;
  } else {
    // Subnormal half: value = mantissa * 2^-24, exact in float.
    float magnitude = float(mantissa) * 5.9604644775390625e-8f;
    std::memcpy(&result, &magnitude, sizeof result);
    result |= sign;
  }
  float value;
  std::memcpy(&value, &result, sizeof value);
  return value;
}

// Converts `count` elements starting at element `offset` of a raw tensor into fp32.
inline void toFloat(DType dtype, const void* base, size_t offset, size_t count, float* dst) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, static_cast<const float*>(base) + offset, count * sizeof(float));
      return;
    case DType::BF16: {
      const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
      for (size_t i = 0; i < count; ++i) dst[i] = bf16ToFloat(src[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
      for (size_t i = 0; i < count; ++i) dst[i] = f16ToFloat(src[i]);
      return;
    }
  }
}

}  // namespace sparsescope
