// `loadgen agent`: a load generator that takes its share of runs a
// coordinator (analyzer serve) dispatches (issues 4 and 6).
//
// The agent registers with the coordinator as a LOADGEN agent
// (common/agent/agent_stream.h) and waits. For every RunSpec it gets:
//   1. its share: agent_index of agent_count (loadgen/agent_share.h): closed
//      model, the users u with u % agent_count == agent_index at every stage
//      level; open model, rate_share of the rate and its part of the cap;
//   2. the coordinated start: start_time is on the coordinator's clock; the
//      agent subtracts its clock offset estimate (from Ping round trips) and
//      sleeps until then (a run whose load would already be over is skipped;
//      one that is due already starts at once, with a warning);
//   3. runs the scenario with the Engine, streaming every interval with the
//      run id and the stream's sequence numbers (kept and resent until the
//      coordinator acknowledges them);
//   4. obeys StopRun (a pending run is dropped, a running one stops cleanly);
//   5. ends its part with a RunEnd message after the last interval: COMPLETED
//      when the load ran to the end, ABORTED when stopped (StopRun or
//      shutdown), FAILED when it could not run it (bad share or scenario,
//      preflight or engine error, load over before the RunSpec came), so the
//      coordinator can end the run; waits for its messages to be
//      acknowledged, then for the next run.
// SIGINT/SIGTERM stop the current run cleanly, flush what is not yet
// acknowledged (up to flush_timeout) and end the agent (exit status 0); a
// second signal exits at once (130). What it does goes to the log (stderr).
//
// Usage (main.cc):
//   AgentOptions options;
//   CLI::App& agent = app.AddCommand("agent", "...", [&] { return AgentCommand(options); });
//   AddAgentOptions(agent, options);
//
//   $ loadgen agent --coordinator 10.0.0.5:7070 --token s3cret --threads 4 --name lg-1
#ifndef TPSLAB_LOADGEN_AGENT_H_
#define TPSLAB_LOADGEN_AGENT_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/agent/agent_stream.h"
#include "common/proto/coordinator.pb.h"
#include "loadgen/engine.h"

namespace tpslab::loadgen {

struct AgentOptions {
  // Coordinator address, HOST:PORT. Required.
  std::string coordinator = {};
  // Shared secret for the coordinator. Default empty: none.
  std::string token = {};
  // CA certificate (PEM) of the coordinator's TLS certificate. Default
  // empty: plaintext gRPC.
  std::string coordinator_ca = {};
  // Engine threads per run. Default 0: one per hardware thread.
  std::size_t threads = 0;
  // Source id of this agent (stable across reconnects; use a fixed one to
  // keep the identity across agent restarts). Default empty:
  // "HOSTNAME/PID/START_NS".
  std::string name = {};
  // At shutdown and after each run: how long to wait for the coordinator to
  // acknowledge the intervals. Default 5 s.
  std::chrono::milliseconds flush_timeout{5000};
  // Block SIGINT/SIGTERM in every thread and handle them on one (see the
  // file comment). Default true; tests that drive Agent in process turn it
  // off and call Shutdown().
  bool handle_signals = true;
};

// Adds the `agent` options to `command`.
void AddAgentOptions(CLI::App& command, AgentOptions& options);

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Registers with the coordinator and takes runs until Shutdown() or a
  // signal; returns the exit status (0 after a clean shutdown).
  int Run();

  // Stops the current run (cleanly) and makes Run() return. Thread-safe.
  void Shutdown();

 private:
  // Called by the stream's reader thread with a RunSpec or StopRun.
  void OnControl(const v1::CoordinatorMessage& message);
  // Takes one run from start to end; returns when it is over or stopped.
  void RunOne(const v1::RunSpec& spec);
  // Logs when the connection to the coordinator comes up or fails (once
  // per change). Run()'s thread only.
  void LogConnection();
  // True when the agent shuts down or `run_id` was stopped. Requires mutex_.
  bool CancelledLocked(const std::string& run_id) const;
  // Why `run_id` was cancelled ("" when it was not). Requires mutex_.
  std::string CancelReasonLocked(const std::string& run_id) const;
  // Waits (up to flush_timeout) for what `run_id` sent to be acknowledged;
  // logs what is not.
  void FlushRun(const std::string& run_id);
  // Sends the RunEnd of `run_id` (after its intervals, on the same stream).
  void ReportEnd(const std::string& run_id, v1::RunState state, const std::string& reason,
                 uint64_t transactions = 0, uint64_t errors = 0);

  AgentOptions options_;
  std::unique_ptr<agent::AgentStream> stream_;

  std::mutex mutex_;
  std::condition_variable changed_;  // A run came, a run was stopped, shutdown.
  std::deque<v1::RunSpec> pending_;  // Guarded by mutex_.
  // Run id -> StopRun reason, of the runs stopped. Guarded by mutex_.
  std::map<std::string, std::string> stopped_;
  // Pending runs StopRun dropped, whose RunEnd Run() sends. Guarded by mutex_.
  std::deque<std::string> dropped_;
  std::string current_run_;   // Guarded by mutex_.
  Engine* engine_ = nullptr;  // The running engine. Guarded by mutex_.
  bool shutdown_ = false;     // Guarded by mutex_.

  // What LogConnection() reported last (Run()'s thread only).
  bool logged_connected_ = false;
  uint64_t logged_connects_ = 0;
  std::string logged_error_;
};

// Runs `loadgen agent`; returns the exit status.
int AgentCommand(const AgentOptions& options);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_AGENT_H_
