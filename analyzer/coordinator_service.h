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
// ends it as ABORTED at once; EndRun() ends the current run with any state.
//
// Deadline: an agent that died, or an old one that never sends RunEnd,
// would leave the run RUNNING for ever. A dispatched run whose parts have not
// all ended by its expected end (the coordinated start plus the scenario's
// stage ramps and holds, as loadgen counts them) plus
// CoordinatorOptions::run_end_grace ends as FAILED, with a "run-deadline"
// finding naming the agents that never reported, and those agents are sent
// StopRun. A background thread does it at the earliest deadline
// (CheckDeadlines()).
//
// Dispatched runs are durable: the parts (RunSpec, StopRun, the agent's end)
// live in the RunStore (table dispatched_runs), and a coordinator built on
// the same store resumes them: agents that reconnect get their RunSpec (and
// StopRun) again; StopRun(), the self-ending and the deadline work as
// before the restart.
//
// Control messages are queued on each agent's stream in the order they are
// decided and written after the locks that order them are released, so a
// slow agent stream holds up neither storage and acks nor run control for
// the others (see Channel in the .cc).
//
//   absl::StatusOr<std::vector<std::string>> agents =
//       service.DispatchRun(scenario, {.run_id = "run-7", .agents = 2});
//   ... the run ends when both agents report (FAILED if one is still silent
//   at the deadline), or: service.StopRun("run-7", "operator");
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
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
  // How long after its expected end (coordinated start + the scenario's
  // stage ramps and holds) a dispatched run waits for its agents' RunEnd
  // before it ends as FAILED. Default 60 s; 0 (or negative): no deadline.
  std::chrono::nanoseconds run_end_grace = std::chrono::seconds(60);
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
  // Resumes what a previous service left in `store` (see below) and starts
  // the deadline thread.
  CoordinatorService(RunStore& store, CoordinatorOptions options = {});
  // Stops the deadline thread (at once: it never waits for an agent) and
  // stores what is queued for ingestion.
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
  // run again. A resumed run whose agents all reported meanwhile ends then;
  // one whose deadline passed meanwhile fails as soon as the deadline thread
  // starts.

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
  // agents' source ids in agent_index order. The sending happens after the
  // run is registered and blocks only this call (and only while no other
  // thread writes that agent's stream). The run id is options.run_id
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
  // of its agents is still running it (or its deadline passed).
  absl::Status StopRun(const std::string& run_id, const std::string& reason);

  // Deals with every dispatched run whose deadline (expected end +
  // run_end_grace) is at or before now (CoordinatorOptions::now_ns): a run
  // still RUNNING ends as FAILED with a "run-deadline" finding naming the
  // agents that have not reported their end; those agents are sent StopRun
  // (queued: their streams' own threads write it) and the coordinator stops
  // waiting for the run (a late RunEnd is still stored). A run whose last
  // RunEnd was stored meanwhile ends as usual. The background thread calls
  // it at each deadline; tests with an injected clock may call it directly.
  void CheckDeadlines();

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
  // One open Stream call: run control and acks are queued on it and written
  // in queue order, one writer at a time (defined in the .cc).
  struct Channel;
  struct OpenChannel {
    std::shared_ptr<Channel> channel;
    uint64_t order = 0;  // Opening order across all streams.
  };
  // A dispatched run some agent may still be running.
  struct Dispatched {
    std::vector<std::string> agents;  // Source ids in agent_index order.
    // Coordinator clock; CheckDeadlines() deals with the run from then on.
    // 0: no deadline.
    int64_t deadline_ns = 0;
  };
  // The open streams of one agent on which a control message was queued.
  struct Delivery {
    std::string source;
    std::vector<std::shared_ptr<Channel>> channels;
  };
  // options_.ingest, with the RunEnd hook in on_stored.
  IngestorOptions IngestOptions();
  // Rebuilds controls_ and dispatched_ from the store (constructor).
  void ResumeDispatchedRuns();
  // The deadline of a run dispatched with `spec` (0 when run_end_grace
  // disables deadlines).
  int64_t DeadlineOf(const v1::RunSpec& spec) const;
  // Called after a RunEnd is stored: the agent's part is over; ends the run
  // when it was the last part running.
  void OnRunEnd(const v1::AgentMessage& message);
  // With run_mutex_ held: when every one of `parts` (the stored parts of
  // dispatched run `run_id`) has ended, forgets the run and, while it is
  // current, ends it with their outcome. Returns whether they had ended.
  bool EndIfAllPartsEnded(const std::string& run_id, const std::vector<DispatchedPart>& parts);
  // With run_mutex_ held: the deadline of `run_id` passed and some of
  // `parts` have not ended (see CheckDeadlines()). False when the store
  // failed (the caller retries later).
  bool EndOverdueRun(const std::string& run_id, int64_t deadline_ns,
                     const std::vector<DispatchedPart>& parts);
  // With run_mutex_ and mutex_ held: appends `stop` to the controls of those
  // of `agents` whose latest run is stop's and not yet stopped, and queues
  // it on their open streams. Returns where it was queued.
  std::vector<Delivery> QueueStopLocked(const std::vector<std::string>& agents,
                                        const v1::CoordinatorMessage& stop);
  // The deadline thread: calls CheckDeadlines() at the earliest deadline.
  void WatchDeadlines();
  // EndRun() with run_mutex_ held.
  absl::Status EndRunLocked(v1::RunState state);
  // Registers `channel` as a stream of `source` and writes the control
  // messages dispatched to `source` (a reconnecting agent gets its run).
  void Attach(const std::string& source, const std::shared_ptr<Channel>& channel);
  void Detach(const std::string& source, const std::shared_ptr<Channel>& channel);
  // Writes what is queued on the streams of `delivery` (or leaves it to the
  // thread already writing one); false when none of them is open. Called
  // without run_mutex_ and mutex_.
  bool Deliver(const Delivery& delivery);
  bool Authorized(const grpc::ServerContext& context, const std::string& request_token) const;
  int64_t Now() const { return options_.now_ns(); }

  RunStore& store_;
  CoordinatorOptions options_;

  // One change of the current run or of a dispatched run at a time:
  // StartRun, EndRun, DispatchRun, StopRun, OnRunEnd, CheckDeadlines. Taken
  // before mutex_; never held while writing to a stream.
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
  // Dispatched runs some agent may still be running, by run id. Dropped
  // when every agent reported, or at the deadline.
  std::map<std::string, Dispatched> dispatched_;
  // Wakes the deadline thread (with mutex_): a deadline came or went, or
  // stopping_ was set.
  std::condition_variable deadlines_changed_;
  bool stopping_ = false;  // Guarded by mutex_.
  std::thread deadline_thread_;

  // Last, so it is destroyed first: its writer thread calls OnRunEnd(),
  // which uses the members above, until the Ingestor is gone.
  Ingestor ingestor_;
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_COORDINATOR_SERVICE_H_
