// Agent in process against a fake coordinator (gRPC on loopback) and an
// in-test HTTP server: it runs its share of a RunSpec and streams the
// intervals with the run id; it skips a run whose load is over, drops one
// stopped before its start, and stops a running one on StopRun; it ends
// every run it got with a RunEnd saying how its part ended.
#include "loadgen/agent.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "loadgen/scenario.h"
#include "loadgen/testing/http_test_server.h"

namespace tpslab::loadgen {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::milliseconds;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A coordinator that acknowledges everything, keeps the load intervals and
// run ends, and sends the control messages given to Control() down the open
// stream.
class FakeCoordinator final : public v1::Coordinator::Service {
 public:
  FakeCoordinator() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~FakeCoordinator() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      changed_.notify_all();
    }
    server_->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
  }

  grpc::Status Register(grpc::ServerContext*, const v1::RegisterRequest*,
                        v1::RegisterResponse* response) override {
    *response->mutable_server_time() = TimeUtil::NanosecondsToTimestamp(NowNs());
    return grpc::Status::OK;
  }
  grpc::Status Ping(grpc::ServerContext*, const v1::PingRequest* request,
                    v1::PingResponse* response) override {
    *response->mutable_client_send_time() = request->client_send_time();
    *response->mutable_server_receive_time() = TimeUtil::NanosecondsToTimestamp(NowNs());
    *response->mutable_server_send_time() = TimeUtil::NanosecondsToTimestamp(NowNs());
    return grpc::Status::OK;
  }
  grpc::Status Stream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::AgentMessage>* stream) override {
    std::mutex write_mutex;
    bool ended = false;  // Guarded by mutex_.
    {
      std::lock_guard lock(mutex_);
      streaming_ = true;
      changed_.notify_all();
    }
    // Control messages go out from their own thread.
    std::thread controller([&] {
      std::unique_lock lock(mutex_);
      for (;;) {
        changed_.wait(lock, [&] { return closing_ || ended || !outbox_.empty(); });
        if (closing_ || ended) return;
        v1::CoordinatorMessage message = std::move(outbox_.front());
        outbox_.pop_front();
        lock.unlock();
        {
          std::lock_guard write(write_mutex);
          stream->Write(message);
        }
        lock.lock();
      }
    });
    v1::AgentMessage message;
    while (stream->Read(&message)) {
      {
        std::lock_guard lock(mutex_);
        if (message.has_load()) loads_[message.run_id()].push_back(message);
        if (message.has_run_end()) ends_[message.run_id()].push_back(message);
        changed_.notify_all();
      }
      v1::CoordinatorMessage ack;
      ack.mutable_ack()->set_acked_sequence(message.sequence());
      std::lock_guard write(write_mutex);
      stream->Write(ack);
    }
    {
      std::lock_guard lock(mutex_);
      streaming_ = false;
      ended = true;
      changed_.notify_all();
    }
    controller.join();
    return grpc::Status::OK;
  }

  void Control(v1::CoordinatorMessage message) {
    std::lock_guard lock(mutex_);
    outbox_.push_back(std::move(message));
    changed_.notify_all();
  }
  bool WaitForStream() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return streaming_; });
  }
  // Waits until `n` intervals of `run_id` arrived; returns them.
  std::vector<v1::AgentMessage> WaitForLoads(const std::string& run_id, size_t n,
                                             std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return loads_[run_id].size() >= n; });
    return loads_[run_id];
  }
  // Waits until the RunEnd of `run_id` arrived (or `limit` passes); returns
  // every RunEnd of it.
  std::vector<v1::AgentMessage> WaitForEnds(const std::string& run_id,
                                            std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return !ends_[run_id].empty(); });
    return ends_[run_id];
  }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::CoordinatorMessage> outbox_;
  std::map<std::string, std::vector<v1::AgentMessage>> loads_;
  std::map<std::string, std::vector<v1::AgentMessage>> ends_;
  bool streaming_ = false;
  bool closing_ = false;
};

// Runs an Agent on its own thread until the test ends.
class AgentThread {
 public:
  explicit AgentThread(const std::string& coordinator)
      : agent_({.coordinator = coordinator,
                .threads = 1,
                .name = "agent-under-test",
                .flush_timeout = milliseconds(2000),
                .handle_signals = false}) {
    thread_ = std::thread([this] { status_ = agent_.Run(); });
  }
  ~AgentThread() { Stop(); }
  int Stop() {
    agent_.Shutdown();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  Agent agent_;
  int status_ = -1;
  std::thread thread_;
};

// RunSpec of `users` users held for `hold`, starting `start_in` from now.
v1::CoordinatorMessage RunMessage(const std::string& run_id, uint16_t port, int users,
                                  const std::string& hold, std::chrono::milliseconds start_in,
                                  uint32_t index, uint32_t count) {
  absl::StatusOr<v1::Scenario> scenario = ParseScenario(
      absl::StrCat("interval: 200ms\n", "targets: [{url: 'http://127.0.0.1:", port, "/'}]\n",
                   "transactions: [{name: get, steps: [{http: /}, {think: 10ms}]}]\n",
                   "load: {closed: [{users: ", users, ", hold: ", hold, "}]}\n"),
      "test.yaml");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  v1::CoordinatorMessage message;
  v1::RunSpec& spec = *message.mutable_run();
  spec.set_run_id(run_id);
  *spec.mutable_scenario() = *scenario;
  spec.set_agent_index(index);
  spec.set_agent_count(count);
  spec.set_rate_share(1.0 / count);
  *spec.mutable_start_time() = TimeUtil::NanosecondsToTimestamp(
      NowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(start_in).count());
  return message;
}

v1::CoordinatorMessage StopMessage(const std::string& run_id) {
  v1::CoordinatorMessage message;
  message.mutable_stop()->set_run_id(run_id);
  message.mutable_stop()->set_reason("test");
  return message;
}

TEST(AgentTest, RunsItsShareAtTheStartTimeAndStreamsIntervalsWithTheRunId) {
  testing::HttpTestServer target;
  FakeCoordinator coordinator;
  AgentThread agent(coordinator.address());
  ASSERT_TRUE(coordinator.WaitForStream());
  const v1::CoordinatorMessage run =
      RunMessage("r1", target.port(), 10, "600ms", milliseconds(300), 1, 3);
  const int64_t start_ns = TimeUtil::TimestampToNanoseconds(run.run().start_time());
  coordinator.Control(run);
  // 600 ms in 200 ms intervals, plus the last partial one.
  const std::vector<v1::AgentMessage> loads =
      coordinator.WaitForLoads("r1", 4, std::chrono::seconds(20));
  ASSERT_GE(loads.size(), 3u);
  uint32_t users = 0;
  uint64_t count = 0;
  for (size_t i = 0; i < loads.size(); ++i) {
    EXPECT_EQ(loads[i].source_id(), "agent-under-test");
    if (i > 0) {
      EXPECT_GT(loads[i].sequence(), loads[i - 1].sequence());
    }
    users = std::max(users, loads[i].load().active_users());
    for (const v1::OperationStats& op : loads[i].load().transactions()) count += op.count();
  }
  EXPECT_EQ(users, 3u);  // Agent 1 of 3: users 1, 4 and 7 of 10.
  EXPECT_GT(count, 0u);
  // Loopback: the clock offset estimate errs by far less than 50 ms.
  EXPECT_GE(TimeUtil::TimestampToNanoseconds(loads[0].load().start()), start_ns - 50'000'000);
  // Its part ran to the end: one RunEnd after the last interval, with the
  // transactions the intervals add up to.
  const std::vector<v1::AgentMessage> ends =
      coordinator.WaitForEnds("r1", std::chrono::seconds(20));
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].run_end().state(), v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(ends[0].run_end().reason(), "");
  const std::vector<v1::AgentMessage> all = coordinator.WaitForLoads("r1", 0, milliseconds(0));
  uint64_t all_count = 0;
  for (const v1::AgentMessage& load : all) {
    for (const v1::OperationStats& op : load.load().transactions()) all_count += op.count();
  }
  EXPECT_EQ(ends[0].run_end().transactions(), all_count);
  EXPECT_GT(ends[0].sequence(), all.back().sequence());
  EXPECT_EQ(agent.Stop(), 0);
}

TEST(AgentTest, SkipsRunsThatAreOverOrStoppedAndStopsARunningOne) {
  testing::HttpTestServer target;
  FakeCoordinator coordinator;
  AgentThread agent(coordinator.address());
  ASSERT_TRUE(coordinator.WaitForStream());
  // Its load ended a minute ago: skipped.
  coordinator.Control(RunMessage("over", target.port(), 2, "1s", -std::chrono::minutes(1), 0, 1));
  // Stopped before its start: dropped.
  coordinator.Control(RunMessage("cancelled", target.port(), 2, "1s", milliseconds(500), 0, 1));
  coordinator.Control(StopMessage("cancelled"));
  // Runs for a minute unless stopped.
  coordinator.Control(RunMessage("long", target.port(), 2, "60s", milliseconds(100), 0, 1));
  ASSERT_FALSE(coordinator.WaitForLoads("long", 2, std::chrono::seconds(20)).empty());
  const auto stop_sent = std::chrono::steady_clock::now();
  coordinator.Control(StopMessage("long"));
  // Then the next run still comes through.
  coordinator.Control(RunMessage("after", target.port(), 1, "2s", milliseconds(100), 0, 1));
  EXPECT_GE(coordinator.WaitForLoads("after", 2, std::chrono::seconds(20)).size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, std::chrono::seconds(20));
  EXPECT_TRUE(coordinator.WaitForLoads("over", 1, milliseconds(0)).empty());
  EXPECT_TRUE(coordinator.WaitForLoads("cancelled", 1, milliseconds(0)).empty());
  // Each run's part ended, and the RunEnd says how.
  const auto end_of = [&](const std::string& run_id) {
    const std::vector<v1::AgentMessage> ends =
        coordinator.WaitForEnds(run_id, std::chrono::seconds(20));
    EXPECT_EQ(ends.size(), 1u) << run_id;
    return ends.empty() ? v1::RunEnd() : ends[0].run_end();
  };
  const v1::RunEnd over = end_of("over");
  EXPECT_EQ(over.state(), v1::RUN_STATE_FAILED);
  EXPECT_NE(over.reason().find("its load ended"), std::string::npos) << over.reason();
  const v1::RunEnd cancelled = end_of("cancelled");
  EXPECT_EQ(cancelled.state(), v1::RUN_STATE_ABORTED);
  EXPECT_EQ(cancelled.reason(), "stopped by the coordinator (test)");
  const v1::RunEnd long_run = end_of("long");
  EXPECT_EQ(long_run.state(), v1::RUN_STATE_ABORTED);
  EXPECT_EQ(long_run.reason(), "stopped by the coordinator (test)");
  EXPECT_GT(long_run.transactions(), 0u);
  EXPECT_EQ(agent.Stop(), 0);
  // "after" either ran to its end or was stopped by the shutdown: reported
  // before the agent exited.
  EXPECT_EQ(coordinator.WaitForEnds("after", milliseconds(0)).size(), 1u);
}

TEST(AgentTest, APartThatCannotRunEndsFailed) {
  FakeCoordinator coordinator;
  AgentThread agent(coordinator.address());
  ASSERT_TRUE(coordinator.WaitForStream());
  // Nothing listens on 127.0.0.1:1: preflight fails.
  coordinator.Control(RunMessage("unreachable", 1, 1, "1s", milliseconds(50), 0, 1));
  // Agent index 2 of 2 does not exist.
  coordinator.Control(RunMessage("bad-share", 1, 1, "1s", milliseconds(50), 2, 2));
  const std::vector<v1::AgentMessage> unreachable =
      coordinator.WaitForEnds("unreachable", std::chrono::seconds(20));
  ASSERT_EQ(unreachable.size(), 1u);
  EXPECT_EQ(unreachable[0].run_end().state(), v1::RUN_STATE_FAILED);
  EXPECT_NE(unreachable[0].run_end().reason().find("cannot reach target"), std::string::npos)
      << unreachable[0].run_end().reason();
  const std::vector<v1::AgentMessage> bad_share =
      coordinator.WaitForEnds("bad-share", std::chrono::seconds(20));
  ASSERT_EQ(bad_share.size(), 1u);
  EXPECT_EQ(bad_share[0].run_end().state(), v1::RUN_STATE_FAILED);
  EXPECT_NE(bad_share[0].run_end().reason().find("agent_index 2 is not below agent_count 2"),
            std::string::npos)
      << bad_share[0].run_end().reason();
  EXPECT_EQ(agent.Stop(), 0);
}

}  // namespace
}  // namespace tpslab::loadgen
