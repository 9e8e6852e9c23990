// The tpslab.v1.Coordinator gRPC service: where loadgen and monitor agents
// register, measure their clock and stream samples (see
// common/proto/coordinator.proto and common/agent/agent_stream.h).
//
//   Register  checks the token (RegisterRequest.token or "authorization:
//             Bearer T" metadata), records the agent, and answers with the
//             acked sequence stored for its source, so the agent forgets what
//             the coordinator already has (also after a coordinator restart).
//   Ping      answers the NTP-style timestamps. The agent estimates its own
//             offset; the coordinator estimates it too, from the same pings
//             (grouped by the connection's peer address, which Register ties
//             to a source): each ping bounds the offset θ (coordinator minus
//             agent) from above, θ ≤ t2 − t1, and the next ping of the same
//             sequence bounds it from below, θ ≥ t3 − t1', since the agent
//             sent it after receiving the answer. The midpoint of the tightest
//             bounds (or the upper bound alone) is stored with the agent and
//             applied before series are joined. Agents of one process share
//             a gRPC connection (one peer address); their pings interleave, so
//             for such a peer only the upper bound is used (they share a
//             clock, and the bound errs by the one-way delay at most).
//   Stream    checks the metadata token, feeds every message to the Ingestor
//             (idempotent on (source_id, sequence)) and writes an Ack with
//             the acked prefix after each committed batch. The stream's
//             source is its "tpslab-source-id" metadata (else its first
//             message's source_id); run control for that agent goes down the
//             same stream.
//
// Distributed runs (issue 6): DispatchRun() registers a run and splits its
// scenario across the loadgen agents streaming now: agent i of k gets a
// RunSpec with agent_index i, agent_count k, rate_share 1/k (closed model:
// it runs the users u with u % k == i; open model: 1/k of the rate and of
// the concurrency cap, see loadgen/agent_share.h) and one start_time on
// this coordinator's clock (the agents convert it with their clock offset).
// The agents stream their intervals with the run id. StopRun() sends
// StopRun. An agent that reconnects gets its latest RunSpec (and StopRun)
// again until it reports the end of its part; agents apply each once per run
// id (common/agent/agent_stream.h).
//
// Each agent ends its part with a RunEnd message (COMPLETED, ABORTED or
// FAILED; common/proto/coordinator.proto), stored like a sample. When every
// agent of the current run has reported, the run ends by itself: FAILED if a
// part failed, else ABORTED if a part was stopped, else COMPLETED. StopRun()
// ends it as ABORTED at once; EndRun() ends the current run with any state
// (agents that never send RunEnd leave it to these two).
//
// Dispatched runs are durable: the parts (RunSpec, StopRun, the agent's end)
// live in the RunStore (table dispatched_runs), and a coordinator built on
// the same store resumes them: agents that reconnect get their RunSpec (and
// StopRun) again, StopRun() and the self-ending work as before the restart.
//
//   absl::StatusOr<std::vector<std::string>> agents =
//       service.DispatchRun(scenario, {.run_id = "run-7", .agents = 2});
//   ... the run ends when both agents report, or: service.StopRun("run-7", "operator");
//
// Example:
//   CoordinatorService service(store, {.token = "secret"});
//   grpc::ServerBuilder builder;
//   builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
//   builder.RegisterService(&service);
//   auto server = builder.BuildAndStart();
//   service.StartRun({.run_id = "run-1"});
#ifndef TPSLAB_ANALYZER_COORDINATOR_SERVICE_H_
#define TPSLAB_ANALYZER_COORDINATOR_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "analyzer/ingestor.h"
#include "analyzer/run_store.h"
#include "common/proto/coordinator.grpc.pb.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::analyzer {

struct CoordinatorOptions {
  // Shared secret agents must present. Default empty: no authentication.
  std::string token = {};
  // Clock (ns since the epoch) for Ping answers and records. Default: the
  // system clock.
  std::function<int64_t()> now_ns = {};
  // Ingestion batching and callbacks (IngestorOptions::now_ns is set from
  // now_ns above when empty).
  IngestorOptions ingest = {};
};

// How DispatchRun() starts a distributed run.
struct DispatchOptions {
  // The run's id. Default empty: "run-YYYYMMDD-HHMMSS-XXXX" (UTC, random hex).
  std::string run_id = {};
  // The run's name in the registry. Default empty: the scenario's name.
  std::string name = {};
  // How many loadgen agents take part: the first `agents` of those
  // streaming (earliest stream first). Default 0: all of them.
  uint32_t agents = 0;
  // The coordinated start is now + start_delay (coordinator clock), time
  // for every agent to get its RunSpec. Default 2 s.
  std::chrono::nanoseconds start_delay = std::chrono::seconds(2);
};

// What /metrics and the API show about one agent.
struct AgentHealth {
  AgentRecord agent = {};
  bool connected = false;  // A stream from this source is open.
  SourceStats stats = {};  // Ingestion counters.
};

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(RunStore& store, CoordinatorOptions options = {});
  ~CoordinatorService() override;

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status Ping(grpc::ServerContext* context, const v1::PingRequest* request,
                    v1::PingResponse* response) override;
  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::AgentMessage>* stream) override;

  // At construction the service resumes what a previous one left in the
  // store: the dispatched runs still RUNNING (and stopped parts whose agents
  // have not reported their end), and a run left RUNNING becomes the current
  // run again. A resumed run whose agents all reported meanwhile ends then.

  // Creates `run` (state RUNNING, created/started now unless set) and makes
  // it the current run: samples without a run id are attached to it.
  absl::Status StartRun(RunRecord run);
  // Ends the current run with `state` (COMPLETED, ABORTED, FAILED).
  // FailedPrecondition when no run is current (a dispatched run may have
  // ended by itself).
  absl::Status EndRun(v1::RunState state);
  std::string current_run() const { return ingestor_.current_run(); }

  // Starts a distributed run of `scenario` (see the file comment): creates
  // it and its parts in the store as the current run (RUNNING, started at
  // the coordinated start), sends each agent its RunSpec and returns the
  // agents' source ids in agent_index order. The run id is options.run_id
  // or the generated one, which current_run() returns. Errors:
  // InvalidArgument for a scenario without a closed or open model or a bad
  // start_delay; FailedPrecondition when another run is current, when no
  // loadgen agent is streaming or fewer than options.agents are;
  // AlreadyExists for a known run id.
  absl::StatusOr<std::vector<std::string>> DispatchRun(const v1::Scenario& scenario,
                                                       const DispatchOptions& options = {});
  // Sends StopRun(run_id, reason) to the agents of a dispatched run that
  // have not reported their end (also to those that reconnect later, and
  // after a restart) and, when it is the current run, ends it as ABORTED.
  // NotFound when `run_id` was not dispatched; FailedPrecondition when none
  // of its agents is still running it.
  absl::Status StopRun(const std::string& run_id, const std::string& reason);

  // Source ids of the agents of `kind` that have a stream open now,
  // earliest stream first.
  std::vector<std::string> StreamingAgents(v1::AgentKind kind) const;

  // Every agent known to the store or streaming to this process, with live
  // state.
  std::vector<AgentHealth> Health();

  // Clock offset the coordinator estimated for `source_id` (empty before
  // any ping from it).
  std::optional<int64_t> EstimatedClockOffset(const std::string& source_id) const;

  Ingestor& ingestor() { return ingestor_; }

 private:
  // Bounds on one agent's clock offset, from its pings.
  struct ClockBounds {
    std::optional<int64_t> upper;  // min(t2 − t1)
    std::optional<int64_t> lower;  // max(t3 − t1 of the next ping)
    int64_t last_t3 = 0;           // Answer time of the previous ping.
    std::optional<int64_t> Estimate() const;
  };
  // One open Stream call: run control and acks are written through it, one
  // writer at a time (defined in the .cc).
  struct Channel;
  struct OpenChannel {
    std::shared_ptr<Channel> channel;
    uint64_t order = 0;  // Opening order across all streams.
  };
  // options_.ingest, with the RunEnd hook in on_stored.
  IngestorOptions IngestOptions();
  // Rebuilds controls_ and dispatched_ from the store (constructor).
  void ResumeDispatchedRuns();
  // Called after a RunEnd is stored: the agent's part is over; ends the run
  // when it was the last part running.
  void OnRunEnd(const v1::AgentMessage& message);
  // EndRun() with run_mutex_ held.
  absl::Status EndRunLocked(v1::RunState state);
  // Registers `channel` as a stream of `source` and writes the control
  // messages dispatched to `source` (a reconnecting agent gets its run).
  void Attach(const std::string& source, const std::shared_ptr<Channel>& channel);
  void Detach(const std::string& source, const std::shared_ptr<Channel>& channel);
  // Writes `message` to every open stream of `source`; false when none took it.
  bool SendControl(const std::vector<std::shared_ptr<Channel>>& channels,
                   const v1::CoordinatorMessage& message, const std::string& source);
  bool Authorized(const grpc::ServerContext& context, const std::string& request_token) const;
  int64_t Now() const { return options_.now_ns(); }

  RunStore& store_;
  CoordinatorOptions options_;

  // One change of the current run or of a dispatched run at a time:
  // StartRun, EndRun, DispatchRun, StopRun, OnRunEnd. Taken before mutex_.
  std::mutex run_mutex_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> source_of_peer_;  // Register: peer -> source.
  std::map<std::string, bool> peer_shared_;            // Several sources registered from a peer.
  std::map<std::string, ClockBounds> clocks_;          // By source.
  std::map<std::string, int> open_streams_;            // By source.
  std::map<std::string, v1::AgentKind> kinds_;         // By source, from Register.
  std::map<std::string, std::vector<OpenChannel>> channels_;  // By source.
  uint64_t channels_opened_ = 0;
  // Control messages of the latest run dispatched to each source (RunSpec,
  // then StopRun once stopped), written again when it reconnects; dropped
  // when the agent reports the end of that run.
  std::map<std::string, std::vector<v1::CoordinatorMessage>> controls_;
  // Dispatched runs some agent may still be running: run id -> agents'
  // source ids in agent_index order. Dropped when every agent reported.
  std::map<std::string, std::vector<std::string>> dispatched_;

  // Last, so it is destroyed first: its writer thread calls OnRunEnd(),
  // which uses the members above, until the Ingestor is gone.
  Ingestor ingestor_;
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_COORDINATOR_SERVICE_H_
