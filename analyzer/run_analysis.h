// The report of a perf run: reads everything a RunStore holds about one run
// (load intervals, host and process samples, check results, findings,
// agents) and builds the "tpslab.report/1" JSON document that summary.json,
// report.html and the dashboard share. Top-level keys:
//   schema, generated_at, run (with host and agents), verdict (USE method),
//   knee, slo (highest TPS under a p99 objective), usl (fit and curve),
//   littles_law, stages (with server_cpu, process_cpu and generator_cpu
//   averaged over each stage), transactions (with steps and errors by
//   class), spectrum (latency percentiles per transaction, "" = all),
//   series (one value per second; null = missing), correlations (best lag
//   of each server series against tps and p99_ms), findings, checks;
//   and, beyond the schema, "overall" (count, errors, error_rate, tps,
//   peak_tps, latencies and errors by class of all transactions together,
//   which Compare() reads) and series "disk_busy" (busiest disk's I/O time
//   fraction).
//
// Alignment: a load interval belongs to the second (bucket) of its end time
// plus its agent's clock offset; a host or process rate computed from two
// consecutive samples belongs to the bucket of the later sample's time plus
// its agent's offset, so both describe "the second that just ended". The
// series grid is every second from the first to the last second with load
// data; t_s is a bucket's start minus the run's start (the first load
// bucket when the run never started).
//
// Definitions: CPU fractions come from deltas of the host's "total" CpuTimes
// row (the sum of the per-core rows without it): busy = user + nice + system
// + irq + softirq + steal over busy + idle + iowait; cpu_user = user + nice,
// cpu_system = system + irq. The generator's CPU is a fraction of the cores
// it may use: per loadgen host, min(its cores from a monitor there, the
// agents' threads), either one alone when the other is unknown.
//
// Missing pieces never fail the analysis: without monitor data the host and
// process series are null and the verdict says why; only a missing run or
// a run without any load interval is an error.
//
// Example:
//   absl::StatusOr<nlohmann::json> report =
//       AnalyzeRun(store, "20261128-054000-ftpd", {.target = "ftp://127.0.0.1:2121",
//                                                  .server = "ftpd"});
//   if (!report.ok()) return report.status();
//   WriteSummaryJson(*report, dir + "/summary.json");
//   WriteTimeseriesCsv(*report, dir + "/timeseries.csv");
#ifndef TPSLAB_ANALYZER_RUN_ANALYSIS_H_
#define TPSLAB_ANALYZER_RUN_ANALYSIS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "analyzer/knee.h"
#include "analyzer/run_store.h"
#include "analyzer/use_verdict.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

// The "schema" value of the documents AnalyzeRun builds.
inline constexpr char kReportSchema[] = "tpslab.report/1";

struct AnalysisOptions {
  // p99 objective for "highest TPS under the SLO", ms. Default 50.
  double slo_p99_ms = 50;
  // Largest error rate (0..1) a stage may have to meet the SLO. Default 0.01.
  double slo_max_error_rate = 0.01;
  // Target URL (without password), reported as run.target. Default empty:
  // null.
  std::string target = {};
  // What was measured ("ftpd", "vsftpd"...), reported as run.server. Default
  // empty: null.
  std::string server = {};
  // Process selectors the monitor watched, reported as run.watched. Default
  // none. (The process series sum every watched process that was alive.)
  std::vector<std::string> watched = {};
  // Hostname of the server among the monitored hosts. Default empty (or no
  // monitored host of that name): the first monitored host, by source id,
  // that runs no loadgen agent, else the first one.
  std::string server_hostname = {};
  // Kernel release of the server host, reported as run.host.kernel. Default
  // empty: null.
  std::string kernel = {};
  // Largest lag, in seconds, tried by the lagged correlations. Default 3.
  int max_lag_s = 3;
  // Time of generated_at, ns since the epoch. Default 0: the system clock.
  int64_t now_ns = 0;
  // Thresholds of the USE verdict. Default: UseOptions defaults.
  UseOptions use = {};
  // Knee detection parameters. Default: KneeOptions defaults.
  KneeOptions knee = {};
};

// Builds the report document of `run_id`. Errors: NotFound naming the run
// when it does not exist; FailedPrecondition naming the run when it has no
// load interval (nothing to report) or when its load intervals span an
// implausible time (a clock offset gone wrong); store errors as they come.
absl::StatusOr<nlohmann::json> AnalyzeRun(RunStore& store, std::string_view run_id,
                                          const AnalysisOptions& options = {});

// The names of report["series"] in schema order ("t_s" first).
const std::vector<std::string>& ReportSeriesNames();

// Writes report["series"] as CSV: a header row "t_s" followed by every
// series name (schema order, then any extra series alphabetically), then
// one row per second; null values are empty cells. Errors name the file.
absl::Status WriteTimeseriesCsv(const nlohmann::json& report, const std::string& path);

// Writes the whole document as pretty JSON (2-space indent) to `path`.
// Errors name the file.
absl::Status WriteSummaryJson(const nlohmann::json& report, const std::string& path);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_ANALYSIS_H_
