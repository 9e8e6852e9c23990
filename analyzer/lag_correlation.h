// Which server metric moves with throughput or latency: Pearson correlation
// of two series sampled on the same time grid (e.g. JoinedSeries columns,
// one value per second, NaN where missing), shifted by −k..k intervals.
//
// Lag convention: at lag L the metric's value at t is paired with the
// target's value at t + L, so a positive best lag means the metric moves
// first (it leads the target by L intervals), a negative one that it
// follows.
//
// Example:
//   std::optional<LagCorrelation> c = BestLagCorrelation(cpu, tps, 5);
//   // c->lag = 0, c->r = 0.97: CPU moves with TPS in the same second.
//   std::vector<MetricCorrelation> ranked = RankCorrelations(joined, "tps", 5);
#ifndef TPSLAB_ANALYZER_LAG_CORRELATION_H_
#define TPSLAB_ANALYZER_LAG_CORRELATION_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/series.h"

namespace tpslab::analyzer {

// Pairs with both values finite needed for a coefficient.
inline constexpr int kMinCorrelationPairs = 3;

// Pearson's r over the pairs (x[i], y[i]) where both are finite. Empty with
// fewer than kMinCorrelationPairs pairs or when either side is constant.
std::optional<double> Pearson(std::span<const double> x, std::span<const double> y);

struct LagCorrelation {
  int lag = 0;    // See the lag convention above.
  double r = 0;   // Pearson's r at that lag.
  int pairs = 0;  // Pairs it was computed over.
};

// The lag in [−max_lag, max_lag] with the largest |r| (ties: the smaller
// |lag|, then the negative one). Empty when no lag gives a coefficient.
std::optional<LagCorrelation> BestLagCorrelation(std::span<const double> metric,
                                                 std::span<const double> target, int max_lag);

struct MetricCorrelation {
  std::string metric;
  LagCorrelation best;
};

// Correlates every column of `joined` other than `target` against it and
// returns them by decreasing |r| (columns without a coefficient are left
// out). Empty when `target` is not a column.
std::vector<MetricCorrelation> RankCorrelations(const JoinedSeries& joined, std::string_view target,
                                                int max_lag);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_LAG_CORRELATION_H_
