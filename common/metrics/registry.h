// Process metrics for /metrics endpoints: counters, gauges and HdrHistogram
// backed summaries, with optional labels, kept in a Registry that renders the
// Prometheus text exposition format 0.0.4.
//
// Updating a metric is lock-free (counters and gauges are relaxed atomics;
// summaries take a short mutex); registering and rendering lock the registry.
// Metric pointers stay valid for the registry's lifetime, so look them up
// once and keep them.
//
// Example:
//   Registry registry;
//   Counter* commands = registry.GetCounter("ftpd_commands_total", "FTP commands received.",
//                                           {{"command", "RETR"}}).value();
//   IntGauge* sessions = registry.GetIntGauge("ftpd_sessions", "Open sessions.").value();
//   HistogramSummary* latency = registry.GetSummary(
//       "ftpd_transfer_seconds", "Transfer latency.", {},
//       {.value_scale = 1e-6}).value();   // recorded in us, exposed in seconds
//   commands->Inc();
//   sessions->Add(1);
//   latency->Add(interval_histogram);     // e.g. from an IntervalRecorder
//   std::string body = registry.Render(); // serve with Registry::kContentType

#ifndef TPSLAB_COMMON_METRICS_REGISTRY_H_
#define TPSLAB_COMMON_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics/hdr_histogram.h"

namespace tpslab::metrics {

// Label name -> value. Names must match [a-zA-Z_][a-zA-Z0-9_]* and not start
// with "__"; values are any UTF-8 text. Kept sorted by name, which makes a
// series' identity and its rendering canonical.
using Labels = std::map<std::string, std::string, std::less<>>;

// A monotonic uint64 counter.
class Counter {
 public:
  // Adds `n` (relaxed atomic; safe from any thread).
  void Inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  // Current value.
  uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A gauge holding a double.
class Gauge {
 public:
  // Sets the value (safe from any thread).
  void Set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  // Adds `delta`, which may be negative (safe from any thread).
  void Add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  // Current value.
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A gauge holding an int64 (exact for counts such as open sessions).
class IntGauge {
 public:
  // Sets the value (safe from any thread).
  void Set(int64_t value) noexcept { value_.store(value, std::memory_order_relaxed); }
  // Adds `delta`, which may be negative (safe from any thread).
  void Add(int64_t delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  // Current value.
  int64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// How a HistogramSummary records and exposes values.
struct SummaryOptions {
  // Quantiles exposed, each in [0, 1]. Default 0.5, 0.9, 0.99, 0.999.
  std::vector<double> quantiles = {0.5, 0.9, 0.99, 0.999};
  // Histogram layout. Default 1 .. 3.6e9 at 3 digits (1 us .. 1 h in us).
  int64_t lowest_discernible_value = 1;
  int64_t highest_trackable_value = 3'600'000'000;
  int significant_digits = 3;
  // Exposed values (quantiles and _sum) are recorded values times this.
  // Default 1; 1e-6 exposes microseconds as Prometheus' base unit, seconds.
  double value_scale = 1.0;
};

// A Prometheus summary backed by a cumulative HdrHistogram: quantiles are
// the histogram's ValueAtPercentile, _sum adds each bucket's median value
// times its count (exact within the histogram's precision), _count is its
// total count. Thread-safe.
class HistogramSummary {
 public:
  explicit HistogramSummary(const SummaryOptions& options);

  // Records one value.
  void Record(int64_t value);
  // Adds every value of `histogram` (e.g. an interval from IntervalRecorder).
  void Add(const HdrHistogram& histogram);
  // A copy of the cumulative histogram.
  HdrHistogram Snapshot() const;
  const SummaryOptions& options() const { return options_; }

 private:
  friend class Registry;
  const SummaryOptions options_;
  mutable std::mutex mutex_;
  HdrHistogram histogram_;
};

class Registry {
 public:
  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the counter `name`{labels}, creating it on first use. Fails on an
  // invalid metric or label name, when `name` is registered with another
  // type or help text, or when it would collide with a summary's _sum/_count.
  absl::StatusOr<Counter*> GetCounter(std::string_view name, std::string_view help,
                                      const Labels& labels = {});
  // Same for a double gauge.
  absl::StatusOr<Gauge*> GetGauge(std::string_view name, std::string_view help,
                                  const Labels& labels = {});
  // Same for an int64 gauge (exposed with TYPE gauge).
  absl::StatusOr<IntGauge*> GetIntGauge(std::string_view name, std::string_view help,
                                        const Labels& labels = {});
  // Same for a summary; also fails on invalid options, a "quantile" label, or
  // options that differ from those the series was created with.
  absl::StatusOr<HistogramSummary*> GetSummary(std::string_view name, std::string_view help,
                                               const Labels& labels = {},
                                               const SummaryOptions& options = {});

  // Renders every metric in the text exposition format 0.0.4: families
  // sorted by name, each with # HELP and # TYPE, series sorted by labels.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kSummary };
  using Series = std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>,
                              std::unique_ptr<IntGauge>, std::unique_ptr<HistogramSummary>>;
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, Series> series;
  };

  // Finds or creates the family, checking name, labels, type and help.
  absl::StatusOr<Family*> GetFamily(std::string_view name, std::string_view help,
                                    const Labels& labels, Type type);
  template <typename T>
  absl::StatusOr<T*> GetSeries(std::string_view name, std::string_view help, const Labels& labels,
                               Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_REGISTRY_H_
