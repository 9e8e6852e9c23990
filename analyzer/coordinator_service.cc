#include "analyzer/coordinator_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_format.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CoordinatorOptions WithDefaults(CoordinatorOptions options) {
  if (!options.now_ns) options.now_ns = SystemNowNs;
  if (!options.ingest.now_ns) options.ingest.now_ns = options.now_ns;
  return options;
}

// How long a finished stream waits for its last messages to be stored.
constexpr std::chrono::seconds kDrainTimeout{10};

}  // namespace

std::optional<int64_t> CoordinatorService::ClockBounds::Estimate() const {
  if (!upper) return std::nullopt;
  if (!lower || *lower > *upper) return upper;
  return *lower + (*upper - *lower) / 2;
}

CoordinatorService::CoordinatorService(RunStore& store, CoordinatorOptions options)
    : store_(store), options_(WithDefaults(std::move(options))), ingestor_(store, options_.ingest) {
  absl::StatusOr<std::vector<RunRecord>> runs = store_.ListRuns();
  if (!runs.ok()) {
    spdlog::error("cannot list runs: {}", std::string(runs.status().message()));
    return;
  }
  for (const RunRecord& run : *runs) {  // Newest first.
    if (run.state == v1::RUN_STATE_RUNNING) {
      spdlog::info("run {} was still running; samples are attached to it again", run.run_id);
      ingestor_.SetCurrentRun(run.run_id);
      break;
    }
  }
}

CoordinatorService::~CoordinatorService() = default;

bool CoordinatorService::Authorized(const grpc::ServerContext& context,
                                    const std::string& request_token) const {
  if (options_.token.empty()) return true;
  if (request_token == options_.token) return true;
  const auto it = context.client_metadata().find("authorization");
  return it != context.client_metadata().end() &&
         std::string(it->second.data(), it->second.size()) == "Bearer " + options_.token;
}

grpc::Status CoordinatorService::Register(grpc::ServerContext* context,
                                          const v1::RegisterRequest* request,
                                          v1::RegisterResponse* response) {
  if (!Authorized(*context, request->token())) {
    spdlog::warn("register from {} refused: bad token", context->peer());
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "register: missing or wrong token (RegisterRequest.token or "
                        "'authorization: Bearer' metadata)");
  }
  if (request->source_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "register: empty source_id");
  }
  absl::StatusOr<uint64_t> acked = store_.Acked(request->source_id());
  if (!acked.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(acked.status().message()));
  }
  const int64_t now = Now();
  AgentRecord agent{.source_id = request->source_id(),
                    .kind = request->kind(),
                    .hostname = request->hostname(),
                    .version = request->version(),
                    .threads = request->threads(),
                    .registered_ns = now,
                    .last_seen_ns = now};
  {
    std::lock_guard lock(mutex_);
    auto [peer, inserted] = source_of_peer_.emplace(context->peer(), request->source_id());
    if (!inserted && peer->second != request->source_id()) {
      peer_shared_[context->peer()] = true;
      peer->second = request->source_id();
    }
    ClockBounds& clock = clocks_[request->source_id()];
    if (std::optional<int64_t> estimate = clock.Estimate()) agent.clock_offset_ns = *estimate;
    clock = ClockBounds{};  // A new connection: measure afresh.
  }
  if (absl::Status s = store_.UpsertAgent(agent); !s.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(s.message()));
  }
  spdlog::info("agent {} ({}) registered from {}, acked {}", request->source_id(),
               v1::AgentKind_Name(request->kind()), context->peer(), *acked);
  response->set_acked_sequence(*acked);
  *response->mutable_server_time() = TimeUtil::NanosecondsToTimestamp(now);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Ping(grpc::ServerContext* context, const v1::PingRequest* request,
                                      v1::PingResponse* response) {
  const int64_t received = Now();
  if (!Authorized(*context, "")) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "ping: missing or wrong token");
  }
  const int64_t t1 = TimeUtil::TimestampToNanoseconds(request->client_send_time());
  std::optional<AgentRecord> update;
  {
    std::lock_guard lock(mutex_);
    const auto peer = source_of_peer_.find(context->peer());
    if (peer != source_of_peer_.end()) {
      ClockBounds& clock = clocks_[peer->second];
      const int64_t upper = received - t1;
      if (!clock.upper || upper < *clock.upper) clock.upper = upper;
      if (clock.last_t3 != 0 && !peer_shared_.count(context->peer())) {
        const int64_t lower = clock.last_t3 - t1;
        if (!clock.lower || lower > *clock.lower) clock.lower = lower;
      }
      update = AgentRecord{.source_id = peer->second, .clock_offset_ns = *clock.Estimate()};
    }
  }
  *response->mutable_client_send_time() = request->client_send_time();
  *response->mutable_server_receive_time() = TimeUtil::NanosecondsToTimestamp(received);
  const int64_t sent = Now();
  *response->mutable_server_send_time() = TimeUtil::NanosecondsToTimestamp(sent);
  if (update) {
    std::lock_guard lock(mutex_);
    const auto peer = source_of_peer_.find(context->peer());
    if (peer != source_of_peer_.end()) clocks_[peer->second].last_t3 = sent;
  }
  if (update) {
    // Keep the rest of the agent's record: read it back and change the offset.
    absl::StatusOr<std::vector<AgentRecord>> agents = store_.ListAgents();
    if (agents.ok()) {
      for (AgentRecord& a : *agents) {
        if (a.source_id != update->source_id) continue;
        a.clock_offset_ns = update->clock_offset_ns;
        a.last_seen_ns = received;
        if (absl::Status s = store_.UpsertAgent(a); !s.ok()) {
          spdlog::warn("cannot store clock offset of {}: {}", a.source_id,
                       std::string(s.message()));
        }
      }
    }
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::AgentMessage>* stream) {
  if (!Authorized(*context, "")) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "stream: missing or wrong 'authorization: Bearer' metadata");
  }
  auto slot = std::make_shared<AckSlot>();
  // Acks go out from their own thread, so reading never waits for storage.
  std::thread acker([&] {
    for (;;) {
      std::optional<uint64_t> acked = slot->WaitAck(std::chrono::milliseconds(500));
      if (acked) {
        v1::CoordinatorMessage ack;
        ack.mutable_ack()->set_acked_sequence(*acked);
        if (!stream->Write(ack)) break;
      } else if (slot->finished()) {
        break;
      }
    }
  });

  std::string source;
  v1::AgentMessage message;
  while (stream->Read(&message)) {
    if (source.empty() && !message.source_id().empty()) {
      source = message.source_id();
      std::lock_guard lock(mutex_);
      ++open_streams_[source];
    }
    if (slot->failed()) break;
    ingestor_.Submit(std::move(message), slot);
    message.Clear();
  }
  slot->WaitIdle(kDrainTimeout);
  slot->Close();
  acker.join();
  if (!source.empty()) {
    std::lock_guard lock(mutex_);
    if (--open_streams_[source] == 0) open_streams_.erase(source);
  }
  if (slot->failed()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the coordinator could not store samples; reconnect and resend");
  }
  return grpc::Status::OK;
}

absl::Status CoordinatorService::StartRun(RunRecord run) {
  const int64_t now = Now();
  if (run.created_ns == 0) run.created_ns = now;
  if (run.started_ns == 0) run.started_ns = now;
  run.state = v1::RUN_STATE_RUNNING;
  if (absl::Status s = store_.CreateRun(run); !s.ok()) return s;
  ingestor_.SetCurrentRun(run.run_id);
  return absl::OkStatus();
}

absl::Status CoordinatorService::EndRun(v1::RunState state) {
  const std::string run = ingestor_.current_run();
  if (run.empty()) return absl::FailedPreconditionError("no run is in progress");
  if (absl::Status s = store_.SetRunState(run, state, Now()); !s.ok()) return s;
  ingestor_.SetCurrentRun("");
  return absl::OkStatus();
}

std::vector<AgentHealth> CoordinatorService::Health() {
  std::vector<AgentHealth> health;
  absl::StatusOr<std::vector<AgentRecord>> agents = store_.ListAgents();
  if (!agents.ok()) return health;
  const std::map<std::string, SourceStats> stats = ingestor_.Stats();
  // Sources that stream without having registered (or registered with an
  // earlier coordinator process) are agents too.
  for (const auto& [source, s] : stats) {
    const bool known = std::any_of(agents->begin(), agents->end(),
                                   [&](const AgentRecord& a) { return a.source_id == source; });
    if (!known) agents->push_back({.source_id = source});
  }
  std::lock_guard lock(mutex_);
  for (AgentRecord& agent : *agents) {
    AgentHealth& h = health.emplace_back();
    h.connected = open_streams_.count(agent.source_id) > 0;
    if (auto it = stats.find(agent.source_id); it != stats.end()) h.stats = it->second;
    h.agent = std::move(agent);
  }
  return health;
}

std::optional<int64_t> CoordinatorService::EstimatedClockOffset(
    const std::string& source_id) const {
  std::lock_guard lock(mutex_);
  const auto it = clocks_.find(source_id);
  if (it == clocks_.end()) return std::nullopt;
  return it->second.Estimate();
}

}  // namespace tpslab::analyzer
