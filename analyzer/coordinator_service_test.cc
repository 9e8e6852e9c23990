// CoordinatorService with the real AgentStream client over loopback gRPC:
// several agents, the coordinator shut down mid-stream and restarted on the
// same port and database (nothing lost, nothing stored twice), tokens, drop
// reports recorded as findings, the run registry and clock offsets;
// distributed runs: dispatch, StopRun, replay to reconnecting agents, the
// run ending by itself when every agent reported its end, the deadline of a
// run an agent never reports (injected clock), all of it across a
// coordinator restart, and an agent stream that takes no data holding up
// nothing but the thread writing to it.
#include "analyzer/coordinator_service.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/agent/agent_stream.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::milliseconds;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(dir ? dir : "/tmp") / name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

// A coordinator process: store, service and gRPC server; Stop() and Start()
// again simulate a kill and restart on the same port and database file.
class Coordinator {
 public:
  Coordinator(std::string db, std::string token, CoordinatorOptions options = {})
      : db_(std::move(db)), options_(std::move(options)) {
    options_.token = std::move(token);
    Start();
  }
  ~Coordinator() { Stop(); }

  void Start() {
    auto store = RunStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service_ = std::make_unique<CoordinatorService>(*store_, options_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port_),
                             grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    port_ = port;
  }

  void Stop() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now() + milliseconds(100));
    server_->Wait();
    server_.reset();
    service_.reset();  // Stores what was queued.
    store_.reset();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& db() const { return db_; }
  RunStore& store() { return *store_; }
  CoordinatorService& service() { return *service_; }

 private:
  std::string db_;
  CoordinatorOptions options_;
  int port_ = 0;
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
};

agent::AgentStreamOptions AgentOptions(const std::string& address, const std::string& source,
                                       const std::string& token) {
  agent::AgentStreamOptions options;
  options.coordinator = address;
  options.token = token;
  options.kind = v1::AGENT_KIND_LOADGEN;
  options.source_id = source;
  options.reconnect_min = milliseconds(20);
  options.reconnect_max = milliseconds(200);
  options.clock_pings = 3;
  return options;
}

v1::AgentMessage LoadItem(int64_t end_s, uint32_t stage) {
  v1::AgentMessage m;
  *m.mutable_load()->mutable_start() = TimeUtil::SecondsToTimestamp(end_s - 1);
  *m.mutable_load()->mutable_end() = TimeUtil::SecondsToTimestamp(end_s);
  m.mutable_load()->set_stage(stage);
  v1::OperationStats* op = m.mutable_load()->add_transactions();
  op->set_name("upload");
  op->set_count(10);
  return m;
}

std::vector<uint64_t> Iota(uint64_t n) {
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

TEST(CoordinatorServiceTest, RestartMidStreamLosesNothingAndStoresNothingTwice) {
  const std::string db = TempPath("restart.db");
  Coordinator coordinator(db, "s3cret");
  ASSERT_TRUE(coordinator.service().StartRun({.run_id = "run-1"}).ok());
  constexpr int kAgents = 4;
  constexpr int kPerPhase = 150;
  std::vector<std::unique_ptr<agent::AgentStream>> agents;
  for (int a = 0; a < kAgents; ++a) {
    agents.push_back(std::make_unique<agent::AgentStream>(
        AgentOptions(coordinator.address(), "agent-" + std::to_string(a), "s3cret")));
  }
  for (int i = 0; i < kPerPhase; ++i) {
    for (auto& agent : agents) agent->Send(LoadItem(1000 + i, 0));
  }
  // Wait until ingestion is under way, then kill the coordinator.
  for (int tries = 0; tries < 1000 && *coordinator.store().CountSamples() < 100; ++tries) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  coordinator.Stop();
  for (int i = kPerPhase; i < 2 * kPerPhase; ++i) {
    for (auto& agent : agents) agent->Send(LoadItem(1000 + i, 1));  // Buffered meanwhile.
  }
  coordinator.Start();
  for (auto& agent : agents) {
    ASSERT_TRUE(agent->Flush(milliseconds(30000))) << agent->stats().last_error;
  }
  uint64_t connects = 0;
  for (int a = 0; a < kAgents; ++a) {
    const std::string source = "agent-" + std::to_string(a);
    EXPECT_EQ(*coordinator.store().StoredSequences(source), Iota(2 * kPerPhase)) << source;
    EXPECT_EQ(*coordinator.store().Acked(source), uint64_t{2 * kPerPhase});
    connects += agents[a]->stats().connects;
  }
  // At least one agent was connected before the kill and registered again.
  EXPECT_GT(connects, uint64_t{kAgents});
  EXPECT_EQ(*coordinator.store().CountSamples(), kAgents * 2 * kPerPhase);
  // The run survived the restart: every sample is attached to it.
  EXPECT_EQ(coordinator.service().current_run(), "run-1");
  EXPECT_EQ(coordinator.store().LoadIntervals("run-1")->size(), size_t{kAgents * 2 * kPerPhase});
}

TEST(CoordinatorServiceTest, RegisterAnswersTheStoredAckedSequence) {
  Coordinator coordinator(TempPath("acked.db"), "");
  {
    agent::AgentStream agent(AgentOptions(coordinator.address(), "m-1", ""));
    for (int i = 0; i < 25; ++i) agent.Send(LoadItem(10 + i, 0));
    ASSERT_TRUE(agent.Flush(milliseconds(10000))) << agent.stats().last_error;
  }
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateChannel(coordinator.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::RegisterRequest request;
  request.set_source_id("m-1");
  v1::RegisterResponse response;
  ASSERT_TRUE(stub->Register(&context, request, &response).ok());
  EXPECT_EQ(response.acked_sequence(), 25u);
}

TEST(CoordinatorServiceTest, RejectsWrongTokens) {
  Coordinator coordinator(TempPath("token.db"), "s3cret");
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateChannel(coordinator.address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;
    v1::RegisterRequest request;
    request.set_source_id("x");
    request.set_token("wrong");
    v1::RegisterResponse response;
    const grpc::Status status = stub->Register(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(status.error_message().find("missing or wrong token"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer wrong");
    auto stream = stub->Stream(&context);
    v1::AgentMessage m = LoadItem(1, 0);
    m.set_source_id("x");
    m.set_sequence(1);
    stream->Write(m);
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(status.error_message().find("'authorization: Bearer' metadata"), std::string::npos);
  }
  EXPECT_EQ(*coordinator.store().CountSamples(), 0);

  agent::AgentStream agent(AgentOptions(coordinator.address(), "bad", "wrong"));
  agent.Send(LoadItem(1, 0));
  EXPECT_FALSE(agent.Flush(milliseconds(300)));
  EXPECT_NE(agent.stats().last_error.find("missing or wrong token"), std::string::npos)
      << agent.stats().last_error;
}

TEST(CoordinatorServiceTest, DropReportsBecomeFindingsAndMoveThePrefix) {
  const std::string db = TempPath("drops.db");
  Coordinator coordinator(db, "");
  ASSERT_TRUE(coordinator.service().StartRun({.run_id = "run-d"}).ok());
  coordinator.Stop();
  agent::AgentStreamOptions options = AgentOptions(coordinator.address(), "small", "");
  options.max_buffered = 5;
  agent::AgentStream agent(options);
  for (int i = 0; i < 20; ++i) agent.Send(LoadItem(100 + i, 0));  // 15 dropped.
  coordinator.Start();
  ASSERT_TRUE(agent.Flush(milliseconds(10000))) << agent.stats().last_error;
  EXPECT_EQ(agent.stats().dropped, 15u);
  // Sequences 16..20 stored, 21 is the drop report itself.
  EXPECT_EQ(*coordinator.store().StoredSequences("small"),
            (std::vector<uint64_t>{16, 17, 18, 19, 20, 21}));
  EXPECT_EQ(*coordinator.store().Acked("small"), 21u);
  absl::StatusOr<std::vector<FindingRecord>> findings = coordinator.store().ListFindings("run-d");
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].kind, "samples-dropped");
  EXPECT_NE((*findings)[0].message.find("agent small dropped 15 samples (sequences 1..15"),
            std::string::npos)
      << (*findings)[0].message;
  std::vector<AgentHealth> health = coordinator.service().Health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].stats.dropped, 15u);
  EXPECT_EQ(health[0].stats.acked, 21u);
  EXPECT_TRUE(health[0].connected);
}

TEST(CoordinatorServiceTest, RunRegistryAndClockOffset) {
  Coordinator coordinator(TempPath("runs.db"), "");
  CoordinatorService& service = coordinator.service();
  EXPECT_EQ(service.EndRun(v1::RUN_STATE_COMPLETED),
            absl::FailedPreconditionError("no run is in progress"));
  ASSERT_TRUE(service.StartRun({.run_id = "r1", .name = "smoke"}).ok());
  agent::AgentStream agent(AgentOptions(coordinator.address(), "lg", ""));
  agent.Send(LoadItem(5, 0));
  ASSERT_TRUE(agent.Flush(milliseconds(10000))) << agent.stats().last_error;
  ASSERT_TRUE(service.EndRun(v1::RUN_STATE_COMPLETED).ok());
  EXPECT_EQ(service.current_run(), "");
  absl::StatusOr<RunRecord> run = coordinator.store().GetRun("r1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, v1::RUN_STATE_COMPLETED);
  EXPECT_GT(run->ended_ns, 0);
  EXPECT_EQ(coordinator.store().LoadIntervals("r1")->size(), 1u);

  // Same host: the offset the coordinator estimated is within the round trip
  // bounds, far below a second.
  std::optional<int64_t> offset = service.EstimatedClockOffset("lg");
  ASSERT_TRUE(offset.has_value());
  EXPECT_LT(std::abs(*offset), 1'000'000'000);
  absl::StatusOr<std::vector<AgentRecord>> agents = coordinator.store().ListAgents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].kind, v1::AGENT_KIND_LOADGEN);
  EXPECT_EQ((*agents)[0].clock_offset_ns, *offset);
}

// A loadgen agent as far as run control goes: an AgentStream whose control
// messages are collected.
class ControlledAgent {
 public:
  ControlledAgent(const std::string& address, const std::string& source,
                  v1::AgentKind kind = v1::AGENT_KIND_LOADGEN) {
    agent::AgentStreamOptions options = AgentOptions(address, source, "");
    options.kind = kind;
    options.on_control = [this](const v1::CoordinatorMessage& message) {
      std::lock_guard lock(mutex_);
      received_.push_back(message);
      changed_.notify_all();
    };
    stream_ = std::make_unique<agent::AgentStream>(std::move(options));
  }

  // Waits until `n` control messages arrived; returns them.
  std::vector<v1::CoordinatorMessage> WaitFor(size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return received_.size() >= n; });
    return received_;
  }
  agent::AgentStream& stream() { return *stream_; }

  // Reports the end of its part of `run_id` and waits until it is stored.
  bool End(const std::string& run_id, v1::RunState state, const std::string& reason = "") {
    v1::AgentMessage message;
    message.set_run_id(run_id);
    message.mutable_run_end()->set_state(state);
    message.mutable_run_end()->set_reason(reason);
    *message.mutable_run_end()->mutable_time() = TimeUtil::GetCurrentTime();
    stream_->Send(std::move(message));
    return stream_->Flush(milliseconds(10000));
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<v1::CoordinatorMessage> received_;
  std::unique_ptr<agent::AgentStream> stream_;
};

// Waits until `n` loadgen agents stream to `service`.
void WaitForStreams(CoordinatorService& service, size_t n) {
  for (int tries = 0; tries < 2000; ++tries) {
    if (service.StreamingAgents(v1::AGENT_KIND_LOADGEN).size() >= n) return;
    std::this_thread::sleep_for(milliseconds(5));
  }
  FAIL() << "fewer than " << n << " loadgen agents connected";
}

v1::Scenario ClosedScenario(int users) {
  v1::Scenario scenario;
  scenario.set_name("five-users");
  v1::Stage* stage = scenario.mutable_closed()->add_stages();
  stage->set_target(users);
  stage->mutable_hold()->set_seconds(3);
  return scenario;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(CoordinatorServiceTest, DispatchRunSplitsTheScenarioAcrossStreamingLoadAgents) {
  Coordinator coordinator(TempPath("dispatch.db"), "");
  CoordinatorService& service = coordinator.service();
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);  // a streams first.
  ControlledAgent b(coordinator.address(), "lg-b");
  ControlledAgent monitor(coordinator.address(), "mon", v1::AGENT_KIND_MONITOR);
  WaitForStreams(service, 2);
  EXPECT_EQ(service.StreamingAgents(v1::AGENT_KIND_LOADGEN),
            (std::vector<std::string>{"lg-a", "lg-b"}));

  const int64_t before = NowNs();
  absl::StatusOr<std::vector<std::string>> agents = service.DispatchRun(
      ClosedScenario(5), {.run_id = "dist-1", .start_delay = std::chrono::seconds(3)});
  const int64_t after = NowNs();
  ASSERT_TRUE(agents.ok()) << agents.status();
  EXPECT_EQ(*agents, (std::vector<std::string>{"lg-a", "lg-b"}));
  EXPECT_EQ(service.current_run(), "dist-1");

  const std::vector<v1::CoordinatorMessage> got_a = a.WaitFor(1);
  const std::vector<v1::CoordinatorMessage> got_b = b.WaitFor(1);
  ASSERT_EQ(got_a.size(), 1u);
  ASSERT_EQ(got_b.size(), 1u);
  const v1::RunSpec& spec_a = got_a[0].run();
  const v1::RunSpec& spec_b = got_b[0].run();
  EXPECT_EQ(spec_a.run_id(), "dist-1");
  EXPECT_EQ(spec_a.agent_index(), 0u);
  EXPECT_EQ(spec_b.agent_index(), 1u);
  EXPECT_EQ(spec_a.agent_count(), 2u);
  EXPECT_DOUBLE_EQ(spec_a.rate_share(), 0.5);
  EXPECT_EQ(spec_b.scenario().closed().stages(0).target(), 5);
  // One coordinated start for both, start_delay after the call.
  const int64_t start = TimeUtil::TimestampToNanoseconds(spec_a.start_time());
  EXPECT_EQ(start, TimeUtil::TimestampToNanoseconds(spec_b.start_time()));
  EXPECT_GE(start, before + 3'000'000'000);
  EXPECT_LE(start, after + 3'000'000'000);
  EXPECT_TRUE(monitor.WaitFor(0).empty());

  absl::StatusOr<RunRecord> run = coordinator.store().GetRun("dist-1");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(run->name, "five-users");
  EXPECT_EQ(run->started_ns, start);
  EXPECT_NE(run->scenario_json.find("five-users"), std::string::npos) << run->scenario_json;

  // The agents' intervals carry the run id.
  v1::AgentMessage interval = LoadItem(2000, 0);
  interval.set_run_id("dist-1");
  a.stream().Send(interval);
  b.stream().Send(interval);
  ASSERT_TRUE(a.stream().Flush(milliseconds(10000)));
  ASSERT_TRUE(b.stream().Flush(milliseconds(10000)));
  EXPECT_EQ(coordinator.store().LoadIntervals("dist-1")->size(), 2u);

  // StopRun reaches both and ends the run.
  ASSERT_TRUE(service.StopRun("dist-1", "operator").ok());
  for (ControlledAgent* agent : {&a, &b}) {
    const std::vector<v1::CoordinatorMessage> got = agent->WaitFor(2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].stop().run_id(), "dist-1");
    EXPECT_EQ(got[1].stop().reason(), "operator");
  }
  EXPECT_EQ(coordinator.store().GetRun("dist-1")->state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(service.current_run(), "");
}

TEST(CoordinatorServiceTest, DispatchRunToTheFirstAgentsAndItsErrors) {
  Coordinator coordinator(TempPath("dispatch-errors.db"), "");
  CoordinatorService& service = coordinator.service();
  EXPECT_EQ(service.DispatchRun(ClosedScenario(2)).status(),
            absl::FailedPreconditionError("dispatch: no loadgen agent is connected"));
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);
  ControlledAgent b(coordinator.address(), "lg-b");
  WaitForStreams(service, 2);
  EXPECT_EQ(service.DispatchRun(ClosedScenario(2), {.agents = 3}).status(),
            absl::FailedPreconditionError(
                "dispatch: 3 loadgen agents asked for, 2 connected (lg-a, lg-b)"));
  v1::Scenario empty;
  empty.set_name("nothing");
  EXPECT_EQ(service.DispatchRun(empty).status(),
            absl::InvalidArgumentError(
                "dispatch: scenario 'nothing' has no load stages (closed or open model)"));
  EXPECT_EQ(service.StopRun("nope", "x"),
            absl::NotFoundError("stop: run nope was never dispatched (no such run in this store)"));

  absl::StatusOr<std::vector<std::string>> agents =
      service.DispatchRun(ClosedScenario(2), {.agents = 1});
  ASSERT_TRUE(agents.ok()) << agents.status();
  EXPECT_EQ(*agents, std::vector<std::string>{"lg-a"});
  const std::string run_id = service.current_run();
  EXPECT_EQ(run_id.rfind("run-", 0), 0u) << run_id;  // Generated.
  const std::vector<v1::CoordinatorMessage> got = a.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].run().run_id(), run_id);
  EXPECT_EQ(got[0].run().agent_count(), 1u);
  EXPECT_EQ(service.DispatchRun(ClosedScenario(2)).status(),
            absl::FailedPreconditionError(
                absl::StrCat("dispatch: run ", run_id, " is in progress; end or stop it first")));
  ASSERT_TRUE(service.EndRun(v1::RUN_STATE_COMPLETED).ok());
  EXPECT_EQ(service.DispatchRun(ClosedScenario(2), {.run_id = run_id}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(b.WaitFor(0).empty());
}

TEST(CoordinatorServiceTest, AnAgentThatReconnectsGetsItsRunAgain) {
  Coordinator coordinator(TempPath("dispatch-replay.db"), "");
  CoordinatorService& service = coordinator.service();
  auto agent = std::make_unique<ControlledAgent>(coordinator.address(), "lg-r");
  WaitForStreams(service, 1);
  ASSERT_TRUE(service.DispatchRun(ClosedScenario(3), {.run_id = "replay-1"}).ok());
  ASSERT_EQ(agent->WaitFor(1).size(), 1u);
  ASSERT_TRUE(service.StopRun("replay-1", "enough").ok());
  ASSERT_EQ(agent->WaitFor(2).size(), 2u);

  // The same source connects anew (say its connection broke): it gets the
  // RunSpec and the StopRun again, in that order.
  agent.reset();
  ControlledAgent again(coordinator.address(), "lg-r");
  const std::vector<v1::CoordinatorMessage> got = again.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].run().run_id(), "replay-1");
  EXPECT_EQ(got[1].stop().run_id(), "replay-1");
}

TEST(CoordinatorServiceTest, ADispatchedRunEndsWhenEveryAgentReportsItsEnd) {
  Coordinator coordinator(TempPath("dispatch-end.db"), "");
  CoordinatorService& service = coordinator.service();
  RunStore& store = coordinator.store();
  auto a = std::make_unique<ControlledAgent>(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);
  ControlledAgent b(coordinator.address(), "lg-b");
  WaitForStreams(service, 2);

  // Both complete: the run completes when the second reports.
  ASSERT_TRUE(service.DispatchRun(ClosedScenario(2), {.run_id = "auto-1"}).ok());
  ASSERT_EQ(a->WaitFor(1).size(), 1u);
  ASSERT_EQ(b.WaitFor(1).size(), 1u);
  v1::AgentMessage interval = LoadItem(3000, 0);
  interval.set_run_id("auto-1");
  b.stream().Send(interval);
  ASSERT_TRUE(a->End("auto-1", v1::RUN_STATE_COMPLETED));
  EXPECT_EQ(store.GetRun("auto-1")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(service.current_run(), "auto-1");
  ASSERT_TRUE(b.End("auto-1", v1::RUN_STATE_COMPLETED));
  absl::StatusOr<RunRecord> run = store.GetRun("auto-1");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_COMPLETED);
  EXPECT_GT(run->ended_ns, 0);
  EXPECT_EQ(service.current_run(), "");
  EXPECT_EQ(store.LoadIntervals("auto-1")->size(), 1u);  // Stored before the end.
  EXPECT_EQ(service.EndRun(v1::RUN_STATE_COMPLETED),
            absl::FailedPreconditionError("no run is in progress"));
  EXPECT_EQ(service.StopRun("auto-1", "late"),
            absl::FailedPreconditionError(
                "stop: run auto-1 is over; none of its agents is still running it"));

  // One part fails, the other completes: the run failed.
  ASSERT_TRUE(service.DispatchRun(ClosedScenario(2), {.run_id = "auto-2"}).ok());
  ASSERT_EQ(a->WaitFor(2).size(), 2u);
  ASSERT_EQ(b.WaitFor(2).size(), 2u);
  ASSERT_TRUE(a->End("auto-2", v1::RUN_STATE_FAILED, "preflight: connection refused"));
  ASSERT_TRUE(b.End("auto-2", v1::RUN_STATE_COMPLETED));
  EXPECT_EQ(store.GetRun("auto-2")->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ((*store.DispatchedParts("auto-2"))[0].end_reason, "preflight: connection refused");
  EXPECT_EQ(service.current_run(), "");

  // Stopped: the run is ABORTED at once and stays so when the agents report.
  ASSERT_TRUE(service.DispatchRun(ClosedScenario(2), {.run_id = "auto-3"}).ok());
  ASSERT_EQ(a->WaitFor(3).size(), 3u);
  ASSERT_TRUE(service.StopRun("auto-3", "operator").ok());
  EXPECT_EQ(store.GetRun("auto-3")->state, v1::RUN_STATE_ABORTED);
  ASSERT_EQ(a->WaitFor(4).size(), 4u);
  ASSERT_TRUE(a->End("auto-3", v1::RUN_STATE_ABORTED, "stopped by the coordinator (operator)"));
  ASSERT_TRUE(b.End("auto-3", v1::RUN_STATE_ABORTED, "stopped by the coordinator (operator)"));
  EXPECT_EQ(store.GetRun("auto-3")->state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(service.StopRun("auto-3", "again").code(), absl::StatusCode::kFailedPrecondition);

  // An agent that reported its end is not sent that run again when it
  // reconnects: the first control message the new stream gets is the next
  // run's RunSpec (a replay would come before it).
  a.reset();
  ControlledAgent again(coordinator.address(), "lg-a");
  WaitForStreams(service, 2);
  ASSERT_TRUE(service.DispatchRun(ClosedScenario(2), {.run_id = "auto-4"}).ok());
  const std::vector<v1::CoordinatorMessage> got = again.WaitFor(1);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].run().run_id(), "auto-4");
}

TEST(CoordinatorServiceTest, ADispatchedRunSurvivesACoordinatorRestart) {
  Coordinator coordinator(TempPath("dispatch-restart.db"), "");
  auto a = std::make_unique<ControlledAgent>(coordinator.address(), "lg-a");
  WaitForStreams(coordinator.service(), 1);
  ControlledAgent b(coordinator.address(), "lg-b");  // Stays, and reconnects.
  WaitForStreams(coordinator.service(), 2);
  ASSERT_TRUE(coordinator.service()
                  .DispatchRun(ClosedScenario(4),
                               {.run_id = "durable-1", .start_delay = std::chrono::seconds(60)})
                  .ok());
  const std::vector<v1::CoordinatorMessage> first = a->WaitFor(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(b.WaitFor(1).size(), 1u);

  // Restart: a new service on the same store, and a new agent process with
  // a's source id.
  coordinator.Stop();
  a.reset();
  coordinator.Start();
  CoordinatorService& service = coordinator.service();
  EXPECT_EQ(service.current_run(), "durable-1");
  ASSERT_TRUE(service.StopRun("durable-1", "after the restart").ok());
  EXPECT_EQ(coordinator.store().GetRun("durable-1")->state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(service.current_run(), "");

  ControlledAgent reconnected(coordinator.address(), "lg-a");
  std::vector<v1::CoordinatorMessage> got = reconnected.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].run().SerializeAsString(), first[0].run().SerializeAsString());
  EXPECT_EQ(got[1].stop().run_id(), "durable-1");
  EXPECT_EQ(got[1].stop().reason(), "after the restart");
  // b's stream came back by itself: its RunSpec is not delivered twice, the
  // StopRun is new.
  got = b.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].stop().reason(), "after the restart");

  // Stopped but not yet ended by its agents: a second restart still stops
  // an agent that reconnects.
  coordinator.Stop();
  coordinator.Start();
  ControlledAgent late(coordinator.address(), "lg-a");
  got = late.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].run().run_id(), "durable-1");
  EXPECT_EQ(got[1].stop().run_id(), "durable-1");
}

TEST(CoordinatorServiceTest, SelfEndingWorksAcrossARestart) {
  Coordinator coordinator(TempPath("dispatch-restart-end.db"), "");
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(coordinator.service(), 1);
  ControlledAgent b(coordinator.address(), "lg-b");
  WaitForStreams(coordinator.service(), 2);
  ASSERT_TRUE(coordinator.service().DispatchRun(ClosedScenario(2), {.run_id = "r-1"}).ok());
  ASSERT_EQ(a.WaitFor(1).size(), 1u);
  ASSERT_EQ(b.WaitFor(1).size(), 1u);
  ASSERT_TRUE(a.End("r-1", v1::RUN_STATE_COMPLETED));
  coordinator.Stop();
  coordinator.Start();
  EXPECT_EQ(coordinator.service().current_run(), "r-1");
  ASSERT_TRUE(b.End("r-1", v1::RUN_STATE_COMPLETED));  // Once b's stream is back.
  EXPECT_EQ(coordinator.store().GetRun("r-1")->state, v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(coordinator.service().current_run(), "");

  // The last RunEnd stored while no coordinator was there to end the run
  // (here written to the store directly): the next one ends it when built.
  WaitForStreams(coordinator.service(), 2);  // a is back too.
  ASSERT_TRUE(
      coordinator.service().DispatchRun(ClosedScenario(2), {.run_id = "r-2", .agents = 2}).ok());
  ASSERT_EQ(a.WaitFor(2).size(), 2u);
  ASSERT_TRUE(a.End("r-2", v1::RUN_STATE_COMPLETED));
  coordinator.Stop();
  {
    absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(coordinator.db());
    ASSERT_TRUE(store.ok()) << store.status();
    v1::AgentMessage end;
    end.set_source_id("lg-b");
    end.set_sequence(1000);
    end.set_run_id("r-2");
    end.mutable_run_end()->set_state(v1::RUN_STATE_ABORTED);
    ASSERT_TRUE((*store)
                    ->InTransaction([&](RunStore::Writer& w) {
                      return w.InsertSample(end, "", NowNs()).status();
                    })
                    .ok());
  }
  coordinator.Start();
  EXPECT_EQ(coordinator.store().GetRun("r-2")->state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(coordinator.service().current_run(), "");
}

// The coordinator's clock, moved by hand (CoordinatorOptions::now_ns).
class ManualClock {
 public:
  explicit ManualClock(int64_t ns) : ns_(ns) {}
  void Set(int64_t ns) { ns_.store(ns); }
  std::function<int64_t()> Function() {
    return [this] { return ns_.load(); };
  }

 private:
  std::atomic<int64_t> ns_;
};

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMillisecond = 1'000'000;
// 2026-01-01T00:00:00Z.
constexpr int64_t kT0 = 1'767'225'600 * kSecond;

// Closed model: ramp 2 s to 4 users, hold 3 s, ramp 1.5 s to 2 users: 6.5 s.
v1::Scenario RampScenario() {
  v1::Scenario scenario;
  scenario.set_name("ramps");
  v1::Stage* up = scenario.mutable_closed()->add_stages();
  up->set_target(4);
  up->mutable_duration()->set_seconds(2);
  up->mutable_hold()->set_seconds(3);
  v1::Stage* down = scenario.mutable_closed()->add_stages();
  down->set_target(2);
  down->mutable_duration()->set_seconds(1);
  down->mutable_duration()->set_nanos(500'000'000);
  return scenario;
}

TEST(CoordinatorServiceTest, ARunWhoseAgentNeverReportsFailsAtItsDeadline) {
  ManualClock clock(kT0);
  Coordinator coordinator(TempPath("deadline.db"), "",
                          {.now_ns = clock.Function(), .run_end_grace = std::chrono::seconds(30)});
  CoordinatorService& service = coordinator.service();
  RunStore& store = coordinator.store();
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);
  ControlledAgent b(coordinator.address(), "lg-b");
  WaitForStreams(service, 2);
  ASSERT_TRUE(
      service
          .DispatchRun(RampScenario(), {.run_id = "late-1", .start_delay = std::chrono::seconds(2)})
          .ok());
  ASSERT_EQ(b.WaitFor(1).size(), 1u);
  ASSERT_TRUE(a.End("late-1", v1::RUN_STATE_COMPLETED));  // b never reports.

  // Start + stages + grace.
  const int64_t deadline = kT0 + 2 * kSecond + 6'500 * kMillisecond + 30 * kSecond;
  clock.Set(deadline - kMillisecond);
  service.CheckDeadlines();
  EXPECT_EQ(store.GetRun("late-1")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(service.current_run(), "late-1");
  EXPECT_TRUE(store.ListFindings("late-1")->empty());

  clock.Set(deadline);
  service.CheckDeadlines();
  absl::StatusOr<RunRecord> run = store.GetRun("late-1");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ(run->ended_ns, deadline);
  EXPECT_EQ(service.current_run(), "");
  absl::StatusOr<std::vector<FindingRecord>> findings = store.ListFindings("late-1");
  ASSERT_TRUE(findings.ok()) << findings.status();
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].kind, "run-deadline");
  EXPECT_EQ((*findings)[0].severity, "critical");
  EXPECT_EQ((*findings)[0].time_ns, deadline);
  EXPECT_EQ((*findings)[0].message,
            "agent lg-b never reported the end of its part by the deadline "
            "2026-01-01T00:00:38.500Z (expected end 2026-01-01T00:00:08.500Z + grace 30s); "
            "the run failed");

  // The silent agent is stopped (its stream's thread writes the StopRun);
  // the one that reported is not.
  const std::vector<v1::CoordinatorMessage> got = b.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].stop().run_id(), "late-1");
  EXPECT_NE(got[1].stop().reason().find("deadline"), std::string::npos) << got[1].stop().reason();
  absl::StatusOr<std::vector<DispatchedPart>> parts = store.DispatchedParts("late-1");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_FALSE((*parts)[0].stop.has_value());
  EXPECT_TRUE((*parts)[1].stop.has_value());

  // The coordinator no longer waits for the run; a late report is stored
  // and changes nothing.
  EXPECT_EQ(service.StopRun("late-1", "operator"),
            absl::FailedPreconditionError(
                "stop: run late-1 is over; none of its agents is still running it"));
  ASSERT_TRUE(b.End("late-1", v1::RUN_STATE_ABORTED, "stopped by the coordinator"));
  EXPECT_EQ(store.GetRun("late-1")->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ((*store.DispatchedParts("late-1"))[1].end_state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(store.ListFindings("late-1")->size(), 1u);
}

TEST(CoordinatorServiceTest, ARunThatEndsInTimeIsNotTouchedByItsDeadline) {
  ManualClock clock(kT0);
  Coordinator coordinator(TempPath("deadline-in-time.db"), "", {.now_ns = clock.Function()});
  CoordinatorService& service = coordinator.service();
  RunStore& store = coordinator.store();
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);
  ASSERT_TRUE(service.DispatchRun(RampScenario(), {.run_id = "on-time"}).ok());
  ASSERT_EQ(a.WaitFor(1).size(), 1u);
  clock.Set(kT0 + 9 * kSecond);
  ASSERT_TRUE(a.End("on-time", v1::RUN_STATE_COMPLETED));
  EXPECT_EQ(store.GetRun("on-time")->state, v1::RUN_STATE_COMPLETED);

  clock.Set(kT0 + 3600 * kSecond);  // Long past start + stages + the default 60 s.
  service.CheckDeadlines();
  absl::StatusOr<RunRecord> run = store.GetRun("on-time");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(run->ended_ns, kT0 + 9 * kSecond);
  EXPECT_TRUE(store.ListFindings("on-time")->empty());
  EXPECT_FALSE((*store.DispatchedParts("on-time"))[0].stop.has_value());
}

TEST(CoordinatorServiceTest, GraceZeroMeansNoDeadline) {
  ManualClock clock(kT0);
  Coordinator coordinator(TempPath("deadline-none.db"), "",
                          {.now_ns = clock.Function(), .run_end_grace = std::chrono::seconds(0)});
  CoordinatorService& service = coordinator.service();
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(service, 1);
  ASSERT_TRUE(service.DispatchRun(RampScenario(), {.run_id = "patient"}).ok());
  ASSERT_EQ(a.WaitFor(1).size(), 1u);

  clock.Set(kT0 + 365 * 24 * 3600 * kSecond);
  service.CheckDeadlines();
  EXPECT_EQ(coordinator.store().GetRun("patient")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(service.current_run(), "patient");
  EXPECT_TRUE(coordinator.store().ListFindings("patient")->empty());
  // Still dispatched: it can be stopped.
  EXPECT_TRUE(service.StopRun("patient", "operator").ok());
}

TEST(CoordinatorServiceTest, AResumedRunKeepsItsDeadline) {
  ManualClock clock(kT0);
  const CoordinatorOptions options = {.now_ns = clock.Function(),
                                      .run_end_grace = std::chrono::seconds(10)};
  Coordinator coordinator(TempPath("deadline-restart.db"), "", options);
  ControlledAgent a(coordinator.address(), "lg-a");
  WaitForStreams(coordinator.service(), 1);
  ControlledAgent b(coordinator.address(), "lg-b");
  WaitForStreams(coordinator.service(), 2);
  // Open model: ramp 1 s to 10/s and hold 2 s, then hold 4 s: 7 s.
  v1::Scenario scenario;
  scenario.set_name("open");
  v1::Stage* ramp = scenario.mutable_open()->add_stages();
  ramp->set_target(10);
  ramp->mutable_duration()->set_seconds(1);
  ramp->mutable_hold()->set_seconds(2);
  v1::Stage* hold = scenario.mutable_open()->add_stages();
  hold->set_target(10);
  hold->mutable_hold()->set_seconds(4);
  ASSERT_TRUE(
      coordinator.service()
          .DispatchRun(scenario, {.run_id = "resumed", .start_delay = std::chrono::seconds(1)})
          .ok());
  ASSERT_EQ(a.WaitFor(1).size(), 1u);
  ASSERT_TRUE(a.End("resumed", v1::RUN_STATE_COMPLETED));
  const int64_t deadline = kT0 + 1 * kSecond + 7 * kSecond + 10 * kSecond;

  coordinator.Stop();
  clock.Set(deadline - kMillisecond);
  coordinator.Start();
  coordinator.service().CheckDeadlines();
  EXPECT_EQ(coordinator.store().GetRun("resumed")->state, v1::RUN_STATE_RUNNING);
  EXPECT_EQ(coordinator.service().current_run(), "resumed");

  // Past the deadline while no coordinator ran: the deadline thread ends
  // the run as soon as the next one starts.
  coordinator.Stop();
  clock.Set(deadline);
  coordinator.Start();
  for (int tries = 0; tries < 2000; ++tries) {
    if (coordinator.store().GetRun("resumed")->state == v1::RUN_STATE_FAILED &&
        coordinator.service().current_run().empty()) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  absl::StatusOr<RunRecord> run = coordinator.store().GetRun("resumed");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ(run->ended_ns, deadline);
  EXPECT_EQ(coordinator.service().current_run(), "");
  absl::StatusOr<std::vector<FindingRecord>> findings = coordinator.store().ListFindings("resumed");
  ASSERT_TRUE(findings.ok()) << findings.status();
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].kind, "run-deadline");
  EXPECT_NE((*findings)[0].message.find("agent lg-b never reported"), std::string::npos)
      << (*findings)[0].message;

  // Stopped but never ended, lg-b's part is resumed by the next
  // coordinator; its deadline has passed, and nothing more is recorded.
  coordinator.Stop();
  coordinator.Start();
  coordinator.service().CheckDeadlines();
  EXPECT_EQ(coordinator.store().GetRun("resumed")->state, v1::RUN_STATE_FAILED);
  EXPECT_EQ(coordinator.store().ListFindings("resumed")->size(), 1u);
}

// A loadgen agent whose stream never reads: once the HTTP/2 window (64 KiB:
// no BDP probing) is full, a write to it blocks until it reads or is
// cancelled.
class StuckAgent {
 public:
  StuckAgent(const std::string& address, const std::string& source) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext register_context;
    v1::RegisterRequest request;
    request.set_source_id(source);
    request.set_kind(v1::AGENT_KIND_LOADGEN);
    v1::RegisterResponse response;
    registered_ = stub_->Register(&register_context, request, &response);
    context_.AddMetadata("tpslab-source-id", source);
    stream_ = stub_->Stream(&context_);
  }
  ~StuckAgent() {
    context_.TryCancel();
    v1::CoordinatorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    stream_->Finish().IgnoreError();
  }

  const grpc::Status& registered() const { return registered_; }
  bool Read(v1::CoordinatorMessage* message) { return stream_->Read(message); }

 private:
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  grpc::Status registered_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::CoordinatorMessage>> stream_;
};

TEST(CoordinatorServiceTest, AStuckAgentStreamHoldsUpNeitherStorageNorRunControl) {
  Coordinator coordinator(TempPath("stuck.db"), "");
  CoordinatorService& service = coordinator.service();
  RunStore& store = coordinator.store();
  // A RunSpec far beyond the stuck agent's window (and within b's 4 MiB
  // message limit): writing it to lg-stuck blocks the dispatching thread.
  v1::Scenario big = ClosedScenario(2);
  big.mutable_data()->add_lines(std::string(size_t{2} << 20, 'x'));
  std::atomic<bool> dispatched{false};
  std::thread dispatch;
  {
    StuckAgent stuck(coordinator.address(), "lg-stuck");
    ASSERT_TRUE(stuck.registered().ok()) << stuck.registered().error_message();
    WaitForStreams(service, 1);
    ControlledAgent b(coordinator.address(), "lg-b");
    WaitForStreams(service, 2);

    dispatch = std::thread([&] {
      absl::StatusOr<std::vector<std::string>> agents =
          service.DispatchRun(big, {.run_id = "stuck-1"});
      EXPECT_TRUE(agents.ok()) << agents.status();
      dispatched = true;
    });
    for (int tries = 0; tries < 2000 && service.current_run() != "stuck-1"; ++tries) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_EQ(service.current_run(), "stuck-1");

    // b's end is stored and acked (OnRunEnd ran on the ingest writer
    // thread) while the write to lg-stuck is still blocked.
    ASSERT_TRUE(b.End("stuck-1", v1::RUN_STATE_COMPLETED));
    EXPECT_TRUE((*store.DispatchedParts("stuck-1"))[1].ended());
    EXPECT_EQ(store.GetRun("stuck-1")->state, v1::RUN_STATE_RUNNING);  // lg-stuck is running.
    // b got its RunSpec all the same (from its own stream's thread).
    const std::vector<v1::CoordinatorMessage> got = b.WaitFor(1);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].run().run_id(), "stuck-1");
    // Run control goes on.
    ASSERT_TRUE(service.StopRun("stuck-1", "operator").ok());
    EXPECT_EQ(store.GetRun("stuck-1")->state, v1::RUN_STATE_ABORTED);
    EXPECT_FALSE(dispatched);

    // lg-stuck reads at last: its RunSpec, then the StopRun queued behind it.
    v1::CoordinatorMessage message;
    ASSERT_TRUE(stuck.Read(&message));
    EXPECT_EQ(message.run().run_id(), "stuck-1");
    EXPECT_EQ(message.run().scenario().data().lines(0).size(), size_t{2} << 20);
    ASSERT_TRUE(stuck.Read(&message));
    EXPECT_EQ(message.stop().run_id(), "stuck-1");
    EXPECT_EQ(message.stop().reason(), "operator");
  }  // On failure above, lg-stuck's stream is cancelled here, which ends the write.
  dispatch.join();
  EXPECT_TRUE(dispatched);
}

}  // namespace
}  // namespace tpslab::analyzer
