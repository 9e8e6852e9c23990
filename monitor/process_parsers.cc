#include "monitor/process_parsers.h"

#include <algorithm>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

absl::Status Error(std::string_view file, std::string_view what) {
  return absl::InvalidArgumentError(Cat(file, ": ", what));
}

}  // namespace

absl::StatusOr<PidStat> ParsePidStat(std::string_view text) {
  constexpr std::string_view kFile = "/proc/PID/stat";
  std::size_t open = text.find('(');
  std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Error(kFile, "missing '(comm)'");
  }
  PidStat stat;
  Fields head(text.substr(0, open));
  std::optional<int64_t> pid = ParseI64(head.Next());
  if (!pid || *pid <= 0 || *pid > INT32_MAX) return Error(kFile, "bad pid");
  stat.pid = static_cast<int>(*pid);
  stat.comm = std::string(text.substr(open + 1, close - open - 1));
  // Fields after comm, numbered as in proc(5): 3 state, 4 ppid, ...
  Fields fields(text.substr(close + 1));
  std::string_view state = fields.Next();
  if (state.size() != 1) return Error(kFile, "bad state");
  stat.state = state[0];
  int number = 3;
  for (std::string_view field = fields.Next(); !field.empty(); field = fields.Next()) {
    ++number;
    if (field.back() == '\n') field.remove_suffix(1);
    std::optional<int64_t> value = ParseI64(field);
    std::optional<uint64_t> unsigned_value;
    if (!value) {
      unsigned_value = ParseU64(field);  // e.g. rsslim 18446744073709551615
      if (!unsigned_value) {
        return Error(kFile, Cat("bad field ", number, " '", field, "'"));
      }
      value = static_cast<int64_t>(*unsigned_value);
    }
    switch (number) {
      case 4:
        stat.ppid = static_cast<int>(*value);
        break;
      case 10:
        stat.minor_faults = static_cast<uint64_t>(*value);
        break;
      case 12:
        stat.major_faults = static_cast<uint64_t>(*value);
        break;
      case 14:
        stat.utime_ticks = static_cast<uint64_t>(*value);
        break;
      case 15:
        stat.stime_ticks = static_cast<uint64_t>(*value);
        break;
      case 16:
        stat.cutime_ticks = static_cast<uint64_t>(std::max<int64_t>(*value, 0));
        break;
      case 17:
        stat.cstime_ticks = static_cast<uint64_t>(std::max<int64_t>(*value, 0));
        break;
      case 20:
        stat.num_threads = *value;
        break;
      case 22:
        stat.start_time_ticks = static_cast<uint64_t>(*value);
        break;
      case 23:
        stat.vsize_bytes = static_cast<uint64_t>(*value);
        break;
      case 24:
        stat.rss_pages = *value;
        break;
      default:
        break;
    }
  }
  if (number < 24) return Error(kFile, Cat("truncated after field ", number));
  return stat;
}

absl::StatusOr<PidStatus> ParsePidStatus(std::string_view text) {
  constexpr std::string_view kFile = "/proc/PID/status";
  PidStatus status;
  bool have_name = false, have_ppid = false, have_threads = false;
  Lines lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    if (key == "Name") {
      std::size_t start = rest.find_first_not_of(" \t");
      status.name = start == std::string_view::npos ? "" : std::string(rest.substr(start));
      have_name = true;
      continue;
    }
    uint64_t* target = nullptr;
    uint64_t scale = 1;
    uint64_t ppid = 0, threads = 0;
    if (key == "PPid") target = &ppid;
    if (key == "Threads") target = &threads;
    if (key == "VmRSS") {
      target = &status.vm_rss_bytes;
      scale = 1024;
    }
    if (key == "voluntary_ctxt_switches") target = &status.voluntary_ctxt_switches;
    if (key == "nonvoluntary_ctxt_switches") target = &status.nonvoluntary_ctxt_switches;
    if (target == nullptr) continue;
    Fields fields(rest);
    std::optional<uint64_t> value = ParseU64(fields.Next());
    if (!value) return Error(kFile, Cat("bad value for ", key));
    std::string_view unit = fields.Next();
    if (scale != 1 && unit != "kB") return Error(kFile, Cat("expected kB for ", key));
    *target = *value * scale;
    if (key == "PPid") {
      status.ppid = static_cast<int>(ppid);
      have_ppid = true;
    }
    if (key == "Threads") {
      status.threads = static_cast<int64_t>(threads);
      have_threads = true;
    }
  }
  if (!have_name) return Error(kFile, "missing Name");
  if (!have_ppid) return Error(kFile, "missing PPid");
  if (!have_threads) return Error(kFile, "missing Threads");
  return status;
}

absl::StatusOr<PidIo> ParsePidIo(std::string_view text) {
  constexpr std::string_view kFile = "/proc/PID/io";
  PidIo io;
  bool have_read = false, have_write = false;
  Lines lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      return Error(kFile, Cat("expected 'key: value' in '", line, "'"));
    }
    std::string_view key = line.substr(0, colon);
    Fields fields(line.substr(colon + 1));
    std::optional<uint64_t> value = ParseU64(fields.Next());
    if (!value) return Error(kFile, Cat("bad value for ", key));
    if (key == "rchar") io.rchar = *value;
    if (key == "wchar") io.wchar = *value;
    if (key == "syscr") io.syscr = *value;
    if (key == "syscw") io.syscw = *value;
    if (key == "read_bytes") {
      io.read_bytes = *value;
      have_read = true;
    }
    if (key == "write_bytes") {
      io.write_bytes = *value;
      have_write = true;
    }
    if (key == "cancelled_write_bytes") io.cancelled_write_bytes = *value;
  }
  if (!have_read || !have_write) return Error(kFile, "missing read_bytes or write_bytes");
  return io;
}

}  // namespace tpslab::monitor
