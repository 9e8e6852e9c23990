#include "analyzer/knee.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tpslab::analyzer {
namespace {

double Slope(const StagePoint& a, const StagePoint& b) {
  const double dx = b.load - a.load;
  return dx != 0 ? (b.tps - a.tps) / dx : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::optional<Knee> FindKnee(std::span<const StagePoint> stages, const KneeOptions& options) {
  if (stages.size() < 3) return std::nullopt;
  std::vector<int> order(stages.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return stages[a].load < stages[b].load; });
  const auto at = [&](size_t k) -> const StagePoint& { return stages[order[k]]; };

  size_t peak = 0;
  for (size_t k = 1; k < order.size(); ++k) {
    if (at(k).tps > at(peak).tps) peak = k;
  }
  // The plateau ends at the last stage within plateau_tolerance of the peak.
  size_t end = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    if (at(k).tps >= (1.0 - options.plateau_tolerance) * at(peak).tps) end = k;
  }

  std::optional<size_t> knee;
  std::string method;
  const double x0 = at(0).load, x1 = at(end).load;
  const double y0 = at(0).tps, y1 = at(peak).tps;
  if (end >= 2 && x1 > x0 && y1 > y0) {
    double best = -std::numeric_limits<double>::infinity();
    size_t best_k = 0;
    for (size_t k = 0; k <= end; ++k) {
      const double d = (at(k).tps - y0) / (y1 - y0) - (at(k).load - x0) / (x1 - x0);
      if (d > best) {
        best = d;
        best_k = k;
      }
    }
    if (best >= options.min_prominence) {
      knee = best_k;
      method = "kneedle";
    }
  }
  if (!knee && end + 1 < order.size() && peak > 0) {
    knee = peak;
    method = "peak";
  }
  if (!knee) return std::nullopt;

  Knee result;
  result.index = order[*knee];
  result.point = at(*knee);
  result.method = method;
  const double before = Slope(at(0), at(*knee));
  const size_t last = order.size() - 1;
  const double after =
      last > *knee ? Slope(at(*knee), at(last)) : std::numeric_limits<double>::quiet_NaN();
  result.marginal_gain = before > 0 ? after / before : std::numeric_limits<double>::quiet_NaN();
  result.latency_growth =
      at(0).p99_ms > 0 ? at(*knee).p99_ms / at(0).p99_ms : std::numeric_limits<double>::quiet_NaN();
  return result;
}

std::optional<StagePoint> HighestTpsUnderSlo(std::span<const StagePoint> stages, const Slo& slo) {
  std::optional<StagePoint> best;
  for (const StagePoint& s : stages) {
    if (!(s.p99_ms < slo.p99_ms) || s.error_rate > slo.max_error_rate) continue;
    if (!best || s.tps > best->tps) best = s;
  }
  return best;
}

}  // namespace tpslab::analyzer
