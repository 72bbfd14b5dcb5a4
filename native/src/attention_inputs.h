// One layer's (or one head's) Q/K/V as the ops see them: raw host bytes plus shape.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dtype.h"

namespace sparsescope {

inline constexpr int kBlock = 64;  // query block height and key tile width of every pattern

class ResidentInputs;  // cuda_backend.h

struct AttentionInputs {
  DType dtype = DType::F32;
  int numHeads = 0;    // H  (q is [H, N, D])
  int numKvHeads = 0;  // Hkv (k, v are [Hkv, N, D]); H % Hkv == 0, validated by the binding
  int seqLen = 0;      // N
  int headDim = 0;     // D
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;  // null for score-only ops
  // The same tensors already on the CUDA device (cudaUseResident): CUDA ops read these instead of
  // uploading q/k/v again; CPU ops ignore them. Null where not resident.
  const void* deviceQ = nullptr;
  const void* deviceK = nullptr;
  const void* deviceV = nullptr;
  // The resident copy those point into (it also keeps the last dense output, cuda_backend.h).
  const ResidentInputs* resident = nullptr;

  int kvHeadOf(int head) const { return head / (numHeads / numKvHeads); }
  int numBlocks() const { return (seqLen + kBlock - 1) / kBlock; }
  // Element offset of row `row` of head `head` in a [heads, N, D] tensor.
  size_t rowOffset(int head, int row) const { return (size_t(head) * seqLen + row) * headDim; }
};

// `base` advanced by `bytes`, or null for null (a device copy that is not there).
inline const void* offsetBytes(const void* base, size_t bytes) {
  return base == nullptr ? nullptr : static_cast<const unsigned char*>(base) + bytes;
}

// Query rows an op computes: all N rows when `rows` is null, else `count` ascending rows in [0, N).
struct RowSelection {
  const int32_t* rows = nullptr;
  int count = 0;

  bool all() const { return rows == nullptr; }
  int size(int seqLen) const { return all() ? seqLen : count; }
  int at(int r) const { return all() ? r : rows[r]; }
};

// A pooled-map request (spec 2.2): a rows x cols grid over a region of the N x N map.
struct PooledMapArgs {
  int rowStart = 0, rowEnd = 0;  // region of the N x N map, [rowStart, rowEnd) x [colStart, colEnd)
  int colStart = 0, colEnd = 0;
  int rows = 0, cols = 0;        // grid size
  RowSelection sampleRows;       // all rows of the region, or these (ascending; rows outside the region are ignored)
};

}  // namespace sparsescope
