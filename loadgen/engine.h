// Engine: runs a scenario. One io_context per thread (IoContextPool); virtual
// users are coroutines spread over the contexts, each owning its FTP and HTTP
// connections; every thread records into its own ThreadStats without locks;
// a control thread ramps the load and, once per interval, merges the threads'
// results and hands them to `on_interval`.
//
// Load models:
//   closed: virtual users ramp linearly from one stage's level to the next;
//           each user runs transactions back to back (with pacing and think
//           times as the scenario says).
//   open:   arrivals at exact intended times (the stages' rate, integrated
//           over time, split over the threads). At most max_concurrency
//           transactions run at once; later arrivals wait in a queue and
//           those that could not start within the target timeout are counted
//           as dropped. Latency is measured from the intended start (so a
//           stalled server cannot hide behind coordinated omission) and, as
//           "uncorrected", from the actual start.
//
// Usage:
//   Engine engine(scenario, {.threads = 2});
//   if (absl::Status s = engine.Preflight(); !s.ok()) ...;   // unreachable target
//   absl::StatusOr<RunResult> result = engine.Run();          // blocks
//   // another thread or a signal: engine.Stop();
#ifndef TPSLAB_LOADGEN_ENGINE_H_
#define TPSLAB_LOADGEN_ENGINE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/proto/scenario.pb.h"
#include "loadgen/agent_share.h"
#include "loadgen/stats.h"

namespace tpslab::loadgen {

// One reporting interval, merged over the threads.
struct IntervalReport {
  // Wall clock when the run started, in seconds since the Unix epoch.
  double run_start_epoch_s = 0;
  // Interval bounds in seconds since the start of the run.
  double start_s = 0;
  double end_s = 0;
  // Stage (0-based) at the end of the interval.
  uint32_t stage = 0;
  // Closed model: running users; open model: transactions in flight.
  uint32_t active = 0;
  // Open model: intended arrival rate at the end of the interval (per s).
  double target_rate = 0;
  // Open model: arrivals dropped during the interval.
  uint64_t dropped = 0;
  // Per op (RunResult::ops order).
  std::vector<OpInterval> ops;
  // loadgen's own CPU time (user + system) over the interval, and its RSS.
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
  // True when loadgen used more than 90% of its threads' CPU: the
  // generator, not the server, may be the bottleneck.
  bool generator_saturated = false;
};

// The whole run.
struct RunResult {
  // What was measured: transactions first, then their steps.
  std::vector<OpInfo> ops;
  // Per op over the whole run.
  std::vector<OpInterval> totals;
  // Seconds of load (the stages' total, or up to the stop request), used for
  // rates.
  double elapsed_s = 0;
  // Wall clock at the start, in seconds since the epoch.
  double start_epoch_s = 0;
  bool open_model = false;
  uint64_t dropped = 0;
  // Stopped by Stop() or a signal before the stages were over.
  bool interrupted = false;
  size_t threads = 0;
  double cpu_seconds = 0;
  uint64_t max_rss_bytes = 0;
  // Some interval had generator_saturated set.
  bool generator_saturated = false;
  // The first error messages seen (at most 10), for the report.
  std::vector<std::string> sample_errors;
};

struct EngineOptions {
  // Threads (io_contexts). Default 0: one per hardware thread.
  size_t threads = 0;
  // Handle SIGINT/SIGTERM: the first stops the run cleanly (results so far
  // are kept), a second stops the threads at once. Default true.
  bool handle_signals = true;
  // Called on the control thread after every interval. Default: none.
  std::function<void(const IntervalReport&)> on_interval;
  // This engine's share of a distributed run. Closed model: of the stages'
  // users 0..N-1 it runs those with u % count == index (LocalUsers), and
  // ${vu} is the global user index. Open model: apply ApplyShare() to the
  // scenario first (rates and caps); the share only keeps ${vu} distinct
  // across agents. Default: the whole run (index 0 of 1).
  RunShare share = {};
};

class Engine {
 public:
  // `scenario` must be valid (ValidateScenario).
  Engine(v1::Scenario scenario, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Connects once to every target (TCP only) so that an unreachable target
  // is reported at once: Unavailable "cannot reach target 'ftp' at
  // 127.0.0.1:2121: Connection refused".
  absl::Status Preflight();

  // Runs the load model to its end (or until Stop()) and returns the
  // results. Fails for local setup errors (an upload file that cannot be
  // read, a bad data file). Call once.
  absl::StatusOr<RunResult> Run();

  // Asks the run to stop: no new transactions start; those in flight finish
  // (bounded by their timeouts). Thread-safe; callable before Run().
  void Stop();

  // The ops a run of this scenario measures (same order as RunResult::ops).
  const std::vector<OpInfo>& ops() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The load level (users or arrivals/s) of `stages` at `t` seconds from the
// start: linear ramps from the previous stage's level (0 before the first),
// then holds. `stage` receives the stage index.
double LevelAt(const google::protobuf::RepeatedPtrField<v1::Stage>& stages, double t,
               uint32_t* stage);
// Total seconds of `stages` (ramps and holds).
double TotalSeconds(const google::protobuf::RepeatedPtrField<v1::Stage>& stages);
// The time (seconds from the start) of arrival number `n` (0-based) when the
// arrival rate follows `stages`; +infinity when it falls after the end.
double ArrivalTime(const google::protobuf::RepeatedPtrField<v1::Stage>& stages, double n);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_ENGINE_H_
