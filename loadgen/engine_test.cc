#include "loadgen/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "loadgen/scenario.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A keep-alive HTTP server on its own thread that answers every request
// with "200 ok"; request number `stall_at` (1-based, 0 = never) is held for
// `stall` first, stalling that connection.
class TestServer {
 public:
  explicit TestServer(uint64_t stall_at = 0,
                      std::chrono::milliseconds stall = std::chrono::milliseconds(0))
      : acceptor_(context_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        stall_at_(stall_at),
        stall_(stall) {
    asio::co_spawn(context_, Accept(), asio::detached);
    thread_ = std::thread([this] { context_.run(); });
  }
  ~TestServer() {
    context_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  uint64_t requests() const { return requests_.load(); }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(context_, Serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> Serve(tcp::socket socket) {
    asio::streambuf buffer;
    asio::steady_timer timer(context_);
    static const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(socket, buffer, "\r\n\r\n",
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      buffer.consume(n);
      if (++requests_ == stall_at_) {
        timer.expires_after(stall_);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      auto [wec, w] = co_await asio::async_write(socket, asio::buffer(kResponse),
                                                 asio::as_tuple(asio::use_awaitable));
      if (wec) co_return;
    }
  }

  asio::io_context context_;
  tcp::acceptor acceptor_;
  uint64_t stall_at_;
  std::chrono::milliseconds stall_;
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

EngineOptions Options(size_t threads) {
  EngineOptions options;
  options.threads = threads;
  options.handle_signals = false;
  return options;
}

v1::Scenario OpenScenario(uint16_t port, const std::string& rate, const std::string& hold,
                          int max_concurrency) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(absl::StrCat("targets: [{url: 'http://127.0.0.1:", port, "/'}]\n",
                                 "transactions: [{name: get, steps: [{http: {path: /}}]}]\n",
                                 "load: {open: {max_concurrency: ", max_concurrency,
                                 ", stages: [{rate: ", rate, ", hold: ", hold, "}]}}\n"),
                    "test.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

TEST(EngineTest, OpenModelAchievesTheTargetRate) {
  TestServer server;
  Engine engine(OpenScenario(server.port(), "400", "2s", 64), Options(2));
  absl::StatusOr<RunResult> result = engine.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->interrupted);
  EXPECT_DOUBLE_EQ(result->elapsed_s, 2.0);
  const OpInterval& get = result->totals[0];
  EXPECT_EQ(get.errors, 0u);
  const double tps = get.count / result->elapsed_s;
  EXPECT_NEAR(tps, 400.0, 4.0) << "count " << get.count;
  EXPECT_EQ(result->dropped, 0u);
}

TEST(EngineTest, StallShowsInCorrectedLatencyOnly) {
  // One connection, 200 arrivals/s for 3 s; request 100 is held for 1 s, so
  // about 200 arrivals queue behind it. Measured from their intended start
  // they waited up to 1 s; measured from when they were sent, they did not.
  TestServer server(100, std::chrono::milliseconds(1000));
  Engine engine(OpenScenario(server.port(), "200", "3s", 1), Options(1));
  absl::StatusOr<RunResult> result = engine.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  const OpInterval& get = result->totals[0];
  EXPECT_EQ(get.errors, 0u);
  EXPECT_EQ(get.count, 600u);
  const int64_t corrected_p99 = get.latency.ValueAtPercentile(99);
  const int64_t uncorrected_p99 = get.uncorrected.ValueAtPercentile(99);
  EXPECT_GT(corrected_p99, 500'000) << "corrected p99 " << corrected_p99 << " us";
  EXPECT_LT(uncorrected_p99, 100'000) << "uncorrected p99 " << uncorrected_p99 << " us";
  EXPECT_GE(get.uncorrected.Max(), 900'000);  // The held request itself.
}

TEST(EngineTest, ClosedModelRunsUsersAndReportsIntervals) {
  TestServer server;
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      absl::StrCat("interval: 100ms\n", "targets: [{url: 'http://127.0.0.1:", server.port(),
                   "/'}]\n", "transactions: [{name: get, steps: [{http: /}, {think: 5ms}]}]\n",
                   "load: {closed: [{users: 4, ramp: 200ms, hold: 300ms}]}\n"),
      "test.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  int intervals = 0;
  uint32_t max_active = 0;
  uint64_t counted = 0;
  Engine engine(
      *s, {.threads = 2, .handle_signals = false, .on_interval = [&](const IntervalReport& r) {
             ++intervals;
             max_active = std::max(max_active, r.active);
             counted += r.ops[0].count;
           }});
  absl::StatusOr<RunResult> result = engine.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(intervals, 4);
  EXPECT_EQ(max_active, 4u);
  EXPECT_GT(result->totals[0].count, 20u);
  EXPECT_EQ(counted, result->totals[0].count);
  EXPECT_EQ(result->totals[0].count, result->totals[1].count);  // get and get/http
  EXPECT_EQ(server.requests(), result->totals[1].count);
}

TEST(EngineTest, IntervalInWhichTheLoadEndsCountsTheUsersThatWereBusy) {
  // Users think 50 ms per iteration, so when the load ends most of them are
  // mid-think and drain one by one: the interval that contains the end of
  // the load still reports the 3 users that were active until then.
  TestServer server;
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      absl::StrCat("interval: 250ms\n", "targets: [{url: 'http://127.0.0.1:", server.port(),
                   "/'}]\n", "transactions: [{name: get, steps: [{http: /}, {think: 50ms}]}]\n",
                   "load: {closed: [{users: 3, ramp: 0s, hold: 600ms}]}\n"),
      "test.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<IntervalReport> reports;
  Engine engine(*s, {.threads = 1,
                     .handle_signals = false,
                     .on_interval = [&](const IntervalReport& r) { reports.push_back(r); }});
  absl::StatusOr<RunResult> result = engine.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  const auto last_with_load =
      std::find_if(reports.rbegin(), reports.rend(),
                   [&](const IntervalReport& r) { return r.start_s < result->elapsed_s; });
  ASSERT_NE(last_with_load, reports.rend());
  EXPECT_EQ(last_with_load->active, 3u);
}

TEST(EngineTest, ClosedModelRunsOnlyItsShareOfTheUsers) {
  TestServer server;
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      absl::StrCat("interval: 100ms\n", "targets: [{url: 'http://127.0.0.1:", server.port(),
                   "/'}]\n", "transactions: [{name: get, steps: [{http: /}, {think: 5ms}]}]\n",
                   "load: {closed: [{users: 10, ramp: 200ms, hold: 300ms}]}\n"),
      "test.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  // Agent 1 of 3 runs users 1, 4 and 7 of 10, also along the ramp.
  uint32_t max_active = 0;
  Engine engine(
      *s,
      {.threads = 2,
       .handle_signals = false,
       .on_interval = [&](const IntervalReport& r) { max_active = std::max(max_active, r.active); },
       .share = {.index = 1, .count = 3, .rate_share = 1.0 / 3}});
  absl::StatusOr<RunResult> result = engine.Run();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(max_active, 3u);
  EXPECT_GT(result->totals[0].count, 0u);
}

TEST(EngineTest, StopEndsTheRunEarlyWithResults) {
  TestServer server;
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(absl::StrCat("targets: [{url: 'http://127.0.0.1:", server.port(), "/'}]\n",
                                 "transactions: [{name: get, steps: [{http: /}, {think: 1s}]}]\n",
                                 "load: {closed: [{users: 2, hold: 60s}]}\n"),
                    "test.yaml");
  ASSERT_TRUE(s.ok());
  Engine engine(*s, Options(1));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    engine.Stop();
  });
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RunResult> result = engine.Run();
  stopper.join();
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->interrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(result->totals[0].count, 2u);
}

TEST(EngineTest, PreflightNamesUnreachableTarget) {
  uint16_t port;
  {
    asio::io_context context;
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = acceptor.local_endpoint().port();
  }
  Engine engine(OpenScenario(port, "1", "1s", 1), Options(1));
  absl::Status s = engine.Preflight();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find(absl::StrCat("cannot reach target 'default' (http://127.0.0.1:", port,
                                          "/) at 127.0.0.1:", port, ": Connection refused")),
            std::string::npos)
      << s;
}

TEST(EngineTest, LoadShape) {
  v1::ClosedModel model;
  v1::Stage* a = model.add_stages();
  a->set_target(10);
  a->mutable_duration()->set_seconds(10);
  a->mutable_hold()->set_seconds(5);
  v1::Stage* b = model.add_stages();
  b->set_target(0);
  b->mutable_duration()->set_seconds(5);
  uint32_t stage = 0;
  EXPECT_DOUBLE_EQ(LevelAt(model.stages(), 5, &stage), 5);
  EXPECT_EQ(stage, 0u);
  EXPECT_DOUBLE_EQ(LevelAt(model.stages(), 12, &stage), 10);
  EXPECT_DOUBLE_EQ(LevelAt(model.stages(), 17.5, &stage), 5);
  EXPECT_EQ(stage, 1u);
  EXPECT_DOUBLE_EQ(TotalSeconds(model.stages()), 20);
  // Arrivals: ramp 0->10/s over 10 s = 50, hold 50, ramp down 25.
  EXPECT_NEAR(ArrivalTime(model.stages(), 0), 0, 1e-9);
  EXPECT_NEAR(ArrivalTime(model.stages(), 5), std::sqrt(10.0), 1e-9);  // 5 = t^2/2
  EXPECT_NEAR(ArrivalTime(model.stages(), 50), 10, 1e-9);
  EXPECT_NEAR(ArrivalTime(model.stages(), 75), 12.5, 1e-9);
  EXPECT_LT(ArrivalTime(model.stages(), 124.9), 20);
  EXPECT_TRUE(std::isinf(ArrivalTime(model.stages(), 125.5)));
}

}  // namespace
}  // namespace tpslab::loadgen
