#include "loadgen/report.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "loadgen/threshold.h"

namespace tpslab::loadgen {
namespace {

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

// All transactions merged, for thresholds without a name.
OpInterval AllTransactions(const RunResult& result) {
  OpInterval all;
  for (size_t i = 0; i < result.ops.size(); ++i) {
    if (result.ops[i].is_transaction) all.Add(result.totals[i]);
  }
  return all;
}

nlohmann::json Latency(const metrics::HdrHistogram& h) {
  nlohmann::json j;
  j["p50"] = Ms(h.ValueAtPercentile(50));
  j["p90"] = Ms(h.ValueAtPercentile(90));
  j["p99"] = Ms(h.ValueAtPercentile(99));
  j["p999"] = Ms(h.ValueAtPercentile(99.9));
  j["max"] = Ms(h.TotalCount() ? h.Max() : 0);
  j["mean"] = h.Mean() / 1000.0;
  return j;
}

nlohmann::json OpJson(const OpInterval& op, double elapsed, bool open_model) {
  nlohmann::json j = Latency(op.latency);
  j["count"] = op.count;
  j["ok"] = op.count - op.errors;
  j["errors"] = op.errors;
  j["error_rate"] = op.count ? static_cast<double>(op.errors) / op.count : 0.0;
  j["tps"] = elapsed > 0 ? op.count / elapsed : 0.0;
  j["bytes_sent"] = op.bytes_sent;
  j["bytes_received"] = op.bytes_received;
  nlohmann::json by_class = nlohmann::json::object();
  for (size_t i = 1; i < kErrorClasses; ++i) {
    if (op.by_class[i]) by_class[ErrorClassName(static_cast<v1::ErrorClass>(i))] = op.by_class[i];
  }
  j["errors_by_class"] = by_class;
  if (open_model) j["uncorrected"] = Latency(op.uncorrected);
  return j;
}

std::string Csv(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<ThresholdResult> EvaluateThresholds(const v1::Scenario& scenario,
                                                const RunResult& result) {
  std::vector<ThresholdResult> out;
  for (const v1::Threshold& t : scenario.thresholds()) {
    absl::StatusOr<Threshold> parsed = ParseThreshold(t.expression());
    ThresholdResult r;
    r.expression = t.expression();
    if (!parsed.ok()) {
      out.push_back(r);
      continue;
    }
    OpInterval op;
    if (parsed->name.empty()) {
      op = AllTransactions(result);
    } else {
      for (size_t i = 0; i < result.ops.size(); ++i) {
        if (result.ops[i].name == parsed->name) op = result.totals[i];
      }
    }
    switch (parsed->metric) {
      case Threshold::Metric::kPercentile:
        r.observed = Ms(op.latency.ValueAtPercentile(parsed->percentile));
        break;
      case Threshold::Metric::kMax:
        r.observed = Ms(op.latency.TotalCount() ? op.latency.Max() : 0);
        break;
      case Threshold::Metric::kMean:
        r.observed = op.latency.Mean() / 1000.0;
        break;
      case Threshold::Metric::kTps:
        r.observed = result.elapsed_s > 0 ? op.count / result.elapsed_s : 0;
        break;
      case Threshold::Metric::kCount:
        r.observed = static_cast<double>(op.count);
        break;
      case Threshold::Metric::kErrorRate:
        r.observed = op.count ? static_cast<double>(op.errors) / op.count : 0;
        break;
      case Threshold::Metric::kErrors:
        r.observed = static_cast<double>(op.errors);
        break;
    }
    // A latency threshold over nothing measured holds nothing.
    r.passed = parsed->Holds(r.observed) && !(parsed->IsLatency() && op.latency.TotalCount() == 0);
    out.push_back(r);
  }
  return out;
}

nlohmann::json SummaryJson(const v1::Scenario& scenario, const RunResult& result,
                           const std::vector<ThresholdResult>& thresholds) {
  nlohmann::json j;
  j["scenario"] = scenario.name();
  j["model"] = result.open_model ? "open" : "closed";
  j["start_epoch_s"] = result.start_epoch_s;
  j["duration_s"] = result.elapsed_s;
  j["interrupted"] = result.interrupted;
  j["threads"] = result.threads;
  j["dropped"] = result.dropped;
  nlohmann::json transactions = nlohmann::json::object();
  nlohmann::json steps = nlohmann::json::object();
  for (size_t i = 0; i < result.ops.size(); ++i) {
    nlohmann::json op = OpJson(result.totals[i], result.elapsed_s, result.open_model);
    (result.ops[i].is_transaction ? transactions : steps)[result.ops[i].name] = op;
  }
  j["transactions"] = transactions;
  j["steps"] = steps;
  j["all"] = OpJson(AllTransactions(result), result.elapsed_s, result.open_model);
  j["generator"] = {{"cpu_seconds", result.cpu_seconds},
                    {"max_rss_bytes", result.max_rss_bytes},
                    {"saturated", result.generator_saturated}};
  nlohmann::json t = nlohmann::json::array();
  bool all_passed = true;
  for (const ThresholdResult& r : thresholds) {
    t.push_back({{"expression", r.expression}, {"observed", r.observed}, {"passed", r.passed}});
    all_passed = all_passed && r.passed;
  }
  j["thresholds"] = t;
  j["passed"] = all_passed;
  j["sample_errors"] = result.sample_errors;
  return j;
}

void PrintSummaryTable(const RunResult& result, const std::vector<ThresholdResult>& thresholds,
                       std::ostream& out) {
  out << absl::StrFormat("%-32s %10s %8s %10s %9s %9s %9s %9s\n", "name", "count", "errors", "tps",
                         "p50 ms", "p90 ms", "p99 ms", "max ms");
  for (size_t i = 0; i < result.ops.size(); ++i) {
    const OpInterval& op = result.totals[i];
    const metrics::HdrHistogram& h = op.latency;
    out << absl::StrFormat(
        "%-32s %10d %8d %10.1f %9.3f %9.3f %9.3f %9.3f\n",
        (result.ops[i].is_transaction ? "" : "  ") + result.ops[i].name, op.count, op.errors,
        result.elapsed_s > 0 ? op.count / result.elapsed_s : 0.0, Ms(h.ValueAtPercentile(50)),
        Ms(h.ValueAtPercentile(90)), Ms(h.ValueAtPercentile(99)), Ms(h.TotalCount() ? h.Max() : 0));
    if (result.open_model && result.ops[i].is_transaction) {
      const metrics::HdrHistogram& u = op.uncorrected;
      out << absl::StrFormat("%-32s %10s %8s %10s %9.3f %9.3f %9.3f %9.3f\n", "  (uncorrected)", "",
                             "", "", Ms(u.ValueAtPercentile(50)), Ms(u.ValueAtPercentile(90)),
                             Ms(u.ValueAtPercentile(99)), Ms(u.TotalCount() ? u.Max() : 0));
    }
  }
  out << absl::StrFormat("duration %.1fs, %d threads, loadgen CPU %.2fs, max RSS %.1f MiB%s%s\n",
                         result.elapsed_s, result.threads, result.cpu_seconds,
                         result.max_rss_bytes / 1048576.0,
                         result.open_model ? absl::StrCat(", dropped ", result.dropped) : "",
                         result.interrupted ? " (interrupted)" : "");
  if (result.generator_saturated) {
    out << "warning: loadgen was CPU-bound in some intervals; results may understate the server\n";
  }
  for (const ThresholdResult& t : thresholds) {
    out << absl::StrFormat("threshold %-36s %s (observed %.4g)\n", t.expression,
                           t.passed ? "passed" : "FAILED", t.observed);
  }
}

Reporter::Reporter(const v1::Scenario& scenario, std::vector<OpInfo> ops, ReportOptions options)
    : scenario_(scenario), ops_(std::move(ops)), options_(std::move(options)) {
  stages_ = scenario.has_open() ? scenario.open().stages_size() : scenario.closed().stages_size();
}

Reporter::~Reporter() = default;

absl::Status Reporter::Open() {
  if (options_.out_dir.empty()) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(options_.out_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create output directory '", options_.out_dir, "': ", ec.message()));
  }
  const std::string csv_path = options_.out_dir + "/timeseries.csv";
  csv_.open(csv_path);
  if (!csv_) return absl::UnavailableError(absl::StrCat("cannot write '", csv_path, "'"));
  csv_ << "time_s,stage,active,target_rate,name,count,errors,tps,p50_ms,p90_ms,p99_ms,max_ms,"
          "uncorrected_p99_ms,bytes_sent,bytes_received,dropped,cpu_percent,rss_bytes\n";
  const double start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const OpInfo& op : ops_) {
    if (!op.is_transaction) continue;
    const std::string path = options_.out_dir + "/" + op.name + ".hlog";
    auto file = std::make_unique<std::ofstream>(path);
    if (!*file) return absl::UnavailableError(absl::StrCat("cannot write '", path, "'"));
    auto writer = std::make_unique<metrics::HdrLogWriter>(*file);
    absl::Status s = writer->WriteHeader(start);
    if (!s.ok()) return s;
    hlog_files_.push_back(std::move(file));
    hlogs_.push_back(std::move(writer));
  }
  return absl::OkStatus();
}

void Reporter::OnInterval(const IntervalReport& r) {
  const double length = r.end_s - r.start_s;
  if (length <= 0) return;
  if (options_.progress) {
    OpInterval all;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].is_transaction) all.Add(r.ops[i]);
    }
    std::string load = scenario_.has_open() ? absl::StrFormat("rate %.0f/s in-flight %d dropped %d",
                                                              r.target_rate, r.active, r.dropped)
                                            : absl::StrFormat("users %d", r.active);
    std::cerr << absl::StrFormat("[%6.1fs] stage %d/%d %s | tps %.1f | p99 %.3fms | errors %d%s\n",
                                 r.end_s, r.stage + 1, stages_, load, all.count / length,
                                 Ms(all.latency.ValueAtPercentile(99)), all.errors,
                                 r.generator_saturated ? " | loadgen CPU-bound" : "");
  }
  if (csv_.is_open()) {
    size_t hlog = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!ops_[i].is_transaction) continue;
      const OpInterval& op = r.ops[i];
      const metrics::HdrHistogram& h = op.latency;
      csv_ << absl::StrFormat(
          "%.3f,%d,%d,%.1f,%s,%d,%d,%.2f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%d,%d,%.1f,%d\n", r.end_s,
          r.stage, r.active, r.target_rate, Csv(ops_[i].name), op.count, op.errors,
          op.count / length, Ms(h.ValueAtPercentile(50)), Ms(h.ValueAtPercentile(90)),
          Ms(h.ValueAtPercentile(99)), Ms(h.TotalCount() ? h.Max() : 0),
          Ms(op.uncorrected.ValueAtPercentile(99)), op.bytes_sent, op.bytes_received, r.dropped,
          100 * r.cpu_seconds / length, r.rss_bytes);
      (void)hlogs_[hlog++]->WriteInterval(r.start_s, r.end_s, h);
    }
    csv_.flush();
    for (auto& f : hlog_files_) f->flush();
  }
}

absl::Status Reporter::Finish(const RunResult& result,
                              const std::vector<ThresholdResult>& thresholds) {
  csv_.close();
  hlogs_.clear();
  hlog_files_.clear();
  std::vector<std::string> paths;
  if (!options_.summary_json.empty()) paths.push_back(options_.summary_json);
  if (!options_.out_dir.empty()) paths.push_back(options_.out_dir + "/summary.json");
  const std::string text = SummaryJson(scenario_, result, thresholds).dump(2) + "\n";
  for (const std::string& path : paths) {
    // Written aside and renamed, so a reader never sees half a summary.
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      out << text;
      if (!out) return absl::UnavailableError(absl::StrCat("cannot write summary '", path, "'"));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot write summary '", path, "': ", ec.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace tpslab::loadgen

namespace tpslab::loadgen {

v1::LoadInterval ToLoadInterval(const IntervalReport& report, const std::vector<OpInfo>& ops,
                                bool open_model) {
  using google::protobuf::util::TimeUtil;
  const auto at = [&](double offset_s) {
    return TimeUtil::NanosecondsToTimestamp(
        static_cast<int64_t>((report.run_start_epoch_s + offset_s) * 1e9));
  };
  v1::LoadInterval interval;
  *interval.mutable_start() = at(report.start_s);
  *interval.mutable_end() = at(report.end_s);
  interval.set_stage(report.stage);
  if (open_model) {
    interval.set_target_rate(report.target_rate);
    interval.set_dropped(report.dropped);
  } else {
    interval.set_active_users(report.active);
  }
  for (size_t i = 0; i < ops.size() && i < report.ops.size(); ++i) {
    v1::OperationStats stats = report.ops[i].ToProto(ops[i].name, open_model);
    if (ops[i].is_transaction) {
      *interval.add_transactions() = std::move(stats);
    } else {
      *interval.add_steps() = std::move(stats);
    }
  }
  interval.set_generator_cpu_seconds(report.cpu_seconds);
  interval.set_generator_rss_bytes(report.rss_bytes);
  return interval;
}

}  // namespace tpslab::loadgen
