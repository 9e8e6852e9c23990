// CoordinatorService with the real AgentStream client over loopback gRPC:
// several agents, the coordinator shut down mid-stream and restarted on the
// same port and database (nothing lost, nothing stored twice), tokens, drop
// reports recorded as findings, the run registry and clock offsets.
#include "analyzer/coordinator_service.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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
  Coordinator(std::string db, std::string token) : db_(std::move(db)), token_(std::move(token)) {
    Start();
  }
  ~Coordinator() { Stop(); }

  void Start() {
    auto store = RunStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service_ = std::make_unique<CoordinatorService>(*store_, CoordinatorOptions{.token = token_});
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
  RunStore& store() { return *store_; }
  CoordinatorService& service() { return *service_; }

 private:
  std::string db_;
  std::string token_;
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

}  // namespace
}  // namespace tpslab::analyzer
