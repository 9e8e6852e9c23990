// The monitor's sampling loop: every interval it reads the host collectors,
// the watched processes and the scraped application endpoints, evaluates the
// built-in threshold checks, and publishes the results: JSON lines (one
// object per sample) and the Prometheus exposition served by MetricsServer.
// Nagios plugin checks run on their own thread and schedule, so a hanging
// plugin never delays sampling.
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
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/agent/agent_stream.h"
#include "common/parse/url.h"
#include "common/proto/samples.pb.h"
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
  // Nagios plugins to run, and how often and how long each may take.
  // Defaults: none, every 60 s, 10 s timeout.
  std::vector<PluginCheck> plugin_checks;
  std::chrono::nanoseconds check_interval = std::chrono::seconds(60);
  std::chrono::nanoseconds check_timeout = std::chrono::seconds(10);
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
  // InvalidArgument for an interval out of range, or the file's error.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Samples every interval (aligned to the start, skipping missed slots)
  // until Stop() or max_samples; also runs the plugin check thread.
  void Run();

  // Makes Run() return soon (thread-safe, idempotent).
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
  void RunChecks();
  void PublishCheck(tpslab::v1::CheckResult& result);
  void WriteJson(const char* key, const google::protobuf::Message& message);
  // Adds monitor_self_* (own CPU and RSS, time and errors per collector,
  // samples, scrape errors) to the host sample's metrics.
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
};

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_AGENT_H_
