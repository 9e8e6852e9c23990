// Regression verdict between two "tpslab.report/1" documents (see
// run_analysis.h): a baseline run and a candidate run of the same scenario.
//
// Compared, for the whole run (scope "") and for every transaction by name:
//   tps                 higher is better, relative threshold tps_change
//   p50_ms, p99_ms,     lower is better, relative threshold latency_change
//   p999_ms
//   error_rate          lower is better, absolute threshold in percentage
//                       points (error_rate_change_pp)
// and for the whole run only (higher is better, capacity_change):
//   max_tps_under_slo   slo.max_tps
//   knee_load           knee.load (the load where throughput stops scaling)
//   usl_peak_tps        usl.peak_tps
// A change beyond its threshold in the bad direction is a regression, in
// the good direction an improvement, within it "unchanged"; a value missing
// on either side (null, absent transaction, no knee) is "missing" and
// neither. Run-level tps, latencies and error rate come from the document's
// "overall" object.
//
// Example:
//   CompareResult result = Compare(baseline_report, candidate_report, {});
//   std::fputs(result.Text().c_str(), stdout);
//   return result.regressed ? 1 : 0;
#ifndef TPSLAB_ANALYZER_COMPARE_H_
#define TPSLAB_ANALYZER_COMPARE_H_

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

struct CompareOptions {
  // Relative TPS change that counts: a drop beyond it is a regression, a
  // rise beyond it an improvement. Default 0.05 (5%).
  double tps_change = 0.05;
  // Relative latency change (p50, p99, p999) that counts: a rise beyond it
  // is a regression, a fall beyond it an improvement. Default 0.10 (10%).
  double latency_change = 0.10;
  // Error-rate change, in percentage points, that counts: a rise beyond it
  // is a regression, a fall beyond it an improvement. Default 0.1 pp.
  double error_rate_change_pp = 0.1;
  // Relative change of the capacity figures (max TPS under the SLO, knee
  // load, USL peak TPS) that counts, like tps_change. Default 0.05 (5%).
  double capacity_change = 0.05;
};

enum class Change {
  kUnchanged,  // Within the threshold.
  kImproved,   // Beyond the threshold in the good direction.
  kRegressed,  // Beyond the threshold in the bad direction.
  kMissing,    // Not comparable: a value is missing on one or both sides.
};

// "unchanged", "improved", "regressed", "missing".
const char* ChangeName(Change change);

// One compared figure.
struct MetricComparison {
  std::string scope = {};   // "" for the whole run, else the transaction name.
  std::string metric = {};  // "tps", "p99_ms", "error_rate", "knee_load", ...
  std::optional<double> baseline = std::nullopt;
  std::optional<double> candidate = std::nullopt;
  // candidate − baseline (for error_rate a fraction; Text() shows pp).
  std::optional<double> delta = std::nullopt;
  // delta / baseline; empty when a side is missing or the baseline is 0.
  std::optional<double> relative = std::nullopt;
  Change change = Change::kMissing;
};

struct CompareResult {
  std::string baseline_run;  // run.id of each document ("" when absent).
  std::string candidate_run;
  CompareOptions options;  // The thresholds applied.
  bool regressed = false;  // Some figure regressed.
  int regressions = 0;
  int improvements = 0;
  std::vector<MetricComparison> metrics;  // Run first, then transactions by name.
  // Things a reader must know (different SLOs, transactions on one side only).
  std::vector<std::string> notes;

  // A plain-text table: a verdict line, then one row per figure.
  std::string Text() const;
  // {"schema": "tpslab.compare/1", "baseline", "candidate", "regressed",
  //  "regressions", "improvements", "thresholds", "notes", "metrics": [...]}.
  nlohmann::json Json() const;
};

// Compares `candidate` against `baseline`. Never fails: what a document
// lacks is reported as missing.
CompareResult Compare(const nlohmann::json& baseline, const nlohmann::json& candidate,
                      const CompareOptions& options = {});

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_COMPARE_H_
