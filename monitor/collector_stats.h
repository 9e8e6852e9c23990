// Bookkeeping each collector keeps about itself: runs, errors and the time
// its reads take, exposed as monitor_self_* metrics.
//
//   CollectorStats stats{"stat"};
//   auto start = std::chrono::steady_clock::now();
//   ... read and parse ...
//   stats.Record(std::chrono::steady_clock::now() - start, /*ok=*/true);
#ifndef TPSLAB_MONITOR_COLLECTOR_STATS_H_
#define TPSLAB_MONITOR_COLLECTOR_STATS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace tpslab::monitor {

struct CollectorStats {
  // The collector's name, e.g. "stat", "netdev", "process".
  std::string name;
  uint64_t runs = 0;
  uint64_t errors = 0;
  // Duration of the latest run, and the sum over all runs, in seconds.
  double last_seconds = 0;
  double total_seconds = 0;

  // Counts one run that took `elapsed`; `ok` false counts an error too.
  void Record(std::chrono::steady_clock::duration elapsed, bool ok) {
    ++runs;
    if (!ok) ++errors;
    last_seconds = std::chrono::duration<double>(elapsed).count();
    total_seconds += last_seconds;
  }
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_COLLECTOR_STATS_H_
