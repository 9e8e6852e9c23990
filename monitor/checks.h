// Check definitions the agent schedules: Nagios plugins given as
// "NAME=COMMAND ARGS..." or "NAME[interval=D,timeout=D]=COMMAND ARGS..." and
// built-in threshold checks on any collected series given as
// "METRIC[{label="value",...}] [warn=RANGE] [crit=RANGE]", plus the state
// tracker that notices transitions.
//
//   auto load = ParsePluginCheck("load=/usr/lib/nagios/plugins/check_load -w 5 -c 10");
//   auto ftp = ParsePluginCheck("ftp[interval=30s,timeout=5s]=check_ftp -H 127.0.0.1");
//   // ftp->interval == 30s, ftp->timeout == 5s; load->interval is unset
//   auto busy = ParseThresholdCheck("tpslab_cpu_busy_ratio{cpu=\"total\"} warn=~:0.8 crit=~:0.95");
//   tpslab::v1::CheckResult r = EvaluateThresholdCheck(*busy, series);
//   CheckStates states;
//   if (states.Update(r)) { /* r.previous_state() is set: a transition */ }
#ifndef TPSLAB_MONITOR_CHECKS_H_
#define TPSLAB_MONITOR_CHECKS_H_

#include <chrono>
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
  // Name used in results, logs and metric labels.
  std::string name;
  // The plugin and its arguments.
  std::vector<std::string> argv;
  // Time between the starts of two runs. Default unset: the agent's
  // AgentOptions::check_interval (--check-interval).
  std::optional<std::chrono::nanoseconds> interval;
  // How long one run may take before its process group is killed. Default
  // unset: the agent's AgentOptions::check_timeout (--check-timeout).
  std::optional<std::chrono::nanoseconds> timeout;
};

// The shortest check interval: the agent runs nothing more often.
inline constexpr std::chrono::milliseconds kMinCheckInterval{100};

// InvalidArgument "WHAT must be at least 100ms, got V" for an interval below
// kMinCheckInterval, else OK; the one wording for the parser and the agent.
absl::Status ValidateCheckInterval(std::string_view what, std::chrono::nanoseconds interval);
// InvalidArgument "WHAT must be positive, got V" for a timeout <= 0, else OK.
absl::Status ValidateCheckTimeout(std::string_view what, std::chrono::nanoseconds timeout);

// Parses "NAME=COMMAND ARGS..." or "NAME[KEY=VALUE,...]=COMMAND ARGS..."
// (the command split as by SplitCommandLine). A '[' opens the options when
// only name characters (no blank, '/' or '=') come before it. Keys:
// interval (a duration of common/parse/duration.h, at least
// kMinCheckInterval) and timeout (a positive duration), each at most once;
// blanks around keys and values are allowed. Without a name, the name is
// the plugin's file name. A relative plugin path is looked up in
// /usr/lib/nagios/plugins. Errors are InvalidArgument naming the check and
// the key, e.g. "check 'ftp': timeout must be positive, got 0s".
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
