// The functions the CUDA backend (native/cuda/*.cu) implements: the GPU twins of the CPU ops in
// native/src/ops/, with the same semantics and the same index format. Plain host pointers in and
// out: each function copies its inputs to the device, runs, and copies results back into the
// given host buffers (sized as documented). They return "" on success, else a message naming the
// problem (out of memory, launch failure, no device, ...) or kCancelled when ctx.cancelled() was
// seen (check it between launches). They never throw and never abort.
//
// addon.cpp calls these only when built with SPARSESCOPE_WITH_CUDA and the call asks for backend
// 'cuda'. cudaDeviceInfo() must be safe on a machine without a GPU or driver (static cudart).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attention_inputs.h"
#include "call_context.h"
#include "index_format.h"

namespace sparsescope {

struct CudaDevice {
  int index = 0;
  std::string name;
  uint64_t totalMemoryBytes = 0;
  uint64_t freeMemoryBytes = 0;
  std::string computeCapability;  // e.g. "9.0"
};

struct CudaDeviceReport {
  bool available = false;
  std::string reason;  // why not available (no driver, no device, ...); empty when available
  std::vector<CudaDevice> devices;
};

CudaDeviceReport cudaDeviceInfo();

// The head dims every CUDA op is compiled for (the kernels dispatch over exactly these, see
// native/cuda/common.cuh withHeadDim); deviceInfo() reports them so callers can route others to the CPU.
using CudaHeadDims = std::integer_sequence<int, 64, 96, 128>;

// Device-event time in ms of the kernels of the calling thread's last cuda* op (host<->device
// copies excluded), or -1 when none ran since the previous call; each call resets it. The binding
// reports it as `ms` for the CUDA backend, so timings follow spec 2.2 (device events) rather than
// including transfers of whole layers.
double cudaTakeDeviceMs();

// q, k and v (where given) of one AttentionInputs copied to the device once, for the many calls a
// search makes on one head: each call otherwise uploads them again (at 1M tokens, 768 MiB per call
// for a head of dim 128). Freed with the last shared_ptr, so a call in flight keeps it.
class ResidentInputs;
std::string cudaMakeResident(const AttentionInputs& inputs, std::shared_ptr<const ResidentInputs>* resident);
// Points inputs' deviceQ/K/V at `resident`'s copies, or says why they cannot stand for its tensors
// (another shape or dtype, or v wanted but not resident).
std::string cudaUseResident(const ResidentInputs& resident, AttentionInputs* inputs);

// Dense causal attention. out: [H, R, D], lse: [H, R] (natural log), R = rows.size(N). A null
// out still computes O on the device (what a timing measures) but copies none of it back; on
// resident inputs that O stays on the device with them, for cudaCopyKeptDense.
std::string cudaDenseAttention(const AttentionInputs& inputs, const RowSelection& rows, float* out,
                               float* lse, const CallContext& ctx);

// The dense output the resident keeps (see cudaDenseAttention), for an output error over the same
// rows without a dense pass of its own (recall's log-sum-exp pass of those rows computed it):
// rows [first, first + count) of the selection into out [H, count, D], *copied true; *copied
// false, nothing copied, when the resident keeps no output of exactly `rows`.
std::string cudaCopyKeptDense(const ResidentInputs& resident, const RowSelection& rows, int first, int count, float* out, bool* copied);

// Pooled map of head 0 of `inputs` (numHeads = numKvHeads = 1). mean, max: [rows, cols];
// *rowsUsed = query rows that contributed.
std::string cudaPooledMap(const AttentionInputs& inputs, const PooledMapArgs& args, float* mean,
                          float* max, int* rowsUsed, const CallContext& ctx);

// Index of every query head from its pattern; fills *index completely (all vectors, density).
std::string cudaBuildIndex(const AttentionInputs& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                           SparseIndex* index, const CallContext& ctx);

// XAttention's block masses of query head `head` (ops/xattention_index.h xattentionMasses, on the
// device): *masses = [M * M], M = ceil(N / blockSize). For tests of the estimate itself.
std::string cudaXAttentionMasses(const AttentionInputs& inputs, int head, int stride, int blockSize,
                                 std::vector<double>* masses, const CallContext& ctx);

// FlexPrefill's token scores of query head `head` (ops/flexprefill_index.h flexprefillTokenScores,
// on the device; N >= blockSize): *vertical and *slash = [N].
std::string cudaFlexPrefillScores(const AttentionInputs& inputs, int head, int blockSize, std::vector<double>* vertical,
                                  std::vector<double>* slash, const CallContext& ctx);

// Sparse attention over exactly the computed set of `index`. out: [H, R, D] (or null, as for
// dense), lse: [H, R].
std::string cudaSparseAttention(const AttentionInputs& inputs, const SparseIndexView& index,
                                const RowSelection& rows, float* out, float* lse,
                                const CallContext& ctx);

// recall[h * R + r] = sum over the computed set of row rows[r] of exp(s_ij - denseLse[h * R + r]).
std::string cudaRecall(const AttentionInputs& inputs, const SparseIndexView& index,
                       const RowSelection& rows, const float* denseLse, float* recall,
                       const CallContext& ctx);

}  // namespace sparsescope
