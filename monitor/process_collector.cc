#include "monitor/process_collector.h"

#include <dirent.h>
#include <regex.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "monitor/text_fields.h"
#include "monitor/timestamp.h"
#include "spdlog/spdlog.h"

namespace tpslab::monitor {
namespace {

bool IsNameText(std::string_view text) {
  if (text.empty() || text.size() > 15) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == ':';
  });
}

// Counts the entries of /proc/PID/fd (without "." and ".."), or -1.
int CountFds(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(d)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(d);
  return count;
}

}  // namespace

std::string ProcessSelector::Label() const {
  std::string label;
  switch (kind) {
    case Kind::kPid:
      label = Cat("pid:", pid);
      break;
    case Kind::kName:
      label = Cat("name:", text);
      break;
    case Kind::kPattern:
      label = Cat("pattern:", text);
      break;
  }
  if (children) label += "+children";
  return label;
}

ProcessSelector PidSelector(int pid, bool children) {
  ProcessSelector selector;
  selector.kind = ProcessSelector::Kind::kPid;
  selector.pid = pid;
  selector.children = children;
  return selector;
}

absl::StatusOr<ProcessSelector> ParseProcessSelector(std::string_view text, bool children) {
  ProcessSelector selector;
  selector.children = children;
  bool force_name = false, force_pattern = false;
  if (text.substr(0, 5) == "name:") {
    text.remove_prefix(5);
    force_name = true;
  } else if (text.substr(0, 8) == "pattern:") {
    text.remove_prefix(8);
    force_pattern = true;
  }
  if (text.empty()) return absl::InvalidArgumentError("empty process name or pattern");
  selector.text = std::string(text);
  if (force_name || (!force_pattern && IsNameText(text))) {
    selector.kind = ProcessSelector::Kind::kName;
    return selector;
  }
  selector.kind = ProcessSelector::Kind::kPattern;
  auto compiled = std::make_unique<regex_t>();
  int error = regcomp(compiled.get(), selector.text.c_str(), REG_EXTENDED | REG_NOSUB);
  if (error != 0) {
    char message[256] = {};
    regerror(error, compiled.get(), message, sizeof(message));
    return absl::InvalidArgumentError(
        Cat("invalid process pattern '", selector.text, "': ", message));
  }
  // Compiled: from here on the regex needs regfree().
  std::shared_ptr<regex_t> pattern(compiled.release(), [](regex_t* r) {
    regfree(r);
    delete r;
  });
  selector.pattern = std::move(pattern);
  return selector;
}

std::vector<ProcessEntry> ScanProcesses(const std::string& proc_root) {
  std::vector<ProcessEntry> entries;
  DIR* dir = opendir(proc_root.c_str());
  if (dir == nullptr) return entries;
  std::string path;
  while (dirent* entry = readdir(dir)) {
    std::optional<uint64_t> pid = ParseU64(entry->d_name);
    if (!pid || *pid == 0 || *pid > INT32_MAX) continue;
    path = Cat(proc_root, "/", entry->d_name, "/stat");
    absl::StatusOr<std::string> text = ReadFileOnce(path);
    if (!text.ok()) continue;  // exited meanwhile
    absl::StatusOr<PidStat> stat = ParsePidStat(*text);
    if (!stat.ok()) continue;
    entries.push_back({stat->pid, stat->ppid, stat->start_time_ticks, std::move(stat->comm)});
  }
  closedir(dir);
  return entries;
}

ProcessCollector::ProcessCollector(std::vector<ProcessSelector> selectors,
                                   ProcessCollectorOptions options)
    : selectors_(std::move(selectors)), options_(std::move(options)) {
  if (options_.user_hz <= 0) options_.user_hz = sysconf(_SC_CLK_TCK);
  if (options_.page_size <= 0) options_.page_size = sysconf(_SC_PAGESIZE);
  if (options_.rescan_every < 1) options_.rescan_every = 1;
  for (const ProcessSelector& selector : selectors_) {
    Watch watch;
    watch.selector = selector;
    watches_.push_back(std::move(watch));
  }
}

bool ProcessCollector::Matches(const ProcessSelector& selector, const ProcessEntry& entry) {
  switch (selector.kind) {
    case ProcessSelector::Kind::kPid:
      return entry.pid == selector.pid;
    case ProcessSelector::Kind::kName:
      return entry.comm == selector.text;
    case ProcessSelector::Kind::kPattern: {
      absl::StatusOr<std::string> cmdline =
          ReadFileOnce(Cat(options_.proc_root, "/", entry.pid, "/cmdline"));
      if (!cmdline.ok() || cmdline->empty()) return false;  // gone, or a kernel thread
      while (!cmdline->empty() && cmdline->back() == '\0') cmdline->pop_back();
      std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
      // Never match the monitor itself (its own command line holds the
      // pattern).
      if (entry.pid == getpid()) return false;
      return regexec(static_cast<const regex_t*>(selector.pattern.get()), cmdline->c_str(), 0,
                     nullptr, 0) == 0;
    }
  }
  return false;
}

void ProcessCollector::Resolve(Watch& watch, const std::vector<ProcessEntry>& processes) {
  std::set<int> pids;
  std::map<int, const ProcessEntry*> by_pid;
  for (const ProcessEntry& entry : processes) {
    by_pid.emplace(entry.pid, &entry);
    if (Matches(watch.selector, entry)) pids.insert(entry.pid);
  }
  if (watch.selector.children && !pids.empty()) {
    // Walk PPid upwards from every process: descendants of a match join.
    for (const ProcessEntry& entry : processes) {
      int pid = entry.ppid;
      for (int depth = 0; pid > 0 && depth < 64; ++depth) {
        if (pids.count(pid) > 0) {
          pids.insert(entry.pid);
          break;
        }
        auto it = by_pid.find(pid);
        if (it == by_pid.end()) break;
        pid = it->second->ppid;
      }
    }
  }
  std::set<std::pair<int, uint64_t>> wanted;
  for (int pid : pids) wanted.emplace(pid, by_pid.at(pid)->start_time_ticks);
  std::set<std::pair<int, uint64_t>> have;
  for (const auto& member : watch.members) have.emplace(member->pid, member->start_time_ticks);
  if (wanted == have) return;
  ++membership_changes_;
  std::vector<std::unique_ptr<Member>> members;
  for (const auto& [pid, start] : wanted) {
    // Keep the open files of members that are still there.
    auto it = std::find_if(watch.members.begin(), watch.members.end(), [&](const auto& m) {
      return m && m->pid == pid && m->start_time_ticks == start;
    });
    if (it != watch.members.end()) {
      members.push_back(std::move(*it));
      continue;
    }
    std::string base = Cat(options_.proc_root, "/", pid);
    members.push_back(std::make_unique<Member>(Member{pid, start, ProcFile(base + "/stat", 1024),
                                                      ProcFile(base + "/status", 2048),
                                                      ProcFile(base + "/io", 512), base + "/fd"}));
  }
  watch.members = std::move(members);
}

bool ProcessCollector::ReadMember(Member& member, bool with_reaped_children,
                                  tpslab::v1::ProcessSample& sample, std::string& error) {
  absl::StatusOr<std::string_view> text = member.stat.Read();
  if (!text.ok()) {
    error = std::string(text.status().message());
    return false;
  }
  absl::StatusOr<PidStat> stat = ParsePidStat(*text);
  if (!stat.ok()) {
    error = std::string(stat.status().message());
    return false;
  }
  if (stat->start_time_ticks != member.start_time_ticks) {
    error = Cat("pid ", member.pid, " was reused by another process");
    return false;
  }
  const double hz = static_cast<double>(options_.user_hz);
  uint64_t user = stat->utime_ticks;
  uint64_t system = stat->stime_ticks;
  if (with_reaped_children) {
    user += stat->cutime_ticks;
    system += stat->cstime_ticks;
  }
  sample.set_cpu_user_seconds(sample.cpu_user_seconds() + static_cast<double>(user) / hz);
  sample.set_cpu_system_seconds(sample.cpu_system_seconds() + static_cast<double>(system) / hz);
  sample.set_rss_bytes(sample.rss_bytes() +
                       static_cast<uint64_t>(std::max<int64_t>(stat->rss_pages, 0)) *
                           static_cast<uint64_t>(options_.page_size));
  sample.set_threads(sample.threads() +
                     static_cast<uint32_t>(std::max<int64_t>(stat->num_threads, 0)));
  if (sample.command().empty()) sample.set_command(stat->comm);

  absl::StatusOr<std::string_view> status_text = member.status.Read();
  if (status_text.ok()) {
    absl::StatusOr<PidStatus> status = ParsePidStatus(*status_text);
    if (status.ok()) {
      sample.set_voluntary_ctx_switches(sample.voluntary_ctx_switches() +
                                        status->voluntary_ctxt_switches);
      sample.set_involuntary_ctx_switches(sample.involuntary_ctx_switches() +
                                          status->nonvoluntary_ctxt_switches);
    } else {
      error = std::string(status.status().message());
    }
  } else {
    error = std::string(status_text.status().message());
  }
  // /proc/PID/io and fd/ need ptrace access (same user or root): a
  // permission error is reported but the rest of the sample stands.
  absl::StatusOr<std::string_view> io_text = member.io.Read();
  if (io_text.ok()) {
    absl::StatusOr<PidIo> io = ParsePidIo(*io_text);
    if (io.ok()) {
      sample.set_read_bytes(sample.read_bytes() + io->read_bytes);
      sample.set_write_bytes(sample.write_bytes() + io->write_bytes);
    } else {
      error = std::string(io.status().message());
    }
  } else if (error.empty()) {
    error = std::string(io_text.status().message());
  }
  int fds = CountFds(member.fd_dir);
  if (fds >= 0) {
    sample.set_open_fds(sample.open_fds() + static_cast<uint32_t>(fds));
  } else if (error.empty()) {
    error = Cat("cannot list ", member.fd_dir);
  }
  return true;
}

void ProcessCollector::Collect(std::vector<tpslab::v1::ProcessSample>& samples) {
  const Clock::time_point start = Clock::now();
  bool ok = true;
  ++collections_;
  samples.clear();
  samples.resize(watches_.size());
  const bool periodic = collections_ % static_cast<uint64_t>(options_.rescan_every) == 1 ||
                        options_.rescan_every == 1;
  std::optional<std::vector<ProcessEntry>> processes;
  for (std::size_t i = 0; i < watches_.size(); ++i) {
    Watch& watch = watches_[i];
    const bool dynamic =
        watch.selector.kind != ProcessSelector::Kind::kPid || watch.selector.children;
    if (watch.needs_rescan || watch.members.empty() || (dynamic && periodic)) {
      if (!processes) processes = ScanProcesses(options_.proc_root);
      Resolve(watch, *processes);
      watch.needs_rescan = false;
    }
    tpslab::v1::ProcessSample& sample = samples[i];
    *sample.mutable_time() = NowTimestamp();
    const Clock::time_point read_time = Clock::now();
    sample.set_selector(watch.selector.Label());
    uint32_t alive = 0;
    for (auto& member : watch.members) {
      std::string error;
      if (ReadMember(*member, dynamic, sample, error)) {
        if (alive == 0) sample.set_pid(member->pid);
        ++alive;
      } else {
        // Exited (or pid reused): re-resolve next time, which follows a
        // restarted process under its new pid.
        if (dynamic) watch.needs_rescan = true;
      }
      if (!error.empty()) {
        ok = false;
        spdlog::debug("process {}: {}", watch.selector.Label(), error);
      }
    }
    if (watch.selector.kind == ProcessSelector::Kind::kPid && alive == 0) {
      sample.set_pid(watch.selector.pid);
    }
    sample.set_processes(alive);
    sample.set_alive(alive > 0);
    if (alive == 0) {
      ok = false;
      watch.needs_rescan = true;
      watch.last_cpu_seconds.reset();
      watch.utilisation.reset();
      continue;
    }
    const double cpu = sample.cpu_user_seconds() + sample.cpu_system_seconds();
    if (watch.last_cpu_seconds && watch.last_time) {
      const double elapsed = std::chrono::duration<double>(read_time - *watch.last_time).count();
      // A member that left takes its CPU time with it; never report < 0.
      if (elapsed > 0) watch.utilisation = std::max(0.0, cpu - *watch.last_cpu_seconds) / elapsed;
    }
    watch.last_cpu_seconds = cpu;
    watch.last_time = read_time;
  }
  stats_.Record(Clock::now() - start, ok);
}

std::optional<double> ProcessCollector::cpu_utilisation(std::size_t index) const {
  if (index >= watches_.size()) return std::nullopt;
  return watches_[index].utilisation;
}

}  // namespace tpslab::monitor
