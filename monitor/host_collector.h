// Reads the host-wide /proc files every interval into a tpslab.v1.HostSample:
// CPU by mode (clamped monotonic, hot-plug aware), load, pressure, meminfo,
// vmstat, network interfaces, TCP/UDP counters (snmp, netstat), sockstat,
// disks and file descriptors, plus rates derived from the previous read.
//
//   HostCollector host({});                    // reads /proc
//   tpslab::v1::HostSample sample;
//   host.Collect(sample);                      // never throws; failures land
//   for (auto& e : sample.errors()) ...        // in sample.errors()
//   for (const CollectorStats& s : host.stats()) ...   // time per collector
//
// Metric names in sample.metrics() follow node_exporter
// (node_memory_MemAvailable_bytes, node_netstat_Tcp_RetransSegs,
// node_vmstat_pgfault, node_sockstat_TCP_inuse, node_filefd_allocated, ...);
// derived rates are tpslab_* gauges (tpslab_cpu_busy_ratio{cpu},
// tpslab_disk_read_iops{device}, tpslab_disk_await_seconds{device},
// tpslab_disk_utilisation_ratio{device}, tpslab_network_receive_bytes_per_second{device}, ...).
#ifndef TPSLAB_MONITOR_HOST_COLLECTOR_H_
#define TPSLAB_MONITOR_HOST_COLLECTOR_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/samples.pb.h"
#include "monitor/collector_stats.h"
#include "monitor/host_parsers.h"
#include "monitor/proc_file.h"

namespace tpslab::monitor {

struct HostCollectorOptions {
  // Root of the proc file system. Default "/proc"; tests point it at a
  // directory of fixtures laid out the same way.
  std::string proc_root = "/proc";
  // Clock ticks per second of /proc/stat. Default 0: sysconf(_SC_CLK_TCK).
  long user_hz = 0;
  // Page size for sockstat "mem" values. Default 0: sysconf(_SC_PAGESIZE).
  long page_size = 0;
  // Host name put in samples. Default empty: gethostname().
  std::string hostname;
};

class HostCollector {
 public:
  explicit HostCollector(HostCollectorOptions options);

  // Reads every file and fills `sample` (cleared first), stamping it with the
  // wall-clock time the reads started. A file that is missing or malformed
  // adds "<collector>: <message>" to sample.errors() and counts an error in
  // stats(); the other collectors still run.
  void Collect(tpslab::v1::HostSample& sample);

  // One entry per collector, in a fixed order.
  const std::vector<CollectorStats>& stats() const { return stats_; }

  // CPU counters clamped so far (they went backwards), and CPU history
  // resets (jump back or hot-plug).
  uint64_t clamped_counters() const { return clamped_; }
  uint64_t cpu_resets() const { return clamp_.resets(); }

 private:
  struct Source {
    ProcFile file;
    std::size_t stats_index;
  };
  using Clock = std::chrono::steady_clock;

  // Reads `source`; on error records it in `sample` and returns nullopt.
  std::optional<std::string_view> ReadSource(Source& source, tpslab::v1::HostSample& sample);
  void Fail(std::size_t stats_index, const absl::Status& status, tpslab::v1::HostSample& sample);

  void CollectStat(tpslab::v1::HostSample& sample, double elapsed);
  void CollectLoad(tpslab::v1::HostSample& sample);
  void CollectPressure(tpslab::v1::HostSample& sample);
  void CollectMeminfo(tpslab::v1::HostSample& sample);
  void CollectVmstat(tpslab::v1::HostSample& sample);
  void CollectNetDev(tpslab::v1::HostSample& sample, double elapsed);
  void CollectSnmp(tpslab::v1::HostSample& sample);
  void CollectSockstat(tpslab::v1::HostSample& sample);
  void CollectDisks(tpslab::v1::HostSample& sample, double elapsed);
  void CollectFileNr(tpslab::v1::HostSample& sample);

  HostCollectorOptions options_;
  std::vector<CollectorStats> stats_;
  Source stat_, loadavg_, pressure_cpu_, pressure_memory_, pressure_io_, meminfo_, vmstat_, netdev_,
      snmp_, netstat_, sockstat_, diskstats_, file_nr_;
  CpuClamp clamp_;
  uint64_t clamped_ = 0;
  std::optional<Clock::time_point> previous_time_;
  std::optional<ProcStat> previous_stat_;
  std::map<std::string, NetDevStat> previous_netdev_;
  std::map<std::string, DiskStat> previous_disks_;
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_HOST_COLLECTOR_H_
