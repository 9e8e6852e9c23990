// Parsers for the per-process files /proc/PID/stat, /proc/PID/status and
// /proc/PID/io: pure functions over a file's contents (no file system), so
// tests can feed recorded fixtures and truncated or garbled text.
//
//   absl::StatusOr<PidStat> stat = ParsePidStat(contents);
//   if (!stat.ok()) ...;  // "/proc/PID/stat: ..."
//   double cpu = (stat->utime_ticks + stat->stime_ticks) / double(user_hz);
#ifndef TPSLAB_MONITOR_PROCESS_PARSERS_H_
#define TPSLAB_MONITOR_PROCESS_PARSERS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::monitor {

// The fields of /proc/PID/stat that the monitor uses (see proc(5)).
struct PidStat {
  int pid = 0;
  // The command name without parentheses; may contain spaces and ')'.
  std::string comm;
  char state = '?';
  int ppid = 0;
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  uint64_t utime_ticks = 0;  // user CPU, in USER_HZ ticks
  uint64_t stime_ticks = 0;  // system CPU, in USER_HZ ticks
  // CPU of waited-for (reaped) children, in USER_HZ ticks.
  uint64_t cutime_ticks = 0;
  uint64_t cstime_ticks = 0;
  int64_t num_threads = 0;
  uint64_t start_time_ticks = 0;  // since boot; with pid, identifies a process
  uint64_t vsize_bytes = 0;
  int64_t rss_pages = 0;
};

// Parses /proc/PID/stat. The comm field is found between the first '(' and
// the last ')', so names such as "a) b" are handled.
absl::StatusOr<PidStat> ParsePidStat(std::string_view text);

// The fields of /proc/PID/status that the monitor uses.
struct PidStatus {
  std::string name;
  int ppid = 0;
  int64_t threads = 0;
  uint64_t vm_rss_bytes = 0;  // 0 for kernel threads (no VmRSS line)
  uint64_t voluntary_ctxt_switches = 0;
  uint64_t nonvoluntary_ctxt_switches = 0;
};

// Parses /proc/PID/status. Fails when Name, PPid or Threads is missing or a
// used field has a bad value; other lines are ignored.
absl::StatusOr<PidStatus> ParsePidStatus(std::string_view text);

// /proc/PID/io.
struct PidIo {
  uint64_t rchar = 0;
  uint64_t wchar = 0;
  uint64_t syscr = 0;
  uint64_t syscw = 0;
  uint64_t read_bytes = 0;   // bytes fetched from storage
  uint64_t write_bytes = 0;  // bytes sent to storage
  uint64_t cancelled_write_bytes = 0;
};

// Parses /proc/PID/io. Fails when read_bytes or write_bytes is missing.
absl::StatusOr<PidIo> ParsePidIo(std::string_view text);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PROCESS_PARSERS_H_
