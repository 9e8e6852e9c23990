// Parses what a Nagios plugin prints (Nagios plugin API, "Plugin Output"):
//
//   TEXT OUTPUT | OPTIONAL PERFDATA
//   LONG TEXT LINE 1
//   LONG TEXT LINE N | PERFDATA LINE 2
//   PERFDATA LINE 3
//
// and each performance datum 'label'=value[UOM];[warn];[crit];[min];[max]
// (labels may be quoted with ' and contain spaces; '' inside quotes is a
// quote; value "U" means undetermined).
//
//   PluginOutput out = ParsePluginOutput("LOAD OK - load average: 0.1 | load1=0.1;5;10;0\n");
//   out.status_text;            // "LOAD OK - load average: 0.1"
//   out.perf_data[0].label();   // "load1"
//   tpslab::v1::CheckState s = StateFromExitCode(1);  // WARNING
#ifndef TPSLAB_MONITOR_PLUGIN_OUTPUT_H_
#define TPSLAB_MONITOR_PLUGIN_OUTPUT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proto/samples.pb.h"

namespace tpslab::monitor {

struct PluginOutput {
  // The first line before '|', trimmed.
  std::string status_text;
  // Lines 2..N without their perfdata, joined by '\n'.
  std::string long_output;
  // Every well-formed datum, in order.
  std::vector<tpslab::v1::PerfData> perf_data;
  // One message per malformed datum (they are skipped, not fatal).
  std::vector<std::string> perf_errors;
};

// Splits plugin output into status text, long output and perfdata.
PluginOutput ParsePluginOutput(std::string_view output);

// Parses one perfdata string holding any number of space-separated items.
// Fails on the first malformed item, naming it.
absl::StatusOr<std::vector<tpslab::v1::PerfData>> ParsePerfData(std::string_view text);

// Nagios exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; anything else
// is UNKNOWN.
tpslab::v1::CheckState StateFromExitCode(int exit_code);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PLUGIN_OUTPUT_H_
