#include "monitor/process_parsers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "monitor/test_fixture.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(PidStatTest, ParsesRecordedFixture) {
  absl::StatusOr<PidStat> stat = ParsePidStat(ReadFixture("pid_stat"));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->pid, 5648);
  EXPECT_EQ(stat->comm, "cat");
  EXPECT_EQ(stat->state, 'R');
  EXPECT_EQ(stat->ppid, 5632);
  EXPECT_EQ(stat->minor_faults, 115u);
  EXPECT_EQ(stat->num_threads, 1);
  EXPECT_EQ(stat->start_time_ticks, 235523u);
  EXPECT_EQ(stat->vsize_bytes, 3133440u);
  EXPECT_EQ(stat->rss_pages, 366);
}

TEST(PidStatTest, CommWithSpacesAndParentheses) {
  absl::StatusOr<PidStat> stat = ParsePidStat(ReadFixture("pid_stat_odd_comm"));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->comm, "a) b (c)");
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->ppid, 1);
  EXPECT_EQ(stat->major_faults, 3u);
  EXPECT_EQ(stat->utime_ticks, 150u);
  EXPECT_EQ(stat->stime_ticks, 25u);
  EXPECT_EQ(stat->num_threads, 4);
  EXPECT_EQ(stat->rss_pages, 250);
}

TEST(PidStatTest, KernelThread) {
  absl::StatusOr<PidStat> stat = ParsePidStat(ReadFixture("pid_stat_kthread"));
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->comm, "kthreadd");
  EXPECT_EQ(stat->ppid, 0);
  EXPECT_EQ(stat->rss_pages, 0);
}

TEST(PidStatTest, RejectsTruncatedAndGarbage) {
  std::string full = ReadFixture("pid_stat");
  EXPECT_THAT(Message(ParsePidStat(full.substr(0, 40)).status()), HasSubstr("truncated after"));
  EXPECT_THAT(Message(ParsePidStat(full.substr(0, 8)).status()), HasSubstr("missing '(comm)'"));
  EXPECT_THAT(Message(ParsePidStat("").status()), HasSubstr("missing '(comm)'"));
  EXPECT_THAT(Message(ParsePidStat("x (a) S 1").status()), HasSubstr("bad pid"));
  EXPECT_THAT(Message(ParsePidStat("1 (a) S 1 2 3 zz").status()), HasSubstr("bad field 7 'zz'"));
  EXPECT_THAT(Message(ParsePidStat("1 (a) Sleeping 1").status()), HasSubstr("bad state"));
}

TEST(PidStatusTest, ParsesRecordedFixture) {
  absl::StatusOr<PidStatus> status = ParsePidStatus(ReadFixture("pid_status"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->name, "cat");
  EXPECT_GT(status->ppid, 0);
  EXPECT_EQ(status->threads, 1);
  EXPECT_GT(status->vm_rss_bytes, 0u);
  EXPECT_EQ(status->vm_rss_bytes % 1024, 0u);
}

TEST(PidStatusTest, KernelThreadHasNoRss) {
  absl::StatusOr<PidStatus> status = ParsePidStatus(ReadFixture("pid_status_kthread"));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->name, "kthreadd");
  EXPECT_EQ(status->vm_rss_bytes, 0u);
}

TEST(PidStatusTest, ParsesContextSwitches) {
  absl::StatusOr<PidStatus> status = ParsePidStatus(
      "Name:\tftpd worker\nPPid:\t1\nThreads:\t3\nVmRSS:\t  1000 kB\n"
      "voluntary_ctxt_switches:\t77\nnonvoluntary_ctxt_switches:\t5\n");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->name, "ftpd worker");
  EXPECT_EQ(status->threads, 3);
  EXPECT_EQ(status->vm_rss_bytes, 1024000u);
  EXPECT_EQ(status->voluntary_ctxt_switches, 77u);
  EXPECT_EQ(status->nonvoluntary_ctxt_switches, 5u);
}

TEST(PidStatusTest, RejectsTruncatedAndGarbage) {
  EXPECT_THAT(Message(ParsePidStatus("Name:\tx\nPPid:\t1\n").status()),
              HasSubstr("missing Threads"));
  EXPECT_THAT(Message(ParsePidStatus("").status()), HasSubstr("missing Name"));
  EXPECT_THAT(Message(ParsePidStatus("Name:\tx\nPPid:\tz\nThreads:\t1\n").status()),
              HasSubstr("bad value for PPid"));
  EXPECT_THAT(Message(ParsePidStatus("Name:\tx\nPPid:\t1\nThreads:\t1\nVmRSS:\t5 MB\n").status()),
              HasSubstr("expected kB for VmRSS"));
}

TEST(PidIoTest, ParsesRecordedFixture) {
  absl::StatusOr<PidIo> io = ParsePidIo(ReadFixture("pid_io"));
  ASSERT_TRUE(io.ok()) << io.status();
  EXPECT_EQ(io->rchar, 6976u);
  EXPECT_EQ(io->syscr, 10u);
  EXPECT_EQ(io->read_bytes, 0u);
  absl::StatusOr<PidIo> busy = ParsePidIo(
      "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\n"
      "cancelled_write_bytes: 0\n");
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->write_bytes, 8192u);
}

TEST(PidIoTest, RejectsTruncatedAndGarbage) {
  EXPECT_THAT(Message(ParsePidIo("rchar: 1\nwchar: 2\n").status()),
              HasSubstr("missing read_bytes or write_bytes"));
  EXPECT_THAT(Message(ParsePidIo("rchar: x\n").status()), HasSubstr("bad value for rchar"));
  EXPECT_THAT(Message(ParsePidIo("garbage\n").status()), HasSubstr("expected 'key: value'"));
}

}  // namespace
}  // namespace tpslab::monitor
