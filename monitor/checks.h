// Check definitions the agent schedules: Nagios plugins given as
// "NAME=COMMAND ARGS..." and built-in threshold checks on any collected
// series given as "METRIC[{label="value",...}] [warn=RANGE] [crit=RANGE]",
// plus the state tracker that notices transitions.
//
//   auto load = ParsePluginCheck("load=/usr/lib/nagios/plugins/check_load -w 5 -c 10");
//   auto busy = ParseThresholdCheck("tpslab_cpu_busy_ratio{cpu=\"total\"} warn=~:0.8 crit=~:0.95");
//   tpslab::v1::CheckResult r = EvaluateThresholdCheck(*busy, series);
//   CheckStates states;
//   if (states.Update(r)) { /* r.previous_state() is set: a transition */ }
#ifndef TPSLAB_MONITOR_CHECKS_H_
#define TPSLAB_MONITOR_CHECKS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proto/samples.pb.h"
#include "monitor/exposition.h"
#include "monitor/thresholds.h"

namespace tpslab::monitor {

struct PluginCheck {
  // Name used in results and logs.
  std::string name;
  // The plugin and its arguments.
  std::vector<std::string> argv;
};

// Parses "NAME=COMMAND ARGS..." (the command split as by SplitCommandLine).
// Without "NAME=", the name is the plugin's file name. A relative plugin
// path is looked up in /usr/lib/nagios/plugins.
absl::StatusOr<PluginCheck> ParsePluginCheck(std::string_view text);

struct ThresholdCheck {
  // The text it was parsed from (metric and labels), used as the name.
  std::string name;
  std::string metric;
  // Every one of these labels must match (others are ignored).
  std::vector<std::pair<std::string, std::string>> labels;
  std::optional<ThresholdRange> warn;
  std::optional<ThresholdRange> crit;
};

// Parses "METRIC{l="v",...} warn=RANGE crit=RANGE" (at least one range).
absl::StatusOr<ThresholdCheck> ParseThresholdCheck(std::string_view text);

// Evaluates `check` on the first matching series: OK/WARNING/CRITICAL with
// output "METRIC = VALUE" and the value as perfdata; UNKNOWN when no series
// matches.
tpslab::v1::CheckResult EvaluateThresholdCheck(const ThresholdCheck& check,
                                               const std::vector<Series>& series);

// Remembers the last state of each check by name.
class CheckStates {
 public:
  // Sets result.previous_state() and returns true when the state differs
  // from the previous result of the same check (the first result of a
  // check counts as a transition only when it is not OK).
  bool Update(tpslab::v1::CheckResult& result);

  // The latest result of every check, by name.
  const std::map<std::string, tpslab::v1::CheckResult>& latest() const { return latest_; }

 private:
  std::map<std::string, tpslab::v1::CheckResult> latest_;
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_CHECKS_H_
