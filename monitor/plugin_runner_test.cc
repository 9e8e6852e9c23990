#include "monitor/plugin_runner.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stop_token>
#include <string>
#include <thread>

#include "monitor/plugin_output.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using tpslab::v1::CHECK_STATE_CRITICAL;
using tpslab::v1::CHECK_STATE_OK;
using tpslab::v1::CHECK_STATE_UNKNOWN;
using tpslab::v1::CHECK_STATE_WARNING;

constexpr const char* kPlugins = "/usr/lib/nagios/plugins/";
constexpr std::chrono::seconds kTimeout{20};

std::string Script(const std::string& name, const std::string& body) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = std::string(tmp ? tmp : "/tmp") + "/" + name;
  std::ofstream(path, std::ios::trunc) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
  return path;
}

tpslab::v1::CheckResult Check(std::vector<std::string> argv,
                              std::chrono::milliseconds timeout = kTimeout) {
  return ToCheckResult("test", RunPlugin(argv, timeout));
}

// A loopback listener that greets each connection with "hello" and closes.
class Greeter {
 public:
  Greeter() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 8);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        ssize_t ignored = write(client, "hello\r\n", 7);
        (void)ignored;
        usleep(100000);
        close(client);
      }
    });
  }
  ~Greeter() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// A port nothing listens on: bind, read the port, close.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(PluginRunnerTest, CheckLoadOk) {
  tpslab::v1::CheckResult r =
      Check({std::string(kPlugins) + "check_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000"});
  EXPECT_EQ(r.state(), CHECK_STATE_OK) << r.output();
  EXPECT_THAT(r.output(), StartsWith("LOAD OK"));
  ASSERT_GE(r.perf_data_size(), 3);
  EXPECT_EQ(r.perf_data(0).label(), "load1");
  EXPECT_EQ(r.perf_data(0).warn(), "1000.000");
  EXPECT_GT(r.duration_seconds(), 0);
}

TEST(PluginRunnerTest, CheckTcpOkAgainstALocalListener) {
  Greeter greeter;
  tpslab::v1::CheckResult r = Check({std::string(kPlugins) + "check_tcp", "-H", "127.0.0.1", "-p",
                                     std::to_string(greeter.port())});
  EXPECT_EQ(r.state(), CHECK_STATE_OK) << r.output();
  EXPECT_THAT(r.output(), HasSubstr("TCP OK"));
  ASSERT_GE(r.perf_data_size(), 1);
  EXPECT_EQ(r.perf_data(0).label(), "time");
  EXPECT_EQ(r.perf_data(0).unit(), "s");
}

TEST(PluginRunnerTest, CheckTcpWarningOnUnexpectedBanner) {
  Greeter greeter;
  tpslab::v1::CheckResult r =
      Check({std::string(kPlugins) + "check_tcp", "-H", "127.0.0.1", "-p",
             std::to_string(greeter.port()), "-e", "220 ftp", "-M", "warn"});
  EXPECT_EQ(r.state(), CHECK_STATE_WARNING) << r.output();
  EXPECT_THAT(r.output(), HasSubstr("WARNING"));
}

TEST(PluginRunnerTest, CheckTcpCriticalOnClosedPort) {
  tpslab::v1::CheckResult r = Check(
      {std::string(kPlugins) + "check_tcp", "-H", "127.0.0.1", "-p", std::to_string(ClosedPort())});
  EXPECT_EQ(r.state(), CHECK_STATE_CRITICAL) << r.output();
  EXPECT_THAT(r.output(), HasSubstr("Connection refused"));
}

TEST(PluginRunnerTest, CheckLoadUnknownOnBadArguments) {
  tpslab::v1::CheckResult r = Check({std::string(kPlugins) + "check_load", "-w", "not-a-number"});
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN) << r.output();
}

TEST(PluginRunnerTest, CheckDummyEachState) {
  for (int code = 0; code <= 3; ++code) {
    tpslab::v1::CheckResult r =
        Check({std::string(kPlugins) + "check_dummy", std::to_string(code), "dummy text"});
    EXPECT_EQ(r.state(), StateFromExitCode(code));
    EXPECT_THAT(r.output(), HasSubstr("dummy text"));
  }
}

TEST(PluginRunnerTest, HangingPluginIsKilledAndUnknown) {
  std::string path = Script("hang.sh", "echo 'starting | x=1'\nsleep 100\n");
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<PluginRun> run = RunPlugin({path}, std::chrono::milliseconds(300));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->timed_out);
  EXPECT_EQ(run->signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  tpslab::v1::CheckResult r = ToCheckResult("hang", run);
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), StartsWith("CHECK TIMEOUT: plugin killed after"));
  EXPECT_EQ(r.perf_data_size(), 1);  // what it printed before hanging
}

TEST(PluginRunnerTest, StopRequestKillsTheGroupAndIsNotATimeout) {
  const std::string started = std::string(std::getenv("TEST_TMPDIR")) + "/cancel_started";
  std::string path =
      Script("cancel.sh", "echo 'starting | x=1'\ntouch " + started + "\nsleep 100 &\nsleep 100\n");
  std::stop_source stop;
  std::thread stopper([&] {
    // Once the plugin (and its background child) is running.
    while (access(started.c_str(), F_OK) != 0) usleep(1000);
    stop.request_stop();
  });
  absl::StatusOr<PluginRun> run = RunPlugin({path}, kTimeout, 64 * 1024, stop.get_token());
  stopper.join();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->cancelled);
  EXPECT_FALSE(run->timed_out);
  EXPECT_EQ(run->signal, SIGKILL);
  EXPECT_LT(run->duration_seconds, 10);  // far below the 20 s timeout
  tpslab::v1::CheckResult r = ToCheckResult("cancel", run);
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), StartsWith("CHECK CANCELLED: plugin killed after"));
  EXPECT_THAT(r.output(), HasSubstr("because the monitor is stopping"));

  // Requested before the start: killed at once.
  run = RunPlugin({path}, kTimeout, 64 * 1024, stop.get_token());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->cancelled);
  EXPECT_EQ(run->signal, SIGKILL);
}

TEST(PluginRunnerTest, FinishedPluginIsNotCancelled) {
  std::stop_source stop;
  absl::StatusOr<PluginRun> run = RunPlugin({std::string(kPlugins) + "check_dummy", "0", "fine"},
                                            kTimeout, 64 * 1024, stop.get_token());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->cancelled);
  EXPECT_EQ(run->exit_code, 0);
}

TEST(PluginRunnerTest, BackgroundChildHoldingStdoutIsKilledWithTheGroup) {
  std::string marker = Script("bg_child.sh", "sleep 100 &\necho 'OK - done'\nexit 0\n");
  absl::StatusOr<PluginRun> run = RunPlugin({marker}, std::chrono::milliseconds(500));
  ASSERT_TRUE(run.ok());
  // The script exited at once with 0, but its child kept stdout open until
  // the timeout killed the group.
  EXPECT_EQ(run->output, "OK - done\n");
  tpslab::v1::CheckResult r = ToCheckResult("bg", run);
  EXPECT_EQ(r.state(), CHECK_STATE_OK) << r.output();
}

TEST(PluginRunnerTest, GarbageOutputAndOddExitCode) {
  std::string path = Script("garbage.sh", "printf '\\001\\377 junk | = x=y\\n'\nexit 7\n");
  tpslab::v1::CheckResult r = Check({path});
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), StartsWith("plugin exited with code 7: "));
  EXPECT_EQ(r.perf_data_size(), 0);
}

TEST(PluginRunnerTest, StderrOnlyAndSignal) {
  tpslab::v1::CheckResult r = Check({Script("stderr.sh", "echo 'oops on stderr' >&2\nexit 2\n")});
  EXPECT_EQ(r.state(), CHECK_STATE_CRITICAL);
  EXPECT_EQ(r.output(), "oops on stderr");
  r = Check({Script("suicide.sh", "kill -9 $$\n")});
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), HasSubstr("signal 9"));
}

TEST(PluginRunnerTest, MissingPluginIsUnknownNotACrash) {
  absl::StatusOr<PluginRun> run = RunPlugin({"/nonexistent/check_x"}, kTimeout);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kNotFound);
  tpslab::v1::CheckResult r = ToCheckResult("x", run);
  EXPECT_EQ(r.state(), CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), HasSubstr("cannot execute /nonexistent/check_x"));
  EXPECT_EQ(RunPlugin({}, kTimeout).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PluginRunnerTest, OutputIsBounded) {
  std::string path = Script("loud.sh", "head -c 1000000 /dev/zero | tr '\\0' a\necho\n");
  absl::StatusOr<PluginRun> run = RunPlugin({path}, kTimeout, 1000);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->output.size(), 1000u);
  EXPECT_TRUE(run->output_truncated);
  EXPECT_EQ(run->exit_code, 0);
}

TEST(SplitCommandLineTest, QuotesAndEscapes) {
  absl::StatusOr<std::vector<std::string>> words =
      SplitCommandLine("check_tcp -H 127.0.0.1 -e '220 ftp' -s \"a\\\"b\" x\\ y");
  ASSERT_TRUE(words.ok());
  EXPECT_THAT(*words, ::testing::ElementsAre("check_tcp", "-H", "127.0.0.1", "-e", "220 ftp", "-s",
                                             "a\"b", "x y"));
  EXPECT_THAT(std::string(SplitCommandLine("a 'b").status().message()),
              HasSubstr("unterminated '"));
  EXPECT_THAT(std::string(SplitCommandLine("  ").status().message()), HasSubstr("empty command"));
}

}  // namespace
}  // namespace tpslab::monitor
