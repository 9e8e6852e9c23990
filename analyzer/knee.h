// Saturation point (knee) of a throughput-versus-load curve, and the highest
// throughput that still meets a latency objective.
//
// The knee is found with Kneedle (Satopää et al., "Finding a 'Kneedle' in a
// Haystack", 2011) on the stages up to the one with peak throughput:
//   1. sort stages by load; keep those up to the end of the plateau (the
//      last stage whose throughput is within `plateau_tolerance` of the peak);
//   2. normalize load and throughput (first stage to peak) to [0, 1] there;
//   3. the knee is the stage where normalized throughput minus normalized
//      load is largest, if that difference reaches `min_prominence` (a
//      straight line has difference 0; a curve that rises and then lies flat
//      approaches 1 − the knee's normalized load);
//   4. without such a stage, if throughput falls below the plateau after the
//      peak (retrograde scaling), the knee is the peak itself; otherwise there is none: the
//      server still scaled over the whole run ("add load").
// The result also gives the marginal throughput per added unit of load after
// the knee relative to the initial slope, and how much latency (p99) rose
// from the first stage to the knee, so the finding reads with numbers.
//
// Example:
//   std::vector<StagePoint> stages = {{.load = 10, .tps = 950, .p99_ms = 4}, ...};
//   std::optional<Knee> knee = FindKnee(stages);
//   std::optional<StagePoint> best = HighestTpsUnderSlo(stages, {.p99_ms = 50});
#ifndef TPSLAB_ANALYZER_KNEE_H_
#define TPSLAB_ANALYZER_KNEE_H_

#include <optional>
#include <span>
#include <string>

namespace tpslab::analyzer {

// One load stage's aggregate.
struct StagePoint {
  int stage = 0;          // Stage index in the scenario.
  double load = 0;        // Mean active users (closed model) or target rate (open).
  double tps = 0;         // Completed transactions per second.
  double p99_ms = 0;      // 99th percentile latency, milliseconds.
  double error_rate = 0;  // Failed transactions / all transactions, 0..1.
};

struct KneeOptions {
  // Smallest normalized difference curve maximum that counts as a knee.
  // Default 0.1: a bend that takes at least a tenth of the range.
  double min_prominence = 0.1;
  // Stages within this fraction of the peak throughput belong to the
  // plateau. Default 0.05 (5%), above run-to-run noise of a steady stage.
  double plateau_tolerance = 0.05;
};

struct Knee {
  int index = 0;  // Position in the input span.
  StagePoint point;
  // Slope of throughput over load from the knee to the last stage divided
  // by the slope from the first stage to the knee; < 1 means each added user buys
  // less throughput. NaN when undefined (the knee is the last stage).
  double marginal_gain = 0;
  // p99 at the knee divided by p99 at the first stage (NaN when the first
  // p99 is 0).
  double latency_growth = 0;
  // "kneedle" or "peak" (retrograde curve whose bend was too small).
  std::string method;
};

// Finds the knee of `stages` (any order; loads should be distinct). Returns
// empty with fewer than 3 stages or when throughput still scales.
std::optional<Knee> FindKnee(std::span<const StagePoint> stages, const KneeOptions& options = {});

// A latency objective.
struct Slo {
  double p99_ms = 0;             // p99 must be strictly below this.
  double max_error_rate = 0.01;  // Error rate must not exceed this. Default 1%.
};

// The stage with the highest throughput whose p99 is below slo.p99_ms and
// whose error rate is at most slo.max_error_rate; empty when none is.
std::optional<StagePoint> HighestTpsUnderSlo(std::span<const StagePoint> stages, const Slo& slo);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_KNEE_H_
