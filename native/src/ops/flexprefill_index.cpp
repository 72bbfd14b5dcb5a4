#include "flexprefill_index.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace sparsescope {
namespace {

int minBudgetBlocks(const FlexPrefillSettings& settings) { return (settings.minBudget + settings.blockSize - 1) / settings.blockSize; }

// 1 + how many of the largest values (descending) have a cumulative sum <= gamma.
int coverCount(const std::vector<double>& values, double gamma) {
  std::vector<double> sorted(values);
  std::sort(sorted.begin(), sorted.end(), [](double x, double y) { return x > y; });
  int count = 0;
  double cumulative = 0.0;
  for (const double value : sorted) {
    cumulative += value;
    if (cumulative > gamma) break;
    ++count;
  }
  return count + 1;
}

// Mean of the rows of each block of `blockSize` of head `head` of a [heads, N, D] tensor, fp64.
std::vector<std::vector<double>> pooledBlocks(const AttentionInputs& inputs, const void* tensor, int head, int blockSize) {
  const int M = methodBlocks(inputs.seqLen, blockSize), D = inputs.headDim;
  std::vector<std::vector<double>> pooled(size_t(M), std::vector<double>(size_t(D), 0.0));
  for (int m = 0; m < M; ++m) {
    const int first = m * blockSize, count = std::min(blockSize, inputs.seqLen - first);
    const std::vector<float> rows = rowsAsFloat(inputs, tensor, head, first, count);
    for (int i = 0; i < count; ++i)
      for (int d = 0; d < D; ++d) pooled[size_t(m)][size_t(d)] += rows[size_t(i) * D + d];
    for (double& value : pooled[size_t(m)]) value /= count;
  }
  return pooled;
}

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double sum = 0.0;
  for (size_t d = 0; d < x.size(); ++d) sum += x[d] * y[d];
  return sum;
}

// Softmax of scores[0..count) in place, fp64.
void softmaxInPlace(double* scores, int count) {
  double rowMax = -INFINITY, sum = 0.0;
  for (int i = 0; i < count; ++i) rowMax = std::max(rowMax, scores[i]);
  for (int i = 0; i < count; ++i) sum += (scores[i] = std::exp(scores[i] - rowMax));
  for (int i = 0; i < count; ++i) scores[i] /= sum;
}

double xLogRatio(double x, double mean) { return x > 0.0 ? x * std::log(x / mean) : 0.0; }

double sqrtJensenShannon(const std::vector<double>& p, const std::vector<double>& q) {
  double sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double mean = (p[i] + q[i]) / 2;
    sum += 0.5 * xLogRatio(p[i], mean) + 0.5 * xLogRatio(q[i], mean);
  }
  return std::sqrt(std::max(0.0, sum));
}

// Whether the pooled estimate of the last block's key-block distribution is within tau of V.
bool queryAware(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings,
                const std::vector<std::vector<double>>& pooledKeys, const std::vector<double>& verticalBlocks) {
  const int B = settings.blockSize, M = int(pooledKeys.size()), D = inputs.headDim;
  const std::vector<float> lastRows = rowsAsFloat(inputs, inputs.q, head, inputs.seqLen - B, B);
  std::vector<double> lastMean(size_t(D), 0.0);
  for (int i = 0; i < B; ++i)
    for (int d = 0; d < D; ++d) lastMean[size_t(d)] += lastRows[size_t(i) * D + d];
  for (double& value : lastMean) value /= B;
  std::vector<double> estimate(static_cast<size_t>(M));
  for (int n = 0; n < M; ++n) estimate[size_t(n)] = dot(lastMean, pooledKeys[size_t(n)]) / std::sqrt(double(D));
  softmaxInPlace(estimate.data(), M);
  return sqrtJensenShannon(estimate, verticalBlocks) < settings.tauThousandths / 1000.0;
}

// The pooled query-block estimate one block row at a time: row[n] for n <= m is the softmax over
// n <= m of qbar_m . kbar[n] / sqrt(D).
class PooledEstimateRows {
 public:
  PooledEstimateRows(const AttentionInputs& inputs, int head, int blockSize, const std::vector<std::vector<double>>& pooledKeys)
      : queries_(pooledBlocks(inputs, inputs.q, head, blockSize)),
        keys_(pooledKeys),
        scale_(1.0 / std::sqrt(double(inputs.headDim))),
        row_(pooledKeys.size()) {}

  int blocks() const { return int(keys_.size()); }

  const double* compute(int m) {
    for (int n = 0; n <= m; ++n) row_[size_t(n)] = dot(queries_[size_t(m)], keys_[size_t(n)]) * scale_;
    softmaxInPlace(row_.data(), m + 1);
    return row_.data();
  }

 private:
  std::vector<std::vector<double>> queries_;
  const std::vector<std::vector<double>>& keys_;
  double scale_;
  std::vector<double> row_;
};

// Buckets of probabilities by their top 20 bits (the order of nonnegative doubles); NaN in bucket 0,
// which the descending order puts last as well.
constexpr int kValueBuckets = 1 << 19;
int valueBucket(double p) { return std::isnan(p) ? 0 : int(std::bit_cast<uint64_t>(p) >> 44); }

// The lowest value bucket the exact walk can reach: below it, the buckets above already hold more
// than the budget, by a margin that covers the summation order (bucket sums here, descending
// order there). 0 when the walk may reach every entry.
int lowestNeededBucket(const std::vector<double>& bucketMass, double budget, double margin) {
  double cumulative = 0.0;
  for (int bucket = kValueBuckets - 1; bucket > 0; --bucket) {
    cumulative += bucketMass[size_t(bucket)];
    if (cumulative > budget + margin) return bucket;
  }
  return 0;
}

// Blocks (m, n <= m) of the pooled query-block estimate in descending probability (ties to the
// lower m * M + n) whose inclusive cumulative sum stays <= gamma * M. In two passes over the block
// rows, never M x M values (512 MiB at 1M tokens): the first sums the mass per value bucket, the
// second keeps the entries of the buckets the walk can reach, which the walk then takes in order.
void addPooledEstimate(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings,
                       const std::vector<std::vector<double>>& pooledKeys, std::vector<std::vector<int32_t>>& kept) {
  PooledEstimateRows rows(inputs, head, settings.blockSize, pooledKeys);
  const int M = rows.blocks();
  std::vector<double> bucketMass(kValueBuckets, 0.0);
  for (int m = 0; m < M; ++m) {
    const double* row = rows.compute(m);
    for (int n = 0; n <= m; ++n) bucketMass[size_t(valueBucket(row[n]))] += row[n];
  }
  const double budget = settings.gammaThousandths / 1000.0 * M;
  const int lowest = lowestNeededBucket(bucketMass, budget, 1e-6 * M);
  struct Entry {
    double probability;
    int64_t flat;
  };
  std::vector<Entry> reachable;
  for (int m = 0; m < M; ++m) {
    const double* row = rows.compute(m);
    for (int n = 0; n <= m; ++n)
      if (valueBucket(row[n]) >= lowest) reachable.push_back({row[n], int64_t(m) * M + n});
  }
  std::sort(reachable.begin(), reachable.end(),
            [](const Entry& x, const Entry& y) { return rankedBefore(x.probability, x.flat, y.probability, y.flat); });
  double cumulative = 0.0;
  for (const Entry& entry : reachable) {
    cumulative += entry.probability;
    if (cumulative > budget) break;
    kept[size_t(entry.flat / M)].push_back(int32_t(entry.flat % M));
  }
}

}  // namespace

std::string checkFlexPrefill(int gammaThousandths, int tauThousandths) {
  if (gammaThousandths > 1000) return "flexprefill gamma " + std::to_string(gammaThousandths) + " exceeds 1000 thousandths";
  if (tauThousandths > 1000) return "flexprefill tau " + std::to_string(tauThousandths) + " exceeds 1000 thousandths";
  return "";
}

bool flexprefillDense(int seqLen, const FlexPrefillSettings& settings) {
  return seqLen <= std::max(2 * settings.blockSize, minBudgetBlocks(settings) * settings.blockSize);
}

void flexprefillTokenScores(const AttentionInputs& inputs, int head, int blockSize, std::vector<double>& vertical,
                            std::vector<double>& slash) {
  const int N = inputs.seqLen, D = inputs.headDim, kvHead = inputs.kvHeadOf(head);
  const std::vector<float> queries = rowsAsFloat(inputs, inputs.q, head, N - blockSize, blockSize);
  const std::vector<float> keys = rowsAsFloat(inputs, inputs.k, kvHead, 0, N);
  const float scale = 1.0f / std::sqrt(float(D));
  vertical.assign(size_t(N), 0.0);
  slash.assign(size_t(N), 0.0);
  std::vector<float> scores(static_cast<size_t>(N));
  for (int r = 0; r < blockSize; ++r) {
    const int i = N - blockSize + r;
    const float* query = queries.data() + size_t(r) * D;
    float rowMax = -INFINITY;
    for (int j = 0; j <= i; ++j) {
      float sum = 0.0f;
      for (int d = 0; d < D; ++d) sum += query[d] * keys[size_t(j) * D + d];
      rowMax = std::max(rowMax, scores[size_t(j)] = sum * scale);
    }
    float total = 0.0f;
    for (int j = 0; j <= i; ++j) total += (scores[size_t(j)] = std::exp(scores[size_t(j)] - rowMax));
    for (int j = 0; j <= i; ++j) {
      const double p = double(scores[size_t(j)] / total);
      vertical[size_t(j)] += p;
      slash[size_t(i - j)] += p;
    }
  }
  for (double& value : vertical) value /= blockSize;
  for (double& value : slash) value /= blockSize;
}

HeadIndex flexprefillHeadFromScores(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings,
                                    const std::vector<double>& vertical, const std::vector<double>& slash) {
  const int N = inputs.seqLen, B = settings.blockSize, M = methodBlocks(N, B);
  std::vector<double> verticalBlocks(size_t(M), 0.0), slashBlocks(size_t(M), 0.0);
  for (int j = 0; j < N; ++j) verticalBlocks[size_t(j / B)] += vertical[size_t(j)];
  for (int o = 0; o < N; ++o) slashBlocks[size_t(M - 1 - (N - 1 - o) / B)] += slash[size_t(o)];
  const double gamma = settings.gammaThousandths / 1000.0;
  const int minBlocks = minBudgetBlocks(settings);
  int verticalCount = std::clamp(coverCount(vertical, gamma) / B + 1, minBlocks, M);
  int slashCount = std::clamp(coverCount(slash, gamma) / B + 1, minBlocks, M);
  const std::vector<std::vector<double>> pooledKeys = pooledBlocks(inputs, inputs.k, inputs.kvHeadOf(head), B);
  const bool aware = queryAware(inputs, head, settings, pooledKeys, verticalBlocks);
  if (aware) verticalCount = slashCount = std::min(minBlocks, M);
  verticalBlocks[0] = INFINITY;
  slashBlocks[0] = INFINITY;
  const std::vector<int32_t> verticals = topIndices(verticalBlocks, std::max(verticalCount, 1));
  const std::vector<int32_t> slashes = topIndices(slashBlocks, std::max(slashCount, 1));
  std::vector<std::vector<int32_t>> kept(static_cast<size_t>(M));
  for (int m = 0; m < M; ++m) {
    for (const int32_t n : verticals)
      if (n <= m) kept[size_t(m)].push_back(n);
    for (const int32_t d : slashes)
      if (d <= m) kept[size_t(m)].push_back(m - d);
  }
  if (aware) addPooledEstimate(inputs, head, settings, pooledKeys, kept);
  for (std::vector<int32_t>& blocks : kept) {
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  }
  return headOfKeptBlocks(kept, B, N);
}

HeadIndex flexprefillHead(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings) {
  std::vector<double> vertical, slash;
  flexprefillTokenScores(inputs, head, settings.blockSize, vertical, slash);
  return flexprefillHeadFromScores(inputs, head, settings, vertical, slash);
}

}  // namespace sparsescope
