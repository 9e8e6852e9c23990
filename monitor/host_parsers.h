// Parsers for the host-wide files under /proc: pure functions from a file's
// contents to a struct, so tests can feed recorded fixtures and edge cases.
// Each returns absl::StatusOr with an InvalidArgument message naming the file
// and line that was wrong; none of them touches the file system.
//
//   absl::StatusOr<ProcStat> stat = ParseProcStat(contents, sysconf(_SC_CLK_TCK));
//   if (!stat.ok()) return stat.status();  // "/proc/stat line 2: ..."
//   CpuClamp clamp;                         // keeps counters monotonic
//   clamp.Apply(*stat);
//   double busy = stat->total.user + stat->total.system;
//
// Counters keep the kernel's units unless the field name says otherwise:
// CPU times are converted to seconds, meminfo to bytes.
#ifndef TPSLAB_MONITOR_HOST_PARSERS_H_
#define TPSLAB_MONITOR_HOST_PARSERS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tpslab::monitor {

// CPU time by mode in seconds, cumulative since boot (one "cpu" line).
struct CpuTimes {
  // -1 for the "cpu" (all CPUs) line, otherwise N of "cpuN".
  int index = -1;
  double user = 0;
  double nice = 0;
  double system = 0;
  double idle = 0;
  double iowait = 0;
  double irq = 0;
  double softirq = 0;
  double steal = 0;
  double guest = 0;
  double guest_nice = 0;
};

// /proc/stat.
struct ProcStat {
  // The aggregate "cpu" line.
  CpuTimes total;
  // One entry per online CPU, in file order (indices may have gaps when
  // CPUs are offline).
  std::vector<CpuTimes> cpus;
  uint64_t context_switches = 0;  // ctxt
  uint64_t interrupts = 0;        // first number of intr
  uint64_t boot_time = 0;         // btime, seconds since the epoch
  uint64_t forks = 0;             // processes
  uint64_t procs_running = 0;
  uint64_t procs_blocked = 0;
};

// Parses /proc/stat; `user_hz` is sysconf(_SC_CLK_TCK) (the tick unit of the
// CPU lines). Lines other than cpu*, ctxt, intr, btime, processes,
// procs_running and procs_blocked are ignored.
absl::StatusOr<ProcStat> ParseProcStat(std::string_view text, long user_hz);

// Keeps /proc/stat CPU counters monotonic across reads, as node_exporter
// does: a mode whose counter goes backwards keeps its previous value (the
// kernel's idle and iowait accounting can step back slightly); when a CPU's
// idle time drops by `jump_back_seconds` or more, or a CPU disappears
// (hot-unplug) and comes back, its history is reset and the new values are
// taken as they are.
class CpuClamp {
 public:
  // `jump_back_seconds`: default 3, node_exporter's value.
  explicit CpuClamp(double jump_back_seconds = 3.0) : jump_back_seconds_(jump_back_seconds) {}

  // Rewrites `stat` in place so no counter is below the previous call's
  // value (except after a reset as described above). Returns the number of
  // counters that were clamped.
  int Apply(ProcStat& stat);

  // Number of CPUs whose history was reset (jump back or hot-plug) so far.
  uint64_t resets() const { return resets_; }

 private:
  int ClampOne(CpuTimes& now, std::optional<CpuTimes>& previous);

  double jump_back_seconds_;
  std::optional<CpuTimes> total_;
  std::map<int, CpuTimes> cpus_;
  uint64_t resets_ = 0;
};

// /proc/loadavg.
struct LoadAvg {
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
  uint64_t running = 0;  // runnable scheduling entities
  uint64_t total = 0;    // existing scheduling entities
};

// Parses /proc/loadavg ("0.52 0.58 0.59 2/187 4242").
absl::StatusOr<LoadAvg> ParseLoadAvg(std::string_view text);

// One line of a pressure file.
struct PressureLine {
  double avg10 = 0;
  double avg60 = 0;
  double avg300 = 0;
  uint64_t total_us = 0;  // cumulative stall time in microseconds
};

// /proc/pressure/{cpu,memory,io}.
struct PressureStat {
  PressureLine some;
  // Absent for cpu on kernels before 5.13.
  std::optional<PressureLine> full;
};

// Parses one /proc/pressure file ("some avg10=0.00 avg60=... total=123").
absl::StatusOr<PressureStat> ParsePressure(std::string_view text);

// A named value from a "Key: value" or "key value" file, in file order.
using NamedValues = std::vector<std::pair<std::string, uint64_t>>;

// Parses /proc/meminfo; values with a "kB" unit are converted to bytes,
// unit-less ones (HugePages_Total, ...) are kept as counts.
absl::StatusOr<NamedValues> ParseMeminfo(std::string_view text);

// Parses /proc/vmstat ("pgfault 123" per line).
absl::StatusOr<NamedValues> ParseVmstat(std::string_view text);

// One interface of /proc/net/dev.
struct NetDevStat {
  std::string name;
  uint64_t rx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_errors = 0;
  uint64_t rx_drops = 0;
  uint64_t rx_fifo = 0;
  uint64_t rx_frame = 0;
  uint64_t rx_compressed = 0;
  uint64_t rx_multicast = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;
  uint64_t tx_drops = 0;
  uint64_t tx_fifo = 0;
  uint64_t tx_collisions = 0;
  uint64_t tx_carrier = 0;
  uint64_t tx_compressed = 0;
};

// Parses /proc/net/dev (two header lines, then "name: 16 numbers").
absl::StatusOr<std::vector<NetDevStat>> ParseNetDev(std::string_view text);

// One counter of /proc/net/snmp or /proc/net/netstat, e.g. {"Tcp",
// "RetransSegs", 16}. Signed: Tcp MaxConn is -1.
struct ProtoCounter {
  std::string protocol;
  std::string name;
  int64_t value = 0;
};

// Parses the header-line/value-line pairs of /proc/net/snmp,
// /proc/net/snmp6-less netstat files ("Tcp: A B C" then "Tcp: 1 2 3").
// `file` names the file in error messages. Fails when a value line does not
// follow its header or the counts differ.
absl::StatusOr<std::vector<ProtoCounter>> ParseNetSnmp(std::string_view text,
                                                       std::string_view file = "/proc/net/snmp");

// One value of /proc/net/sockstat, e.g. {"TCP", "inuse", 3} or {"sockets",
// "used", 17}. "mem" values are in pages.
struct SockstatValue {
  std::string protocol;
  std::string name;
  uint64_t value = 0;
};

// Parses /proc/net/sockstat ("TCP: inuse 1 orphan 0 tw 4 alloc 2 mem 336").
absl::StatusOr<std::vector<SockstatValue>> ParseSockstat(std::string_view text);

// One block device of /proc/diskstats (kernel 4.18+ adds discard fields,
// 5.5+ flush fields; older files leave them zero).
struct DiskStat {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string name;
  uint64_t reads_completed = 0;
  uint64_t reads_merged = 0;
  uint64_t sectors_read = 0;  // 512-byte sectors
  uint64_t read_time_ms = 0;
  uint64_t writes_completed = 0;
  uint64_t writes_merged = 0;
  uint64_t sectors_written = 0;
  uint64_t write_time_ms = 0;
  uint64_t ios_in_progress = 0;  // a gauge
  uint64_t io_time_ms = 0;
  uint64_t weighted_io_time_ms = 0;
  uint64_t discards_completed = 0;
  uint64_t discards_merged = 0;
  uint64_t sectors_discarded = 0;
  uint64_t discard_time_ms = 0;
  uint64_t flushes_completed = 0;
  uint64_t flush_time_ms = 0;
};

// Parses /proc/diskstats (at least 14 fields per line).
absl::StatusOr<std::vector<DiskStat>> ParseDiskstats(std::string_view text);

// Rates of one disk between two reads.
struct DiskRates {
  double read_iops = 0;
  double write_iops = 0;
  double read_bytes_per_second = 0;
  double write_bytes_per_second = 0;
  // Average time per completed I/O in milliseconds (queue + service), as
  // iostat's r_await/w_await/await; 0 when no I/O completed.
  double read_await_ms = 0;
  double write_await_ms = 0;
  double await_ms = 0;
  // Fraction of the interval with I/O in progress, 0..1 (iostat's %util/100).
  double utilisation = 0;
};

// Derives rates from two reads of the same disk `seconds` apart. A counter
// that went backwards (device re-attached, 32-bit wrap) contributes 0.
DiskRates ComputeDiskRates(const DiskStat& before, const DiskStat& after, double seconds);

// /proc/sys/fs/file-nr.
struct FileNr {
  uint64_t allocated = 0;
  uint64_t unused = 0;
  uint64_t maximum = 0;
};

// Parses /proc/sys/fs/file-nr ("1184\t0\t9223372036854775807").
absl::StatusOr<FileNr> ParseFileNr(std::string_view text);

// A counter never below its previous value: for deltas, a decrease (reset,
// wrap) yields 0 instead of a huge unsigned difference.
inline uint64_t CounterDelta(uint64_t before, uint64_t after) {
  return after >= before ? after - before : 0;
}

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_HOST_PARSERS_H_
