#include "monitor/host_collector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "monitor/test_fixture.h"

namespace tpslab::monitor {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const tpslab::v1::Metric* FindMetric(const tpslab::v1::HostSample& sample, const std::string& name,
                                     const std::string& label_value = "") {
  for (const tpslab::v1::Metric& m : sample.metrics()) {
    if (m.name() != name) continue;
    if (label_value.empty()) return &m;
    for (const auto& [k, v] : m.labels()) {
      if (v == label_value) return &m;
    }
  }
  return nullptr;
}

TEST(HostCollectorTest, ReadsThisMachine) {
  HostCollector host({});
  tpslab::v1::HostSample sample;
  host.Collect(sample);
  // CPU ticks are 10 ms: wait a few so the busy ratio has a denominator.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  host.Collect(sample);  // second read has rates
  EXPECT_TRUE(sample.errors().empty()) << sample.errors(0);
  EXPECT_TRUE(sample.has_time());
  EXPECT_FALSE(sample.hostname().empty());
  ASSERT_EQ(sample.cpus_size(), sysconf(_SC_NPROCESSORS_ONLN) + 1);
  EXPECT_EQ(sample.cpus(0).cpu(), "total");
  EXPECT_EQ(sample.cpus(1).cpu(), "cpu0");
  EXPECT_GT(sample.cpus(0).idle() + sample.cpus(0).user(), 0);
  EXPECT_EQ(sample.pressures_size(), 3);
  EXPECT_GE(sample.interfaces_size(), 1);
  EXPECT_NE(FindMetric(sample, "node_memory_MemAvailable_bytes"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_memory_Active_anon_bytes"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_vmstat_pgfault"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_netstat_Tcp_RetransSegs"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_netstat_TcpExt_ListenOverflows"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_sockstat_TCP_inuse"), nullptr);
  EXPECT_NE(FindMetric(sample, "node_filefd_allocated"), nullptr);
  EXPECT_NE(FindMetric(sample, "tpslab_cpu_busy_ratio", "total"), nullptr);
  EXPECT_NE(FindMetric(sample, "tpslab_network_receive_bytes_per_second", "lo"), nullptr);
  ASSERT_EQ(host.stats().size(), 10u);
  for (const CollectorStats& s : host.stats()) {
    EXPECT_EQ(s.runs, 2u) << s.name;
    EXPECT_EQ(s.errors, 0u) << s.name;
  }
}

class FakeProcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = std::string(tmp ? tmp : "/tmp") + "/fakeproc_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (const char* dir : {"", "/net", "/pressure", "/sys", "/sys/fs"}) {
      mkdir((root_ + dir).c_str(), 0755);
    }
  }
  void Write(const std::string& name, const std::string& contents) {
    std::ofstream(root_ + "/" + name, std::ios::trunc) << contents;
  }
  void WriteFixtures() {
    Write("stat", ReadFixture("proc_stat"));
    Write("loadavg", ReadFixture("proc_loadavg"));
    Write("pressure/cpu", ReadFixture("pressure_cpu"));
    Write("pressure/memory", ReadFixture("pressure_memory"));
    Write("pressure/io", ReadFixture("pressure_io"));
    Write("meminfo", ReadFixture("proc_meminfo"));
    Write("vmstat", ReadFixture("proc_vmstat"));
    Write("net/dev", ReadFixture("net_dev"));
    Write("net/snmp", ReadFixture("net_snmp"));
    Write("net/netstat", ReadFixture("net_netstat"));
    Write("net/sockstat", ReadFixture("net_sockstat"));
    Write("diskstats", ReadFixture("proc_diskstats"));
    Write("sys/fs/file-nr", ReadFixture("file_nr"));
  }
  std::string root_;
};

TEST_F(FakeProcTest, FixturesGiveACompleteSample) {
  WriteFixtures();
  HostCollector host({.proc_root = root_, .user_hz = 100, .page_size = 4096, .hostname = "h"});
  tpslab::v1::HostSample sample;
  host.Collect(sample);
  EXPECT_TRUE(sample.errors().empty()) << sample.errors(0);
  EXPECT_EQ(sample.hostname(), "h");
  ASSERT_EQ(sample.cpus_size(), 3);
  EXPECT_DOUBLE_EQ(sample.cpus(0).user(), 2390.53);
  ASSERT_NE(FindMetric(sample, "node_netstat_Tcp_ActiveOpens"), nullptr);
  EXPECT_EQ(FindMetric(sample, "node_netstat_Tcp_ActiveOpens")->value(), 519);
  EXPECT_TRUE(FindMetric(sample, "node_netstat_Tcp_ActiveOpens")->counter());
  EXPECT_FALSE(FindMetric(sample, "node_netstat_Tcp_CurrEstab")->counter());
  EXPECT_EQ(FindMetric(sample, "node_sockstat_TCP_mem_bytes")->value(), 336.0 * 4096);
  // loop devices are skipped, vda and zram0 kept.
  ASSERT_EQ(sample.disks_size(), 2);
  EXPECT_EQ(sample.disks(0).name(), "vda");
  EXPECT_EQ(sample.disks(0).read_bytes(), 4249634u * 512);
}

TEST_F(FakeProcTest, MissingAndMalformedFilesAreMarkedAndCounted) {
  WriteFixtures();
  unlink((root_ + "/pressure/io").c_str());
  Write("meminfo", "MemTotal: lots\n");
  HostCollector host({.proc_root = root_, .user_hz = 100, .page_size = 4096, .hostname = "h"});
  tpslab::v1::HostSample sample;
  host.Collect(sample);
  ASSERT_EQ(sample.errors_size(), 2);
  EXPECT_THAT(sample.errors(0), HasSubstr("pressure: cannot open"));
  EXPECT_THAT(sample.errors(0), HasSubstr("pressure/io"));
  EXPECT_THAT(sample.errors(1), StartsWith("meminfo: /proc/meminfo line 1: bad value"));
  EXPECT_EQ(sample.pressures_size(), 2);  // cpu and memory still read
  EXPECT_EQ(sample.cpus_size(), 3);       // other collectors unaffected
  EXPECT_EQ(host.stats()[2].errors, 1u);  // pressure
  EXPECT_EQ(host.stats()[3].errors, 1u);  // meminfo
  EXPECT_EQ(host.stats()[0].errors, 0u);  // stat
  // The file comes back: the next read succeeds.
  Write("pressure/io", ReadFixture("pressure_io"));
  Write("meminfo", ReadFixture("proc_meminfo"));
  host.Collect(sample);
  EXPECT_TRUE(sample.errors().empty());
}

TEST_F(FakeProcTest, CountersGoingBackwardsAndHotPluggedCpus) {
  WriteFixtures();
  Write("stat",
        "cpu  1000 0 1000 1000 10 0 0 0 0 0\ncpu0 500 0 500 500 5 0 0 0 0 0\n"
        "cpu1 500 0 500 500 5 0 0 0 0 0\n");
  HostCollector host({.proc_root = root_, .user_hz = 100, .page_size = 4096, .hostname = "h"});
  tpslab::v1::HostSample sample;
  host.Collect(sample);
  // iowait steps back on cpu0 (clamped); cpu2 appears.
  Write("stat",
        "cpu  1100 0 1100 1100 9 0 0 0 0 0\ncpu0 550 0 550 550 4 0 0 0 0 0\n"
        "cpu1 550 0 550 550 5 0 0 0 0 0\ncpu2 1 0 1 1 0 0 0 0 0 0\n");
  host.Collect(sample);
  ASSERT_EQ(sample.cpus_size(), 4);
  EXPECT_DOUBLE_EQ(sample.cpus(1).iowait(), 0.05);
  EXPECT_DOUBLE_EQ(sample.cpus(0).iowait(), 0.10);
  EXPECT_EQ(sample.cpus(3).cpu(), "cpu2");
  EXPECT_EQ(host.clamped_counters(), 2u);
  EXPECT_EQ(host.cpu_resets(), 1u);
  // cpu1 and cpu2 go offline.
  Write("stat", "cpu  600 0 600 600 5 0 0 0 0 0\ncpu0 600 0 600 600 5 0 0 0 0 0\n");
  host.Collect(sample);
  EXPECT_TRUE(sample.errors().empty());
  ASSERT_EQ(sample.cpus_size(), 2);
  EXPECT_DOUBLE_EQ(sample.cpus(1).user(), 6.0);
}

TEST_F(FakeProcTest, InterfacesAppearAndVanish) {
  WriteFixtures();
  const std::string header =
      ReadFixture("net_dev").substr(0, ReadFixture("net_dev").find("    lo"));
  Write("net/dev", header + "    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n");
  HostCollector host({.proc_root = root_, .user_hz = 100, .page_size = 4096, .hostname = "h"});
  tpslab::v1::HostSample sample;
  host.Collect(sample);
  ASSERT_EQ(sample.interfaces_size(), 1);
  Write("net/dev", header +
                       "    lo: 200 2 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n"
                       "  veth9: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n");
  host.Collect(sample);
  ASSERT_EQ(sample.interfaces_size(), 2);
  EXPECT_NE(FindMetric(sample, "tpslab_network_receive_bytes_per_second", "lo"), nullptr);
  EXPECT_EQ(FindMetric(sample, "tpslab_network_receive_bytes_per_second", "veth9"), nullptr);
  Write("net/dev", header + "  veth9: 50 2 0 0 0 0 0 0 50 2 0 0 0 0 0 0\n");
  host.Collect(sample);
  ASSERT_EQ(sample.interfaces_size(), 1);
  EXPECT_EQ(sample.interfaces(0).name(), "veth9");
  EXPECT_NE(FindMetric(sample, "tpslab_network_receive_bytes_per_second", "veth9"), nullptr);
}

}  // namespace
}  // namespace tpslab::monitor
