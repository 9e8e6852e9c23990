// The monitor's sampling loop: every interval it reads the host collectors,
// the watched processes and the scraped application endpoints, evaluates the
// built-in threshold checks, and publishes the results: JSON lines (one
// object per sample) and the Prometheus exposition served by MetricsServer.
// Nagios plugin checks run on their own schedule (monitor/check_scheduler.h):
// each at its own interval, concurrently on a few worker threads, so a
// hanging plugin delays neither sampling nor the other checks.
//
//   AgentOptions options;
//   options.interval = std::chrono::seconds(1);
//   options.processes.push_back(*ParseProcessSelector("ftpd"));
//   options.jsonl = "-";
//   auto agent = Agent::Create(options);
//   std::thread stopper([&] { WaitForSignal(); (*agent)->Stop(); });
//   (*agent)->Run();                         // until Stop()
//   std::string body = (*agent)->RenderMetrics();  // from any thread
//
// JSON lines look like {"host_sample":{...}}, {"process_sample":{...}},
// {"check_result":{...}} (protobuf's JSON mapping of tpslab.v1 messages,
// proto field names).
#ifndef TPSLAB_MONITOR_AGENT_H_
#define TPSLAB_MONITOR_AGENT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/agent/agent_stream.h"
#include "common/parse/url.h"
#include "common/proto/samples.pb.h"
#include "monitor/check_scheduler.h"
#include "monitor/checks.h"
#include "monitor/exposition.h"
#include "monitor/host_collector.h"
#include "monitor/proc_file.h"
#include "monitor/process_collector.h"

namespace tpslab::monitor {

struct AgentOptions {
  // Time between samples, 100 ms .. 1 h. Default 1 s.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  // Processes to watch. Default none.
  std::vector<ProcessSelector> processes;
  // Prometheus text endpoints to scrape each interval. Default none.
  std::vector<parse::Url> scrapes;
  // Nagios plugins to run (names must be unique). Default none.
  std::vector<PluginCheck> plugin_checks;
  // Interval of the plugin checks that set none, at least 100 ms. Default 60 s.
  std::chrono::nanoseconds check_interval = std::chrono::seconds(60);
  // Timeout of the plugin checks that set none, positive. Default 10 s.
  std::chrono::nanoseconds check_timeout = std::chrono::seconds(10);
  // Most plugins running at once (worker threads: min(checks, this)),
  // 1 .. 64. Default 4.
  int check_workers = 4;
  // Built-in checks evaluated on every sample. Default none.
  std::vector<ThresholdCheck> threshold_checks;
  // JSON lines destination: "" none (default), "-" stdout, else a file
  // (appended to).
  std::string jsonl;
  // Stop after this many samples; 0 (default) runs until Stop().
  int64_t max_samples = 0;
  // Where host, process and check samples are streamed to the coordinator
  // (owned by the caller, outliving the Agent). Default null: not streamed.
  tpslab::agent::AgentStream* coordinator = nullptr;
  // Root of the proc file system. Default "/proc".
  std::string proc_root = "/proc";
};

class Agent {
 public:
  // Validates the options and opens the JSON lines output. Fails with
  // InvalidArgument for an interval, timeout or worker count out of range
  // (naming the check for a per-check value), a check name given twice, or
  // the file's error.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Samples every interval (aligned to the start, skipping missed slots)
  // until Stop() or max_samples; meanwhile runs the plugin checks, each on
  // its own schedule. Call once.
  void Run();

  // Makes Run() return soon and kills the running plugins; returns at once
  // (thread-safe, idempotent). Run() returns once the sampling pass in
  // progress has ended and every running plugin is killed: plugins are
  // killed within about 50 ms of Stop() (then reaped; a plugin stuck in an
  // uninterruptible sleep holds Run() until the kernel lets it die).
  void Stop();

  // Takes one sample now and publishes it (Run() calls this).
  void SampleOnce();

  // Renders the latest sample's series as Prometheus text (empty before the
  // first sample). Thread-safe.
  std::string RenderMetrics() const;

  // Samples taken so far.
  int64_t samples() const { return samples_.load(std::memory_order_relaxed); }

 private:
  explicit Agent(AgentOptions options);
  // Runs plugin check `index` once and publishes its result (on a
  // scheduler worker thread); a run cancelled by Stop() is not published.
  void RunPluginCheck(std::size_t index, std::stop_token stop);
  void PublishCheck(tpslab::v1::CheckResult& result);
  void WriteJson(const char* key, const google::protobuf::Message& message);
  // Adds monitor_self_* (own CPU and RSS, time and errors per collector,
  // samples, scrape errors, runs and skipped slots per plugin check) to the
  // host sample's metrics.
  void AppendSelfMetrics(tpslab::v1::HostSample& host);

  AgentOptions options_;
  HostCollector host_;
  ProcessCollector processes_;
  ProcFile self_statm_;
  std::FILE* jsonl_ = nullptr;
  bool close_jsonl_ = false;
  std::mutex jsonl_mutex_;

  std::atomic<bool> stopping_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;

  mutable std::mutex metrics_mutex_;
  std::vector<Series> series_;  // the latest sample's; guarded by metrics_mutex_

  std::mutex checks_mutex_;
  CheckStates check_states_;  // guarded by checks_mutex_

  std::atomic<int64_t> samples_{0};
  uint64_t scrape_errors_ = 0;
  std::atomic<uint64_t> jsonl_errors_{0};
  double last_pass_seconds_ = 0;
  std::chrono::steady_clock::time_point started_;

  // Declared last: destroyed (stopped, its threads joined) first, while
  // what its runs use is still alive; ~Agent() stops it even before it
  // closes the JSON lines file.
  CheckScheduler scheduler_;
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_AGENT_H_
