// The files of a finished run: analyzes a run stored in a RunStore and
// writes report.html, summary.json and timeseries.csv into its folder.
// `analyzer run` calls it when the load ends; `analyzer report` calls it
// again on a stored run.
//
// Example:
//   ReportContext context{.run_id = "20261128-054000-ftpd", .slo_p99_ms = 50};
//   absl::StatusOr<nlohmann::json> report = WriteReportFiles(store, context, "results/...");
#ifndef TPSLAB_ANALYZER_RUN_REPORT_FILES_H_
#define TPSLAB_ANALYZER_RUN_REPORT_FILES_H_

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/run_store.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

// What the caller knows about a run that the store does not say.
struct ReportContext {
  // The run to report. Required.
  std::string run_id = {};
  // Target URL without password. Default empty: unknown.
  std::string target = {};
  // What was measured ("ftpd", "vsftpd"...). Default empty: unknown.
  std::string server = {};
  // Processes the monitor watched. Default none.
  std::vector<std::string> watched = {};
  // Kernel release of the server host. Default empty: unknown.
  std::string kernel = {};
  // p99 objective for "highest TPS under the SLO", ms. Default 50.
  double slo_p99_ms = 50;
};

// The kernel release of this machine (uname -r), empty when unknown.
std::string LocalKernelRelease();

// Analyzes `context.run_id` and writes report.html, summary.json and
// timeseries.csv into `dir` (which must exist). Returns the report
// document. `add_sections`, when given, is called with the analyzed report
// before anything is written, to add sections the store does not hold
// (`analyzer run --capture` adds "network"). Errors name the file or the
// run.
absl::StatusOr<nlohmann::json> WriteReportFiles(
    RunStore& store, const ReportContext& context, const std::filesystem::path& dir,
    const std::function<void(nlohmann::json&)>& add_sections = {});

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_RUN_REPORT_FILES_H_
