#include "monitor/process_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "monitor/process_parsers.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Starts `argv` as a child process; the caller kills it.
pid_t Spawn(std::vector<std::string> args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

void Stop(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

// Waits until /proc/PID/comm shows `comm` (after exec).
void WaitForComm(pid_t pid, const std::string& comm) {
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<std::string> text = ReadFileOnce("/proc/" + std::to_string(pid) + "/comm");
    if (text.ok() && *text == comm + "\n") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  FAIL() << "pid " << pid << " never became " << comm;
}

// A copy of /bin/sleep under a name no other process on the machine has.
std::string UniqueSleep(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = std::string(tmp ? tmp : "/tmp") + "/" + name;
  std::filesystem::copy_file("/bin/sleep", path, std::filesystem::copy_options::overwrite_existing);
  chmod(path.c_str(), 0755);
  return path;
}

TEST(ProcessSelectorTest, ParsesNamesPatternsAndForcedKinds) {
  absl::StatusOr<ProcessSelector> name = ParseProcessSelector("ftpd");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->kind, ProcessSelector::Kind::kName);
  EXPECT_EQ(name->Label(), "name:ftpd");
  absl::StatusOr<ProcessSelector> pattern = ParseProcessSelector("python3 .*server", true);
  ASSERT_TRUE(pattern.ok());
  EXPECT_EQ(pattern->kind, ProcessSelector::Kind::kPattern);
  EXPECT_EQ(pattern->Label(), "pattern:python3 .*server+children");
  EXPECT_EQ(ParseProcessSelector("pattern:ftpd")->kind, ProcessSelector::Kind::kPattern);
  EXPECT_EQ(ParseProcessSelector("name:a b")->kind, ProcessSelector::Kind::kName);
  EXPECT_EQ(ParseProcessSelector("a_very_long_process_name")->kind,
            ProcessSelector::Kind::kPattern);
  EXPECT_EQ(PidSelector(42).Label(), "pid:42");
  EXPECT_THAT(Message(ParseProcessSelector("").status()), HasSubstr("empty process name"));
  EXPECT_THAT(Message(ParseProcessSelector("ftpd[").status()),
              HasSubstr("invalid process pattern 'ftpd['"));
}

TEST(ProcessCollectorTest, WatchesSelfByPid) {
  ProcessCollector collector({PidSelector(getpid())}, {});
  std::vector<tpslab::v1::ProcessSample> samples;
  collector.Collect(samples);
  ASSERT_EQ(samples.size(), 1u);
  const tpslab::v1::ProcessSample& s = samples[0];
  EXPECT_TRUE(s.alive());
  EXPECT_EQ(s.pid(), getpid());
  EXPECT_EQ(s.selector(), "pid:" + std::to_string(getpid()));
  EXPECT_EQ(s.processes(), 1u);
  EXPECT_GT(s.rss_bytes(), 0u);
  EXPECT_GE(s.threads(), 1u);
  EXPECT_GE(s.open_fds(), 3u);
  EXPECT_GT(s.voluntary_ctx_switches() + s.involuntary_ctx_switches(), 0u);
  EXPECT_FALSE(collector.cpu_utilisation(0).has_value());
  collector.Collect(samples);
  EXPECT_TRUE(collector.cpu_utilisation(0).has_value());
  EXPECT_EQ(collector.stats().errors, 0u);
}

TEST(ProcessCollectorTest, VanishedPidIsMarkedNotFatal) {
  pid_t child = Spawn({"/bin/sleep", "30"});
  ProcessCollector collector({PidSelector(child)}, {});
  std::vector<tpslab::v1::ProcessSample> samples;
  collector.Collect(samples);
  EXPECT_TRUE(samples[0].alive());
  Stop(child);
  collector.Collect(samples);
  EXPECT_FALSE(samples[0].alive());
  EXPECT_EQ(samples[0].pid(), child);
  EXPECT_EQ(samples[0].processes(), 0u);
  EXPECT_EQ(collector.stats().errors, 1u);
}

TEST(ProcessCollectorTest, FollowsANamedProcessThatRestarts) {
  std::string path = UniqueSleep("tpslabrestart");
  pid_t first = Spawn({path, "30"});
  WaitForComm(first, "tpslabrestart");
  ProcessCollector collector({*ParseProcessSelector("tpslabrestart")}, {.rescan_every = 1000});
  std::vector<tpslab::v1::ProcessSample> samples;
  collector.Collect(samples);
  ASSERT_TRUE(samples[0].alive());
  EXPECT_EQ(samples[0].pid(), first);
  EXPECT_EQ(samples[0].command(), "tpslabrestart");
  Stop(first);
  collector.Collect(samples);
  EXPECT_FALSE(samples[0].alive());
  pid_t second = Spawn({path, "30"});
  WaitForComm(second, "tpslabrestart");
  collector.Collect(samples);
  EXPECT_TRUE(samples[0].alive());
  EXPECT_EQ(samples[0].pid(), second);
  Stop(second);
}

TEST(ProcessCollectorTest, PatternWithChildren) {
  // sh runs two children; the pattern matches only sh's command line.
  pid_t shell = Spawn({"/bin/sh", "-c", "sleep 30 & sleep 30 & wait # tpslab-marker-7781"});
  ProcessCollector collector({*ParseProcessSelector("tpslab-marker-7781", true)},
                             {.rescan_every = 1});
  std::vector<tpslab::v1::ProcessSample> samples;
  for (int i = 0; i < 500; ++i) {
    collector.Collect(samples);
    if (samples[0].processes() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(samples[0].processes(), 3u);
  EXPECT_EQ(samples[0].pid(), shell);
  EXPECT_EQ(samples[0].selector(), "pattern:tpslab-marker-7781+children");
  // Kill the children first, then the shell.
  std::vector<ProcessEntry> all = ScanProcesses("/proc");
  for (const ProcessEntry& e : all) {
    if (e.ppid == shell) kill(e.pid, SIGKILL);
  }
  Stop(shell);
}

// Reads the CPU seconds (own + reaped children) of `pid` from /proc.
double CpuWithReapedChildren(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<PidStat> stat = ParsePidStat(text);
  if (!stat.ok()) return -1;
  return static_cast<double>(stat->utime_ticks + stat->stime_ticks + stat->cutime_ticks +
                             stat->cstime_ticks) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(ProcessCollectorTest, AGroupIsChargedForChildrenThatCameAndWent) {
  // The shell runs a CPU-bound child to its end and reaps it; whether or not
  // a collection saw that child alive, its CPU stays the group's.
  pid_t shell = Spawn({"/bin/sh", "-c",
                       "/bin/sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'; "
                       "sleep 30 & wait # tpslab-marker-7782"});
  ProcessCollector group({*ParseProcessSelector("tpslab-marker-7782", true)},
                         {.rescan_every = 1000});
  ProcessCollector alone({PidSelector(shell)}, {});
  std::vector<tpslab::v1::ProcessSample> samples;
  group.Collect(samples);
  double reaped = 0;
  for (int i = 0; i < 3000 && reaped < 0.05; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    reaped = CpuWithReapedChildren(shell);
  }
  ASSERT_GE(reaped, 0.05) << "the busy child did not finish";
  group.Collect(samples);
  ASSERT_TRUE(samples[0].alive());
  EXPECT_GE(samples[0].cpu_user_seconds() + samples[0].cpu_system_seconds(), reaped);
  // A single pid is charged only for itself.
  alone.Collect(samples);
  EXPECT_LT(samples[0].cpu_user_seconds() + samples[0].cpu_system_seconds(), reaped);
  Stop(shell);
}

TEST(ProcessCollectorTest, NoMatchGivesADeadSample) {
  ProcessCollector collector({*ParseProcessSelector("tpslabnomatch")}, {});
  std::vector<tpslab::v1::ProcessSample> samples;
  collector.Collect(samples);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_FALSE(samples[0].alive());
  EXPECT_EQ(samples[0].processes(), 0u);
}

TEST(ProcessCollectorTest, GarbledStatFileIsAnErrorNotACrash) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string root = std::string(tmp ? tmp : "/tmp") + "/fakeproc_pid";
  std::filesystem::create_directories(root + "/77/fd");
  std::ofstream(root + "/77/stat") << "77 (x) S 1 garbage";
  ProcessCollector collector({PidSelector(77)}, {.proc_root = root});
  std::vector<tpslab::v1::ProcessSample> samples;
  collector.Collect(samples);
  EXPECT_FALSE(samples[0].alive());
  EXPECT_EQ(collector.stats().errors, 1u);
}

}  // namespace
}  // namespace tpslab::monitor
