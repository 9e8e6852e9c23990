#include "common/metrics/registry.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/strings/str_format.h"

namespace tpslab::metrics {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!(IsNameStart(c) || IsDigit(c) || c == ':')) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  for (char c : name) {
    if (!(IsNameStart(c) || IsDigit(c))) return false;
  }
  return true;
}

absl::Status CheckNames(std::string_view name, const Labels& labels) {
  if (!ValidMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid metric name '%s': must match [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  for (const auto& [label, value] : labels) {
    if (!ValidLabelName(label)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "metric '%s': invalid label name '%s': must match [a-zA-Z_][a-zA-Z0-9_]*", name, label));
    }
    if (label.starts_with("__")) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "metric '%s': label name '%s' is reserved (names starting with __)", name, label));
    }
  }
  return absl::OkStatus();
}

// HELP text escapes backslash and newline.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Label values escape backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// {a="x",b="y"} (plus `extra` last), or nothing without labels.
std::string LabelText(const Labels& labels,
                      const std::pair<std::string_view, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ",";
    first = false;
    out += name + "=\"" + EscapeLabelValue(value) + "\"";
  }
  if (extra != nullptr) {
    if (!first) out += ",";
    out += std::string(extra->first) + "=\"" + EscapeLabelValue(extra->second) + "\"";
  }
  return out + "}";
}

// Prometheus float text: NaN, +Inf, -Inf, or the shortest round-trip form.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return ec == std::errc() ? std::string(buffer, end) : "NaN";
}

const char* TypeName(int type) {
  static constexpr const char* kNames[] = {"counter", "gauge", "summary"};
  return kNames[type];
}

absl::Status ValidateSummaryOptions(std::string_view name, const SummaryOptions& options) {
  for (double q : options.quantiles) {
    if (!(q >= 0.0 && q <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("summary '%s': quantile %g is outside [0, 1]", name, q));
    }
  }
  if (!std::isfinite(options.value_scale) || options.value_scale <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "summary '%s': value_scale %g must be finite and positive", name, options.value_scale));
  }
  absl::Status layout =
      HdrHistogram::ValidateLayout(options.lowest_discernible_value,
                                   options.highest_trackable_value, options.significant_digits);
  if (!layout.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("summary '%s': %s", name, layout.message()));
  }
  return absl::OkStatus();
}

bool SameOptions(const SummaryOptions& a, const SummaryOptions& b) {
  return a.quantiles == b.quantiles && a.lowest_discernible_value == b.lowest_discernible_value &&
         a.highest_trackable_value == b.highest_trackable_value &&
         a.significant_digits == b.significant_digits && a.value_scale == b.value_scale;
}

}  // namespace

HistogramSummary::HistogramSummary(const SummaryOptions& options)
    : options_(options),
      histogram_(options.lowest_discernible_value, options.highest_trackable_value,
                 options.significant_digits) {}

void HistogramSummary::Record(int64_t value) {
  std::lock_guard<std::mutex> lock(mutex_);
  histogram_.Record(value);
}

void HistogramSummary::Add(const HdrHistogram& histogram) {
  std::lock_guard<std::mutex> lock(mutex_);
  histogram_.Add(histogram);
}

HdrHistogram HistogramSummary::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return histogram_;
}

absl::StatusOr<Registry::Family*> Registry::GetFamily(std::string_view name, std::string_view help,
                                                      const Labels& labels, Type type) {
  absl::Status names = CheckNames(name, labels);
  if (!names.ok()) return names;
  auto it = families_.find(name);
  if (it != families_.end()) {
    Family& family = it->second;
    if (family.type != type) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "metric '%s' is already registered as a %s, not a %s", name,
          TypeName(static_cast<int>(family.type)), TypeName(static_cast<int>(type))));
    }
    if (family.help != help) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "metric '%s' is already registered with help '%s', not '%s'", name, family.help, help));
    }
    return &family;
  }
  // A summary renders name_sum and name_count too; keep those names unique.
  for (std::string_view suffix : {"_sum", "_count"}) {
    if (type == Type::kSummary) {
      const std::string derived = std::string(name) + std::string(suffix);
      if (families_.contains(derived)) {
        return absl::AlreadyExistsError(absl::StrFormat(
            "summary '%s' would collide with the registered metric '%s'", name, derived));
      }
    }
    if (name.ends_with(suffix)) {
      auto base = families_.find(name.substr(0, name.size() - suffix.size()));
      if (base != families_.end() && base->second.type == Type::kSummary) {
        return absl::AlreadyExistsError(
            absl::StrFormat("metric '%s' would collide with the %s series of summary '%s'", name,
                            suffix, base->first));
      }
    }
  }
  Family& family = families_[std::string(name)];
  family.type = type;
  family.help = std::string(help);
  return &family;
}

template <typename T>
absl::StatusOr<T*> Registry::GetSeries(std::string_view name, std::string_view help,
                                       const Labels& labels, Type type) {
  std::lock_guard<std::mutex> lock(mutex_);
  absl::StatusOr<Family*> family = GetFamily(name, help, labels, type);
  if (!family.ok()) return family.status();
  auto [it, inserted] = (*family)->series.try_emplace(labels);
  if (inserted) {
    it->second = std::make_unique<T>();
    return std::get<std::unique_ptr<T>>(it->second).get();
  }
  if (auto* existing = std::get_if<std::unique_ptr<T>>(&it->second)) return existing->get();
  return absl::AlreadyExistsError(
      absl::StrFormat("metric '%s%s' exists with another value type (int vs double gauge)", name,
                      LabelText(labels)));
}

absl::StatusOr<Counter*> Registry::GetCounter(std::string_view name, std::string_view help,
                                              const Labels& labels) {
  return GetSeries<Counter>(name, help, labels, Type::kCounter);
}

absl::StatusOr<Gauge*> Registry::GetGauge(std::string_view name, std::string_view help,
                                          const Labels& labels) {
  return GetSeries<Gauge>(name, help, labels, Type::kGauge);
}

absl::StatusOr<IntGauge*> Registry::GetIntGauge(std::string_view name, std::string_view help,
                                                const Labels& labels) {
  return GetSeries<IntGauge>(name, help, labels, Type::kGauge);
}

absl::StatusOr<HistogramSummary*> Registry::GetSummary(std::string_view name, std::string_view help,
                                                       const Labels& labels,
                                                       const SummaryOptions& options) {
  if (labels.contains("quantile")) {
    return absl::InvalidArgumentError(
        absl::StrFormat("summary '%s': the label 'quantile' is reserved", name));
  }
  absl::Status valid = ValidateSummaryOptions(name, options);
  if (!valid.ok()) return valid;
  std::lock_guard<std::mutex> lock(mutex_);
  absl::StatusOr<Family*> family = GetFamily(name, help, labels, Type::kSummary);
  if (!family.ok()) return family.status();
  auto [it, inserted] = (*family)->series.try_emplace(labels);
  if (inserted) it->second = std::make_unique<HistogramSummary>(options);
  HistogramSummary* summary = std::get<std::unique_ptr<HistogramSummary>>(it->second).get();
  if (!SameOptions(summary->options(), options)) {
    return absl::AlreadyExistsError(
        absl::StrFormat("summary '%s%s' already exists with other quantiles, layout or scale", name,
                        LabelText(labels)));
  }
  return summary;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  // Plain loops rather than structured bindings: the lambda below captures
  // these names, which clang 14 (clang-tidy) cannot parse for bindings.
  for (const auto& family_entry : families_) {
    const std::string& name = family_entry.first;
    const auto& family = family_entry.second;
    out += "# HELP " + name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + name + " " + TypeName(static_cast<int>(family.type)) + "\n";
    for (const auto& series_entry : family.series) {
      const auto& labels = series_entry.first;
      const auto& series = series_entry.second;
      std::visit(
          [&](const auto& metric) {
            using T = typename std::decay_t<decltype(metric)>::element_type;
            if constexpr (std::is_same_v<T, Counter> || std::is_same_v<T, IntGauge>) {
              out += name + LabelText(labels) + " " + std::to_string(metric->Value()) + "\n";
            } else if constexpr (std::is_same_v<T, Gauge>) {
              out += name + LabelText(labels) + " " + FormatDouble(metric->Value()) + "\n";
            } else {
              std::lock_guard<std::mutex> summary_lock(metric->mutex_);
              const HdrHistogram& h = metric->histogram_;
              const double scale = metric->options_.value_scale;
              for (double q : metric->options_.quantiles) {
                const std::pair<std::string_view, std::string> quantile{"quantile",
                                                                        FormatDouble(q)};
                const double value =
                    h.TotalCount() == 0
                        ? std::numeric_limits<double>::quiet_NaN()
                        : static_cast<double>(h.ValueAtPercentile(q * 100.0)) * scale;
                out += name + LabelText(labels, &quantile) + " " + FormatDouble(value) + "\n";
              }
              double sum = 0;
              for (const HdrBucket& b : h.RecordedBuckets()) {
                sum += static_cast<double>(h.MedianEquivalentValue(b.lowest_value)) *
                       static_cast<double>(b.count);
              }
              out += name + "_sum" + LabelText(labels) + " " + FormatDouble(sum * scale) + "\n";
              out +=
                  name + "_count" + LabelText(labels) + " " + std::to_string(h.TotalCount()) + "\n";
            }
          },
          series);
    }
  }
  return out;
}

}  // namespace tpslab::metrics
