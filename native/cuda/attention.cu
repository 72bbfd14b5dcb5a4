// Host side of the flash-attention kernel: uploads, the row selection, one launch per KV-head
// group with cancellation and progress between launches, and the downloads.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>

#include <cudaTypedefs.h>

#include "attention_hopper.cuh"
#include "attention_kernel.cuh"

namespace sparsescope::cuda {

std::string checkShape(const AttentionInputs& inputs) {
  if (inputs.numHeads <= 0 || inputs.numKvHeads <= 0 || inputs.numHeads % inputs.numKvHeads != 0)
    return "numHeads (" + std::to_string(inputs.numHeads) + ") must be a positive multiple of numKvHeads (" +
           std::to_string(inputs.numKvHeads) + ")";
  if (inputs.seqLen <= 0) return "seqLen must be positive, got " + std::to_string(inputs.seqLen);
  if (inputs.q == nullptr || inputs.k == nullptr) return "q and k are required";
  return "";
}

std::string DeviceIndex::upload(const SparseIndexView& index) {
  const size_t slots = size_t(index.numHeads) * index.numBlocks;
  SPARSESCOPE_TRY(tileOffsets.upload(index.tileOffsets, slots + 1, "index tileOffsets"));
  SPARSESCOPE_TRY(tileStarts.upload(index.tileStarts, size_t(index.tileOffsets[slots]), "index tileStarts"));
  SPARSESCOPE_TRY(colOffsets.upload(index.colOffsets, slots + 1, "index colOffsets"));
  SPARSESCOPE_TRY(columns.upload(index.columns, size_t(index.colOffsets[slots]), "index columns"));
  SPARSESCOPE_TRY(window.upload(index.window, size_t(index.numHeads) * 2, "index window"));
  view = {index.numHeads,   index.seqLen,      index.numBlocks, tileOffsets.get(),
          tileStarts.get(), colOffsets.get(), columns.get(),   window.get()};
  return "";
}

namespace {

// Output slot per query row (only when rows are selected) and the query blocks holding them,
// longest (latest) first so the causal tail does not straggle.
struct RowPlan {
  std::vector<int32_t> rowSlot;
  std::vector<int32_t> blocks;
};

// blocksPerCta > 1: plan->blocks lists groups of that many consecutive blocks, by group number.
std::string planRows(const RowSelection& rows, int seqLen, int blocksPerCta, RowPlan* plan) {
  const int numBlocks = (seqLen + kTileRows * blocksPerCta - 1) / (kTileRows * blocksPerCta);
  std::vector<char> used(numBlocks, rows.all() ? 1 : 0);
  if (!rows.all()) {
    plan->rowSlot.assign(seqLen, -1);
    for (int r = 0; r < rows.count; ++r) {
      const int row = rows.rows[r];
      if (row < 0 || row >= seqLen || (r > 0 && row <= rows.rows[r - 1]))
        return "rows must be ascending and inside [0, " + std::to_string(seqLen) + "), got " + std::to_string(row) +
               " at position " + std::to_string(r);
      plan->rowSlot[row] = r;
      used[row / (kTileRows * blocksPerCta)] = 1;
    }
  }
  for (int block = numBlocks - 1; block >= 0; --block)
    if (used[block]) plan->blocks.push_back(block);
  return "";
}

// Score entries one launch should hold: enough that its causal tail and the sync after it are small
// against it (one launch per KV group left 8 tails at 32K), few enough that a cancel waits at most
// about 0.1 s on an H100. A launch holds whole KV groups, at least one.
constexpr double kEntriesPerLaunch = double(1ull << 36);

int groupsPerLaunchFor(const AttentionJob& job, int rowsOut) {
  const AttentionInputs& in = *job.inputs;
  const int groupSize = in.numHeads / in.numKvHeads;
  double entries = 0;  // of the heaviest KV group
  for (int group = 0; group < in.numKvHeads; ++group) {
    double groupEntries = 0;
    for (int head = group * groupSize; head < (group + 1) * groupSize; ++head) {
      if (!job.index) {
        groupEntries += double(rowsOut) * (double(in.seqLen) + 1) / 2;
        continue;
      }
      const SparseIndexView& index = *job.index;
      const int first = index.slot(head, 0), end = index.slot(head + 1, 0);
      groupEntries += double(index.tileOffsets[end] - index.tileOffsets[first]) * kTileRows * kTileRows +
                      double(index.colOffsets[end] - index.colOffsets[first]) * kTileRows;
    }
    entries = std::max(entries, groupEntries);
  }
  return std::clamp(int(kEntriesPerLaunch / std::max(entries, 1.0)), 1, in.numKvHeads);
}

// Uploads the job, then calls launch(args, grid, kind) once per launch (kBlocksPerCta query blocks per
// CTA), with cancellation and progress between launches. A launch holds KV-head groups of one
// kindOf(group): the kernel instance that runs them.
template <typename T, int D, bool kWithV, int kBlocksPerCta, typename KindOf, typename Launch>
std::string launchAttention(const AttentionJob& job, const CallContext& ctx, KindOf kindOf, Launch launch) {
  const AttentionInputs& in = *job.inputs;
  const int N = in.seqLen, H = in.numHeads, groupSize = in.numHeads / in.numKvHeads;
  const int R = job.rows->size(N);
  if (kWithV && in.v == nullptr) return "v is required for attention outputs";

  RowPlan plan;
  SPARSESCOPE_TRY(planRows(*job.rows, N, kBlocksPerCta, &plan));
  if (R == 0) return "";

  DeviceBuffer<T> q, k, v;
  SPARSESCOPE_TRY(q.upload(in.q, in.deviceQ, size_t(H) * N * D, "q"));
  SPARSESCOPE_TRY(k.upload(in.k, in.deviceK, size_t(in.numKvHeads) * N * D, "k"));
  if (kWithV) SPARSESCOPE_TRY(v.upload(in.v, in.deviceV, size_t(in.numKvHeads) * N * D, "v"));
  DeviceBuffer<int32_t> rowSlot, blocks;
  if (!plan.rowSlot.empty()) SPARSESCOPE_TRY(rowSlot.upload(plan.rowSlot.data(), plan.rowSlot.size(), "row slots"));
  SPARSESCOPE_TRY(blocks.upload(plan.blocks.data(), plan.blocks.size(), "query blocks"));
  DeviceIndex index;
  if (job.index) SPARSESCOPE_TRY(index.upload(*job.index));
  DeviceBuffer<float> out, lse;
  if (kWithV) SPARSESCOPE_TRY(out.allocate(size_t(H) * R * D, "attention output"));
  SPARSESCOPE_TRY(lse.allocate(size_t(H) * R, "log-sum-exp output"));
  // NaN-fill the outputs so an unwritten element can never pass for a result.
  if (kWithV) SPARSESCOPE_CUDA_TRY(cudaMemset(out.get(), 0xff, size_t(H) * R * D * sizeof(float)));
  SPARSESCOPE_CUDA_TRY(cudaMemset(lse.get(), 0xff, size_t(H) * R * sizeof(float)));

  AttentionArgs<T> args;
  args.q = q.get();
  args.k = k.get();
  args.v = v.get();
  args.seqLen = N;
  args.groupSize = groupSize;
  args.blocks = blocks.get();
  args.rowSlot = rowSlot.get();
  args.rowsOut = R;
  args.out = out.get();
  args.lse = lse.get();
  args.index = index.view;
  args.scaleLog2 = kLog2e / std::sqrt(float(D));

  if (plan.blocks.size() > 65535) return "too many query blocks for one launch: " + std::to_string(plan.blocks.size());
  const int groupsPerLaunch = groupsPerLaunchFor(job, R);
  DeviceTimer timer;
  for (int group = 0, groups = 0; group < in.numKvHeads; group += groups) {
    const int kind = kindOf(group);
    groups = 1;
    while (groups < groupsPerLaunch && group + groups < in.numKvHeads && kindOf(group + groups) == kind) ++groups;
    args.headBase = group * groupSize;
    // Heads vary fastest, so the CTAs start longest block first across every head of the launch.
    SPARSESCOPE_TRY(launch(args, dim3(groups * groupSize, plan.blocks.size()), kind));
    SPARSESCOPE_CUDA_TRY(cudaGetLastError());
    SPARSESCOPE_CUDA_TRY(cudaDeviceSynchronize());
    if (ctx.cancelled()) return kCancelled;
    ctx.report(double(group + groups) / in.numKvHeads);
  }
  SPARSESCOPE_TRY(timer.stop());
  if (kWithV && job.out) SPARSESCOPE_TRY(out.download(job.out, size_t(H) * R * D));
  if (kWithV && job.keptOut) job.keptOut->swap(out);
  return lse.download(job.lse, size_t(H) * R);
}

// One warpgroup per 64-row block: the portable path, and the Hopper log-sum-exp-only pass.
template <typename T, int D, bool kWithV, bool kHopper>
std::string launchBlockKernel(const AttentionJob& job, const CallContext& ctx) {
  constexpr auto kernel = attentionKernel<T, D, kWithV, kHopper>;
  constexpr int sharedBytes = attentionSharedBytes<D, kWithV>();
  SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sharedBytes));
  auto oneKind = [](int) { return 0; };
  return launchAttention<T, D, kWithV, 1>(job, ctx, oneKind, [&](const AttentionArgs<T>& args, dim3 grid, int) {
    kernel<<<grid, kThreads, sharedBytes>>>(args);
    return std::string();
  });
}

// The driver's tensor-map encoder, found through the runtime so the module needs no libcuda at link time.
std::string tensorMapEncoder(PFN_cuTensorMapEncodeTiled_v12000* encode) {
  static PFN_cuTensorMapEncodeTiled_v12000 found = nullptr;
  if (!found) {
    void* function = nullptr;
    cudaDriverEntryPointQueryResult status;
    SPARSESCOPE_CUDA_TRY(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &function, 12000,
                                                          cudaEnableDefault, &status));
    if (status != cudaDriverEntryPointSuccess || !function) return "the CUDA driver has no cuTensorMapEncodeTiled";
    found = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(function);
  }
  *encode = found;
  return "";
}

// [Hkv][N][D] as a 3-D tensor map whose boxes are one column block of a tile (64 rows x
// kSwizzleColumns<D>) in the tiles' swizzle; rows past N read as zeros.
template <typename T, int D>
std::string describeKv(CUtensorMap* map, const T* tensor, int numKvHeads, int seqLen) {
  PFN_cuTensorMapEncodeTiled_v12000 encode;
  SPARSESCOPE_TRY(tensorMapEncoder(&encode));
  const cuuint64_t dims[3] = {cuuint64_t(D), cuuint64_t(seqLen), cuuint64_t(numKvHeads)};
  const cuuint64_t strides[2] = {cuuint64_t(D) * sizeof(T), cuuint64_t(seqLen) * D * sizeof(T)};
  const cuuint32_t box[3] = {cuuint32_t(kSwizzleColumns<D>), kTileRows, 1};
  const cuuint32_t elementStrides[3] = {1, 1, 1};
  const CUresult result = encode(map, std::is_same_v<T, __half> ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
                                 3, const_cast<T*>(tensor), dims, strides, box, elementStrides,
                                 CU_TENSOR_MAP_INTERLEAVE_NONE,
                                 kSwizzleBytes<D> == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B,
                                 CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS) return "cuTensorMapEncodeTiled failed with CUresult " + std::to_string(int(result));
  return "";
}

// SPARSESCOPE_HOPPER_STEP_KEYS=64 or 128 fixes the Hopper kernel's step width for sparse lists (the
// GPU tests run both on every case); unset or empty, it is chosen from the index (*keys 0).
std::string forcedStepKeys(int* keys) {
  const char* value = std::getenv("SPARSESCOPE_HOPPER_STEP_KEYS");
  const std::string text = value ? value : "";
  *keys = text == "64" ? 64 : text == "128" ? 128 : 0;
  if (*keys == 0 && !text.empty()) return "SPARSESCOPE_HOPPER_STEP_KEYS must be 64 or 128 (or unset), got " + text;
  return "";
}

// The chunks of one CTA's lists (query blocks 2 cta and 2 cta + 1 of `head`) that consumers
// compute, and those in 128-key steps, as the 128-key kernel's producer walks them.
struct PairedChunks {
  double paired = 0, all = 0;
  void add(const SparseIndexView& index, int head, int cta) {
    ChunkList lists[hopper::kConsumers];
    for (int g = 0; g < hopper::kConsumers; ++g) {
      const int block = cta * hopper::kConsumers + g;
      if (block < index.numBlocks) lists[g] = ChunkList::of(index, head, block);
    }
    const bool columnsShared = std::equal(lists[0].columns, lists[0].columns + lists[0].columnCount, lists[1].columns,
                                          lists[1].columns + lists[1].columnCount);
    ChunkCursor<hopper::kConsumers, true> cursor{lists, columnsShared};
    for (ChunkStep step = cursor.advance(); step.groups != 0; step = cursor.advance()) {
      const double chunks = (step.wide ? 2 : 1) * std::popcount(step.groups);
      all += chunks;
      if (step.wide) paired += chunks;
    }
  }
};

// The Hopper kernel's step width for a sparse index, per KV-head group: 128 keys where at least
// kPairedShare of the group's chunks pair up into 128-key steps, else 64. On the H100 a 128-key
// step took about 0.9x the time of two 64-key ones (dense 0.84x, the band index 0.92x); a lone
// chunk costs more in the 128-key kernel than in the 64-key one (a 128-deep P x V, 3 stages at
// D 128) by a factor r not measured alone (the searched 128K config ran 1.19x slower overall).
// 128 keys pay once the paired share passes (r - 1) / (r - 0.9): 3/4 at r = 1.3. The lists of
// kSampledCtas evenly spaced CTAs per head decide: a share needs no more, and the walk is host time.
std::vector<int> sparseStepKeys(const SparseIndexView& index, int groupSize, int numKvHeads) {
  constexpr double kPairedShare = 0.75;
  constexpr int kSampledCtas = 8;
  const int ctas = (index.numBlocks + hopper::kConsumers - 1) / hopper::kConsumers;
  const int stride = std::max(1, ctas / kSampledCtas);
  std::vector<int> keys(numKvHeads);
  for (int group = 0; group < numKvHeads; ++group) {
    PairedChunks chunks;
    for (int head = group * groupSize; head < (group + 1) * groupSize; ++head)
      for (int cta = stride / 2; cta < ctas; cta += stride) chunks.add(index, head, cta);
    keys[group] = chunks.paired >= kPairedShare * chunks.all ? 2 * kTileRows : kTileRows;
  }
  return keys;
}

// One launch of the warp-specialized kernel.
template <typename T, int D, bool kDenseLists, int kStepKeys>
std::string startWarpSpecialized(const AttentionArgs<T>& args, const hopper::TensorMaps& maps, dim3 grid) {
  constexpr auto kernel = warpSpecializedAttentionKernel<T, D, kDenseLists, kStepKeys>;
  constexpr int sharedBytes = hopper::sharedBytes<D, kStepKeys>();
  static_assert(sharedBytes <= hopper::kMaxSharedBytes, "the stages do not fit: fewer hopper::kStages");
  SPARSESCOPE_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, sharedBytes));
  kernel<<<grid, hopper::kCtaThreads, sharedBytes>>>(args, maps);
  return "";
}

// Hopper attention with values: the warp-specialized kernel, two blocks per CTA; dense lists step
// 128 keys, sparse ones 64 or 128 per KV-head group (sparseStepKeys).
template <typename T, int D>
std::string launchWarpSpecialized(const AttentionJob& job, const CallContext& ctx) {
  const int numKvHeads = job.inputs->numKvHeads;
  int forced = 0;
  SPARSESCOPE_TRY(forcedStepKeys(&forced));
  std::vector<int> stepKeys(numKvHeads, 2 * kTileRows);
  if (job.index)
    stepKeys = forced ? std::vector<int>(numKvHeads, forced)
                      : sparseStepKeys(*job.index, job.inputs->numHeads / numKvHeads, numKvHeads);
  auto kindOf = [&](int group) { return stepKeys[group]; };
  hopper::TensorMaps maps;
  auto launch = [&](const AttentionArgs<T>& args, dim3 grid, int keys) {
    if (args.headBase == 0) {  // the first launch: the tensors are in place now
      SPARSESCOPE_TRY(describeKv<T, D>(&maps.keys, args.k, numKvHeads, args.seqLen));
      SPARSESCOPE_TRY(describeKv<T, D>(&maps.values, args.v, numKvHeads, args.seqLen));
    }
    if (!job.index) return startWarpSpecialized<T, D, true, 2 * kTileRows>(args, maps, grid);
    if (keys == kTileRows) return startWarpSpecialized<T, D, false, kTileRows>(args, maps, grid);
    return startWarpSpecialized<T, D, false, 2 * kTileRows>(args, maps, grid);
  };
  return launchAttention<T, D, true, hopper::kConsumers>(job, ctx, kindOf, launch);
}

__global__ void hopperProbeKernel(int* hasHopperCode) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  *hasHopperCode = 1;
#else
  *hasHopperCode = 0;
#endif
}

}  // namespace

bool hopperPathAvailable() {
  static const bool loaded = [] {
    DeviceBuffer<int> flag;
    int hasHopperCode = 0;
    if (!flag.allocate(1, "probe").empty()) return false;
    hopperProbeKernel<<<1, 1>>>(flag.get());
    if (cudaGetLastError() != cudaSuccess || !flag.download(&hasHopperCode, 1).empty()) return false;
    return hasHopperCode == 1;
  }();
  const char* path = std::getenv("SPARSESCOPE_CUDA_PATH");
  return loaded && !(path && std::string(path) == "portable");
}

std::string runAttention(const AttentionJob& job, const CallContext& ctx) {
  SPARSESCOPE_TRY(useDevice());
  SPARSESCOPE_TRY(checkShape(*job.inputs));
  return withElementType(job.inputs->dtype, [&]<typename T>() {
    return withHeadDim(job.inputs->headDim, [&]<int D>() {
      if (hopperPathAvailable()) {
        if (!job.withValues) return launchBlockKernel<T, D, false, true>(job, ctx);
        return launchWarpSpecialized<T, D>(job, ctx);
      }
      return job.withValues ? launchBlockKernel<T, D, true, false>(job, ctx) : launchBlockKernel<T, D, false, false>(job, ctx);
    });
  });
}

}  // namespace sparsescope::cuda
