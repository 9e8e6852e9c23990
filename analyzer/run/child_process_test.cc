#include "analyzer/run/child_process.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace tpslab::analyzer {
namespace {

using namespace std::chrono_literals;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(ChildProcessTest, WaitsForAnnouncedLineAndTerminates) {
  const std::string log = TempPath("announce.log");
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
      {"/bin/sh", "-c",
       "echo starting; sleep 0.2; echo 'listening on 127.0.0.1:4242'; exec sleep 30"},
      {.log_file = log});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> line = child->WaitForLine("listening on ", 10s);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "127.0.0.1:4242");
  EXPECT_FALSE(child->Poll().has_value());
  const ExitStatus status = child->Terminate(5s);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.Describe(), "killed by SIGTERM");
}

TEST(ChildProcessTest, ChildThatExitsFirstIsReportedWithItsLog) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "echo 'bind: address in use' >&2; exit 3"},
                          {.log_file = TempPath("exits.log")});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> line = child->WaitForLine("listening on ", 10s);
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(line.status().message().find("exit code 3"), std::string::npos) << line.status();
  EXPECT_NE(line.status().message().find("bind: address in use"), std::string::npos);
}

TEST(ChildProcessTest, WaitForLineTimesOut) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sleep", "30"}, {.log_file = TempPath("silent.log")});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> line = child->WaitForLine("listening on ", 200ms);
  EXPECT_EQ(line.status().code(), absl::StatusCode::kDeadlineExceeded) << line.status();
}

TEST(ChildProcessTest, StdinDataReachesTheChild) {
  const std::string log = TempPath("stdin.log");
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "read secret; echo \"got $secret\""},
                          {.log_file = log, .stdin_data = "s3cret\n"});
  ASSERT_TRUE(child.ok()) << child.status();
  std::optional<ExitStatus> status = child->Wait(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << status->Describe();
  EXPECT_EQ(child->LogTail(), "got s3cret");
}

TEST(ChildProcessTest, EnvironmentIsPassedOn) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn({"/bin/sh", "-c", "echo \"$TPSLAB_PROBE\""},
                          {.log_file = TempPath("env.log"), .environment = {"TPSLAB_PROBE=seen"}});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->Wait(10s).has_value());
  EXPECT_EQ(child->LogTail(), "seen");
}

TEST(ChildProcessTest, ExitCodeIsReported) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn({"/bin/sh", "-c", "exit 4"});
  ASSERT_TRUE(child.ok()) << child.status();
  std::optional<ExitStatus> status = child->Wait(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 4);
  EXPECT_FALSE(status->ok());
  EXPECT_EQ(status->Describe(), "exit code 4");
}

TEST(ChildProcessTest, MissingProgramIsAClearError) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn({"/nonexistent/ftpd", "--listen"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(child.status().message().find("/nonexistent/ftpd"), std::string::npos);
}

TEST(ChildProcessTest, TerminateKillsAChildThatIgnoresSigterm) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
      {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"},
      {.log_file = TempPath("stubborn.log")});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(child->WaitForLine("ready", 10s).ok());
  const ExitStatus status = child->Terminate(300ms);
  EXPECT_EQ(status.signal, SIGKILL);
}

TEST(ChildProcessTest, SignalReachesGrandchildrenInTheGroup) {
  const std::string log = TempPath("group.log");
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(
      {"/bin/sh", "-c", "sleep 30 & echo \"grandchild $!\"; wait"}, {.log_file = log});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> grandchild = child->WaitForLine("grandchild ", 10s);
  ASSERT_TRUE(grandchild.ok()) << grandchild.status();
  const pid_t pid = std::stoi(*grandchild);
  child->Terminate(5s);
  // The grandchild got SIGTERM too; once reaped by init it is gone.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = ::kill(pid, 0) != 0;
    if (!gone) usleep(10'000);
  }
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace tpslab::analyzer
