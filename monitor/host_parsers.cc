#include "monitor/host_parsers.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

absl::Status LineError(std::string_view file, int line_number, std::string_view what,
                       std::string_view line) {
  constexpr std::size_t kMaxQuoted = 80;
  std::string quoted(line.substr(0, kMaxQuoted));
  if (line.size() > kMaxQuoted) quoted += "...";
  return absl::InvalidArgumentError(
      Cat(file, " line ", line_number, ": ", what, " in '", quoted, "'"));
}

absl::Status EmptyError(std::string_view file) {
  return absl::InvalidArgumentError(Cat(file, ": empty"));
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

absl::StatusOr<ProcStat> ParseProcStat(std::string_view text, long user_hz) {
  constexpr std::string_view kFile = "/proc/stat";
  if (user_hz <= 0) return absl::InvalidArgumentError("/proc/stat: USER_HZ must be positive");
  ProcStat stat;
  bool have_total = false;
  std::set<int> seen;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  const double tick = 1.0 / static_cast<double>(user_hz);
  while (lines.Next(line)) {
    ++number;
    Fields fields(line);
    std::string_view key = fields.Next();
    if (key.empty()) continue;
    if (StartsWith(key, "cpu")) {
      CpuTimes cpu;
      if (key.size() > 3) {
        std::optional<uint64_t> index = ParseU64(key.substr(3));
        if (!index || *index > 1'000'000) return LineError(kFile, number, "bad CPU name", line);
        cpu.index = static_cast<int>(*index);
        if (!seen.insert(cpu.index).second) {
          return LineError(kFile, number, "duplicate CPU", line);
        }
      } else if (have_total) {
        return LineError(kFile, number, "duplicate cpu line", line);
      }
      // user nice system idle iowait irq softirq steal guest guest_nice;
      // kernels since 2.6.33 print all ten, older ones fewer (at least 4).
      std::array<double*, 10> modes = {&cpu.user,   &cpu.nice,      &cpu.system,  &cpu.idle,
                                       &cpu.iowait, &cpu.irq,       &cpu.softirq, &cpu.steal,
                                       &cpu.guest,  &cpu.guest_nice};
      std::size_t count = 0;
      for (std::string_view field = fields.Next(); !field.empty(); field = fields.Next()) {
        std::optional<uint64_t> ticks = ParseU64(field);
        if (!ticks) {
          return LineError(kFile, number, Cat("bad number '", field, "'"), line);
        }
        if (count < modes.size()) *modes[count] = static_cast<double>(*ticks) * tick;
        ++count;
      }
      if (count < 4) return LineError(kFile, number, "fewer than 4 CPU fields", line);
      if (cpu.index < 0) {
        stat.total = cpu;
        have_total = true;
      } else {
        stat.cpus.push_back(cpu);
      }
      continue;
    }
    uint64_t* target = nullptr;
    if (key == "ctxt") target = &stat.context_switches;
    if (key == "intr") target = &stat.interrupts;
    if (key == "btime") target = &stat.boot_time;
    if (key == "processes") target = &stat.forks;
    if (key == "procs_running") target = &stat.procs_running;
    if (key == "procs_blocked") target = &stat.procs_blocked;
    if (target == nullptr) continue;
    std::optional<uint64_t> value = ParseU64(fields.Next());
    if (!value) return LineError(kFile, number, Cat("bad value for ", key), line);
    *target = *value;
  }
  if (!have_total) return absl::InvalidArgumentError("/proc/stat: no 'cpu' line");
  return stat;
}

int CpuClamp::ClampOne(CpuTimes& now, std::optional<CpuTimes>& previous) {
  if (!previous.has_value()) {
    previous = now;
    return 0;
  }
  CpuTimes& old = *previous;
  if (old.idle - now.idle >= jump_back_seconds_) {
    // A large jump back: the CPU was replaced or its accounting restarted.
    ++resets_;
    old = now;
    return 0;
  }
  int clamped = 0;
  auto clamp = [&clamped](double& now_value, double& old_value) {
    if (now_value < old_value) {
      now_value = old_value;
      ++clamped;
    } else {
      old_value = now_value;
    }
  };
  clamp(now.user, old.user);
  clamp(now.nice, old.nice);
  clamp(now.system, old.system);
  clamp(now.idle, old.idle);
  clamp(now.iowait, old.iowait);
  clamp(now.irq, old.irq);
  clamp(now.softirq, old.softirq);
  clamp(now.steal, old.steal);
  clamp(now.guest, old.guest);
  clamp(now.guest_nice, old.guest_nice);
  return clamped;
}

int CpuClamp::Apply(ProcStat& stat) {
  int clamped = ClampOne(stat.total, total_);
  std::map<int, CpuTimes> next;
  for (CpuTimes& cpu : stat.cpus) {
    std::optional<CpuTimes> previous;
    if (auto it = cpus_.find(cpu.index); it != cpus_.end()) {
      previous = it->second;
    } else if (!cpus_.empty() && total_.has_value()) {
      // A CPU that was not there at the previous read: hot-plugged.
      ++resets_;
    }
    clamped += ClampOne(cpu, previous);
    next.emplace(cpu.index, *previous);
  }
  // CPUs missing from this read are forgotten, so one coming back starts
  // fresh instead of being compared with stale values.
  cpus_ = std::move(next);
  return clamped;
}

absl::StatusOr<LoadAvg> ParseLoadAvg(std::string_view text) {
  constexpr std::string_view kFile = "/proc/loadavg";
  Lines lines(text);
  std::string_view line;
  if (!lines.Next(line)) return EmptyError(kFile);
  Fields fields(line);
  LoadAvg load;
  std::optional<double> l1 = ParseDouble(fields.Next());
  std::optional<double> l5 = ParseDouble(fields.Next());
  std::optional<double> l15 = ParseDouble(fields.Next());
  if (!l1 || !l5 || !l15) return LineError(kFile, 1, "bad load averages", line);
  load.load1 = *l1;
  load.load5 = *l5;
  load.load15 = *l15;
  std::string_view entities = fields.Next();
  std::size_t slash = entities.find('/');
  if (slash == std::string_view::npos) return LineError(kFile, 1, "missing running/total", line);
  std::optional<uint64_t> running = ParseU64(entities.substr(0, slash));
  std::optional<uint64_t> total = ParseU64(entities.substr(slash + 1));
  if (!running || !total) return LineError(kFile, 1, "bad running/total", line);
  load.running = *running;
  load.total = *total;
  return load;
}

absl::StatusOr<PressureStat> ParsePressure(std::string_view text) {
  constexpr std::string_view kFile = "/proc/pressure";
  PressureStat stat;
  bool have_some = false;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    Fields fields(line);
    std::string_view kind = fields.Next();
    if (kind.empty()) continue;
    PressureLine parsed;
    int found = 0;
    for (std::string_view field = fields.Next(); !field.empty(); field = fields.Next()) {
      std::size_t eq = field.find('=');
      if (eq == std::string_view::npos) return LineError(kFile, number, "expected key=value", line);
      std::string_view key = field.substr(0, eq);
      std::string_view value = field.substr(eq + 1);
      bool ok = true;
      if (key == "total") {
        std::optional<uint64_t> v = ParseU64(value);
        ok = v.has_value();
        if (ok) parsed.total_us = *v;
      } else {
        std::optional<double> v = ParseDouble(value);
        ok = v.has_value();
        if (ok && key == "avg10") parsed.avg10 = *v;
        if (ok && key == "avg60") parsed.avg60 = *v;
        if (ok && key == "avg300") parsed.avg300 = *v;
      }
      if (!ok) return LineError(kFile, number, Cat("bad value for ", key), line);
      if (key == "avg10" || key == "avg60" || key == "avg300" || key == "total") ++found;
    }
    if (found != 4) return LineError(kFile, number, "expected avg10, avg60, avg300, total", line);
    if (kind == "some") {
      stat.some = parsed;
      have_some = true;
    } else if (kind == "full") {
      stat.full = parsed;
    } else {
      return LineError(kFile, number, "expected 'some' or 'full'", line);
    }
  }
  if (!have_some) return absl::InvalidArgumentError("/proc/pressure: no 'some' line");
  return stat;
}

absl::StatusOr<NamedValues> ParseMeminfo(std::string_view text) {
  constexpr std::string_view kFile = "/proc/meminfo";
  NamedValues values;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return LineError(kFile, number, "expected 'Key: value'", line);
    }
    Fields fields(line.substr(colon + 1));
    std::optional<uint64_t> value = ParseU64(fields.Next());
    if (!value) return LineError(kFile, number, "bad value", line);
    std::string_view unit = fields.Next();
    if (unit == "kB") {
      *value *= 1024;
    } else if (!unit.empty()) {
      return LineError(kFile, number, Cat("unknown unit '", unit, "'"), line);
    }
    values.emplace_back(std::string(line.substr(0, colon)), *value);
  }
  if (values.empty()) return EmptyError(kFile);
  return values;
}

absl::StatusOr<NamedValues> ParseVmstat(std::string_view text) {
  constexpr std::string_view kFile = "/proc/vmstat";
  NamedValues values;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    Fields fields(line);
    std::string_view key = fields.Next();
    if (key.empty()) continue;
    std::optional<uint64_t> value = ParseU64(fields.Next());
    if (!value || !fields.Next().empty())
      return LineError(kFile, number, "expected 'key value'", line);
    values.emplace_back(std::string(key), *value);
  }
  if (values.empty()) return EmptyError(kFile);
  return values;
}

absl::StatusOr<std::vector<NetDevStat>> ParseNetDev(std::string_view text) {
  constexpr std::string_view kFile = "/proc/net/dev";
  std::vector<NetDevStat> devices;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    if (number <= 2) {
      if (line.find('|') == std::string_view::npos) {
        return LineError(kFile, number, "expected the header", line);
      }
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return LineError(kFile, number, "missing ':'", line);
    std::string_view name = line.substr(0, colon);
    name.remove_prefix(std::min(name.find_first_not_of(' '), name.size()));
    if (name.empty()) return LineError(kFile, number, "empty interface name", line);
    NetDevStat dev;
    dev.name = std::string(name);
    std::array<uint64_t*, 16> targets = {
        &dev.rx_bytes, &dev.rx_packets,    &dev.rx_errors,     &dev.rx_drops,
        &dev.rx_fifo,  &dev.rx_frame,      &dev.rx_compressed, &dev.rx_multicast,
        &dev.tx_bytes, &dev.tx_packets,    &dev.tx_errors,     &dev.tx_drops,
        &dev.tx_fifo,  &dev.tx_collisions, &dev.tx_carrier,    &dev.tx_compressed};
    Fields fields(line.substr(colon + 1));
    for (uint64_t* target : targets) {
      std::optional<uint64_t> value = ParseU64(fields.Next());
      if (!value) return LineError(kFile, number, "expected 16 counters", line);
      *target = *value;
    }
    devices.push_back(std::move(dev));
  }
  if (number < 2) return absl::InvalidArgumentError("/proc/net/dev: missing header lines");
  return devices;
}

absl::StatusOr<std::vector<ProtoCounter>> ParseNetSnmp(std::string_view text,
                                                       std::string_view file) {
  std::vector<ProtoCounter> counters;
  Lines lines(text);
  std::string_view header;
  int number = 0;
  while (lines.Next(header)) {
    ++number;
    if (header.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return LineError(file, number, "expected 'Proto: names'", header);
    }
    std::string_view protocol = header.substr(0, colon);
    std::string_view values_line;
    if (!lines.Next(values_line)) {
      return LineError(file, number, "header without a value line", header);
    }
    ++number;
    if (values_line.substr(0, colon + 1) != header.substr(0, colon + 1)) {
      return LineError(file, number, Cat("expected values for ", protocol), values_line);
    }
    Fields names(header.substr(colon + 1));
    Fields values(values_line.substr(colon + 1));
    for (std::string_view name = names.Next(); !name.empty(); name = names.Next()) {
      std::string_view field = values.Next();
      if (field.empty()) return LineError(file, number, "fewer values than names", values_line);
      std::optional<int64_t> value = ParseI64(field);
      if (!value) {
        // Counters above INT64_MAX do not occur in practice but are valid.
        std::optional<uint64_t> big = ParseU64(field);
        if (!big) {
          return LineError(file, number, Cat("bad value '", field, "' for ", name), values_line);
        }
        value = static_cast<int64_t>(*big);
      }
      counters.push_back({std::string(protocol), std::string(name), *value});
    }
    if (!values.Next().empty()) {
      return LineError(file, number, "more values than names", values_line);
    }
  }
  if (counters.empty()) return EmptyError(file);
  return counters;
}

absl::StatusOr<std::vector<SockstatValue>> ParseSockstat(std::string_view text) {
  constexpr std::string_view kFile = "/proc/net/sockstat";
  std::vector<SockstatValue> values;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return LineError(kFile, number, "expected 'PROTO: key value ...'", line);
    }
    std::string_view protocol = line.substr(0, colon);
    Fields fields(line.substr(colon + 1));
    int pairs = 0;
    for (std::string_view key = fields.Next(); !key.empty(); key = fields.Next()) {
      std::optional<uint64_t> value = ParseU64(fields.Next());
      if (!value) return LineError(kFile, number, Cat("bad value for ", key), line);
      values.push_back({std::string(protocol), std::string(key), *value});
      ++pairs;
    }
    if (pairs == 0) return LineError(kFile, number, "no values", line);
  }
  if (values.empty()) return EmptyError(kFile);
  return values;
}

absl::StatusOr<std::vector<DiskStat>> ParseDiskstats(std::string_view text) {
  constexpr std::string_view kFile = "/proc/diskstats";
  std::vector<DiskStat> disks;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  while (lines.Next(line)) {
    ++number;
    Fields fields(line);
    std::string_view first = fields.Next();
    if (first.empty()) continue;
    DiskStat disk;
    std::optional<uint64_t> major = ParseU64(first);
    std::optional<uint64_t> minor = ParseU64(fields.Next());
    std::string_view name = fields.Next();
    if (!major || !minor || name.empty() || *major > UINT32_MAX || *minor > UINT32_MAX) {
      return LineError(kFile, number, "expected 'major minor name'", line);
    }
    disk.major = static_cast<uint32_t>(*major);
    disk.minor = static_cast<uint32_t>(*minor);
    disk.name = std::string(name);
    std::array<uint64_t*, 17> targets = {
        &disk.reads_completed,   &disk.reads_merged,        &disk.sectors_read,
        &disk.read_time_ms,      &disk.writes_completed,    &disk.writes_merged,
        &disk.sectors_written,   &disk.write_time_ms,       &disk.ios_in_progress,
        &disk.io_time_ms,        &disk.weighted_io_time_ms, &disk.discards_completed,
        &disk.discards_merged,   &disk.sectors_discarded,   &disk.discard_time_ms,
        &disk.flushes_completed, &disk.flush_time_ms};
    std::size_t count = 0;
    for (std::string_view field = fields.Next(); !field.empty(); field = fields.Next()) {
      std::optional<uint64_t> value = ParseU64(field);
      if (!value) {
        return LineError(kFile, number, Cat("bad counter '", field, "'"), line);
      }
      if (count < targets.size()) *targets[count] = *value;
      ++count;
    }
    if (count < 11) return LineError(kFile, number, "fewer than 11 counters", line);
    disks.push_back(std::move(disk));
  }
  return disks;
}

DiskRates ComputeDiskRates(const DiskStat& before, const DiskStat& after, double seconds) {
  DiskRates rates;
  if (seconds <= 0) return rates;
  constexpr double kSectorBytes = 512;
  const double reads =
      static_cast<double>(CounterDelta(before.reads_completed, after.reads_completed));
  const double writes =
      static_cast<double>(CounterDelta(before.writes_completed, after.writes_completed));
  const double read_ms = static_cast<double>(CounterDelta(before.read_time_ms, after.read_time_ms));
  const double write_ms =
      static_cast<double>(CounterDelta(before.write_time_ms, after.write_time_ms));
  rates.read_iops = reads / seconds;
  rates.write_iops = writes / seconds;
  rates.read_bytes_per_second =
      static_cast<double>(CounterDelta(before.sectors_read, after.sectors_read)) * kSectorBytes /
      seconds;
  rates.write_bytes_per_second =
      static_cast<double>(CounterDelta(before.sectors_written, after.sectors_written)) *
      kSectorBytes / seconds;
  if (reads > 0) rates.read_await_ms = read_ms / reads;
  if (writes > 0) rates.write_await_ms = write_ms / writes;
  if (reads + writes > 0) rates.await_ms = (read_ms + write_ms) / (reads + writes);
  const double busy_ms = static_cast<double>(CounterDelta(before.io_time_ms, after.io_time_ms));
  rates.utilisation = std::min(1.0, busy_ms / (seconds * 1000.0));
  return rates;
}

absl::StatusOr<FileNr> ParseFileNr(std::string_view text) {
  constexpr std::string_view kFile = "/proc/sys/fs/file-nr";
  Lines lines(text);
  std::string_view line;
  if (!lines.Next(line)) return EmptyError(kFile);
  Fields fields(line);
  std::optional<uint64_t> allocated = ParseU64(fields.Next());
  std::optional<uint64_t> unused = ParseU64(fields.Next());
  std::optional<uint64_t> maximum = ParseU64(fields.Next());
  if (!allocated || !unused || !maximum) {
    return LineError(kFile, 1, "expected 'allocated unused max'", line);
  }
  return FileNr{*allocated, *unused, *maximum};
}

}  // namespace tpslab::monitor
