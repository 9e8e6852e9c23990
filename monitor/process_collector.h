// Watches processes chosen by pid, by name (comm) or by a command-line
// pattern, optionally with all their descendants, and reads their CPU, RSS,
// threads, open fds, context switches and I/O into tpslab.v1.ProcessSample,
// one per selector per interval.
//
//   auto selector = ParseProcessSelector("ftpd");          // name
//   auto by_cmd   = ParseProcessSelector("python3 .*srv");  // regex on cmdline
//   ProcessCollector processes({*selector, PidSelector(1234)}, {});
//   std::vector<tpslab::v1::ProcessSample> samples;
//   processes.Collect(samples);
//
// A name or pattern selector is re-resolved when a process it matched has
// exited (so a restarted server is followed under its new pid) and every
// `rescan_every` collections (new children, new matches). A process that is
// gone gives a sample with alive = false and counts an error; nothing throws.
//
// CPU time of a group (a name, a pattern or "+children") includes what its
// members' reaped children used (cutime/cstime), so a server that forks a
// short-lived process per session - shorter than the interval, never seen
// alive - is charged for it when the parent waits for it, and the group's
// counter does not fall when a member exits. A single pid counts only its
// own CPU.
#ifndef TPSLAB_MONITOR_PROCESS_COLLECTOR_H_
#define TPSLAB_MONITOR_PROCESS_COLLECTOR_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proto/samples.pb.h"
#include "monitor/collector_stats.h"
#include "monitor/proc_file.h"
#include "monitor/process_parsers.h"

namespace tpslab::monitor {

// Which processes one ProcessSample describes.
struct ProcessSelector {
  enum class Kind {
    kPid,      // exactly `pid`
    kName,     // every process whose comm equals `text`
    kPattern,  // every process whose command line (args joined by spaces)
               // matches `text` as a POSIX extended regex (search, not full
               // match)
  };
  Kind kind = Kind::kPid;
  int pid = 0;
  std::string text;
  // The compiled `text` for kPattern (regex_t from <regex.h>), else null.
  std::shared_ptr<const void> pattern;
  // Include every descendant (walking PPid). Default false.
  bool children = false;

  // "pid:1234", "name:ftpd", "pattern:python3 .*srv", with "+children"
  // appended when children are included.
  std::string Label() const;
};

// A selector for one pid.
ProcessSelector PidSelector(int pid, bool children = false);

// Parses --process: text made only of [A-Za-z0-9_.:-] (at most 15 bytes, the
// comm limit) is a name; anything else is a regex over the command line.
// "name:X" and "pattern:X" force either reading. Fails with
// InvalidArgument on an empty text or a regex that does not compile.
absl::StatusOr<ProcessSelector> ParseProcessSelector(std::string_view text, bool children = false);

struct ProcessCollectorOptions {
  // Root of the proc file system. Default "/proc".
  std::string proc_root = "/proc";
  // Clock ticks per second. Default 0: sysconf(_SC_CLK_TCK).
  long user_hz = 0;
  // Page size. Default 0: sysconf(_SC_PAGESIZE).
  long page_size = 0;
  // Re-resolve name/pattern/children selectors every this many Collect()
  // calls even when nothing exited. Default 10.
  int rescan_every = 10;
};

// One process as seen by a scan of /proc.
struct ProcessEntry {
  int pid = 0;
  int ppid = 0;
  uint64_t start_time_ticks = 0;
  std::string comm;
};

// Lists every process under `proc_root` (reads each /proc/PID/stat;
// processes that vanish during the scan are skipped).
std::vector<ProcessEntry> ScanProcesses(const std::string& proc_root);

class ProcessCollector {
 public:
  ProcessCollector(std::vector<ProcessSelector> selectors, ProcessCollectorOptions options);

  // Appends one sample per selector to `samples` (cleared first), each
  // stamped with the time it was read.
  void Collect(std::vector<tpslab::v1::ProcessSample>& samples);

  // CPU utilisation (user + system, in cores: 1.0 is one core busy) of
  // selector `index` between the last two Collect() calls; nullopt before
  // the second call or while nothing matched.
  std::optional<double> cpu_utilisation(std::size_t index) const;

  // Counters of the process collector (runs, errors, time).
  const CollectorStats& stats() const { return stats_; }
  // How many times a selector was re-resolved to a different set of
  // processes (exits, restarts, new children).
  uint64_t membership_changes() const { return membership_changes_; }
  const std::vector<ProcessSelector>& selectors() const { return selectors_; }

 private:
  using Clock = std::chrono::steady_clock;
  // Kept-open files of one process.
  struct Member {
    int pid = 0;
    uint64_t start_time_ticks = 0;
    ProcFile stat, status, io;
    std::string fd_dir;
  };
  struct Watch {
    ProcessSelector selector;
    std::vector<std::unique_ptr<Member>> members;
    bool needs_rescan = true;
    std::optional<double> last_cpu_seconds;
    std::optional<Clock::time_point> last_time;
    std::optional<double> utilisation;
  };

  void Resolve(Watch& watch, const std::vector<ProcessEntry>& processes);
  bool Matches(const ProcessSelector& selector, const ProcessEntry& entry);
  // Reads one member into `sample` (adding to its sums), its CPU with that
  // of its reaped children when `with_reaped_children`. False when the
  // process is gone or its start time changed (pid reused).
  bool ReadMember(Member& member, bool with_reaped_children, tpslab::v1::ProcessSample& sample,
                  std::string& error);

  std::vector<Watch> watches_;
  std::vector<ProcessSelector> selectors_;
  ProcessCollectorOptions options_;
  CollectorStats stats_{"process"};
  uint64_t membership_changes_ = 0;
  uint64_t collections_ = 0;
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_PROCESS_COLLECTOR_H_
