#include "loadgen/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "loadgen/scenario.h"
#include "loadgen/testing/http_test_server.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

using testing::HttpTestServer;

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
  HttpTestServer server;
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
  HttpTestServer server({.stall_request = 100, .stall = std::chrono::milliseconds(1000)});
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
  HttpTestServer server;
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
  HttpTestServer server;
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
  HttpTestServer server;
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
  HttpTestServer server;
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
