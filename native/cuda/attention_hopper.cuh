// Hopper (sm_90a) attention with values, warp-specialized in the FlashAttention-3 manner: one
// producer warpgroup streams K/V chunks into a ring of shared-memory stages (contiguous tiles by
// the bulk tensor copy engine, gathered loose columns by cp.async; completion counted on
// mbarriers), while two consumer warpgroups, one 64-row query block each, run the products on
// wgmma. The kernel is compiled for two step widths (the host picks one per launch, see
// attention.cu): with 128-key steps a step takes 128 keys where the lists allow (two adjacent
// tiles, or two loose-column chunks; every step of dense lists), else 64: per FLOP, half the
// softmax bookkeeping, barriers and hand-offs of 64-key steps. With 64-key steps every step takes
// one chunk, with stages half the size (one more in flight at D 128) and a 64-deep P x V: faster
// on lists of isolated tiles, which the 128-key kernel runs as 64-key steps on 3 stages with a
// 128-deep P x V (half on zeros). Each consumer overlaps the softmax of step j with the P x V
// product of step j-1, and the two take turns to issue their products (ping-pong), so one's
// softmax runs while the other's products keep the tensor cores busy. Same chunk lists, mask and
// online softmax as attentionKernel (attention_kernel.cuh), so both paths compute the same thing.
#pragma once
#include <cuda.h>

#include "attention_kernel.cuh"

namespace sparsescope::cuda {

namespace hopper {

inline constexpr int kConsumers = 2;  // query blocks per CTA
// A stage holds one step's keys: K then V, each [column block][kStepKeys rows][kSwizzleColumns<D>]
// (the layout of swizzledOffset<D, kStepKeys>), of which a 64-key step of the 128-key kernel uses
// the first 64 rows.
template <int D, int kStepKeys>
inline constexpr int kStageElements = 2 * kStepKeys * D;
// K/V stages in flight: as many as fit next to the queries in 227 KiB, at most 4.
template <int D, int kStepKeys>
inline constexpr int kStages = kStepKeys * D > 2 * kTileRows * 96 ? 3 : 4;
inline constexpr int kCtaThreads = (kConsumers + 1) * kThreads;
// Register split after setmaxnreg: 128 x 40 + 256 x 232 <= 64K.
inline constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;
// Named barriers (0 is __syncthreads): the producer warpgroup's, then one "your turn" per consumer.
inline constexpr int kProducerBarrier = 1, kFirstTurnBarrier = 2;
template <int D>
inline constexpr int kTileBytes = kTileRows * D * 2;  // one 64-row K or V tile

// Tensor maps of K and V as [Hkv][N][D] with boxes of one column block (64 rows x
// kSwizzleColumns<D>) in the tiles' swizzle (the layout of swizzledOffset), so the copy engine
// writes tiles the wgmma descriptors read as they are.
struct TensorMaps {
  CUtensorMap keys, values;
};

// Stages, query tiles, barriers, steps, gathered key ids, and 1 KiB to align the tiles.
template <int D, int kStepKeys>
constexpr int sharedBytes() {
  constexpr int kStageCount = kStages<D, kStepKeys>;
  return (kStageCount * kStageElements<D, kStepKeys> + kConsumers * kTileRows * D) * 2 +
         kStageCount * (2 * int(sizeof(uint64_t)) + int(sizeof(ChunkStep)) + kStepKeys * int(sizeof(int))) + 1024;
}
// The most a CTA may have, less room for the kernel's static shared memory (lists and cursor).
inline constexpr int kMaxSharedBytes = 227 * 1024 - 256;

__device__ __forceinline__ void barrierInit(uint64_t* barrier, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sharedAddress(barrier)), "r"(count) : "memory");
}
// Arrives when `arrive` is set, predicated rather than branched: a branch around it would make
// ptxas serialize the wgmma in flight.
__device__ __forceinline__ void barrierArrive(uint64_t* barrier, bool arrive = true) {
  asm volatile(
      "{\n.reg .pred p;\n.reg .b64 state;\nsetp.ne.b32 p, %1, 0;\n@p mbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" ::"r"(
          sharedAddress(barrier)),
      "r"(int(arrive))
      : "memory");
}
// Arrives and announces `bytes` that the copy engine will deliver to this phase.
__device__ __forceinline__ void barrierArriveExpecting(uint64_t* barrier, int bytes) {
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" ::"r"(
                   sharedAddress(barrier)),
               "r"(bytes)
               : "memory");
}
// Arrives once this thread's earlier cp.async copies have landed (counted in the init count).
__device__ __forceinline__ void barrierArriveOnCopies(uint64_t* barrier) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(sharedAddress(barrier)) : "memory");
}
// Waits for the completion of the barrier phase with this parity.
__device__ __forceinline__ void barrierWait(uint64_t* barrier, int parity) {
  asm volatile(
      "{\n.reg .pred done;\nwait_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n}\n" ::"r"(sharedAddress(barrier)),
      "r"(parity)
      : "memory");
}
// Copies the 64 x 64 box at (column, row, kvHead) of `map` into `tile`; completes on `barrier`.
__device__ __forceinline__ void copyBox(void* tile, const CUtensorMap& map, int column, int row, int kvHead,
                                        uint64_t* barrier) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(
          sharedAddress(tile)),
      "l"(reinterpret_cast<uint64_t>(&map)), "r"(column), "r"(row), "r"(kvHead), "r"(sharedAddress(barrier))
      : "memory");
}
__device__ __forceinline__ void namedBarrierSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void namedBarrierArrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
template <int Registers>
__device__ __forceinline__ void shrinkRegisters() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers));
}
template <int Registers>
__device__ __forceinline__ void growRegisters() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers));
}

}  // namespace hopper

// blockIdx.x + headBase: head; blockIdx.y: query blocks 2b and 2b+1 (b = args.blocks[blockIdx.y]).
// kDenseLists: dense causal lists, whose steps follow from the step number without the cursor.
// kStepKeys: the most keys of a step, 128 (pairs of chunks where they pair) or 64 (one chunk).
template <typename T, int D, bool kDenseLists, int kStepKeys>
__global__ void __launch_bounds__(hopper::kCtaThreads, 1)
    warpSpecializedAttentionKernel(const __grid_constant__ AttentionArgs<T> args,
                                   const __grid_constant__ hopper::TensorMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using namespace hopper;
  static_assert(kStepKeys == kTileRows || kStepKeys == 2 * kTileRows, "steps of one or two 64-key chunks");
  static_assert(!kDenseLists || kStepKeys == 2 * kTileRows, "dense lists step 128 keys");
  constexpr bool kWideSteps = kStepKeys == 2 * kTileRows;
  constexpr int kStageRows = kStepKeys;
  constexpr int kStageCount = kStages<D, kStepKeys>;
  extern __shared__ __align__(16) unsigned char sharedRaw[];
  unsigned char* shared = sharedRaw + ((1024 - sharedAddress(sharedRaw) % 1024) % 1024);
  T* stageTiles = reinterpret_cast<T*>(shared);                       // [kStageCount][K, V: kStageRows x D]
  T* queryTiles = stageTiles + kStageCount * kStageElements<D, kStepKeys>;  // [kConsumers][64 x D]
  auto* filled = reinterpret_cast<uint64_t*>(queryTiles + kConsumers * kTileRows * D);  // [kStageCount]: step landed
  uint64_t* emptied = filled + kStageCount;                           // [kStageCount]: consumers done with it
  auto* steps = reinterpret_cast<ChunkStep*>(emptied + kStageCount);  // [kStageCount]: the step in each stage
  int* gatheredKeys = reinterpret_cast<int*>(steps + kStageCount);    // [kStageCount][kStageRows]: gathered key ids
  auto keysOf = [&](int stage) { return stageTiles + stage * kStageElements<D, kStepKeys>; };
  auto valuesOf = [&](int stage) { return keysOf(stage) + kStageRows * D; };
  // Keys of a step: 128 for a wide one (only the 128-key kernel's cursor makes them), else 64.
  auto stepKeys = [](const ChunkStep& step) { return kWideSteps && step.wide ? 2 * kTileRows : kTileRows; };

  const int N = args.seqLen;
  const int head = args.headBase + blockIdx.x;
  const int kvHead = head / args.groupSize;
  const int firstBlock = args.blocks[blockIdx.y] * kConsumers;
  const int lastBlock = (N - 1) / kTileRows;

  __shared__ __align__(16) unsigned char listBytes[sizeof(ChunkList) * kConsumers];
  ChunkList* lists = reinterpret_cast<ChunkList*>(listBytes);  // a block past the last row gets an empty list
  if (threadIdx.x < kConsumers) {
    const int block = firstBlock + threadIdx.x;
    lists[threadIdx.x] = block <= lastBlock ? ChunkList::of(args.index, head, block) : ChunkList{};
  }
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStageCount; ++s) {
      // Per step: every producer thread once (cp.async landed, or a plain arrive) and thread 0
      // once more, after the step (and gathered key ids) are written, announcing the copy
      // engine's bytes for its tiles.
      barrierInit(&filled[s], kThreads + 1);
      barrierInit(&emptied[s], kConsumers * kWarps);  // lane 0 of every consumer warp
    }
  }
  for (int g = 0; g < kConsumers; ++g) {
    const int start = (firstBlock + g) * kTileRows;
    loadTileAsync<T, D, kCtaThreads>(queryTiles + g * kTileRows * D, args.q + size_t(head) * N * D,
                                     [&](int r) { return start + r < N ? start + r : -1; });
  }
  // The 128-key kernel's P x V reads all 128 value rows of a stage, also those a step leaves
  // unwritten (a 64-key step's second half, a tile past N) against zero probabilities: they must
  // be finite, so they start as zeros (and keep earlier steps' values later). With 64-key steps
  // every step writes all rows of its stage.
  if constexpr (kWideSteps) {
    constexpr int kValuePieces = kStageRows * D / 8;
    for (int i = threadIdx.x; i < kStageCount * kValuePieces; i += kCtaThreads)
      reinterpret_cast<uint4*>(valuesOf(i / kValuePieces))[i % kValuePieces] = uint4{};
    asyncProxyFence();  // the zeros are read by wgmma and overwritten by the copy engine
  }
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  bool sameColumns = lists[1].columnCount == lists[0].columnCount;
  for (int c = threadIdx.x; sameColumns && c < lists[0].columnCount; c += kCtaThreads)
    sameColumns = lists[1].columns[c] == lists[0].columns[c];
  const bool columnsShared = __syncthreads_and(sameColumns);

  if (threadIdx.x < kThreads) {
    // Producer: thread 0 walks the merged chunk lists, publishes each step in its stage and has
    // the copy engine fetch contiguous tiles; all 128 threads gather loose columns with cp.async.
    // A step with no groups ends the stream.
    shrinkRegisters<kProducerRegisters>();
    using Cursor = ChunkCursor<kConsumers, kWideSteps>;
    __shared__ __align__(16) unsigned char cursorBytes[sizeof(Cursor)];
    auto* cursor = reinterpret_cast<Cursor*>(cursorBytes);
    if (!kDenseLists && threadIdx.x == 0) *cursor = Cursor{lists, columnsShared};
    const size_t kvOffset = size_t(kvHead) * N * D;
    for (int chunk = 0;; ++chunk) {
      const int stage = chunk % kStageCount;
      barrierWait(&emptied[stage], ((chunk / kStageCount) & 1) ^ 1);
      T* keyStage = keysOf(stage);
      T* valueStage = valuesOf(stage);
      if (threadIdx.x == 0) {
        ChunkStep step;
        if constexpr (kDenseLists) {
          // Step c: tiles 2c and 2c + 1, for every block that has tile 2c. Block 2b ends at tile
          // 2b, so its last step also holds tile 2b + 1: keys all after its rows, which the causal
          // mask removes.
          step.start = chunk * kStageRows;
          step.wide = true;
          for (int g = 0; g < kConsumers; ++g)
            if (2 * chunk < lists[g].tileCount) step.groups |= 1u << g;
        } else {
          step = cursor->advance();
        }
        steps[stage] = step;
        if (step.groups != 0 && step.columnGroup < 0) {
          // A second tile past N is not fetched: its keys are masked and its stage rows stay finite.
          const int tiles = stepKeys(step) > kTileRows && step.start + kTileRows < N ? 2 : 1;
          barrierArriveExpecting(&filled[stage], tiles * 2 * kTileBytes<D>);
          constexpr int kColumns = kSwizzleColumns<D>;
          for (int tile = 0; tile < tiles; ++tile)
            for (int box = 0; box < D / kColumns; ++box) {
              const int offset = (box * kStageRows + tile * kTileRows) * kColumns;
              const int row = step.start + tile * kTileRows;
              copyBox(keyStage + offset, maps.keys, box * kColumns, row, kvHead, &filled[stage]);
              copyBox(valueStage + offset, maps.values, box * kColumns, row, kvHead, &filled[stage]);
            }
        } else if (step.groups == 0) {
          barrierArrive(&filled[stage]);
        }
      }
      namedBarrierSync(kProducerBarrier, kThreads);  // the step is published to the warpgroup
      const ChunkStep step = steps[stage];
      if (step.groups != 0 && step.columnGroup >= 0) {
        const int keys = stepKeys(step);
        if (threadIdx.x < keys)
          gatheredKeys[stage * kStageRows + threadIdx.x] =
              lists[step.columnGroup].gatheredKey(step.columnChunk, threadIdx.x);
        // The key ids are published to the warpgroup, and by thread 0's arrive below to the consumers.
        namedBarrierSync(kProducerBarrier, kThreads);
        // Thread t copies gathered row t of 128, or half of row t / 2 of 64 (D / 8 or D / 16 of its
        // 16-byte pieces), of K and of V; rows past the list or past N are zero-filled.
        const int threadsPerRow = kThreads / keys, pieces = D / 8 / threadsPerRow;
        const int row = threadIdx.x / threadsPerRow, firstPiece = (threadIdx.x % threadsPerRow) * pieces;
        const int key = gatheredKeys[stage * kStageRows + row];
        const bool valid = key >= 0 && key < N;
        const size_t source = kvOffset + size_t(valid ? key : 0) * D;
        for (int piece = firstPiece; piece < firstPiece + pieces; ++piece) {
          copyAsync16(keyStage + swizzledOffset<D, kStageRows>(row, piece), args.k + source + piece * 8, valid);
          copyAsync16(valueStage + swizzledOffset<D, kStageRows>(row, piece), args.v + source + piece * 8, valid);
        }
        barrierArriveOnCopies(&filled[stage]);
        if (threadIdx.x == 0) barrierArrive(&filled[stage]);
      } else {
        barrierArrive(&filled[stage]);
      }
      if (step.groups == 0) break;
    }
    copyAsyncWait<0>();
    return;
  }

  // Consumer `group`: query block firstBlock + group.
  growRegisters<kConsumerRegisters>();
  const int group = threadIdx.x / kThreads - 1;
  const int rowStart = (firstBlock + group) * kTileRows;
  QueryFragments<D> queries;
  queries.load(queryTiles + group * kTileRows * D);
  // The window is per head; dense lists have none (constant here: fewer registers in the steps).
  const TileMask mask = kDenseLists ? TileMask{rowStart, N}
                                    : TileMask{rowStart, N, lists[0].windowInit, lists[0].windowLocal};
  const bool releases = threadIdx.x % 32 == 0;
  // Turns: a consumer issues its products only in its turn and then hands the turn over.
  const int myTurn = kFirstTurnBarrier + group, otherTurn = kFirstTurnBarrier + 1 - group;
  if (group == 1) namedBarrierArrive(otherTurn, 2 * kThreads);

  float out[D / 8][4] = {};
  OnlineSoftmax softmax;
  // Probabilities of the previous step (a k-step per 16 rows of a stage; in the 128-key kernel the
  // last 4 of 8 are zeros after a 64-key step), waiting for their P x V product, and the stage of
  // its values (held until that product is done). With nothing pending they are zeros against the
  // current stage's values, so that every step issues the same products: a product issued on some
  // paths only would make ptxas serialize them.
  constexpr int kPendingSteps = kStageRows / 16;
  uint32_t pending[kPendingSteps][4] = {};
  int pendingStage = -1, pendingChunk = 0;
  auto releasePending = [&] { barrierArrive(&emptied[max(pendingStage, 0)], releases && pendingStage >= 0); };
  auto finishPending = [&] {
    issueValuesHopper<T, D, kPendingSteps, kStageRows>(out, pending, valuesOf(pendingStage));
    wgmmaCommit();
    wgmmaWait<0>();
    keepRegisters(out);
    releasePending();
  };
  // One step of kKeys (64 or 128) keys in `stage`: its scores and the pending P x V issued in this
  // consumer's turn, the softmax while the P x V runs, its probabilities pending at the end.
  auto consume = [&](auto keys, int stage, const ChunkStep& step) {
    constexpr int kKeys = decltype(keys)::value;
    float scores[kKeys / 8][4];
    issueScoresHopper<T, D, kKeys, kStageRows>(scores, queries, keysOf(stage));
    wgmmaCommit();
    const int valueStage = pendingStage >= 0 ? pendingStage : stage;
    issueValuesHopper<T, D, kPendingSteps, kStageRows>(out, pending, valuesOf(valueStage));
    wgmmaCommit();
    namedBarrierArrive(otherTurn, 2 * kThreads);
    wgmmaWait<1>();  // scores done; the previous P x V runs on during the softmax
    keepRegisters(scores);
    mask.apply(scores, step.columnGroup < 0, step.start,
               [&](int column) { return gatheredKeys[stage * kStageRows + column]; });
    float correction[2];
    softmax.update(scores, args.scaleLog2, correction);
    uint32_t probabilities[kKeys / 16][4];
    packProbabilities<T>(probabilities, scores);
    wgmmaWait<0>();
    keepRegisters(out);
    keepRegisters(pending);
    releasePending();
    // Rescaling here rather than between the two issues above: ptxas serializes wgmma when
    // ordinary instructions write an accumulator while another product is in flight. Once the
    // running maxima settle (most steps of a long row) the warp skips it.
    if (__any_sync(0xffffffffu, correction[0] != 1.f || correction[1] != 1.f)) rescale<D>(out, correction);
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk)
#pragma unroll
      for (int r = 0; r < 4; ++r) pending[kk][r] = probabilities[kk][r];
#pragma unroll
    for (int kk = kKeys / 16; kk < kPendingSteps; ++kk)
#pragma unroll
      for (int r = 0; r < 4; ++r) pending[kk][r] = 0;
  };
  for (int chunk = 0;; ++chunk) {
    const int stage = chunk % kStageCount;
    barrierWait(&filled[stage], (chunk / kStageCount) & 1);
    const ChunkStep step = steps[stage];
    if (step.groups == 0) break;
    namedBarrierSync(myTurn, 2 * kThreads);
    if (!((step.groups >> group) & 1)) {
      // Another block's step. A stage held since kStageCount - 1 steps goes back now: the
      // producer needs it for the next step.
      namedBarrierArrive(otherTurn, 2 * kThreads);
      if (pendingStage >= 0 && chunk - pendingChunk >= kStageCount - 1) {
        finishPending();
        pendingStage = -1;
#pragma unroll
        for (int kk = 0; kk < kPendingSteps; ++kk)
#pragma unroll
          for (int r = 0; r < 4; ++r) pending[kk][r] = 0;
      }
      barrierArrive(&emptied[stage], releases);
      continue;
    }
    // The cp.async writes of a gathered step, now visible here, are read by wgmma next.
    if (!kDenseLists && step.columnGroup >= 0) asyncProxyFence();
    // The 128-key kernel has two instantiations, each issuing and waiting for all its products
    // inside its branch; with 64-key steps the condition is constant.
    if (kDenseLists || stepKeys(step) == kStageRows) consume(std::integral_constant<int, kStageRows>{}, stage, step);
    else consume(std::integral_constant<int, kTileRows>{}, stage, step);
    pendingStage = stage;
    pendingChunk = chunk;
  }
  if (pendingStage >= 0) finishPending();
  writeRows<T, D, true>(args, head, rowStart, softmax, out);
#else
  __trap();  // only launched where the sm_90a probe passed
#endif
}

}  // namespace sparsescope::cuda
