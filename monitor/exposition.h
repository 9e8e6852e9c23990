// Turns samples into flat Prometheus series and renders them in the text
// exposition format 0.0.4, using node_exporter's metric names wherever the
// same quantity exists (node_cpu_seconds_total{cpu,mode}, node_load1,
// node_memory_*_bytes, node_network_receive_bytes_total{device},
// node_disk_*, node_pressure_*_seconds_total, node_netstat_*, ...), and
// tpslab_process_* for watched processes. The same series feed built-in
// threshold checks.
//
//   std::vector<Series> series;
//   AppendHostSeries(host_sample, series);
//   AppendProcessSeries(process_sample, utilisation, series);
//   std::string body = RenderExposition(series);
#ifndef TPSLAB_MONITOR_EXPOSITION_H_
#define TPSLAB_MONITOR_EXPOSITION_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/proto/samples.pb.h"

namespace tpslab::monitor {

// One time series value.
struct Series {
  enum class Type { kGauge, kCounter, kUntyped };
  std::string name;
  // Label name/value pairs, in the order they are rendered.
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  Type type = Type::kGauge;

  // The value of label `name`, or nullptr.
  const std::string* Label(std::string_view name) const;
};

// Adds the host sample's series (CPU per core, load, pressure, interfaces,
// disks, and every Metric it carries).
void AppendHostSeries(const tpslab::v1::HostSample& sample, std::vector<Series>& out);

// Adds tpslab_process_* series for one watched process (label
// selector="name:ftpd"); `cpu_utilisation` (cores) is added when known.
void AppendProcessSeries(const tpslab::v1::ProcessSample& sample,
                         std::optional<double> cpu_utilisation, std::vector<Series>& out);

// Adds tpslab_check_state{check} (Nagios code 0..3) and
// tpslab_check_duration_seconds{check}.
void AppendCheckSeries(const tpslab::v1::CheckResult& result, std::vector<Series>& out);

// Adds a Metric (e.g. scraped from an application) as a series.
void AppendMetricSeries(const tpslab::v1::Metric& metric, std::vector<Series>& out);

// Renders series grouped by name (families sorted by name, each with one
// # TYPE line; series in insertion order). Label values are escaped,
// values printed with full precision (NaN, +Inf, -Inf as Prometheus spells
// them). A name seen with different types keeps its first type.
std::string RenderExposition(const std::vector<Series>& series);

// Formats a value as the exposition format wants it.
std::string FormatValue(double value);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_EXPOSITION_H_
