#include "analyzer/run/report_command.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "analyzer/compare.h"
#include "analyzer/run/network_section.h"
#include "analyzer/run/report_files.h"
#include "analyzer/run_store.h"
#include "common/app/cli.h"

namespace tpslab::analyzer {
namespace {

namespace fs = std::filesystem;

constexpr int kExitRegressed = 3;

absl::StatusOr<nlohmann::json> ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  nlohmann::json document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), ": not a JSON object"));
  }
  return document;
}

// A run folder's summary.json, or the file itself.
absl::StatusOr<nlohmann::json> ReadSummary(const std::string& run) {
  const fs::path path = fs::is_directory(run) ? fs::path(run) / "summary.json" : fs::path(run);
  absl::StatusOr<nlohmann::json> summary = ReadJson(path);
  if (!summary.ok()) return summary.status();
  if (summary->value("schema", "") != "tpslab.report/1") {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": not a tpslab report (schema \"",
                     summary->value("schema", ""), "\", expected \"tpslab.report/1\")"));
  }
  return summary;
}

// The string at report["run"][key], or "".
std::string RunField(const nlohmann::json& report, const char* key) {
  const nlohmann::json& run = report.value("run", nlohmann::json::object());
  return run.contains(key) && run[key].is_string() ? run[key].get<std::string>() : "";
}

}  // namespace

int ReportCommand(const ReportOptions& options) {
  const fs::path given(options.run);
  const fs::path db = fs::is_directory(given) ? given / "run.db" : given;
  const fs::path dir = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  if (!fs::exists(db)) {
    std::cerr << "analyzer report: error: no run database at " << db.string()
              << " (give a results/<run-id> folder or its run.db)\n";
    return app::kExitFailure;
  }
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(db.string());
  if (!store.ok()) {
    std::cerr << "analyzer report: error: " << store.status().message() << "\n";
    return app::kExitFailure;
  }
  absl::StatusOr<std::vector<RunRecord>> runs = (*store)->ListRuns();
  if (!runs.ok() || runs->empty()) {
    std::cerr << "analyzer report: error: " << db.string() << " holds no run\n";
    return app::kExitFailure;
  }
  // The run named like its folder, else the newest.
  const RunRecord* run = &runs->front();
  for (const RunRecord& r : *runs) {
    if (r.run_id == dir.filename().string()) run = &r;
  }

  // What only the original run knew (target, server, watched processes)
  // comes from the previous summary when there is one.
  ReportContext context;
  context.run_id = run->run_id;
  context.slo_p99_ms = options.slo_p99_ms;
  const absl::StatusOr<nlohmann::json> previous = ReadJson(dir / "summary.json");
  if (previous.ok()) {
    context.target = RunField(*previous, "target");
    context.server = RunField(*previous, "server");
    const nlohmann::json& host =
        previous->value("run", nlohmann::json::object()).value("host", nlohmann::json::object());
    if (host.contains("kernel") && host["kernel"].is_string()) context.kernel = host["kernel"];
    const nlohmann::json& watched =
        previous->value("run", nlohmann::json::object()).value("watched", nlohmann::json::array());
    for (const nlohmann::json& w : watched) {
      if (w.is_string()) context.watched.push_back(w.get<std::string>());
    }
  }

  // The network section, when the run was captured: from the same files
  // `analyzer run --capture` built it from. How the run captured is in
  // capture.json; runs recorded before that file existed have it in the
  // previous summary.
  std::function<void(nlohmann::json&)> add_network;
  CaptureSettings capture_settings;
  std::string network_note;  // Why there is no section.
  if (fs::exists(dir / kCaptureFile)) {
    if (absl::StatusOr<CaptureSettings> stored = ReadCaptureSettings(dir); stored.ok()) {
      capture_settings = *std::move(stored);
    } else {
      if (!absl::IsNotFound(stored.status())) {
        std::cerr << "analyzer report: warning: " << stored.status().message()
                  << "; the capture's settings come from the previous summary.json\n";
      }
      if (previous.ok()) capture_settings = CaptureSettingsFromReport(*previous);
    }
    add_network = [&](nlohmann::json& report) {
      report["network"] = NetworkSection(dir, capture_settings, report);
    };
  } else if (fs::exists(dir / kCaptureSettingsFile)) {
    network_note =
        absl::StrCat("network: no section: ", kCaptureFile, " is missing from ", dir.string());
  } else {
    network_note = absl::StrCat("network: no section: the run has no ", kCaptureFile,
                                " (record one with `analyzer run --capture`)");
  }

  absl::StatusOr<nlohmann::json> report = WriteReportFiles(**store, context, dir, add_network);
  if (!report.ok()) {
    std::cerr << "analyzer report: error: " << report.status().message() << "\n";
    return app::kExitFailure;
  }
  std::cout << "run " << run->run_id << ": wrote report.html, summary.json, timeseries.csv\n";
  if (report->contains("network")) {
    std::cout << DescribeNetworkSection((*report)["network"]);
  } else {
    std::cout << network_note << "\n";
  }
  std::cout << "results: " << dir.string() << "\n";
  return app::kExitOk;
}

int CompareCommand(const CompareCommandOptions& options) {
  absl::StatusOr<nlohmann::json> baseline = ReadSummary(options.baseline);
  absl::StatusOr<nlohmann::json> candidate = ReadSummary(options.candidate);
  for (const absl::StatusOr<nlohmann::json>* side : {&baseline, &candidate}) {
    if (!side->ok()) {
      std::cerr << "analyzer compare: error: " << side->status().message() << "\n";
      return app::kExitFailure;
    }
  }
  CompareOptions thresholds;
  thresholds.tps_change = options.max_tps_drop_pct / 100;
  thresholds.capacity_change = options.max_tps_drop_pct / 100;
  thresholds.latency_change = options.max_p99_rise_pct / 100;
  thresholds.error_rate_change_pp = options.max_error_rise_pp;
  const CompareResult result = Compare(*baseline, *candidate, thresholds);
  if (options.json) {
    std::cout << result.Json().dump(2) << "\n";
  } else {
    std::cout << result.Text();
  }
  return result.regressed ? kExitRegressed : app::kExitOk;
}

}  // namespace tpslab::analyzer
