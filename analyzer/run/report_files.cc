#include "analyzer/run/report_files.h"

#include <sys/utsname.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "analyzer/report/html_report.h"
#include "analyzer/run_analysis.h"

namespace tpslab::analyzer {

std::string LocalKernelRelease() {
  struct utsname name = {};
  if (::uname(&name) != 0) return {};
  return name.release;
}

absl::StatusOr<nlohmann::json> WriteReportFiles(
    RunStore& store, const ReportContext& context, const std::filesystem::path& dir,
    const std::function<void(nlohmann::json&)>& add_sections) {
  AnalysisOptions options;
  options.slo_p99_ms = context.slo_p99_ms;
  options.target = context.target;
  options.server = context.server;
  options.watched = context.watched;
  options.kernel = context.kernel;
  absl::StatusOr<nlohmann::json> report = AnalyzeRun(store, context.run_id, options);
  if (!report.ok()) return report.status();
  if (add_sections) add_sections(*report);

  if (absl::Status s = WriteSummaryJson(*report, (dir / "summary.json").string()); !s.ok())
    return s;
  if (absl::Status s = WriteTimeseriesCsv(*report, (dir / "timeseries.csv").string()); !s.ok()) {
    return s;
  }
  const std::filesystem::path html = dir / "report.html";
  std::ofstream out(html, std::ios::binary | std::ios::trunc);
  out << RenderReportHtml(*report);
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", html.string()));
  return report;
}

}  // namespace tpslab::analyzer
