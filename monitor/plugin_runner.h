// Runs a Nagios plugin as a child process in its own process group, with a
// timeout, and turns what it did into a tpslab.v1.CheckResult.
//
//   absl::StatusOr<PluginRun> run =
//       RunPlugin({"/usr/lib/nagios/plugins/check_load", "-w", "5", "-c", "10"},
//                 std::chrono::seconds(10));
//   tpslab::v1::CheckResult result = ToCheckResult("load", *run);
//   // result.state() == CHECK_STATE_OK, result.perf_data(0).label() == "load1"
//
// On timeout the whole process group gets SIGKILL (plugins that fork, or
// shell scripts running `sleep`, are stopped too) and the result is UNKNOWN,
// as Nagios does. A stop request (std::stop_token) kills the group the same
// way within about 50 ms, for an agent that is shutting down. A plugin that
// cannot be executed, dies from a signal or exits with a code outside 0..3
// is UNKNOWN with a message saying why.
#ifndef TPSLAB_MONITOR_PLUGIN_RUNNER_H_
#define TPSLAB_MONITOR_PLUGIN_RUNNER_H_

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proto/samples.pb.h"

namespace tpslab::monitor {

// What one run of a plugin did.
struct PluginRun {
  // The exit status, or -1 when it did not exit normally.
  int exit_code = -1;
  // The signal that ended it (0 if none), e.g. SIGKILL after a timeout.
  int signal = 0;
  bool timed_out = false;
  // Killed because `stop` was requested before it finished.
  bool cancelled = false;
  // Standard output (at most max_output bytes), and standard error.
  std::string output;
  std::string error_output;
  bool output_truncated = false;
  // Wall time from start to exit.
  double duration_seconds = 0;
};

// Starts argv[0] (a path; PATH is not searched) with arguments argv[1..],
// stdin from /dev/null, and waits at most `timeout`, or until `stop` is
// requested (noticed within about 50 ms; the run is then `cancelled`).
// Fails (InvalidArgument) only when argv is empty, NotFound/PermissionDenied
// when argv[0] cannot be executed, Internal when fork or pipe fails.
absl::StatusOr<PluginRun> RunPlugin(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout,
                                    std::size_t max_output = 64 * 1024, std::stop_token stop = {});

// Builds the result of check `name` from a run: state from the exit code
// (UNKNOWN on timeout, cancellation or signal), output from the first
// line, perfdata parsed. `run` is RunPlugin's result; an error becomes
// UNKNOWN with its message as output.
tpslab::v1::CheckResult ToCheckResult(const std::string& name,
                                      const absl::StatusOr<PluginRun>& run);

// Splits a command line on blanks, honoring '...' and "..." quoting and
// backslash escapes (no variables, no globbing), for plugin commands given
// as one string in flags and config files.
absl::StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view text);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PLUGIN_RUNNER_H_
