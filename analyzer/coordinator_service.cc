#include "analyzer/coordinator_service.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <limits>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
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
// How often a stream's own thread writes what is queued on it when no ack
// is due (control messages queued by CheckDeadlines, or by a thread busy
// writing another agent's stream).
constexpr std::chrono::milliseconds kFlushInterval{500};
// When CheckDeadlines could not end an overdue run (the store failed), how
// long until it tries again.
constexpr std::chrono::seconds kDeadlineRetry{10};
// The deadline thread looks at the clock at least this often, so a step of
// the system clock delays a deadline by this much at most.
constexpr std::chrono::minutes kMaxDeadlineWait{1};

// The source an agent names in its Stream call's metadata ("" if none).
std::string MetadataSource(const grpc::ServerContext& context) {
  const auto it = context.client_metadata().find("tpslab-source-id");
  if (it == context.client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// "run-20261128-052900-3fa2": sortable by time, unique enough for one
// coordinator.
std::string NewRunId(int64_t now_ns) {
  const std::time_t seconds = static_cast<std::time_t>(now_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  std::random_device random;
  return absl::StrFormat("run-%s-%04x", stamp, random() & 0xffff);
}

bool HasStages(const v1::Scenario& scenario) {
  return (scenario.has_closed() && scenario.closed().stages_size() > 0) ||
         (scenario.has_open() && scenario.open().stages_size() > 0);
}

// The state a dispatched run ends with once all its parts ended: FAILED
// when one failed, else ABORTED when one was stopped, else COMPLETED.
// UNSPECIFIED while a part has not ended.
v1::RunState Outcome(const std::vector<DispatchedPart>& parts) {
  v1::RunState outcome = v1::RUN_STATE_COMPLETED;
  for (const DispatchedPart& part : parts) {
    if (!part.ended()) return v1::RUN_STATE_UNSPECIFIED;
    if (part.end_state == v1::RUN_STATE_FAILED) {
      outcome = v1::RUN_STATE_FAILED;
    } else if (part.end_state == v1::RUN_STATE_ABORTED && outcome == v1::RUN_STATE_COMPLETED) {
      outcome = v1::RUN_STATE_ABORTED;
    }
  }
  return outcome;
}

// a + b, saturated at the limits of int64_t.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return sum;
}

// A stage duration in ns: 0 when negative, saturated beyond int64_t.
int64_t StageNs(const google::protobuf::Duration& d) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  if (d.seconds() < 0 || d.nanos() < 0) return 0;
  if (d.seconds() > kMaxSeconds) return std::numeric_limits<int64_t>::max();
  return d.seconds() * 1'000'000'000 + d.nanos();
}

// How long the scenario's load lasts: the sum of its stages' ramps and
// holds, as loadgen runs them (TotalSeconds, loadgen/engine.h).
int64_t LoadNs(const v1::Scenario& scenario) {
  const auto& stages = scenario.has_open() ? scenario.open().stages() : scenario.closed().stages();
  int64_t total = 0;
  for (const v1::Stage& stage : stages) {
    total = SaturatingAdd(total, StageNs(stage.duration()));
    total = SaturatingAdd(total, StageNs(stage.hold()));
  }
  return total;
}

std::string TimeName(int64_t ns) {
  return TimeUtil::ToString(TimeUtil::NanosecondsToTimestamp(ns));
}

std::string DurationName(int64_t ns) {
  return TimeUtil::ToString(TimeUtil::NanosecondsToDuration(ns));
}

// What an agent is sent again when it reconnects before the end of its part.
std::vector<v1::CoordinatorMessage> ControlsOf(const DispatchedPart& part) {
  std::vector<v1::CoordinatorMessage> controls(1);
  *controls[0].mutable_run() = part.spec;
  if (part.stop) *controls.emplace_back().mutable_stop() = *part.stop;
  return controls;
}

}  // namespace

// One open Stream call. Control messages and acks are queued, then written
// in queue order by one thread at a time: a Flush() while no other thread
// is writing writes until the queue is empty; a Flush() during another
// thread's write returns at once and leaves its messages to that writer.
// So no thread ever waits for a write another one started (a stuck agent
// stream holds up only the thread writing to it), and messages queued in
// some order are written in that order, whichever thread writes them.
struct CoordinatorService::Channel {
  using Stream = grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::AgentMessage>;
  explicit Channel(Stream* s) : stream(s) {}

  // Queues `message` behind those queued before it. An Ack replaces an Ack
  // queued last (it acknowledges at least as much).
  void Queue(v1::CoordinatorMessage message) {
    std::lock_guard lock(queue_mutex);
    if (closed) return;
    if (message.has_ack() && !queue.empty() && queue.back().has_ack()) {
      queue.back() = std::move(message);
    } else {
      queue.push_back(std::move(message));
    }
  }

  // Writes the queue, unless another thread is writing it (which then
  // writes it all). False once the stream is closed or broken: what is
  // queued is dropped (the agent gets its controls again when it
  // reconnects).
  bool Flush() {
    {
      std::lock_guard lock(queue_mutex);
      if (closed) return false;
      if (writing) return true;
      writing = true;
    }
    std::lock_guard write_lock(write_mutex);
    for (;;) {
      v1::CoordinatorMessage next;
      {
        std::lock_guard lock(queue_mutex);
        if (closed || queue.empty()) {
          writing = false;
          return !closed;
        }
        next = std::move(queue.front());
        queue.pop_front();
      }
      if (!stream->Write(next)) {
        std::lock_guard lock(queue_mutex);
        closed = true;
        queue.clear();
        writing = false;
        return false;
      }
    }
  }

  // After Close() nothing is written (the handler is about to return); it
  // waits for a write in progress.
  void Close() {
    {
      std::lock_guard lock(queue_mutex);
      closed = true;
      queue.clear();
    }
    std::lock_guard write_lock(write_mutex);
  }

  std::mutex queue_mutex;  // Guards the three below; never held while writing.
  std::deque<v1::CoordinatorMessage> queue;
  bool writing = false;  // A thread is in Flush()'s write loop.
  bool closed = false;
  std::mutex write_mutex;  // Held by that thread (Close() waits for it).
  Stream* const stream;    // Written only by the thread in Flush()'s loop.
};

std::optional<int64_t> CoordinatorService::ClockBounds::Estimate() const {
  if (!upper) return std::nullopt;
  if (!lower || *lower > *upper) return upper;
  return *lower + (*upper - *lower) / 2;
}

CoordinatorService::CoordinatorService(RunStore& store, CoordinatorOptions options)
    : store_(store), options_(WithDefaults(std::move(options))), ingestor_(store, IngestOptions()) {
  ResumeDispatchedRuns();
  absl::StatusOr<std::vector<RunRecord>> runs = store_.ListRuns();
  if (runs.ok()) {
    for (const RunRecord& run : *runs) {  // Newest first.
      if (run.state == v1::RUN_STATE_RUNNING) {
        spdlog::info("run {} was still running; samples are attached to it again", run.run_id);
        ingestor_.SetCurrentRun(run.run_id);
        break;
      }
    }
  } else {
    spdlog::error("cannot list runs: {}", std::string(runs.status().message()));
  }
  // Last: a resumed run already overdue ends at once, after the current run
  // is set above.
  deadline_thread_ = std::thread([this] { WatchDeadlines(); });
}

CoordinatorService::~CoordinatorService() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  deadlines_changed_.notify_all();
  deadline_thread_.join();
}

IngestorOptions CoordinatorService::IngestOptions() {
  IngestorOptions ingest = options_.ingest;
  ingest.on_stored = [this, also = std::move(ingest.on_stored)](const v1::AgentMessage& message,
                                                                const std::string& run_id) {
    if (message.has_run_end()) OnRunEnd(message);
    if (also) also(message, run_id);
  };
  return ingest;
}

void CoordinatorService::ResumeDispatchedRuns() {
  absl::StatusOr<std::vector<DispatchedPart>> parts = store_.PartsToResume();
  if (!parts.ok()) {
    spdlog::error("cannot resume dispatched runs: {}", std::string(parts.status().message()));
    return;
  }
  std::map<std::string, std::vector<DispatchedPart>> by_run;
  std::lock_guard lock(mutex_);
  for (DispatchedPart& part : *parts) {  // Oldest dispatch first: the latest per source wins.
    if (part.ended()) {
      controls_.erase(part.source_id);
    } else {
      controls_[part.source_id] = ControlsOf(part);
    }
    by_run[part.run_id].push_back(std::move(part));
  }
  for (const auto& [run_id, run_parts] : by_run) {
    const v1::RunState outcome = Outcome(run_parts);
    if (outcome == v1::RUN_STATE_UNSPECIFIED) {
      Dispatched& run = dispatched_[run_id];
      for (const DispatchedPart& part : run_parts) run.agents.push_back(part.source_id);
      run.deadline_ns = DeadlineOf(run_parts.front().spec);  // Every part has the same.
      spdlog::info("run {}: dispatch resumed ({} agents, deadline {})", run_id, run.agents.size(),
                   run.deadline_ns == 0 ? "none" : TimeName(run.deadline_ns));
      continue;
    }
    // Every agent reported before the previous coordinator ended the run.
    if (absl::Status s = store_.SetRunState(run_id, outcome, Now()); !s.ok()) {
      spdlog::error("run {}: cannot end it: {}", run_id, std::string(s.message()));
    } else {
      spdlog::info("run {}: every agent had reported its end; ended as {}", run_id,
                   RunStateName(outcome));
    }
  }
}

int64_t CoordinatorService::DeadlineOf(const v1::RunSpec& spec) const {
  if (options_.run_end_grace.count() <= 0) return 0;
  const int64_t expected_end =
      SaturatingAdd(TimeUtil::TimestampToNanoseconds(spec.start_time()), LoadNs(spec.scenario()));
  return SaturatingAdd(expected_end, options_.run_end_grace.count());
}

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
    kinds_[request->source_id()] = request->kind();
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
  auto channel = std::make_shared<Channel>(stream);
  // Acks go out from the stream's own thread, so reading never waits for
  // storage. It also writes control messages left queued (kFlushInterval).
  std::thread writer([&] {
    for (;;) {
      std::optional<uint64_t> acked = slot->WaitAck(kFlushInterval);
      if (acked) {
        v1::CoordinatorMessage ack;
        ack.mutable_ack()->set_acked_sequence(*acked);
        channel->Queue(std::move(ack));
      } else if (slot->finished()) {
        break;
      }
      if (!channel->Flush()) break;
    }
  });

  std::string source = MetadataSource(*context);
  if (!source.empty()) Attach(source, channel);
  v1::AgentMessage message;
  while (stream->Read(&message)) {
    if (source.empty() && !message.source_id().empty()) {
      source = message.source_id();
      Attach(source, channel);
    }
    if (slot->failed()) break;
    ingestor_.Submit(std::move(message), slot);
    message.Clear();
  }
  slot->WaitIdle(kDrainTimeout);
  slot->Close();
  writer.join();
  channel->Close();
  if (!source.empty()) Detach(source, channel);
  if (slot->failed()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the coordinator could not store samples; reconnect and resend");
  }
  return grpc::Status::OK;
}

absl::Status CoordinatorService::StartRun(RunRecord run) {
  std::lock_guard run_lock(run_mutex_);
  const int64_t now = Now();
  if (run.created_ns == 0) run.created_ns = now;
  if (run.started_ns == 0) run.started_ns = now;
  run.state = v1::RUN_STATE_RUNNING;
  if (absl::Status s = store_.CreateRun(run); !s.ok()) return s;
  ingestor_.SetCurrentRun(run.run_id);
  return absl::OkStatus();
}

absl::Status CoordinatorService::EndRun(v1::RunState state) {
  std::lock_guard run_lock(run_mutex_);
  return EndRunLocked(state);
}

absl::Status CoordinatorService::EndRunLocked(v1::RunState state) {
  const std::string run = ingestor_.current_run();
  if (run.empty()) return absl::FailedPreconditionError("no run is in progress");
  if (absl::Status s = store_.SetRunState(run, state, Now()); !s.ok()) return s;
  ingestor_.SetCurrentRun("");
  return absl::OkStatus();
}

void CoordinatorService::Attach(const std::string& source,
                                const std::shared_ptr<Channel>& channel) {
  size_t replayed = 0;
  std::string run_id;
  {
    // Registered and given the replay at once: a control message decided
    // later finds the channel and is queued behind the replay; one decided
    // earlier is in controls_, hence in the replay.
    std::lock_guard lock(mutex_);
    ++open_streams_[source];
    channels_[source].push_back({channel, ++channels_opened_});
    if (auto it = controls_.find(source); it != controls_.end()) {
      for (const v1::CoordinatorMessage& message : it->second) channel->Queue(message);
      replayed = it->second.size();
      run_id = it->second.front().run().run_id();
    }
  }
  if (replayed > 0 && channel->Flush()) {
    spdlog::info("agent {} reconnected: sent {} of run {} again", source,
                 replayed == 1 ? "the RunSpec" : "the RunSpec and StopRun", run_id);
  }
}

void CoordinatorService::Detach(const std::string& source,
                                const std::shared_ptr<Channel>& channel) {
  std::lock_guard lock(mutex_);
  if (--open_streams_[source] == 0) open_streams_.erase(source);
  auto it = channels_.find(source);
  if (it == channels_.end()) return;
  std::erase_if(it->second, [&](const OpenChannel& c) { return c.channel == channel; });
  if (it->second.empty()) channels_.erase(it);
}

bool CoordinatorService::Deliver(const Delivery& delivery) {
  bool open = false;
  for (const auto& channel : delivery.channels) open = channel->Flush() || open;
  if (!open) {
    spdlog::warn("agent {} is not reachable now; it gets the message when it reconnects",
                 delivery.source);
  }
  return open;
}

std::vector<CoordinatorService::Delivery> CoordinatorService::QueueStopLocked(
    const std::vector<std::string>& agents, const v1::CoordinatorMessage& stop) {
  std::vector<Delivery> deliveries;
  for (const std::string& agent : agents) {
    // Only while the agent's latest run is this one (not yet ended or
    // stopped).
    const auto controls = controls_.find(agent);
    if (controls == controls_.end() ||
        controls->second.front().run().run_id() != stop.stop().run_id() ||
        controls->second.back().has_stop()) {
      continue;
    }
    controls->second.push_back(stop);
    Delivery& delivery = deliveries.emplace_back();
    delivery.source = agent;
    if (auto open = channels_.find(agent); open != channels_.end()) {
      for (const OpenChannel& c : open->second) {
        c.channel->Queue(stop);
        delivery.channels.push_back(c.channel);
      }
    }
  }
  return deliveries;
}

std::vector<std::string> CoordinatorService::StreamingAgents(v1::AgentKind kind) const {
  std::vector<std::pair<uint64_t, std::string>> by_order;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [source, open] : channels_) {
      const auto k = kinds_.find(source);
      if (open.empty() || k == kinds_.end() || k->second != kind) continue;
      by_order.emplace_back(open.front().order, source);
    }
  }
  std::sort(by_order.begin(), by_order.end());
  std::vector<std::string> sources;
  for (auto& [order, source] : by_order) sources.push_back(std::move(source));
  return sources;
}

absl::StatusOr<std::vector<std::string>> CoordinatorService::DispatchRun(
    const v1::Scenario& scenario, const DispatchOptions& options) {
  std::unique_lock run_lock(run_mutex_);
  if (!HasStages(scenario)) {
    return absl::InvalidArgumentError(absl::StrCat("dispatch: scenario '", scenario.name(),
                                                   "' has no load stages (closed or open model)"));
  }
  if (options.start_delay.count() < 0) {
    return absl::InvalidArgumentError("dispatch: start_delay must not be negative");
  }
  if (const std::string current = current_run(); !current.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dispatch: run ", current, " is in progress; end or stop it first"));
  }
  std::vector<std::string> agents = StreamingAgents(v1::AGENT_KIND_LOADGEN);
  if (agents.empty()) {
    return absl::FailedPreconditionError("dispatch: no loadgen agent is connected");
  }
  if (options.agents > agents.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dispatch: ", options.agents, " loadgen agents asked for, ", agents.size(),
                     " connected (", absl::StrJoin(agents, ", "), ")"));
  }
  if (options.agents > 0) agents.resize(options.agents);

  const int64_t now = Now();
  const int64_t start_ns = now + options.start_delay.count();
  RunRecord run{.run_id = options.run_id.empty() ? NewRunId(now) : options.run_id,
                .name = options.name.empty() ? scenario.name() : options.name,
                .state = v1::RUN_STATE_RUNNING,
                .created_ns = now,
                .started_ns = start_ns};
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(scenario, &run.scenario_json, json).ok()) {
    run.scenario_json.clear();
  }

  const uint32_t count = static_cast<uint32_t>(agents.size());
  std::vector<DispatchedPart> parts(count);
  for (uint32_t i = 0; i < count; ++i) {
    parts[i] = {
        .run_id = run.run_id, .agent_index = i, .source_id = agents[i], .dispatched_ns = now};
    v1::RunSpec& spec = parts[i].spec;
    spec.set_run_id(run.run_id);
    *spec.mutable_scenario() = scenario;
    spec.set_agent_index(i);
    spec.set_agent_count(count);
    spec.set_rate_share(1.0 / count);
    *spec.mutable_start_time() = TimeUtil::NanosecondsToTimestamp(start_ns);
  }
  // Stored before any agent hears of it, so a restart never forgets a run
  // an agent is running.
  if (absl::Status s = store_.CreateDispatchedRun(run, parts); !s.ok()) return s;
  ingestor_.SetCurrentRun(run.run_id);

  const int64_t deadline_ns = DeadlineOf(parts.front().spec);
  std::vector<Delivery> deliveries(count);
  {
    std::lock_guard lock(mutex_);
    dispatched_[run.run_id] = {.agents = agents, .deadline_ns = deadline_ns};
    for (uint32_t i = 0; i < count; ++i) {
      const v1::CoordinatorMessage message = ControlsOf(parts[i]).front();
      controls_[agents[i]] = {message};
      deliveries[i].source = agents[i];
      if (auto open = channels_.find(agents[i]); open != channels_.end()) {
        for (const OpenChannel& c : open->second) {
          c.channel->Queue(message);
          deliveries[i].channels.push_back(c.channel);
        }
      }
    }
  }
  deadlines_changed_.notify_all();
  run_lock.unlock();

  // Written without run_mutex_, so a slow agent stream holds up neither
  // OnRunEnd() (the ingest writer thread: storage and acks of every agent)
  // nor StopRun() and CheckDeadlines(). The order is still right: each
  // RunSpec was queued on the agent's streams under mutex_, in the same step
  // as its controls_ entry, and a stream writes its queue in order, one
  // writer at a time (Channel). A StopRun() of this run, even one that
  // flushes before this thread, appends its StopRun to controls_ and queues
  // it later, so behind the RunSpec; a stream that attaches later takes
  // both, in order, from controls_ (Attach()).
  spdlog::info("run {}: scenario '{}' over {} loadgen agents, start at {}, deadline {}", run.run_id,
               scenario.name(), count, TimeName(start_ns),
               deadline_ns == 0 ? "none" : TimeName(deadline_ns));
  for (uint32_t i = 0; i < count; ++i) {
    if (Deliver(deliveries[i])) {
      spdlog::info("run {}: RunSpec sent to agent {} ({} of {})", run.run_id, agents[i], i + 1,
                   count);
    }
  }
  return agents;
}

absl::Status CoordinatorService::StopRun(const std::string& run_id, const std::string& reason) {
  std::unique_lock run_lock(run_mutex_);
  std::optional<std::vector<std::string>> agents;
  {
    std::lock_guard lock(mutex_);
    if (auto it = dispatched_.find(run_id); it != dispatched_.end()) agents = it->second.agents;
  }
  if (!agents) {
    absl::StatusOr<std::vector<DispatchedPart>> parts = store_.DispatchedParts(run_id);
    if (!parts.ok()) return parts.status();
    if (!parts->empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("stop: run ", run_id, " is over; none of its agents is still running it"));
    }
    return absl::NotFoundError(
        absl::StrCat("stop: run ", run_id, " was never dispatched (no such run in this store)"));
  }
  v1::CoordinatorMessage message;
  message.mutable_stop()->set_run_id(run_id);
  message.mutable_stop()->set_reason(reason);
  // Stored first: an agent that reconnects after a restart is stopped too.
  if (absl::StatusOr<int> stored = store_.StopDispatchedRun(message.stop()); !stored.ok()) {
    return stored.status();
  }
  std::vector<Delivery> deliveries;
  {
    std::lock_guard lock(mutex_);
    deliveries = QueueStopLocked(*agents, message);
  }
  absl::Status ended = absl::OkStatus();
  if (current_run() == run_id) ended = EndRunLocked(v1::RUN_STATE_ABORTED);
  run_lock.unlock();

  // Written without run_mutex_; behind the RunSpec, as in DispatchRun().
  spdlog::info("run {}: stopping {} agents ({})", run_id, deliveries.size(), reason);
  for (const Delivery& delivery : deliveries) Deliver(delivery);
  return ended;
}

void CoordinatorService::OnRunEnd(const v1::AgentMessage& message) {
  const std::string& run_id = message.run_id();
  const std::string& source = message.source_id();
  if (run_id.empty()) return;
  const v1::RunEnd& end = message.run_end();
  spdlog::info("run {}: agent {} ended its part: {}{}{} ({} transactions, {} errors)", run_id,
               source, RunStateName(end.state()), end.reason().empty() ? "" : ": ", end.reason(),
               end.transactions(), end.errors());
  std::lock_guard run_lock(run_mutex_);
  {
    std::lock_guard lock(mutex_);
    // Its part is over: nothing to send it again.
    const auto controls = controls_.find(source);
    if (controls != controls_.end() && controls->second.front().run().run_id() == run_id) {
      controls_.erase(controls);
    }
    if (dispatched_.count(run_id) == 0) return;  // Not dispatched, or over already.
  }
  absl::StatusOr<std::vector<DispatchedPart>> parts = store_.DispatchedParts(run_id);
  if (!parts.ok()) {
    spdlog::error("run {}: cannot read its parts: {}", run_id,
                  std::string(parts.status().message()));
    return;
  }
  EndIfAllPartsEnded(run_id, *parts);
}

bool CoordinatorService::EndIfAllPartsEnded(const std::string& run_id,
                                            const std::vector<DispatchedPart>& parts) {
  const v1::RunState outcome = Outcome(parts);
  if (outcome == v1::RUN_STATE_UNSPECIFIED) return false;  // A part is still running.
  {
    std::lock_guard lock(mutex_);
    dispatched_.erase(run_id);
  }
  deadlines_changed_.notify_all();
  if (ingestor_.current_run() != run_id) return true;  // Ended by StopRun() or EndRun().
  if (absl::Status s = EndRunLocked(outcome); !s.ok()) {
    spdlog::error("run {}: cannot end it: {}", run_id, std::string(s.message()));
    return true;
  }
  spdlog::info("run {}: every agent ended its part; the run is {}", run_id, RunStateName(outcome));
  return true;
}

void CoordinatorService::CheckDeadlines() {
  std::lock_guard run_lock(run_mutex_);
  const int64_t now = Now();
  std::vector<std::pair<std::string, int64_t>> overdue;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [run_id, run] : dispatched_) {
      if (run.deadline_ns != 0 && run.deadline_ns <= now)
        overdue.emplace_back(run_id, run.deadline_ns);
    }
  }
  for (const auto& [run_id, deadline_ns] : overdue) {
    absl::StatusOr<std::vector<DispatchedPart>> parts = store_.DispatchedParts(run_id);
    if (!parts.ok()) {
      spdlog::error("run {}: cannot read its parts: {}", run_id,
                    std::string(parts.status().message()));
    } else if (EndIfAllPartsEnded(run_id, *parts) || EndOverdueRun(run_id, deadline_ns, *parts)) {
      continue;
    }
    std::lock_guard lock(mutex_);
    if (auto it = dispatched_.find(run_id); it != dispatched_.end()) {
      it->second.deadline_ns = SaturatingAdd(now, std::chrono::nanoseconds(kDeadlineRetry).count());
    }
  }
}

bool CoordinatorService::EndOverdueRun(const std::string& run_id, int64_t deadline_ns,
                                       const std::vector<DispatchedPart>& parts) {
  std::vector<std::string> silent;
  for (const DispatchedPart& part : parts) {
    if (!part.ended()) silent.push_back(part.source_id);
  }
  absl::StatusOr<RunRecord> run = store_.GetRun(run_id);
  if (!run.ok()) {
    spdlog::error("run {}: {}", run_id, std::string(run.status().message()));
    return false;
  }
  const int64_t now = Now();
  const std::string why = absl::StrFormat(
      "%s %s never reported the end of %s part by the deadline %s (expected end %s + grace %s)",
      silent.size() == 1 ? "agent" : "agents", absl::StrJoin(silent, ", "),
      silent.size() == 1 ? "its" : "their", TimeName(deadline_ns),
      TimeName(deadline_ns - options_.run_end_grace.count()),
      DurationName(options_.run_end_grace.count()));
  if (run->state == v1::RUN_STATE_RUNNING) {
    const absl::Status failed = store_.InTransaction([&](RunStore::Writer& w) -> absl::Status {
      absl::StatusOr<int64_t> finding = w.InsertFinding({.run_id = run_id,
                                                         .time_ns = now,
                                                         .severity = "critical",
                                                         .kind = "run-deadline",
                                                         .message = why + "; the run failed"});
      if (!finding.ok()) return finding.status();
      return w.SetRunState(run_id, v1::RUN_STATE_FAILED, now);
    });
    if (!failed.ok()) {
      spdlog::error("run {}: cannot end it as failed: {}", run_id, std::string(failed.message()));
      return false;
    }
    if (ingestor_.current_run() == run_id) ingestor_.SetCurrentRun("");
    spdlog::error("run {}: {}; the run failed", run_id, why);
  } else {
    spdlog::warn("run {} ({}): {}; no longer waiting for them", run_id, RunStateName(run->state),
                 why);
  }
  // An agent still at it stops; one that reconnects gets its RunSpec and
  // this StopRun, and reports its end at once.
  v1::CoordinatorMessage stop;
  stop.mutable_stop()->set_run_id(run_id);
  stop.mutable_stop()->set_reason(
      absl::StrCat("the run's deadline ", TimeName(deadline_ns), " passed without its end"));
  if (absl::StatusOr<int> stored = store_.StopDispatchedRun(stop.stop()); !stored.ok()) {
    spdlog::error("run {}: cannot record StopRun: {}", run_id,
                  std::string(stored.status().message()));
  }
  {
    std::lock_guard lock(mutex_);
    // Queued only: each stream's own thread writes it (kFlushInterval), so
    // this thread never waits for an agent.
    QueueStopLocked(silent, stop);
    dispatched_.erase(run_id);
  }
  deadlines_changed_.notify_all();
  return true;
}

void CoordinatorService::WatchDeadlines() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    int64_t earliest = 0;
    for (const auto& [run_id, run] : dispatched_) {
      if (run.deadline_ns != 0 && (earliest == 0 || run.deadline_ns < earliest)) {
        earliest = run.deadline_ns;
      }
    }
    if (earliest == 0) {
      deadlines_changed_.wait(lock);
      continue;
    }
    if (const int64_t wait_ns = SaturatingAdd(earliest, -Now()); wait_ns > 0) {
      deadlines_changed_.wait_for(lock, std::min(std::chrono::nanoseconds(wait_ns),
                                                 std::chrono::nanoseconds(kMaxDeadlineWait)));
      continue;
    }
    lock.unlock();
    CheckDeadlines();
    lock.lock();
  }
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
