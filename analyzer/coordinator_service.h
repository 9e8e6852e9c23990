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
//             the acked prefix after each committed batch.
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

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "analyzer/ingestor.h"
#include "analyzer/run_store.h"
#include "common/proto/coordinator.grpc.pb.h"

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

  // A run left RUNNING in the store (the coordinator restarted during it)
  // becomes the current run again at construction.

  // Creates `run` (state RUNNING, created/started now unless set) and makes
  // it the current run: samples without a run id are attached to it.
  absl::Status StartRun(RunRecord run);
  // Ends the current run with `state` (COMPLETED, ABORTED, FAILED).
  absl::Status EndRun(v1::RunState state);
  std::string current_run() const { return ingestor_.current_run(); }

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
  bool Authorized(const grpc::ServerContext& context, const std::string& request_token) const;
  int64_t Now() const { return options_.now_ns(); }

  RunStore& store_;
  CoordinatorOptions options_;
  Ingestor ingestor_;

  mutable std::mutex mutex_;
  std::map<std::string, std::string> source_of_peer_;  // Register: peer -> source.
  std::map<std::string, bool> peer_shared_;            // Several sources registered from a peer.
  std::map<std::string, ClockBounds> clocks_;          // By source.
  std::map<std::string, int> open_streams_;            // By source.
};

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_COORDINATOR_SERVICE_H_
