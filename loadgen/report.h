// Results of a loadgen run, for people and for scripts:
//   - a live progress line per interval on stderr when it is a terminal
//     (stage, users or rate, TPS, p99, errors);
//   - a summary table at the end;
//   - a JSON summary (--summary-json FILE, and DIR/summary.json with --out);
//     per transaction and step: count, ok, errors, errors_by_class,
//     error_rate, tps, bytes, and latency p50/p90/p99/p99.9/max/mean in
//     milliseconds (open model: "uncorrected" beside them);
//   - with --out DIR: DIR/timeseries.csv (one row per interval and
//     transaction) and DIR/<transaction>.hlog (HdrHistogram interval logs);
//   - threshold verdicts.
//
// Usage:
//   Reporter reporter(scenario, engine.ops(), {.summary_json = "s.json", .out_dir = "out"});
//   if (absl::Status s = reporter.Open(); !s.ok()) ...;
//   EngineOptions options{.on_interval = [&](const IntervalReport& r) { reporter.OnInterval(r); }};
//   ... RunResult result = *engine.Run();
//   std::vector<ThresholdResult> verdicts = EvaluateThresholds(scenario, result);
//   absl::Status written = reporter.Finish(result, verdicts);
#ifndef TPSLAB_LOADGEN_REPORT_H_
#define TPSLAB_LOADGEN_REPORT_H_

#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/metrics/hdr_log.h"
#include "common/proto/scenario.pb.h"
#include "loadgen/engine.h"
#include "nlohmann/json.hpp"

namespace tpslab::loadgen {

// A threshold and how the run fared against it.
struct ThresholdResult {
  std::string expression;
  // The observed value in the threshold's unit (ms, 1/s, fraction, count).
  double observed = 0;
  bool passed = false;
};

// Evaluates the scenario's thresholds against `result`. A threshold naming
// an op that never ran sees zeros (so "tps(x) > 1" fails).
std::vector<ThresholdResult> EvaluateThresholds(const v1::Scenario& scenario,
                                                const RunResult& result);

// The JSON summary (see the file comment).
nlohmann::json SummaryJson(const v1::Scenario& scenario, const RunResult& result,
                           const std::vector<ThresholdResult>& thresholds);

// The summary table: one row per transaction and step.
void PrintSummaryTable(const RunResult& result, const std::vector<ThresholdResult>& thresholds,
                       std::ostream& out);

struct ReportOptions {
  // Where to write the JSON summary (also written to DIR/summary.json when
  // out_dir is set). Default empty.
  std::string summary_json;
  // Directory for summary.json, timeseries.csv and the .hlog files; created
  // if missing. Default empty: none of them.
  std::string out_dir;
  // Print a progress line per interval on stderr. Default false (main sets
  // it when stderr is a terminal).
  bool progress = false;
};

// The interval as the coordinator receives it (tpslab.v1.LoadInterval):
// wall-clock bounds, stage and load level, per-transaction and per-step
// counts, errors by class, bytes and encoded latency histograms.
v1::LoadInterval ToLoadInterval(const IntervalReport& report, const std::vector<OpInfo>& ops,
                                bool open_model);

class Reporter {
 public:
  Reporter(const v1::Scenario& scenario, std::vector<OpInfo> ops, ReportOptions options);
  ~Reporter();

  // Creates the output directory and opens the time series and interval
  // logs. Errors name the path.
  absl::Status Open();
  // Handles one interval (progress line, CSV rows, .hlog lines). Called on
  // the engine's control thread.
  void OnInterval(const IntervalReport& report);
  // Writes the JSON summary and closes the files.
  absl::Status Finish(const RunResult& result, const std::vector<ThresholdResult>& thresholds);

 private:
  const v1::Scenario& scenario_;
  std::vector<OpInfo> ops_;
  ReportOptions options_;
  std::ofstream csv_;
  std::vector<std::unique_ptr<std::ofstream>> hlog_files_;
  std::vector<std::unique_ptr<metrics::HdrLogWriter>> hlogs_;  // Per transaction.
  size_t stages_ = 0;
};

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_REPORT_H_
