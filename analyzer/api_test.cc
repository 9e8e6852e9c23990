// Api on a store filled through the real ingestion path (a synthetic run
// with a known knee), and HttpServer over a loopback socket with a Beast
// client: keep-alive, 404/405/400/413 answers.
#include "analyzer/api.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(dir ? dir : "/tmp") / name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path.string();
}

// Two agents, 5 stages of 4 s: N = 10, 20, ... 50 users in total; throughput
// min(100 N, 3000) tx/s (knee at N = 30); every latency R = N / X (Little's
// law with no think time).
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = RunStore::Open(TempPath("api.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    CoordinatorOptions options;
    options.ingest.on_stored = live_.Feeder();
    service_ = std::make_unique<CoordinatorService>(*store_, options);
    ASSERT_TRUE(service_->StartRun({.run_id = "r1", .name = "knee"}).ok());
    auto slot = std::make_shared<AckSlot>();
    for (int k = 0; k < 20; ++k) {
      const int stage = k / 4;
      const double users = 10.0 * (stage + 1);
      const double tps = std::min(100.0 * users, 3000.0);
      const int64_t latency_us = static_cast<int64_t>(users / tps * 1e6);
      for (const char* source : {"lg-a", "lg-b"}) {
        v1::AgentMessage m;
        m.set_source_id(source);
        m.set_sequence(k + 1);
        v1::LoadInterval* load = m.mutable_load();
        *load->mutable_start() = TimeUtil::SecondsToTimestamp(1000 + k);
        *load->mutable_end() = TimeUtil::SecondsToTimestamp(1001 + k);
        load->set_stage(stage);
        load->set_active_users(static_cast<uint32_t>(users / 2));
        v1::OperationStats* op = load->add_transactions();
        op->set_name("upload");
        op->set_count(static_cast<uint64_t>(tps / 2));
        op->set_errors(stage == 4 ? 15 : 0);
        metrics::HdrHistogram h = EmptyLatencyHistogram();
        h.Record(latency_us, static_cast<int64_t>(tps / 2));
        *op->mutable_latency() = metrics::ToProto(h, "us");
        service_->ingestor().Submit(std::move(m), slot);
      }
    }
    ASSERT_TRUE(slot->WaitIdle(std::chrono::seconds(10)));
    ASSERT_FALSE(slot->failed());
    api_ = std::make_unique<Api>(*store_, *service_, live_, [] { return 2000 * kNanosPerSecond; });
  }

  json GetJson(const std::string& target, int expected_status = 200) {
    const HttpResponse r = api_->Handle({"GET", target, ""});
    EXPECT_EQ(r.status, expected_status) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  std::unique_ptr<RunStore> store_;
  LiveLoad live_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, Runs) {
  const json runs = GetJson("/api/runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["run_id"], "r1");
  EXPECT_EQ(runs[0]["name"], "knee");
  EXPECT_EQ(runs[0]["state"], "running");
}

TEST_F(ApiTest, SeriesSecondBySecond) {
  const json s = GetJson("/api/runs/r1/series");
  ASSERT_EQ(s["time_s"].size(), 20u);
  EXPECT_EQ(s["time_s"][0], 1001);
  EXPECT_EQ(s["tps"][0], 1000.0);
  EXPECT_EQ(s["tps"][19], 3000.0);
  EXPECT_EQ(s["active_users"][8], 30.0);
  EXPECT_EQ(s["stage"][8], 2);
  EXPECT_NEAR(s["p99_ms"][0].get<double>(), 10.0, 0.01);
  EXPECT_EQ(s["transactions"]["upload"]["errors"][19], 30);
}

TEST_F(ApiTest, SummaryFindsKneeSloUslAndChecksLittlesLaw) {
  const json s = GetJson("/api/runs/r1/summary?slo_p99_ms=15");
  EXPECT_EQ(s["peak_tps"], 3000.0);
  ASSERT_EQ(s["stages"].size(), 5u);
  EXPECT_EQ(s["stages"][2]["tps"], 3000.0);
  EXPECT_EQ(s["stages"][2]["littles_law"]["verdict"], "consistent");
  EXPECT_EQ(s["knee"]["load"], 30.0);
  EXPECT_EQ(s["knee"]["method"], "kneedle");
  // p99 = N/X: 10, 10, 10, 13.3, 16.7 ms; stage 4 also has 1% errors.
  EXPECT_EQ(s["slo"]["best"]["stage"], 2);
  EXPECT_TRUE(s["usl"].contains("sigma")) << s["usl"];
  EXPECT_GT(s["usl"]["r_squared"].get<double>(), 0.9);
  EXPECT_TRUE(s["findings"].empty());
}

TEST_F(ApiTest, Errors) {
  EXPECT_EQ(GetJson("/api/runs/zz/summary", 404)["error"], "no run 'zz'");
  EXPECT_EQ(GetJson("/api/runs/r1/summary?slo_p99_ms=abc", 400)["error"],
            "slo_p99_ms: expected a number of milliseconds > 0, got 'abc'");
  EXPECT_EQ(GetJson("/nope", 404)["error"], "no such endpoint: /nope");
  const HttpResponse put = api_->Handle({"PUT", "/api/runs", ""});
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(json::parse(put.body)["error"], "method PUT not allowed on /api/runs (use GET)");
}

TEST_F(ApiTest, ReportDashboardAndIndex) {
  const json report = GetJson("/api/runs/r1/report");
  EXPECT_EQ(report["schema"], "tpslab.report/1");
  EXPECT_EQ(report["run"]["id"], "r1");
  EXPECT_EQ(report["stages"].size(), 5u);
  EXPECT_EQ(GetJson("/api/runs/zz/report", 404)["error"], "no run 'zz'");

  const HttpResponse page = api_->Handle({"GET", "/runs/r1", ""});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("tpslab.report/1"), std::string::npos);
  EXPECT_NE(page.body.find("/api/runs/r1/report"), std::string::npos);  // live refresh URL
  EXPECT_EQ(api_->Handle({"GET", "/runs/zz", ""}).status, 404);

  const HttpResponse index = api_->Handle({"GET", "/", ""});
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("href=\"/runs/r1\""), std::string::npos);
}

TEST_F(ApiTest, DistributedRunsOverHttpNeedTheTokenAndAgents) {
  api_->set_token("s3cret");
  const auto post = [&](const std::string& target, const std::string& body,
                        const std::string& auth = "Bearer s3cret") {
    return api_->Handle({"POST", target, body, auth});
  };
  const std::string scenario =
      R"({"scenario": {"name": "s", "targets": [{"url": "http://127.0.0.1:1/"}],)"
      R"( "transactions": [{"name": "get", "steps": [{"http": {"path": "/"}}]}],)"
      R"( "closed": {"stages": [{"target": 2, "hold": "1s"}]}}, "agents": 2})";
  HttpResponse r = post("/api/runs", scenario, "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(post("/api/runs", scenario, "Bearer wrong").status, 401);
  r = post("/api/runs", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"], "the request body must be a JSON object");
  r = post("/api/runs", R"({"scenario": {"nmae": "typo"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("scenario: "), std::string::npos);
  // r1 is still running: one run at a time.
  EXPECT_EQ(post("/api/runs", scenario).status, 409);
  r = post("/api/runs/r2/end", "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body)["error"], "run 'r2' is not the current run");
  EXPECT_EQ(post("/api/runs/r1/end", R"({"state": "finished"})").status, 400);
  r = post("/api/runs/r1/end", R"({"state": "completed"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(GetJson("/api/runs")[0]["state"], "completed");
  // No loadgen agent streams to this coordinator.
  r = post("/api/runs", scenario);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("agent"), std::string::npos)
      << r.body;

  // Stopping: a run that was not dispatched, and one whose agents are done.
  r = post("/api/runs/r1/stop", R"({"reason": "enough"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"],
            "stop: run r1 was never dispatched (no such run in this store)");
  DispatchedPart done{
      .run_id = "d1", .source_id = "lg-a", .end_state = v1::RUN_STATE_COMPLETED, .ended_ns = 5};
  ASSERT_TRUE(
      store_->CreateDispatchedRun({.run_id = "d1", .state = v1::RUN_STATE_COMPLETED}, {done}).ok());
  r = post("/api/runs/d1/stop", "");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"],
            "stop: run d1 is over; none of its agents is still running it");
}

TEST_F(ApiTest, MetricsShowTheLatestSecondAndAgents) {
  const HttpResponse r = api_->Handle({"GET", "/metrics", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line :
       {"tpslab_tps{transaction=\"upload\"} 3000\n", "tpslab_tps{transaction=\"all\"} 3000\n",
        "tpslab_errors{transaction=\"upload\"} 30\n", "tpslab_active_users 50\n",
        "tpslab_run_active 1\n",
        "tpslab_agent_acked_sequence{kind=\"AGENT_KIND_UNSPECIFIED\","
        "source=\"lg-a\"} 20\n"}) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\n" << r.body;
  }
  EXPECT_NE(r.body.find("tpslab_latency_seconds{quantile=\"0.99\",transaction=\"upload\"} 0.0166"),
            std::string::npos)
      << r.body;
}

TEST(HttpServerTest, ServesKeepAliveRequestsAndRejectsLargeOnes) {
  net::IoContextPool pool(1);
  HttpServer server(pool,
                    [](const HttpRequest& r) {
                      return HttpResponse{200, "text/plain", r.method + " " + r.target + "\n"};
                    },
                    {.max_request_bytes = 1024});
  absl::StatusOr<boost::asio::ip::tcp::endpoint> at = server.Listen("127.0.0.1", 0);
  ASSERT_TRUE(at.ok()) << at.status();
  std::thread runner([&] { pool.Run(); });

  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(*at);
  for (const char* target : {"/metrics", "/api/runs?x=1"}) {
    http::request<http::string_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "localhost");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), std::string("GET ") + target + "\n");
    EXPECT_TRUE(response.keep_alive());
  }
  http::request<http::string_body> big{http::verb::post, "/x", 11};
  big.set(http::field::host, "localhost");
  big.body() = std::string(4096, 'x');
  big.prepare_payload();
  http::write(stream, big);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(), "request too large\n");

  server.Stop();
  pool.Stop();
  runner.join();
}

TEST(HttpServerTest, QueryParameters) {
  EXPECT_EQ(PathOf("/a/b?x=1"), "/a/b");
  EXPECT_EQ(QueryParam("/a?x=1&y=2", "y"), "2");
  EXPECT_EQ(QueryParam("/a?x", "x"), "");
  EXPECT_FALSE(QueryParam("/a?x=1", "z").has_value());
  EXPECT_FALSE(QueryParam("/a", "x").has_value());
}

}  // namespace
}  // namespace tpslab::analyzer
