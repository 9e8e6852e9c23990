// A small, strict parser for the Prometheus text exposition format 0.0.4,
// for forwarding an application's /metrics (e.g. ftpd's counters) as
// tpslab.v1.Metric samples.
//
//   absl::StatusOr<std::vector<PromSample>> samples = ParsePrometheusText(body);
//   if (!samples.ok()) ...;  // "line 7: expected '=' after label name 'code'"
//   for (const PromSample& s : *samples) ... s.name, s.labels, s.value, s.type
//
// Accepted: # HELP / # TYPE lines and other comments, blank lines, samples
// `name{label="value",...} value [timestamp]` with escapes \\ \" \n in label
// values, values as floats, NaN, +Inf, -Inf. Rejected with the line number:
// invalid names, unterminated or bad escapes, duplicate labels, a missing or
// bad value, trailing garbage, a TYPE given twice or after its samples.
#ifndef TPSLAB_MONITOR_PROM_TEXT_H_
#define TPSLAB_MONITOR_PROM_TEXT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tpslab::monitor {

struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  // The family's declared type: "counter", "gauge", "histogram", "summary",
  // "untyped" (also when no TYPE line was given).
  std::string type = "untyped";
};

// Parses a whole exposition body.
absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PROM_TEXT_H_
