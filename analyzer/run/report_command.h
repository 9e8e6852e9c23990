// `analyzer report RUN` and `analyzer compare BASELINE CANDIDATE`: the
// commands over finished runs.
//
//   analyzer report results/20261128-054000-ftpd
//     analyzes the run stored in that folder's run.db again and rewrites
//     report.html, summary.json and timeseries.csv there; a captured run
//     (capture.pcap in the folder) gets its "network" section again
//     (network_section.h), any other a one-line note saying why it has none.
//   analyzer compare results/A results/B [--max-tps-drop 5] [--json]
//     compares B (candidate) with A (baseline) from their summary.json;
//     exit status 0 unchanged or better, 3 regressed, 1 unreadable input.
#ifndef TPSLAB_ANALYZER_RUN_REPORT_COMMAND_H_
#define TPSLAB_ANALYZER_RUN_REPORT_COMMAND_H_

#include <string>

namespace tpslab::analyzer {

struct ReportOptions {
  // Run folder (holding run.db) or the run.db file itself. Required.
  std::string run = {};
  // p99 objective for "highest TPS under the SLO", ms. Default 50.
  double slo_p99_ms = 50;
};

// Rewrites the report files of a stored run (with the network section when
// the folder holds the run's capture); returns the exit status.
int ReportCommand(const ReportOptions& options);

struct CompareCommandOptions {
  // Run folders or summary.json files. Required.
  std::string baseline = {};
  std::string candidate = {};
  // Regression thresholds (CompareOptions): TPS drop in %, p99 rise in %,
  // error-rate rise in percentage points. Defaults 5, 10, 0.1.
  double max_tps_drop_pct = 5;
  double max_p99_rise_pct = 10;
  double max_error_rise_pp = 0.1;
  // Print JSON instead of the table. Default false.
  bool json = false;
};

// Compares two runs; returns 0 (no regression), 3 (regressed) or 1.
int CompareCommand(const CompareCommandOptions& options);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_REPORT_COMMAND_H_
