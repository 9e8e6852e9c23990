#include "monitor/agent.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "common/parse/duration.h"
#include "google/protobuf/util/json_util.h"
#include "monitor/http.h"
#include "monitor/plugin_runner.h"
#include "monitor/prom_text.h"
#include "monitor/text_fields.h"
#include "spdlog/spdlog.h"

namespace tpslab::monitor {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

HostCollectorOptions MakeHostOptions(const std::string& proc_root) {
  HostCollectorOptions options;
  options.proc_root = proc_root;
  return options;
}

ProcessCollectorOptions MakeProcessOptions(const std::string& proc_root) {
  ProcessCollectorOptions options;
  options.proc_root = proc_root;
  return options;
}

CheckSchedulerOptions MakeSchedulerOptions(const AgentOptions& agent) {
  CheckSchedulerOptions options;
  for (const PluginCheck& check : agent.plugin_checks) {
    options.intervals.push_back(check.interval.value_or(agent.check_interval));
  }
  options.max_workers = agent.check_workers;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  using std::chrono::milliseconds;
  if (options.interval < milliseconds(100) || options.interval > std::chrono::hours(1)) {
    return absl::InvalidArgumentError("--interval must be between 100ms and 1h");
  }
  if (absl::Status s = ValidateCheckTimeout("--check-timeout", options.check_timeout); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateCheckInterval("--check-interval", options.check_interval); !s.ok()) {
    return s;
  }
  if (options.check_workers < 1 || options.check_workers > 64) {
    return absl::InvalidArgumentError("--check-workers must be between 1 and 64");
  }
  std::set<std::string> names;
  for (const PluginCheck& check : options.plugin_checks) {
    if (check.argv.empty()) {
      return absl::InvalidArgumentError(Cat("check '", check.name, "' has no command"));
    }
    if (!names.insert(check.name).second) {
      return absl::InvalidArgumentError(
          Cat("check '", check.name, "' is defined twice (names must be unique)"));
    }
    const std::string where = Cat("check '", check.name, "': ");
    if (check.interval) {
      if (absl::Status s = ValidateCheckInterval(where + "interval", *check.interval); !s.ok()) {
        return s;
      }
    }
    if (check.timeout) {
      if (absl::Status s = ValidateCheckTimeout(where + "timeout", *check.timeout); !s.ok()) {
        return s;
      }
    }
  }
  std::unique_ptr<Agent> agent(new Agent(std::move(options)));
  if (agent->options_.jsonl == "-") {
    agent->jsonl_ = stdout;
  } else if (!agent->options_.jsonl.empty()) {
    agent->jsonl_ = std::fopen(agent->options_.jsonl.c_str(), "ae");
    if (agent->jsonl_ == nullptr) {
      return absl::InvalidArgumentError(
          Cat("cannot open --jsonl file ", agent->options_.jsonl, ": ", std::strerror(errno)));
    }
    agent->close_jsonl_ = true;
  }
  return agent;
}

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      host_(MakeHostOptions(options_.proc_root)),
      processes_(options_.processes, MakeProcessOptions(options_.proc_root)),
      self_statm_("/proc/self/statm", 256),
      started_(Clock::now()),
      scheduler_(MakeSchedulerOptions(options_), [this](std::size_t index, std::stop_token stop) {
        RunPluginCheck(index, std::move(stop));
      }) {}

Agent::~Agent() {
  scheduler_.Stop();  // No check run may write to the JSON lines file after it closes.
  if (close_jsonl_ && jsonl_ != nullptr) std::fclose(jsonl_);
}

void Agent::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_.store(true);
  }
  stop_cv_.notify_all();
  scheduler_.RequestStop();
}

void Agent::WriteJson(const char* key, const google::protobuf::Message& message) {
  if (jsonl_ == nullptr) return;
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.preserve_proto_field_names = true;
  std::string body;
  if (!google::protobuf::util::MessageToJsonString(message, &body, json_options).ok()) {
    ++jsonl_errors_;
    return;
  }
  std::string line = Cat("{\"", key, "\":", body, "}\n");
  std::lock_guard lock(jsonl_mutex_);
  if (std::fwrite(line.data(), 1, line.size(), jsonl_) != line.size() || std::fflush(jsonl_) != 0) {
    ++jsonl_errors_;
  }
}

void Agent::PublishCheck(tpslab::v1::CheckResult& result) {
  bool changed;
  {
    std::lock_guard lock(checks_mutex_);
    changed = check_states_.Update(result);
  }
  if (changed) {
    spdlog::warn("check {}: {} -> {}: {}", result.name(), CheckStateName(result.previous_state()),
                 CheckStateName(result.state()), result.output());
  }
  WriteJson("check_result", result);
  if (options_.coordinator != nullptr) {
    tpslab::v1::AgentMessage message;
    *message.mutable_check() = result;
    options_.coordinator->Send(std::move(message));
  }
}

void Agent::RunPluginCheck(std::size_t index, std::stop_token stop) {
  const PluginCheck& check = options_.plugin_checks[index];
  // Rounded up: a timeout below 1 ms must not become "no time at all".
  const auto timeout =
      std::chrono::ceil<std::chrono::milliseconds>(check.timeout.value_or(options_.check_timeout));
  absl::StatusOr<PluginRun> run = RunPlugin(check.argv, timeout, 64 * 1024, std::move(stop));
  if (run.ok() && run->cancelled) return;  // the monitor is stopping
  tpslab::v1::CheckResult result = ToCheckResult(check.name, run);
  PublishCheck(result);
}

void Agent::AppendSelfMetrics(tpslab::v1::HostSample& host) {
  std::vector<Series> self;
  constexpr auto kCounter = Series::Type::kCounter;
  constexpr auto kGauge = Series::Type::kGauge;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  self.push_back(
      {"monitor_self_cpu_seconds_total", {{"mode", "user"}}, Seconds(usage.ru_utime), kCounter});
  self.push_back(
      {"monitor_self_cpu_seconds_total", {{"mode", "system"}}, Seconds(usage.ru_stime), kCounter});
  if (absl::StatusOr<std::string_view> statm = self_statm_.Read(); statm.ok()) {
    Fields fields(*statm);
    fields.Next();  // size
    if (std::optional<uint64_t> resident = ParseU64(fields.Next())) {
      self.push_back({"monitor_self_resident_memory_bytes",
                      {},
                      static_cast<double>(*resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE))),
                      kGauge});
    }
  }
  std::vector<CollectorStats> stats = host_.stats();
  stats.push_back(processes_.stats());
  for (const CollectorStats& s : stats) {
    self.push_back({"monitor_self_collector_duration_seconds",
                    {{"collector", s.name}},
                    s.last_seconds,
                    kGauge});
    self.push_back({"monitor_self_collector_seconds_total",
                    {{"collector", s.name}},
                    s.total_seconds,
                    kCounter});
    self.push_back({"monitor_self_collector_errors_total",
                    {{"collector", s.name}},
                    static_cast<double>(s.errors),
                    kCounter});
  }
  self.push_back({"monitor_self_sample_duration_seconds", {}, last_pass_seconds_, kGauge});
  self.push_back({"monitor_self_samples_total", {}, static_cast<double>(samples()), kCounter});
  self.push_back(
      {"monitor_self_scrape_errors_total", {}, static_cast<double>(scrape_errors_), kCounter});
  self.push_back(
      {"monitor_self_jsonl_errors_total", {}, static_cast<double>(jsonl_errors_.load()), kCounter});
  self.push_back({"monitor_self_cpu_counters_clamped_total",
                  {},
                  static_cast<double>(host_.clamped_counters()),
                  kCounter});
  self.push_back({"monitor_self_process_membership_changes_total",
                  {},
                  static_cast<double>(processes_.membership_changes()),
                  kCounter});
  const std::vector<CheckRunStats> check_stats = scheduler_.run_stats();
  for (std::size_t i = 0; i < check_stats.size(); ++i) {
    const std::string& name = options_.plugin_checks[i].name;
    self.push_back({"monitor_self_check_runs_total",
                    {{"check", name}},
                    static_cast<double>(check_stats[i].runs),
                    kCounter});
    self.push_back({"monitor_self_check_skipped_total",
                    {{"check", name}},
                    static_cast<double>(check_stats[i].skipped),
                    kCounter});
  }
  for (Series& s : self) {
    tpslab::v1::Metric* metric = host.add_metrics();
    metric->set_name(s.name);
    metric->set_value(s.value);
    metric->set_counter(s.type == kCounter);
    for (const auto& [k, v] : s.labels) (*metric->mutable_labels())[k] = v;
  }
}

void Agent::SampleOnce() {
  const Clock::time_point start = Clock::now();
  tpslab::v1::HostSample host;
  host_.Collect(host);
  std::vector<tpslab::v1::ProcessSample> processes;
  processes_.Collect(processes);

  // Application metrics, forwarded as Metric entries labelled with their
  // source.
  auto scrape_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::min<std::chrono::nanoseconds>(options_.interval, std::chrono::seconds(5)));
  for (const parse::Url& url : options_.scrapes) {
    absl::StatusOr<std::string> body = HttpGet(url, scrape_timeout);
    absl::StatusOr<std::vector<PromSample>> parsed =
        body.ok() ? ParsePrometheusText(*body)
                  : absl::StatusOr<std::vector<PromSample>>(body.status());
    if (!parsed.ok()) {
      ++scrape_errors_;
      host.add_errors(Cat("scrape ", url.Redacted(), ": ", parsed.status().message()));
      continue;
    }
    for (const PromSample& s : *parsed) {
      tpslab::v1::Metric* metric = host.add_metrics();
      metric->set_name(s.name);
      metric->set_value(s.value);
      metric->set_counter(s.type == "counter");
      for (const auto& [k, v] : s.labels) (*metric->mutable_labels())[k] = v;
      (*metric->mutable_labels())["source"] = url.HostPort();
    }
  }

  std::vector<Series> series;
  series.reserve(1024);
  last_pass_seconds_ = std::chrono::duration<double>(Clock::now() - start).count();
  samples_.fetch_add(1, std::memory_order_relaxed);
  AppendSelfMetrics(host);  // exposed through the host sample's metrics
  AppendHostSeries(host, series);
  for (std::size_t i = 0; i < processes.size(); ++i) {
    AppendProcessSeries(processes[i], processes_.cpu_utilisation(i), series);
  }
  for (const ThresholdCheck& check : options_.threshold_checks) {
    tpslab::v1::CheckResult result = EvaluateThresholdCheck(check, series);
    PublishCheck(result);
  }
  {
    std::lock_guard lock(checks_mutex_);
    for (const auto& [name, result] : check_states_.latest()) AppendCheckSeries(result, series);
  }
  for (const std::string& error : host.errors()) spdlog::debug("sample: {}", error);

  WriteJson("host_sample", host);
  for (const tpslab::v1::ProcessSample& p : processes) WriteJson("process_sample", p);
  if (options_.coordinator != nullptr) {
    tpslab::v1::AgentMessage message;
    *message.mutable_host() = host;
    options_.coordinator->Send(std::move(message));
    for (const tpslab::v1::ProcessSample& p : processes) {
      tpslab::v1::AgentMessage process;
      *process.mutable_process() = p;
      options_.coordinator->Send(std::move(process));
    }
  }
  // Rendered only when asked: Prometheus usually scrapes less often than
  // the monitor samples.
  std::lock_guard lock(metrics_mutex_);
  series_ = std::move(series);
}

std::string Agent::RenderMetrics() const {
  std::lock_guard lock(metrics_mutex_);
  return RenderExposition(series_);
}

void Agent::Run() {
  for (const PluginCheck& check : options_.plugin_checks) {
    spdlog::debug("check {}: every {}, timeout {}", check.name,
                  parse::FormatDuration(check.interval.value_or(options_.check_interval)),
                  parse::FormatDuration(check.timeout.value_or(options_.check_timeout)));
  }
  scheduler_.Start();
  const Clock::time_point start = Clock::now();
  int64_t slot = 0;
  while (!stopping_.load()) {
    SampleOnce();
    if (options_.max_samples > 0 && samples() >= options_.max_samples) break;
    // Next slot on the grid start + k * interval, skipping missed ones.
    const Clock::time_point now = Clock::now();
    do {
      ++slot;
    } while (start + slot * options_.interval <= now);
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait_until(lock, start + slot * options_.interval,
                        [this] { return stopping_.load(); });
  }
  Stop();
  scheduler_.Stop();  // waits for the killed plugins
}

}  // namespace tpslab::monitor
