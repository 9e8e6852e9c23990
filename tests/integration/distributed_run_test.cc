// Cross-component: a distributed run. The coordinator (CoordinatorService,
// its gRPC server on 127.0.0.1:0 and a RunStore in TEST_TMPDIR, as `analyzer
// serve` runs them) dispatches a closed-model scenario of 5 users for 3 s to
// two real `loadgen agent` processes, which load a small in-test HTTP server.
// Checked: both agents' intervals are stored under the run id; their users
// add up to 5 (3 + 2); the transactions they report add up to what the
// server answered; both started at the coordinated start or later; the run
// ends by itself as COMPLETED once both agents reported the end of their
// part (RunEnd); SIGTERM ends each agent cleanly. A second test stops a long
// run with StopRun (ABORTED; both agents report their part stopped), has
// the same agents take the next run (COMPLETED by itself), then stops them
// with SIGTERM in the middle of a third (they report it ABORTED, which ends
// the run, flush and exit 0).
#include <fcntl.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "analyzer/coordinator_service.h"
#include "analyzer/run_store.h"
#include "loadgen/testing/http_test_server.h"

namespace tpslab {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::milliseconds;

std::string TestDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

// The loadgen binary from the test's runfiles.
std::string LoadgenBinary() {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(root ? root : ".") + "/" + (workspace ? workspace : "tpslab") +
         "/loadgen/loadgen";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `loadgen agent` as a child process, its stderr in a file.
class AgentProcess {
 public:
  AgentProcess(const std::string& coordinator, const std::string& name)
      : log_(TestDir() + "/" + name + ".log") {
    const std::string binary = LoadgenBinary();
    std::vector<std::string> args = {binary,        "agent", "--coordinator", coordinator,
                                     "--name",      name,    "--threads",     "1",
                                     "--log-level", "info"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDERR_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int error = posix_spawn(&pid_, binary.c_str(), &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    EXPECT_EQ(error, 0) << "cannot start " << binary << ": " << std::strerror(error);
    if (error != 0) pid_ = -1;
  }
  ~AgentProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // SIGTERM, then the exit status (-1 when it did not exit within `limit`).
  int Terminate(std::chrono::seconds limit) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return -1;
  }

  // Waits until the log contains `text` `times` times (or `limit` passes).
  bool WaitForLog(const std::string& text, int times, std::chrono::seconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      const std::string log = ReadFile(log_);
      int found = 0;
      for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
        ++found;
      }
      if (found >= times) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

// What the store holds for one agent of the run.
struct AgentTotals {
  uint64_t transactions = 0;  // "get" transactions.
  uint64_t requests = 0;      // "get/http" steps.
  uint64_t errors = 0;
  uint32_t max_users = 0;
  int64_t first_start_ns = 0;
  int intervals = 0;
};

// `analyzer serve` in process: store, service and gRPC server on loopback.
class Coordinator {
 public:
  explicit Coordinator(const std::string& name) {
    const std::string db = TestDir() + "/" + name + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    absl::StatusOr<std::unique_ptr<analyzer::RunStore>> store = analyzer::RunStore::Open(db);
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service_ = std::make_unique<analyzer::CoordinatorService>(*store_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~Coordinator() { server_->Shutdown(std::chrono::system_clock::now() + milliseconds(500)); }

  // Waits until `n` loadgen agents stream (at most 30 s).
  bool WaitForAgents(size_t n) {
    for (int tries = 0; tries < 600; ++tries) {
      if (service_->StreamingAgents(v1::AGENT_KIND_LOADGEN).size() >= n) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  const std::string& address() const { return address_; }
  analyzer::RunStore& store() { return *store_; }
  analyzer::CoordinatorService& service() { return *service_; }

 private:
  std::string address_;
  std::unique_ptr<analyzer::RunStore> store_;
  std::unique_ptr<analyzer::CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
};

// Waits until run `run_id` is in `state` (at most `limit`).
bool WaitForState(analyzer::RunStore& store, const std::string& run_id, v1::RunState state,
                  std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    absl::StatusOr<analyzer::RunRecord> run = store.GetRun(run_id);
    if (run.ok() && run->state == state) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

// "source=state[: reason]" of every part of `run_id`, in agent_index order.
std::vector<std::string> PartEnds(analyzer::RunStore& store, const std::string& run_id) {
  std::vector<std::string> ends;
  absl::StatusOr<std::vector<analyzer::DispatchedPart>> parts = store.DispatchedParts(run_id);
  EXPECT_TRUE(parts.ok()) << parts.status();
  if (!parts.ok()) return ends;
  for (const analyzer::DispatchedPart& part : *parts) {
    ends.push_back(part.source_id + "=" + analyzer::RunStateName(part.end_state) +
                   (part.end_reason.empty() ? "" : ": " + part.end_reason));
  }
  std::sort(ends.begin(), ends.end());
  return ends;
}

// GET / against `port` with a 20 ms think time, `users` users held for
// `hold_s` seconds.
v1::Scenario HttpScenario(uint16_t port, int users, int hold_s) {
  v1::Scenario scenario;
  scenario.set_name("five-users");
  scenario.mutable_interval()->set_seconds(1);
  v1::Target& http = *scenario.add_targets();
  http.set_name("web");
  http.set_url("http://127.0.0.1:" + std::to_string(port) + "/");
  http.mutable_timeout()->set_seconds(5);
  v1::Transaction& get = *scenario.add_transactions();
  get.set_name("get");
  get.set_weight(1);
  v1::Step& request = *get.add_steps();
  request.set_name("http");
  request.set_target("web");
  request.mutable_http()->set_method("GET");
  request.mutable_http()->set_path("/");
  v1::Step& think = *get.add_steps();  // Keeps a loaded 2-core machine responsive.
  think.set_name("think");
  think.mutable_think()->mutable_mean()->set_nanos(20'000'000);
  v1::Stage& stage = *scenario.mutable_closed()->add_stages();
  stage.set_target(users);
  stage.mutable_hold()->set_seconds(hold_s);
  return scenario;
}

TEST(DistributedRunTest, TwoAgentsShareAClosedRunOfFiveUsers) {
  Coordinator coordinator("distributed");
  analyzer::CoordinatorService& service = coordinator.service();
  analyzer::RunStore* store = &coordinator.store();
  loadgen::testing::HttpTestServer target;
  AgentProcess first(coordinator.address(), "agent-1");
  AgentProcess second(coordinator.address(), "agent-2");
  ASSERT_TRUE(coordinator.WaitForAgents(2)) << "agent-1:\n"
                                            << first.log() << "agent-2:\n"
                                            << second.log();
  const v1::Scenario scenario = HttpScenario(target.port(), 5, 3);

  absl::StatusOr<std::vector<std::string>> agents = service.DispatchRun(
      scenario, {.run_id = "dist-it", .agents = 2, .start_delay = std::chrono::seconds(2)});
  ASSERT_TRUE(agents.ok()) << agents.status();
  ASSERT_EQ(agents->size(), 2u);

  // Each agent logs this once its run is over and its intervals are
  // acknowledged (or the flush timeout passed).
  for (const AgentProcess* agent : {&first, &second}) {
    EXPECT_TRUE(agent->WaitForLog("waiting for the next run", 1, std::chrono::seconds(60)))
        << agent->log();
  }
  // Both reported their part done: the run completed by itself.
  ASSERT_TRUE(WaitForState(*store, "dist-it", v1::RUN_STATE_COMPLETED, std::chrono::seconds(20)))
      << "state " << analyzer::RunStateName(store->GetRun("dist-it")->state);
  EXPECT_EQ(service.current_run(), "");
  EXPECT_EQ(PartEnds(*store, "dist-it"),
            (std::vector<std::string>{"agent-1=completed", "agent-2=completed"}));
  EXPECT_EQ(first.Terminate(std::chrono::seconds(20)), 0) << first.log();
  EXPECT_EQ(second.Terminate(std::chrono::seconds(20)), 0) << second.log();
  EXPECT_NE(first.log().find("run dist-it: finished"), std::string::npos) << first.log();
  EXPECT_NE(second.log().find("run dist-it: finished"), std::string::npos) << second.log();

  absl::StatusOr<analyzer::RunRecord> run = store->GetRun("dist-it");
  ASSERT_TRUE(run.ok()) << run.status();
  const int64_t start_ns = run->started_ns;
  absl::StatusOr<std::vector<analyzer::StoredLoad>> loads = store->LoadIntervals("dist-it");
  ASSERT_TRUE(loads.ok()) << loads.status();
  std::map<std::string, AgentTotals> totals;
  for (const analyzer::StoredLoad& load : *loads) {
    AgentTotals& t = totals[load.source_id];
    ++t.intervals;
    t.max_users = std::max(t.max_users, load.interval.active_users());
    const int64_t begin = TimeUtil::TimestampToNanoseconds(load.interval.start());
    if (t.first_start_ns == 0 || begin < t.first_start_ns) t.first_start_ns = begin;
    for (const v1::OperationStats& op : load.interval.transactions()) {
      if (op.name() == "get") t.transactions += op.count(), t.errors += op.errors();
    }
    for (const v1::OperationStats& op : load.interval.steps()) {
      if (op.name() == "get/http") t.requests += op.count();
    }
  }
  ASSERT_EQ(totals.size(), 2u);
  ASSERT_EQ(totals.count("agent-1"), 1u);
  ASSERT_EQ(totals.count("agent-2"), 1u);

  uint64_t transactions = 0, requests = 0;
  std::vector<uint32_t> users;
  for (const auto& [source, t] : totals) {
    EXPECT_GT(t.transactions, 0u) << source;
    EXPECT_EQ(t.errors, 0u) << source;
    transactions += t.transactions;
    requests += t.requests;
    users.push_back(t.max_users);
    // Started at the coordinated start or later; the clock offset estimate
    // on one host errs by far less than the 100 ms allowed here.
    EXPECT_GE(t.first_start_ns, start_ns - 100'000'000)
        << source << " started " << (start_ns - t.first_start_ns) / 1e6 << " ms early";
    std::printf(
        "%s: %d intervals, %llu transactions, %u users, started %.1f ms after the "
        "coordinated start\n",
        source.c_str(), t.intervals, static_cast<unsigned long long>(t.transactions), t.max_users,
        (t.first_start_ns - start_ns) / 1e6);
  }
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<uint32_t>{2, 3}));  // 5 users: 0, 2, 4 and 1, 3.
  // What both agents report adds up to what the server answered.
  EXPECT_EQ(transactions, requests);
  EXPECT_EQ(requests, target.requests());
  std::printf("agent-1 log:\n%s", first.log().c_str());
}

TEST(DistributedRunTest, AgentsObeyStopRunTakeTheNextRunAndFlushOnSigterm) {
  Coordinator coordinator("stop");
  analyzer::CoordinatorService& service = coordinator.service();
  loadgen::testing::HttpTestServer target;
  AgentProcess first(coordinator.address(), "agent-a");
  AgentProcess second(coordinator.address(), "agent-b");
  ASSERT_TRUE(coordinator.WaitForAgents(2)) << "agent-a:\n"
                                            << first.log() << "agent-b:\n"
                                            << second.log();

  // A long run, stopped once both agents are under way.
  ASSERT_TRUE(service
                  .DispatchRun(HttpScenario(target.port(), 4, 600),
                               {.run_id = "long", .start_delay = std::chrono::milliseconds(500)})
                  .ok());
  for (const AgentProcess* agent : {&first, &second}) {
    ASSERT_TRUE(agent->WaitForLog("run long: started", 1, std::chrono::seconds(30)))
        << agent->log();
  }
  ASSERT_TRUE(service.StopRun("long", "test over").ok());
  EXPECT_EQ(coordinator.store().GetRun("long")->state, v1::RUN_STATE_ABORTED);
  for (const AgentProcess* agent : {&first, &second}) {
    EXPECT_TRUE(agent->WaitForLog("run long: stopped after", 1, std::chrono::seconds(30)))
        << agent->log();
    EXPECT_NE(agent->log().find("run long: stopping (test over)"), std::string::npos)
        << agent->log();
    // Its RunEnd is acknowledged (hence stored) before it waits for more.
    EXPECT_TRUE(agent->WaitForLog("waiting for the next run", 1, std::chrono::seconds(30)))
        << agent->log();
  }
  EXPECT_EQ(PartEnds(coordinator.store(), "long"),
            (std::vector<std::string>{"agent-a=aborted: stopped by the coordinator (test over)",
                                      "agent-b=aborted: stopped by the coordinator (test over)"}));
  EXPECT_EQ(coordinator.store().GetRun("long")->state, v1::RUN_STATE_ABORTED);

  // Then the next run: both take it.
  ASSERT_TRUE(service
                  .DispatchRun(HttpScenario(target.port(), 2, 1),
                               {.run_id = "next", .start_delay = std::chrono::milliseconds(500)})
                  .ok());
  for (const AgentProcess* agent : {&first, &second}) {
    EXPECT_TRUE(agent->WaitForLog("run next: finished", 1, std::chrono::seconds(30)))
        << agent->log();
  }
  ASSERT_TRUE(
      WaitForState(coordinator.store(), "next", v1::RUN_STATE_COMPLETED, std::chrono::seconds(30)));
  EXPECT_EQ(service.current_run(), "");
  absl::StatusOr<std::vector<analyzer::StoredLoad>> loads =
      coordinator.store().LoadIntervals("next");
  ASSERT_TRUE(loads.ok()) << loads.status();
  std::map<std::string, uint32_t> users;
  for (const analyzer::StoredLoad& load : *loads) {
    users[load.source_id] = std::max(users[load.source_id], load.interval.active_users());
  }
  EXPECT_EQ(users, (std::map<std::string, uint32_t>{{"agent-a", 1}, {"agent-b", 1}}));

  // SIGTERM in the middle of a run: the agent stops it, flushes its
  // intervals and exits 0.
  ASSERT_TRUE(service
                  .DispatchRun(HttpScenario(target.port(), 2, 600),
                               {.run_id = "signalled", .start_delay = milliseconds(500)})
                  .ok());
  for (const AgentProcess* agent : {&first, &second}) {
    ASSERT_TRUE(agent->WaitForLog("run signalled: started", 1, std::chrono::seconds(30)))
        << agent->log();
  }
  EXPECT_EQ(first.Terminate(std::chrono::seconds(20)), 0) << first.log();
  EXPECT_EQ(second.Terminate(std::chrono::seconds(20)), 0) << second.log();
  // Both reported their part stopped before exiting: the run ended.
  EXPECT_EQ(coordinator.store().GetRun("signalled")->state, v1::RUN_STATE_ABORTED);
  EXPECT_EQ(PartEnds(coordinator.store(), "signalled"),
            (std::vector<std::string>{"agent-a=aborted: the agent shut down",
                                      "agent-b=aborted: the agent shut down"}));
  EXPECT_EQ(service.current_run(), "");
  for (const AgentProcess* agent : {&first, &second}) {
    const std::string log = agent->log();
    EXPECT_NE(log.find("run signalled: stopped after"), std::string::npos) << log;
    // Everything it sent was acknowledged before it exited.
    const size_t stopped = log.find(": stopped (");
    ASSERT_NE(stopped, std::string::npos) << log;
    unsigned long long sent = 0, acked = 0;
    ASSERT_EQ(
        std::sscanf(log.c_str() + stopped, ": stopped (%llu intervals sent, %llu", &sent, &acked),
        2)
        << log;
    EXPECT_GT(sent, 0u);
    EXPECT_EQ(sent, acked) << log;
  }
}

}  // namespace
}  // namespace tpslab
