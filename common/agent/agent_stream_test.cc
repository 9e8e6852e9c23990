// AgentStream against a real gRPC Coordinator server on loopback: delivery in
// order, resend across a coordinator restart, drops counted and reported,
// token checks, clock offset, control messages.
#include "common/agent/agent_stream.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/agent/sequence_tracker.h"

namespace tpslab::agent {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::milliseconds;

// What a coordinator keeps across restarts (in the analyzer: the database).
struct Store {
  std::mutex mutex;
  std::map<std::string, SequenceTracker> trackers;
  std::vector<v1::AgentMessage> stored;  // In arrival order, duplicates skipped.
  uint64_t lost = 0;
};

// A minimal coordinator: token check, idempotent ingestion, an ack per item.
class TestCoordinator final : public v1::Coordinator::Service {
 public:
  TestCoordinator(Store& store, std::string token, std::chrono::nanoseconds clock_skew)
      : store_(store), token_(std::move(token)), skew_(clock_skew) {}

  // Set before a client connects: sent down every new stream.
  std::optional<v1::CoordinatorMessage> greeting;
  std::optional<v1::CoordinatorMessage> second_greeting;
  // The "tpslab-source-id" metadata of the latest stream.
  std::string stream_source() {
    std::lock_guard lock(store_.mutex);
    return stream_source_;
  }

  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override {
    if (request->token() != token_) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad token");
    }
    std::lock_guard lock(store_.mutex);
    response->set_acked_sequence(store_.trackers[request->source_id()].acked());
    *response->mutable_server_time() = Now();
    return grpc::Status::OK;
  }

  grpc::Status Ping(grpc::ServerContext*, const v1::PingRequest* request,
                    v1::PingResponse* response) override {
    *response->mutable_client_send_time() = request->client_send_time();
    *response->mutable_server_receive_time() = Now();
    *response->mutable_server_send_time() = Now();
    return grpc::Status::OK;
  }

  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::AgentMessage>* stream) override {
    if (!Authorized(*context)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad token");
    }
    {
      auto it = context->client_metadata().find("tpslab-source-id");
      std::lock_guard lock(store_.mutex);
      stream_source_ = it == context->client_metadata().end()
                           ? ""
                           : std::string(it->second.data(), it->second.size());
    }
    if (greeting) stream->Write(*greeting);
    if (second_greeting) stream->Write(*second_greeting);
    v1::AgentMessage message;
    while (stream->Read(&message)) {
      v1::CoordinatorMessage ack;
      {
        std::lock_guard lock(store_.mutex);
        SequenceTracker& tracker = store_.trackers[message.source_id()];
        if (message.has_drops()) {
          store_.lost += tracker.MarkDropped(message.drops().first_dropped_sequence(),
                                             message.drops().last_dropped_sequence());
        }
        if (tracker.Accept(message.sequence())) store_.stored.push_back(message);
        ack.mutable_ack()->set_acked_sequence(tracker.acked());
      }
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }

 private:
  bool Authorized(const grpc::ServerContext& context) const {
    if (token_.empty()) return true;
    auto it = context.client_metadata().find("authorization");
    return it != context.client_metadata().end() &&
           std::string(it->second.data(), it->second.size()) == "Bearer " + token_;
  }

  google::protobuf::Timestamp Now() const {
    const auto now = std::chrono::system_clock::now().time_since_epoch() + skew_;
    return TimeUtil::NanosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  }

  Store& store_;
  std::string token_;
  std::chrono::nanoseconds skew_;
  std::string stream_source_;  // Guarded by store_.mutex.
};

// Runs a TestCoordinator; Restart() brings it back on the same port.
class Server {
 public:
  explicit Server(Store& store, std::string token = "",
                  std::chrono::nanoseconds skew = std::chrono::nanoseconds(0))
      : service_(store, std::move(token), skew) {
    Start("127.0.0.1:0");
  }
  ~Server() { Shutdown(); }

  void Shutdown() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
      server_->Wait();
      server_.reset();
    }
  }
  void Restart() { Start("127.0.0.1:" + std::to_string(port_)); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  TestCoordinator& service() { return service_; }

 private:
  void Start(const std::string& address) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    port_ = port;
  }

  TestCoordinator service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

v1::AgentMessage LoadItem(uint32_t stage) {
  v1::AgentMessage message;
  message.mutable_load()->set_stage(stage);
  return message;
}

AgentStreamOptions Options(const std::string& address) {
  AgentStreamOptions options;
  options.coordinator = address;
  options.kind = v1::AGENT_KIND_LOADGEN;
  options.source_id = "test-agent";
  options.reconnect_min = milliseconds(20);
  options.reconnect_max = milliseconds(200);
  options.clock_pings = 3;
  return options;
}

// The loads stored for "test-agent", by stage, in arrival order.
std::vector<uint32_t> StoredStages(Store& store) {
  std::lock_guard lock(store.mutex);
  std::vector<uint32_t> stages;
  for (const auto& m : store.stored) {
    if (m.has_load()) stages.push_back(m.load().stage());
  }
  return stages;
}

std::vector<uint32_t> Range(uint32_t n) {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

TEST(AgentStreamTest, DeliversEverythingInOrder) {
  Store store;
  Server server(store);
  AgentStream stream(Options(server.address()));
  for (uint32_t i = 0; i < 200; ++i) EXPECT_EQ(stream.Send(LoadItem(i)), i + 1);
  ASSERT_TRUE(stream.Flush(milliseconds(10000))) << stream.stats().last_error;
  EXPECT_EQ(StoredStages(store), Range(200));
  const AgentStreamStats stats = stream.stats();
  EXPECT_EQ(stats.acked_sequence, 200u);
  EXPECT_EQ(stats.buffered, 0u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_TRUE(stats.connected);
}

TEST(AgentStreamTest, CoordinatorRestartLosesNothingAndStoresNothingTwice) {
  Store store;
  Server server(store);
  AgentStream stream(Options(server.address()));
  for (uint32_t i = 0; i < 100; ++i) stream.Send(LoadItem(i));
  ASSERT_TRUE(stream.Flush(milliseconds(10000))) << stream.stats().last_error;

  server.Shutdown();
  for (uint32_t i = 100; i < 150; ++i) stream.Send(LoadItem(i));  // While it is away.
  EXPECT_FALSE(stream.Flush(milliseconds(100)));
  server.Restart();
  for (uint32_t i = 150; i < 200; ++i) stream.Send(LoadItem(i));
  ASSERT_TRUE(stream.Flush(milliseconds(20000))) << stream.stats().last_error;

  EXPECT_EQ(StoredStages(store), Range(200));
  EXPECT_GE(stream.stats().connects, 2u);
  EXPECT_EQ(stream.stats().dropped, 0u);
}

TEST(AgentStreamTest, FullBufferDropsTheOldestAndReportsIt) {
  Store store;
  Server server(store);
  server.Shutdown();
  AgentStreamOptions options = Options(server.address());
  options.max_buffered = 10;
  AgentStream stream(options);
  for (uint32_t i = 0; i < 25; ++i) stream.Send(LoadItem(i));
  EXPECT_EQ(stream.stats().dropped, 15u);
  server.Restart();
  ASSERT_TRUE(stream.Flush(milliseconds(20000))) << stream.stats().last_error;

  std::vector<uint32_t> newest;
  for (uint32_t i = 15; i < 25; ++i) newest.push_back(i);
  EXPECT_EQ(StoredStages(store), newest);
  std::lock_guard lock(store.mutex);
  EXPECT_EQ(store.lost, 15u);
  ASSERT_FALSE(store.stored.empty());
  EXPECT_TRUE(store.stored.back().has_drops());
  EXPECT_EQ(store.stored.back().drops().dropped_total(), 15u);
  EXPECT_EQ(store.stored.back().drops().first_dropped_sequence(), 1u);
  EXPECT_EQ(store.stored.back().drops().last_dropped_sequence(), 15u);
  EXPECT_EQ(store.trackers["test-agent"].acked(), 26u);  // 25 items and the report.
}

TEST(AgentStreamTest, WrongTokenIsRefusedWithAClearError) {
  Store store;
  Server server(store, "s3cret");
  AgentStreamOptions options = Options(server.address());
  options.token = "guess";
  AgentStream stream(options);
  stream.Send(LoadItem(0));
  EXPECT_FALSE(stream.Flush(milliseconds(300)));
  const std::string error = stream.stats().last_error;
  EXPECT_NE(error.find("bad token"), std::string::npos) << error;
  EXPECT_TRUE(StoredStages(store).empty());

  options.token = "s3cret";
  AgentStream good(options);
  good.Send(LoadItem(7));
  ASSERT_TRUE(good.Flush(milliseconds(10000))) << good.stats().last_error;
  EXPECT_EQ(StoredStages(store), std::vector<uint32_t>{7});
}

TEST(AgentStreamTest, EstimatesTheCoordinatorsClockOffset) {
  Store store;
  const auto skew = std::chrono::seconds(5);
  Server server(store, "", skew);
  AgentStream stream(Options(server.address()));
  stream.Send(LoadItem(0));
  ASSERT_TRUE(stream.Flush(milliseconds(10000))) << stream.stats().last_error;
  const AgentStreamStats stats = stream.stats();
  ASSERT_TRUE(stats.clock_offset.has_value());
  // Loopback round trips are well under 50 ms, so the estimate is that close.
  EXPECT_NEAR(std::chrono::duration<double>(*stats.clock_offset).count(), 5.0, 0.05);
  ASSERT_TRUE(stats.round_trip.has_value());
  EXPECT_GE(stats.round_trip->count(), 0);
}

TEST(AgentStreamTest, ControlMessagesReachTheCallback) {
  Store store;
  Server server(store);
  v1::CoordinatorMessage run;
  run.mutable_run()->set_run_id("run-42");
  server.service().greeting = run;

  std::mutex mutex;
  std::condition_variable cv;
  std::string received;
  AgentStreamOptions options = Options(server.address());
  options.on_control = [&](const v1::CoordinatorMessage& message) {
    std::lock_guard lock(mutex);
    received = message.run().run_id();
    cv.notify_all();
  };
  AgentStream stream(options);
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, milliseconds(10000), [&] { return !received.empty(); }));
  EXPECT_EQ(received, "run-42");
}

TEST(AgentStreamTest, RunSpecRepeatedAfterReconnectsIsDeliveredOnce) {
  Store store;
  Server server(store);
  // The coordinator repeats the run in progress, and its stop, down every
  // new stream (as CoordinatorService does after a reconnect).
  v1::CoordinatorMessage run;
  run.mutable_run()->set_run_id("run-7");
  run.mutable_run()->set_agent_index(1);
  run.mutable_run()->set_agent_count(2);
  run.mutable_run()->mutable_scenario()->set_name("smoke");
  server.service().greeting = run;

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<v1::CoordinatorMessage> received;
  AgentStreamOptions options = Options(server.address());
  options.on_control = [&](const v1::CoordinatorMessage& message) {
    std::lock_guard lock(mutex);
    received.push_back(message);
    cv.notify_all();
  };
  AgentStream stream(options);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, milliseconds(10000), [&] { return !received.empty(); }));
  }
  EXPECT_EQ(server.service().stream_source(), "test-agent");

  v1::CoordinatorMessage stop;
  stop.mutable_stop()->set_run_id("run-7");
  stop.mutable_stop()->set_reason("operator");
  server.service().second_greeting = stop;
  for (int restart = 0; restart < 2; ++restart) {
    const uint64_t connects = stream.stats().connects;
    server.Shutdown();
    server.Restart();
    stream.Send(LoadItem(restart));  // Proves the new stream is up once acked.
    ASSERT_TRUE(stream.Flush(milliseconds(20000))) << stream.stats().last_error;
    EXPECT_GT(stream.stats().connects, connects);
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, milliseconds(10000), [&] { return received.size() >= 2; }));
  ASSERT_EQ(received.size(), 2u);
  ASSERT_TRUE(received[0].has_run());
  EXPECT_EQ(received[0].run().run_id(), "run-7");
  EXPECT_EQ(received[0].run().agent_index(), 1u);
  EXPECT_EQ(received[0].run().scenario().name(), "smoke");
  ASSERT_TRUE(received[1].has_stop());
  EXPECT_EQ(received[1].stop().reason(), "operator");
  const AgentStreamStats stats = stream.stats();
  EXPECT_EQ(stats.controls, 2u);
  EXPECT_GE(stats.repeated_controls, 2u);  // run-7 twice, the stop at least once.
}

TEST(AgentStreamTest, StopReturnsPromptlyWhileTheCoordinatorIsAway) {
  Store store;
  Server server(store);
  server.Shutdown();
  AgentStream stream(Options(server.address()));
  stream.Send(LoadItem(0));
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  stream.Stop();
  stream.Stop();  // Idempotent.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(stream.stats().connected);
}

}  // namespace
}  // namespace tpslab::agent
