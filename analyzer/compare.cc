#include "analyzer/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace tpslab::analyzer {
namespace {

using json = nlohmann::json;

// How a figure is judged.
enum class Direction {
  kHigherIsBetter,  // Relative threshold.
  kLowerIsBetter,   // Relative threshold.
  kErrorRate,       // Lower is better; threshold in percentage points.
};

// The number at `path` (keys from the root), or empty.
std::optional<double> NumberAt(const json& doc, std::initializer_list<const char*> path) {
  const json* at = &doc;
  for (const char* key : path) {
    if (!at->is_object()) return std::nullopt;
    auto it = at->find(key);
    if (it == at->end()) return std::nullopt;
    at = &*it;
  }
  if (!at->is_number()) return std::nullopt;
  const double v = at->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

std::string RunId(const json& doc) {
  if (doc.is_object() && doc.contains("run") && doc["run"].is_object() &&
      doc["run"].contains("id") && doc["run"]["id"].is_string()) {
    return doc["run"]["id"].get<std::string>();
  }
  return "";
}

// Transactions of a document by name.
std::map<std::string, const json*> Transactions(const json& doc) {
  std::map<std::string, const json*> out;
  if (!doc.is_object() || !doc.contains("transactions") || !doc["transactions"].is_array()) {
    return out;
  }
  for (const json& t : doc["transactions"]) {
    if (t.is_object() && t.contains("name") && t["name"].is_string()) {
      out[t["name"].get<std::string>()] = &t;
    }
  }
  return out;
}

Change Judge(double baseline, double candidate, Direction direction, double threshold) {
  if (candidate == baseline) return Change::kUnchanged;
  if (direction == Direction::kErrorRate) {
    const double pp = 100.0 * (candidate - baseline);
    if (pp > threshold) return Change::kRegressed;
    if (pp < -threshold) return Change::kImproved;
    return Change::kUnchanged;
  }
  // Positive `better` is good news.
  double better;
  if (baseline > 0) {
    better = (candidate - baseline) / baseline;
  } else {
    // From nothing: any rise exceeds every relative threshold.
    better = candidate > baseline ? INFINITY : -INFINITY;
  }
  if (direction == Direction::kLowerIsBetter) better = -better;
  if (better < -threshold) return Change::kRegressed;
  if (better > threshold) return Change::kImproved;
  return Change::kUnchanged;
}

MetricComparison Measure(std::string scope, std::string metric, std::optional<double> baseline,
                         std::optional<double> candidate, Direction direction, double threshold) {
  MetricComparison m{.scope = std::move(scope),
                     .metric = std::move(metric),
                     .baseline = baseline,
                     .candidate = candidate};
  if (!baseline || !candidate) return m;
  m.delta = *candidate - *baseline;
  if (*baseline != 0) m.relative = *m.delta / *baseline;
  m.change = Judge(*baseline, *candidate, direction, threshold);
  return m;
}

std::string FormatValue(const std::string& metric, std::optional<double> v) {
  if (!v) return "-";
  if (metric == "error_rate") return absl::StrFormat("%.3f%%", 100.0 * *v);
  if (metric.ends_with("_ms")) return absl::StrFormat("%.3f", *v);
  return absl::StrFormat("%.1f", *v);
}

std::string FormatChange(const MetricComparison& m) {
  if (!m.delta) return "-";
  if (m.metric == "error_rate") return absl::StrFormat("%+.3f pp", 100.0 * *m.delta);
  if (!m.relative) return absl::StrFormat("%+.3g", *m.delta);
  return absl::StrFormat("%+.1f%%", 100.0 * *m.relative);
}

json Optional(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

}  // namespace

const char* ChangeName(Change change) {
  switch (change) {
    case Change::kUnchanged:
      return "unchanged";
    case Change::kImproved:
      return "improved";
    case Change::kRegressed:
      return "regressed";
    case Change::kMissing:
      return "missing";
  }
  return "missing";
}

CompareResult Compare(const json& baseline, const json& candidate, const CompareOptions& options) {
  CompareResult result;
  result.baseline_run = RunId(baseline);
  result.candidate_run = RunId(candidate);
  result.options = options;

  const auto add_latency_and_rates = [&](const std::string& scope, const json& b, const json& c) {
    result.metrics.push_back(Measure(scope, "tps", NumberAt(b, {"tps"}), NumberAt(c, {"tps"}),
                                     Direction::kHigherIsBetter, options.tps_change));
    for (const char* metric : {"p50_ms", "p99_ms", "p999_ms"}) {
      result.metrics.push_back(Measure(scope, metric, NumberAt(b, {metric}), NumberAt(c, {metric}),
                                       Direction::kLowerIsBetter, options.latency_change));
    }
    result.metrics.push_back(Measure(scope, "error_rate", NumberAt(b, {"error_rate"}),
                                     NumberAt(c, {"error_rate"}), Direction::kErrorRate,
                                     options.error_rate_change_pp));
  };

  // The whole run.
  const json empty = json::object();
  const json& b_overall =
      baseline.is_object() && baseline.contains("overall") ? baseline["overall"] : empty;
  const json& c_overall =
      candidate.is_object() && candidate.contains("overall") ? candidate["overall"] : empty;
  add_latency_and_rates("", b_overall, c_overall);
  result.metrics.push_back(Measure("", "max_tps_under_slo", NumberAt(baseline, {"slo", "max_tps"}),
                                   NumberAt(candidate, {"slo", "max_tps"}),
                                   Direction::kHigherIsBetter, options.capacity_change));
  result.metrics.push_back(Measure("", "knee_load", NumberAt(baseline, {"knee", "load"}),
                                   NumberAt(candidate, {"knee", "load"}),
                                   Direction::kHigherIsBetter, options.capacity_change));
  result.metrics.push_back(Measure("", "usl_peak_tps", NumberAt(baseline, {"usl", "peak_tps"}),
                                   NumberAt(candidate, {"usl", "peak_tps"}),
                                   Direction::kHigherIsBetter, options.capacity_change));
  const std::optional<double> b_slo = NumberAt(baseline, {"slo", "p99_ms"});
  const std::optional<double> c_slo = NumberAt(candidate, {"slo", "p99_ms"});
  if (b_slo && c_slo && *b_slo != *c_slo) {
    result.notes.push_back(
        absl::StrFormat("the runs were judged against different SLOs (p99 < %g ms vs %g ms): "
                        "max_tps_under_slo compares unlike figures",
                        *b_slo, *c_slo));
  }

  // Transactions, by name.
  const std::map<std::string, const json*> b_tx = Transactions(baseline);
  const std::map<std::string, const json*> c_tx = Transactions(candidate);
  std::set<std::string> names;
  for (const auto& [name, t] : b_tx) names.insert(name);
  for (const auto& [name, t] : c_tx) names.insert(name);
  for (const std::string& name : names) {
    auto b = b_tx.find(name);
    auto c = c_tx.find(name);
    if (b == b_tx.end() || c == c_tx.end()) {
      result.notes.push_back(absl::StrFormat("transaction '%s' is only in the %s run", name,
                                             b == b_tx.end() ? "candidate" : "baseline"));
    }
    add_latency_and_rates(name, b != b_tx.end() ? *b->second : empty,
                          c != c_tx.end() ? *c->second : empty);
  }

  for (const MetricComparison& m : result.metrics) {
    if (m.change == Change::kRegressed) ++result.regressions;
    if (m.change == Change::kImproved) ++result.improvements;
  }
  result.regressed = result.regressions > 0;
  return result;
}

std::string CompareResult::Text() const {
  int unchanged = 0, missing = 0;
  for (const MetricComparison& m : metrics) {
    if (m.change == Change::kUnchanged) ++unchanged;
    if (m.change == Change::kMissing) ++missing;
  }
  std::string out = absl::StrFormat(
      "baseline %s vs candidate %s: %s (%d regressed, %d improved, %d unchanged, %d missing)\n",
      baseline_run.empty() ? "?" : baseline_run, candidate_run.empty() ? "?" : candidate_run,
      regressed          ? "REGRESSED"
      : improvements > 0 ? "IMPROVED"
                         : "UNCHANGED",
      regressions, improvements, unchanged, missing);
  out += absl::StrFormat(
      "thresholds: tps %.1f%%, latency %.1f%%, error rate %.2f pp, capacity %.1f%%\n",
      100.0 * options.tps_change, 100.0 * options.latency_change, options.error_rate_change_pp,
      100.0 * options.capacity_change);

  std::vector<std::vector<std::string>> rows = {
      {"scope", "metric", "baseline", "candidate", "change", "verdict"}};
  for (const MetricComparison& m : metrics) {
    rows.push_back({m.scope.empty() ? "(run)" : m.scope, m.metric,
                    FormatValue(m.metric, m.baseline), FormatValue(m.metric, m.candidate),
                    FormatChange(m), ChangeName(m.change)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, numbers right-aligned.
      const bool left = i < 2 || i == row.size() - 1;
      const std::string pad(width[i] - row[i].size(), ' ');
      line += (i > 0 ? "  " : "") + (left ? row[i] + pad : pad + row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const std::string& note : notes) out += "note: " + note + "\n";
  return out;
}

json CompareResult::Json() const {
  json metrics_json = json::array();
  for (const MetricComparison& m : metrics) {
    json row = {{"scope", m.scope},
                {"metric", m.metric},
                {"baseline", Optional(m.baseline)},
                {"candidate", Optional(m.candidate)},
                {"delta", Optional(m.delta)},
                {"relative", Optional(m.relative)},
                {"change", ChangeName(m.change)}};
    if (m.metric == "error_rate") {
      row["delta_pp"] = m.delta ? json(100.0 * *m.delta) : json(nullptr);
    }
    metrics_json.push_back(row);
  }
  return {{"schema", "tpslab.compare/1"},
          {"baseline", baseline_run},
          {"candidate", candidate_run},
          {"regressed", regressed},
          {"regressions", regressions},
          {"improvements", improvements},
          {"thresholds",
           {{"tps_change", options.tps_change},
            {"latency_change", options.latency_change},
            {"error_rate_change_pp", options.error_rate_change_pp},
            {"capacity_change", options.capacity_change}}},
          {"notes", notes},
          {"metrics", metrics_json}};
}

}  // namespace tpslab::analyzer
