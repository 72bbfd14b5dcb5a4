#include "flexprefill_index.h"

#include <cmath>

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

// Blocks (m, n <= m) of the pooled query-block estimate in descending probability whose
// inclusive cumulative sum stays <= gamma * M.
void addPooledEstimate(const AttentionInputs& inputs, int head, const FlexPrefillSettings& settings,
                       const std::vector<std::vector<double>>& pooledKeys, std::vector<std::vector<int32_t>>& kept) {
  const int M = int(pooledKeys.size());
  const std::vector<std::vector<double>> pooledQueries = pooledBlocks(inputs, inputs.q, head, settings.blockSize);
  const double scale = 1.0 / std::sqrt(double(inputs.headDim));
  std::vector<double> probability(size_t(M) * M, 0.0);  // flat m * M + n; 0 above the diagonal
  for (int m = 0; m < M; ++m) {
    double* row = probability.data() + size_t(m) * M;
    for (int n = 0; n <= m; ++n) row[n] = dot(pooledQueries[size_t(m)], pooledKeys[size_t(n)]) * scale;
    softmaxInPlace(row, m + 1);
  }
  const double budget = settings.gammaThousandths / 1000.0 * M;
  double cumulative = 0.0;
  for (const int32_t flat : descendingOrder(probability)) {
    cumulative += probability[size_t(flat)];
    if (cumulative > budget) break;
    const int m = flat / M, n = flat % M;
    if (n <= m) kept[size_t(m)].push_back(n);
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
