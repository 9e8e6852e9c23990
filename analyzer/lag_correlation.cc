#include "analyzer/lag_correlation.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tpslab::analyzer {
namespace {

// Pearson over x[i], y[i + lag] for every i where both indexes exist.
std::optional<LagCorrelation> AtLag(std::span<const double> x, std::span<const double> y, int lag) {
  const long n = static_cast<long>(std::min(x.size(), y.size()));
  const long first = std::max(0L, -static_cast<long>(lag));
  const long last = std::min(n, n - lag);  // Exclusive.
  if (last - first < kMinCorrelationPairs) return std::nullopt;
  std::optional<double> r =
      Pearson(x.subspan(first, last - first), y.subspan(first + lag, last - first));
  if (!r) return std::nullopt;
  int pairs = 0;
  for (long i = first; i < last; ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i + lag])) ++pairs;
  }
  return LagCorrelation{lag, *r, pairs};
}

}  // namespace

std::optional<double> Pearson(std::span<const double> x, std::span<const double> y) {
  const size_t n = std::min(x.size(), y.size());
  double sx = 0, sy = 0;
  int pairs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    sx += x[i];
    sy += y[i];
    ++pairs;
  }
  if (pairs < kMinCorrelationPairs) return std::nullopt;
  const double mx = sx / pairs, my = sy / pairs;
  double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    const double dx = x[i] - mx, dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  // A constant side has no correlation; guard against rounding residue too.
  if (sxx <= 1e-24 * (1 + mx * mx) * pairs || syy <= 1e-24 * (1 + my * my) * pairs) {
    return std::nullopt;
  }
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::optional<LagCorrelation> BestLagCorrelation(std::span<const double> metric,
                                                 std::span<const double> target, int max_lag) {
  std::optional<LagCorrelation> best;
  max_lag = std::max(max_lag, 0);
  // Visit lags by increasing |lag|, negative first, so ties keep the
  // earliest visited.
  for (int distance = 0; distance <= max_lag; ++distance) {
    for (int lag : {-distance, distance}) {
      if (distance == 0 && lag > 0) continue;
      std::optional<LagCorrelation> c = AtLag(metric, target, lag);
      if (c && (!best || std::abs(c->r) > std::abs(best->r) + 1e-12)) best = c;
    }
  }
  return best;
}

std::vector<MetricCorrelation> RankCorrelations(const JoinedSeries& joined, std::string_view target,
                                                int max_lag) {
  std::vector<MetricCorrelation> ranked;
  const std::vector<double>* target_column = joined.Column(target);
  if (target_column == nullptr) return ranked;
  for (size_t c = 0; c < joined.names.size(); ++c) {
    if (joined.names[c] == target) continue;
    std::optional<LagCorrelation> best =
        BestLagCorrelation(joined.columns[c], *target_column, max_lag);
    if (best) ranked.push_back({joined.names[c], *best});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return std::abs(a.best.r) > std::abs(b.best.r);
  });
  return ranked;
}

}  // namespace tpslab::analyzer
