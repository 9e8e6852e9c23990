#include "monitor/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "monitor/http.h"
#include "monitor/prom_text.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + name;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AgentTest, RejectsIntervalsOutOfRange) {
  AgentOptions options;
  options.interval = std::chrono::milliseconds(50);
  EXPECT_THAT(std::string(Agent::Create(options).status().message()),
              HasSubstr("between 100ms and 1h"));
  options.interval = std::chrono::hours(2);
  EXPECT_FALSE(Agent::Create(options).ok());
  options.interval = std::chrono::seconds(1);
  options.jsonl = "/nonexistent/dir/out.jsonl";
  EXPECT_THAT(std::string(Agent::Create(options).status().message()),
              HasSubstr("cannot open --jsonl file /nonexistent/dir/out.jsonl"));
}

TEST(AgentTest, RejectsBadPluginCheckSettings) {
  auto error = [](AgentOptions options) {
    absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(std::move(options));
    EXPECT_EQ(agent.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(agent.status().message());
  };
  AgentOptions options;
  options.plugin_checks.push_back(*ParsePluginCheck("a=check_dummy 0"));
  options.plugin_checks.back().interval = std::chrono::milliseconds(99);
  EXPECT_EQ(error(options), "check 'a': interval must be at least 100ms, got 99ms");
  options.plugin_checks.back().interval.reset();
  options.plugin_checks.back().timeout = std::chrono::seconds(0);
  EXPECT_EQ(error(options), "check 'a': timeout must be positive, got 0s");
  options.plugin_checks.back().timeout.reset();
  options.plugin_checks.push_back(*ParsePluginCheck("a[interval=1s]=check_dummy 1"));
  EXPECT_EQ(error(options), "check 'a' is defined twice (names must be unique)");
  options.plugin_checks.pop_back();
  options.check_workers = 0;
  EXPECT_EQ(error(options), "--check-workers must be between 1 and 64");
  options.check_workers = 65;
  EXPECT_EQ(error(options), "--check-workers must be between 1 and 64");
  options.check_workers = 4;
  options.check_interval = std::chrono::milliseconds(99);
  EXPECT_EQ(error(options), "--check-interval must be at least 100ms, got 99ms");
  options.check_interval = std::chrono::seconds(60);
  EXPECT_TRUE(Agent::Create(options).ok());
}

// Real plugins: check_dummy every 100 ms beside a script that hangs until
// its 2 s timeout kills it.
TEST(AgentTest, HungPluginDoesNotDelayAFastOne) {
  const std::string hang = TempPath("agent_hang.sh");
  std::ofstream(hang, std::ios::trunc) << "#!/bin/sh\necho 'starting'\nsleep 100\n";
  chmod(hang.c_str(), 0755);
  AgentOptions options;
  options.interval = std::chrono::milliseconds(100);
  options.jsonl = TempPath("agent_hang.jsonl");
  options.plugin_checks.push_back(*ParsePluginCheck("fast[interval=100ms]=check_dummy 0 quick"));
  options.plugin_checks.push_back(*ParsePluginCheck("hang[interval=100ms,timeout=2s]=" + hang));
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::thread stopper([&] {
    // Until the hung run's timeout shows up (or a generous bound).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((*agent)->RenderMetrics().find("tpslab_check_state{check=\"hang\"} 3") ==
               std::string::npos &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*agent)->Stop();
  });
  (*agent)->Run();
  stopper.join();

  // In the JSON lines, count the fast check's results before the first
  // result of the hung one.
  std::istringstream lines(ReadAll(options.jsonl));
  int fast_before_hang = 0;
  bool hang_seen = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"name\":\"hang\"") != std::string::npos) {
      EXPECT_THAT(line, HasSubstr("CHECK TIMEOUT: plugin killed after"));
      hang_seen = true;
      break;
    }
    if (line.find("\"name\":\"fast\",\"state\":\"CHECK_STATE_OK\"") != std::string::npos) {
      ++fast_before_hang;
    }
  }
  EXPECT_TRUE(hang_seen);
  EXPECT_GE(fast_before_hang, 3) << "the fast check ran too rarely while the other hung for 2 s";
  const std::string metrics = (*agent)->RenderMetrics();
  absl::StatusOr<std::vector<PromSample>> parsed = ParsePrometheusText(metrics);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  double hang_skipped = -1, fast_runs = -1, fast_skipped = -1;
  for (const PromSample& sample : *parsed) {
    const bool hang_label =
        sample.labels == std::vector<std::pair<std::string, std::string>>{{"check", "hang"}};
    const bool fast_label =
        sample.labels == std::vector<std::pair<std::string, std::string>>{{"check", "fast"}};
    if (sample.name == "monitor_self_check_skipped_total" && hang_label)
      hang_skipped = sample.value;
    if (sample.name == "monitor_self_check_skipped_total" && fast_label)
      fast_skipped = sample.value;
    if (sample.name == "monitor_self_check_runs_total" && fast_label) fast_runs = sample.value;
  }
  EXPECT_GE(hang_skipped, 3);  // its slots during the 2 s it hung
  EXPECT_GE(fast_runs, 3);
  EXPECT_GE(fast_skipped, 0);  // present
}

TEST(AgentTest, SamplesWritesJsonLinesAndExposition) {
  // An application endpoint to scrape.
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  auto app = MetricsServer::Start(io, {"127.0.0.1", 0}, [] {
    return "# TYPE ftpd_sessions gauge\nftpd_sessions 7\n"
           "# TYPE ftpd_logins_total counter\nftpd_logins_total{result=\"ok\"} 12\n";
  });
  ASSERT_TRUE(app.ok());
  std::thread io_thread([&] { io.run(); });

  AgentOptions options;
  options.interval = std::chrono::milliseconds(100);
  options.max_samples = 3;
  options.jsonl = TempPath("agent.jsonl");
  options.processes.push_back(PidSelector(getpid()));
  options.processes.push_back(*ParseProcessSelector("tpslabnothere"));
  options.scrapes.push_back(*parse::ParseUrl("http://" + (*app)->address() + "/metrics"));
  options.scrapes.push_back(*parse::ParseUrl("http://127.0.0.1:1/metrics"));
  options.threshold_checks.push_back(*ParseThresholdCheck("ftpd_sessions warn=5 crit=10"));
  options.plugin_checks.push_back(*ParsePluginCheck("dummy=check_dummy 2 broken"));
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok()) << agent.status();
  (*agent)->Run();
  EXPECT_EQ((*agent)->samples(), 3);

  std::string metrics = (*agent)->RenderMetrics();
  absl::StatusOr<std::vector<PromSample>> parsed = ParsePrometheusText(metrics);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(metrics, HasSubstr("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}"));
  EXPECT_THAT(metrics, HasSubstr("node_load1 "));
  // Every series appears once.
  std::set<std::string> seen;
  for (const PromSample& s : *parsed) {
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "," + k + "=" + v;
    EXPECT_TRUE(seen.insert(key).second) << "duplicate series " << key;
  }
  EXPECT_THAT(
      metrics,
      HasSubstr("tpslab_process_threads{selector=\"pid:" + std::to_string(getpid()) + "\"}"));
  EXPECT_THAT(metrics, HasSubstr("tpslab_process_up{selector=\"name:tpslabnothere\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("ftpd_sessions{source=\"" + (*app)->address() + "\"} 7\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE ftpd_logins_total counter\n"));
  EXPECT_THAT(metrics, HasSubstr("monitor_self_collector_duration_seconds{collector=\"stat\"}"));
  EXPECT_THAT(metrics, HasSubstr("monitor_self_scrape_errors_total 3\n"));
  EXPECT_THAT(metrics, HasSubstr("tpslab_check_state{check=\"ftpd_sessions\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE monitor_self_check_runs_total counter\n"));
  EXPECT_THAT(metrics, HasSubstr("monitor_self_check_skipped_total{check=\"dummy\"} 0\n"));

  std::string lines = ReadAll(options.jsonl);
  EXPECT_THAT(lines, HasSubstr("{\"host_sample\":{\"time\":"));
  EXPECT_THAT(lines, HasSubstr("{\"process_sample\":{"));
  EXPECT_THAT(lines, HasSubstr("scrape http://127.0.0.1:1/metrics: GET"));
  EXPECT_THAT(lines, HasSubstr("\"name\":\"ftpd_sessions\",\"state\":\"CHECK_STATE_WARNING\""));
  EXPECT_THAT(lines, HasSubstr("\"name\":\"dummy\",\"state\":\"CHECK_STATE_CRITICAL\""));
  // One JSON object per line.
  std::istringstream stream(lines);
  std::string line;
  int count = 0;
  while (std::getline(stream, line)) {
    ++count;
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
  }
  EXPECT_GE(count, 3 * 3 + 1);

  (*app)->Stop();
  guard.reset();
  io.stop();
  io_thread.join();
}

TEST(AgentTest, StopEndsRunPromptly) {
  AgentOptions options;
  options.interval = std::chrono::seconds(30);
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok());
  std::thread stopper([&] {
    while ((*agent)->samples() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    (*agent)->Stop();
  });
  (*agent)->Run();  // would wait 30 s for the next sample without Stop()
  stopper.join();
  EXPECT_EQ((*agent)->samples(), 1);
}

}  // namespace
}  // namespace tpslab::monitor
