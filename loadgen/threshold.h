// Pass/fail thresholds over a finished run, for CI gating:
//
//   p99(upload) < 50ms        latency percentile of one transaction (or of a
//                             step: "p99(upload/connect)")
//   max < 2s                  over all transactions together
//   error_rate < 0.1%         errors / count; a bare number is a fraction
//   tps(upload) > 1000        completed transactions per second
//   count(download) >= 10     completed transactions
//
// Grammar: METRIC [ "(" NAME ")" ] OP VALUE, with METRIC one of pNN (p50,
// p90, p99, p99.9, ...), max, mean, tps, count, error_rate, errors; OP one of
// < <= > >=; VALUE a duration ("50ms") for latency metrics, a percentage or
// fraction for error_rate, a number otherwise.
//
// Usage:
//   absl::StatusOr<Threshold> t = ParseThreshold("p99(upload) < 50ms");
//   double observed = ...;            // from the run's results, in t->unit()
//   bool ok = t->Holds(observed);
#ifndef TPSLAB_LOADGEN_THRESHOLD_H_
#define TPSLAB_LOADGEN_THRESHOLD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::loadgen {

// A parsed threshold expression.
struct Threshold {
  enum class Metric {
    kPercentile,  // Latency at `percentile`, in milliseconds.
    kMax,         // Largest latency, in milliseconds.
    kMean,        // Mean latency, in milliseconds.
    kTps,         // Transactions per second.
    kCount,       // Transactions completed (with or without error).
    kErrorRate,   // Errors / count, as a fraction (0.001 for 0.1%).
    kErrors,      // Errors.
  };
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual };

  // The expression as written.
  std::string expression;
  Metric metric = Metric::kCount;
  // For kPercentile: 0..100.
  double percentile = 0;
  // Transaction ("upload") or step ("upload/connect") name; empty: all
  // transactions together.
  std::string name;
  Op op = Op::kLess;
  // Limit in the metric's unit (milliseconds for latencies, a fraction for
  // error_rate).
  double limit = 0;

  // Returns true when `observed` (in the metric's unit) satisfies the limit.
  bool Holds(double observed) const;
  // Returns true for the latency metrics (percentile, max, mean).
  bool IsLatency() const {
    return metric == Metric::kPercentile || metric == Metric::kMax || metric == Metric::kMean;
  }
};

// Parses a threshold expression. Errors name the offending part, e.g.
// "invalid threshold 'p99(upload) < 5xs': invalid duration '5xs': ...".
absl::StatusOr<Threshold> ParseThreshold(std::string_view text);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_THRESHOLD_H_
