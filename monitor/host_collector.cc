#include "monitor/host_collector.h"

#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "monitor/text_fields.h"
#include "monitor/timestamp.h"

namespace tpslab::monitor {
namespace {

using tpslab::v1::HostSample;
using tpslab::v1::Metric;

enum StatsIndex : std::size_t {
  kStat,
  kLoad,
  kPressure,
  kMeminfo,
  kVmstat,
  kNetDev,
  kSnmp,
  kSockstat,
  kDisks,
  kFileNr,
  kCount,
};

constexpr const char* kStatsNames[kCount] = {"stat",      "loadavg", "pressure", "meminfo",
                                             "vmstat",    "netdev",  "snmp",     "sockstat",
                                             "diskstats", "filefd"};

Metric* AddMetric(HostSample& sample, std::string name, double value, bool counter) {
  Metric* metric = sample.add_metrics();
  metric->set_name(std::move(name));
  metric->set_value(value);
  metric->set_counter(counter);
  return metric;
}

// Prometheus metric names allow [a-zA-Z0-9_:]; meminfo has "Active(anon)",
// which node_exporter exposes as "Active_anon".
std::string SanitizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (ok) {
      out.push_back(c);
    } else if (c == '(' && !out.empty()) {
      out.push_back('_');
    }
  }
  return out;
}

std::string CpuLabel(int index) { return index < 0 ? "total" : Cat("cpu", index); }

double Busy(const CpuTimes& t) { return t.user + t.nice + t.system + t.irq + t.softirq + t.steal; }
double Total(const CpuTimes& t) { return Busy(t) + t.idle + t.iowait; }

}  // namespace

HostCollector::HostCollector(HostCollectorOptions options)
    : options_(std::move(options)),
      stat_{ProcFile(options_.proc_root + "/stat", 8192), kStat},
      loadavg_{ProcFile(options_.proc_root + "/loadavg", 256), kLoad},
      pressure_cpu_{ProcFile(options_.proc_root + "/pressure/cpu", 256), kPressure},
      pressure_memory_{ProcFile(options_.proc_root + "/pressure/memory", 256), kPressure},
      pressure_io_{ProcFile(options_.proc_root + "/pressure/io", 256), kPressure},
      meminfo_{ProcFile(options_.proc_root + "/meminfo", 4096), kMeminfo},
      vmstat_{ProcFile(options_.proc_root + "/vmstat", 8192), kVmstat},
      netdev_{ProcFile(options_.proc_root + "/net/dev", 4096), kNetDev},
      snmp_{ProcFile(options_.proc_root + "/net/snmp", 4096), kSnmp},
      netstat_{ProcFile(options_.proc_root + "/net/netstat", 8192), kSnmp},
      sockstat_{ProcFile(options_.proc_root + "/net/sockstat", 1024), kSockstat},
      diskstats_{ProcFile(options_.proc_root + "/diskstats", 4096), kDisks},
      file_nr_{ProcFile(options_.proc_root + "/sys/fs/file-nr", 256), kFileNr} {
  if (options_.user_hz <= 0) options_.user_hz = sysconf(_SC_CLK_TCK);
  if (options_.page_size <= 0) options_.page_size = sysconf(_SC_PAGESIZE);
  if (options_.hostname.empty()) {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) == 0) options_.hostname = name;
  }
  for (std::size_t i = 0; i < kCount; ++i) stats_.push_back(CollectorStats{kStatsNames[i]});
}

void HostCollector::Fail(std::size_t stats_index, const absl::Status& status, HostSample& sample) {
  sample.add_errors(Cat(kStatsNames[stats_index], ": ", status.message()));
}

std::optional<std::string_view> HostCollector::ReadSource(Source& source, HostSample& sample) {
  absl::StatusOr<std::string_view> text = source.file.Read();
  if (!text.ok()) {
    Fail(source.stats_index, text.status(), sample);
    return std::nullopt;
  }
  return *text;
}

void HostCollector::Collect(HostSample& sample) {
  sample.Clear();
  *sample.mutable_time() = NowTimestamp();
  sample.set_hostname(options_.hostname);
  const Clock::time_point now = Clock::now();
  const double elapsed =
      previous_time_ ? std::chrono::duration<double>(now - *previous_time_).count() : 0.0;
  previous_time_ = now;

  auto timed = [&](std::size_t index, auto&& collect) {
    const int errors_before = sample.errors_size();
    const Clock::time_point start = Clock::now();
    collect();
    stats_[index].Record(Clock::now() - start, sample.errors_size() == errors_before);
  };
  timed(kStat, [&] { CollectStat(sample, elapsed); });
  timed(kLoad, [&] { CollectLoad(sample); });
  timed(kPressure, [&] { CollectPressure(sample); });
  timed(kMeminfo, [&] { CollectMeminfo(sample); });
  timed(kVmstat, [&] { CollectVmstat(sample); });
  timed(kNetDev, [&] { CollectNetDev(sample, elapsed); });
  timed(kSnmp, [&] { CollectSnmp(sample); });
  timed(kSockstat, [&] { CollectSockstat(sample); });
  timed(kDisks, [&] { CollectDisks(sample, elapsed); });
  timed(kFileNr, [&] { CollectFileNr(sample); });
}

void HostCollector::CollectStat(HostSample& sample, double elapsed) {
  std::optional<std::string_view> text = ReadSource(stat_, sample);
  if (!text) return;
  absl::StatusOr<ProcStat> stat = ParseProcStat(*text, options_.user_hz);
  if (!stat.ok()) return Fail(kStat, stat.status(), sample);
  clamped_ += static_cast<uint64_t>(clamp_.Apply(*stat));

  auto add_cpu = [&](const CpuTimes& t) {
    tpslab::v1::CpuTimes* cpu = sample.add_cpus();
    cpu->set_cpu(CpuLabel(t.index));
    cpu->set_user(t.user);
    cpu->set_nice(t.nice);
    cpu->set_system(t.system);
    cpu->set_idle(t.idle);
    cpu->set_iowait(t.iowait);
    cpu->set_irq(t.irq);
    cpu->set_softirq(t.softirq);
    cpu->set_steal(t.steal);
  };
  add_cpu(stat->total);
  for (const CpuTimes& t : stat->cpus) add_cpu(t);

  AddMetric(sample, "node_context_switches_total", static_cast<double>(stat->context_switches),
            true);
  AddMetric(sample, "node_intr_total", static_cast<double>(stat->interrupts), true);
  AddMetric(sample, "node_forks_total", static_cast<double>(stat->forks), true);
  AddMetric(sample, "node_boot_time_seconds", static_cast<double>(stat->boot_time), false);
  AddMetric(sample, "node_procs_running", static_cast<double>(stat->procs_running), false);
  AddMetric(sample, "node_procs_blocked", static_cast<double>(stat->procs_blocked), false);

  // Busy fraction since the previous read, from the clamped counters.
  if (previous_stat_ && elapsed > 0) {
    auto busy_ratio = [&](const CpuTimes& now, const CpuTimes& before) {
      const double total = Total(now) - Total(before);
      if (total <= 0) return;
      Metric* m = AddMetric(sample, "tpslab_cpu_busy_ratio",
                            std::clamp((Busy(now) - Busy(before)) / total, 0.0, 1.0), false);
      (*m->mutable_labels())["cpu"] = CpuLabel(now.index);
    };
    busy_ratio(stat->total, previous_stat_->total);
    for (const CpuTimes& now : stat->cpus) {
      for (const CpuTimes& before : previous_stat_->cpus) {
        if (before.index == now.index) busy_ratio(now, before);
      }
    }
  }
  previous_stat_ = std::move(*stat);
}

void HostCollector::CollectLoad(HostSample& sample) {
  std::optional<std::string_view> text = ReadSource(loadavg_, sample);
  if (!text) return;
  absl::StatusOr<LoadAvg> load = ParseLoadAvg(*text);
  if (!load.ok()) return Fail(kLoad, load.status(), sample);
  sample.set_load1(load->load1);
  sample.set_load5(load->load5);
  sample.set_load15(load->load15);
}

void HostCollector::CollectPressure(HostSample& sample) {
  std::pair<Source*, const char*> files[] = {
      {&pressure_cpu_, "cpu"}, {&pressure_memory_, "memory"}, {&pressure_io_, "io"}};
  for (auto [source, resource] : files) {
    std::optional<std::string_view> text = ReadSource(*source, sample);
    if (!text) continue;
    absl::StatusOr<PressureStat> pressure = ParsePressure(*text);
    if (!pressure.ok()) {
      Fail(kPressure, pressure.status(), sample);
      continue;
    }
    tpslab::v1::Pressure* out = sample.add_pressures();
    out->set_resource(resource);
    out->set_some_avg10(pressure->some.avg10);
    out->set_some_total_us(pressure->some.total_us);
    if (pressure->full) {
      out->set_full_avg10(pressure->full->avg10);
      out->set_full_total_us(pressure->full->total_us);
    }
  }
}

void HostCollector::CollectMeminfo(HostSample& sample) {
  std::optional<std::string_view> text = ReadSource(meminfo_, sample);
  if (!text) return;
  absl::StatusOr<NamedValues> values = ParseMeminfo(*text);
  if (!values.ok()) return Fail(kMeminfo, values.status(), sample);
  for (const auto& [name, value] : *values) {
    // node_exporter appends _bytes to every meminfo value, counts included.
    AddMetric(sample, Cat("node_memory_", SanitizeName(name), "_bytes"), static_cast<double>(value),
              false);
  }
}

void HostCollector::CollectVmstat(HostSample& sample) {
  std::optional<std::string_view> text = ReadSource(vmstat_, sample);
  if (!text) return;
  absl::StatusOr<NamedValues> values = ParseVmstat(*text);
  if (!values.ok()) return Fail(kVmstat, values.status(), sample);
  for (const auto& [name, value] : *values) {
    // Most vmstat entries are event counters; nr_* are current counts.
    bool counter = name.rfind("nr_", 0) != 0;
    AddMetric(sample, Cat("node_vmstat_", SanitizeName(name)), static_cast<double>(value), counter);
  }
}

void HostCollector::CollectNetDev(HostSample& sample, double elapsed) {
  std::optional<std::string_view> text = ReadSource(netdev_, sample);
  if (!text) return;
  absl::StatusOr<std::vector<NetDevStat>> devices = ParseNetDev(*text);
  if (!devices.ok()) return Fail(kNetDev, devices.status(), sample);
  std::map<std::string, NetDevStat> current;
  for (NetDevStat& dev : *devices) {
    tpslab::v1::NetInterface* out = sample.add_interfaces();
    out->set_name(dev.name);
    out->set_rx_bytes(dev.rx_bytes);
    out->set_rx_packets(dev.rx_packets);
    out->set_rx_errors(dev.rx_errors);
    out->set_rx_drops(dev.rx_drops);
    out->set_tx_bytes(dev.tx_bytes);
    out->set_tx_packets(dev.tx_packets);
    out->set_tx_errors(dev.tx_errors);
    out->set_tx_drops(dev.tx_drops);
    // Rates only for interfaces present at both reads; one that appeared
    // since gets its first rate next time.
    if (auto it = previous_netdev_.find(dev.name); it != previous_netdev_.end() && elapsed > 0) {
      const NetDevStat& before = it->second;
      auto rate = [&](const char* name, uint64_t b, uint64_t a) {
        Metric* m =
            AddMetric(sample, name, static_cast<double>(CounterDelta(b, a)) / elapsed, false);
        (*m->mutable_labels())["device"] = dev.name;
      };
      rate("tpslab_network_receive_bytes_per_second", before.rx_bytes, dev.rx_bytes);
      rate("tpslab_network_transmit_bytes_per_second", before.tx_bytes, dev.tx_bytes);
      rate("tpslab_network_receive_packets_per_second", before.rx_packets, dev.rx_packets);
      rate("tpslab_network_transmit_packets_per_second", before.tx_packets, dev.tx_packets);
    }
    std::string name = dev.name;
    current.emplace(std::move(name), std::move(dev));
  }
  previous_netdev_ = std::move(current);  // vanished interfaces are dropped
}

void HostCollector::CollectSnmp(HostSample& sample) {
  std::pair<Source*, const char*> files[] = {{&snmp_, "/proc/net/snmp"},
                                             {&netstat_, "/proc/net/netstat"}};
  for (auto [source, file] : files) {
    std::optional<std::string_view> text = ReadSource(*source, sample);
    if (!text) continue;
    absl::StatusOr<std::vector<ProtoCounter>> counters = ParseNetSnmp(*text, file);
    if (!counters.ok()) {
      Fail(kSnmp, counters.status(), sample);
      continue;
    }
    for (const ProtoCounter& c : *counters) {
      // Gauges among the counters: current connections and static limits.
      bool gauge = c.name == "CurrEstab" || c.name == "MaxConn" || c.name == "RtoAlgorithm" ||
                   c.name == "RtoMin" || c.name == "RtoMax" || c.name == "Forwarding" ||
                   c.name == "DefaultTTL";
      AddMetric(sample, Cat("node_netstat_", c.protocol, "_", c.name), static_cast<double>(c.value),
                !gauge);
    }
  }
}

void HostCollector::CollectSockstat(HostSample& sample) {
  std::optional<std::string_view> text = ReadSource(sockstat_, sample);
  if (!text) return;
  absl::StatusOr<std::vector<SockstatValue>> values = ParseSockstat(*text);
  if (!values.ok()) return Fail(kSockstat, values.status(), sample);
  for (const SockstatValue& v : *values) {
    if (v.name == "mem") {
      // node_exporter: node_sockstat_TCP_mem (pages) and _mem_bytes.
      AddMetric(sample, Cat("node_sockstat_", v.protocol, "_mem"), static_cast<double>(v.value),
                false);
      AddMetric(sample, Cat("node_sockstat_", v.protocol, "_mem_bytes"),
                static_cast<double>(v.value) * static_cast<double>(options_.page_size), false);
    } else {
      AddMetric(sample, Cat("node_sockstat_", v.protocol, "_", v.name),
                static_cast<double>(v.value), false);
    }
  }
}

void HostCollector::CollectDisks(HostSample& sample, double elapsed) {
  std::optional<std::string_view> text = ReadSource(diskstats_, sample);
  if (!text) return;
  absl::StatusOr<std::vector<DiskStat>> disks = ParseDiskstats(*text);
  if (!disks.ok()) return Fail(kDisks, disks.status(), sample);
  std::map<std::string, DiskStat> current;
  for (DiskStat& disk : *disks) {
    // Like node_exporter's default filter: skip ram, loop, fd devices and
    // partitions are kept (they are real block devices).
    if (disk.name.rfind("ram", 0) == 0 || disk.name.rfind("loop", 0) == 0 ||
        disk.name.rfind("fd", 0) == 0) {
      continue;
    }
    tpslab::v1::Disk* out = sample.add_disks();
    out->set_name(disk.name);
    out->set_reads_completed(disk.reads_completed);
    out->set_writes_completed(disk.writes_completed);
    out->set_read_bytes(disk.sectors_read * 512);
    out->set_written_bytes(disk.sectors_written * 512);
    out->set_read_time_ms(disk.read_time_ms);
    out->set_write_time_ms(disk.write_time_ms);
    out->set_io_time_ms(disk.io_time_ms);
    if (auto it = previous_disks_.find(disk.name); it != previous_disks_.end() && elapsed > 0) {
      DiskRates rates = ComputeDiskRates(it->second, disk, elapsed);
      auto gauge = [&](const char* name, double value) {
        Metric* m = AddMetric(sample, name, value, false);
        (*m->mutable_labels())["device"] = disk.name;
      };
      gauge("tpslab_disk_read_iops", rates.read_iops);
      gauge("tpslab_disk_write_iops", rates.write_iops);
      gauge("tpslab_disk_read_bytes_per_second", rates.read_bytes_per_second);
      gauge("tpslab_disk_write_bytes_per_second", rates.write_bytes_per_second);
      gauge("tpslab_disk_await_seconds", rates.await_ms / 1000.0);
      gauge("tpslab_disk_utilisation_ratio", rates.utilisation);
    }
    std::string name = disk.name;
    current.emplace(std::move(name), std::move(disk));
  }
  previous_disks_ = std::move(current);
}

void HostCollector::CollectFileNr(HostSample& sample) {
  std::optional<std::string_view> text = ReadSource(file_nr_, sample);
  if (!text) return;
  absl::StatusOr<FileNr> nr = ParseFileNr(*text);
  if (!nr.ok()) return Fail(kFileNr, nr.status(), sample);
  AddMetric(sample, "node_filefd_allocated", static_cast<double>(nr->allocated), false);
  AddMetric(sample, "node_filefd_maximum", static_cast<double>(nr->maximum), false);
}

}  // namespace tpslab::monitor
