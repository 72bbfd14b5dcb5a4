// Standalone CPU benchmark of the native dense attention kernel (no Node needed, so it runs on any
// box with a C++ compiler; sparse attention shares the same tile code). Build and run:
//   g++ -O3 -std=c++20 -ffp-contract=fast -fno-math-errno -fno-trapping-math -Wno-psabi -Inative/src \
//       bench/cpu-kernels.cpp native/src/thread_pool.cpp native/src/ops/*.cpp -lpthread -o /tmp/cpu-kernels
//   /tmp/cpu-kernels [N=16384] [H=8] [D=128]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "ops/dense_attention.h"
#include "thread_pool.h"

using namespace sparsescope;

int main(int argc, char** argv) {
  const int seqLen = argc > 1 ? std::atoi(argv[1]) : 16384;
  const int numHeads = argc > 2 ? std::atoi(argv[2]) : 8;
  const int headDim = argc > 3 ? std::atoi(argv[3]) : 128;
  const size_t elements = size_t(numHeads) * seqLen * headDim;
  std::mt19937 random(1);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> q(elements), k(elements), v(elements);
  auto bf16 = [](float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    return uint16_t(bits >> 16);
  };
  for (size_t i = 0; i < elements; ++i) {
    q[i] = bf16(normal(random));
    k[i] = bf16(normal(random));
    v[i] = bf16(normal(random));
  }
  AttentionInputs inputs{DType::BF16, numHeads, numHeads, seqLen, headDim, q.data(), k.data(), v.data()};
  std::vector<float> out(elements), lse(size_t(numHeads) * seqLen);
  CallContext ctx;
  const double flops = 4.0 * numHeads * headDim * (double(seqLen) * (seqLen + 1) / 2);
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    denseAttention(inputs, RowSelection{}, out.data(), lse.data(), ctx);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("dense N=%d H=%d D=%d BF16, %d threads: %.0f ms, %.1f GFLOP/s\n", seqLen, numHeads, headDim, workerCount(), ms,
                flops / ms / 1e6);
  }
  return 0;
}
