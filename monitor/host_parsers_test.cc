#include "monitor/host_parsers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "monitor/test_fixture.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Recorded from this machine: "cpu  239053 0 34524 194629 900 0 183 81 0 0".
TEST(ProcStatTest, ParsesRecordedFixture) {
  absl::StatusOr<ProcStat> stat = ParseProcStat(ReadFixture("proc_stat"), 100);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(stat->total.index, -1);
  EXPECT_DOUBLE_EQ(stat->total.user, 2390.53);
  EXPECT_DOUBLE_EQ(stat->total.system, 345.24);
  EXPECT_DOUBLE_EQ(stat->total.idle, 1946.29);
  EXPECT_DOUBLE_EQ(stat->total.iowait, 9.0);
  EXPECT_DOUBLE_EQ(stat->total.steal, 0.81);
  ASSERT_EQ(stat->cpus.size(), 2u);
  EXPECT_EQ(stat->cpus[1].index, 1);
  EXPECT_DOUBLE_EQ(stat->cpus[1].user, 1255.20);
  EXPECT_EQ(stat->context_switches, 2071442u);
  EXPECT_GT(stat->boot_time, 1'600'000'000u);
  EXPECT_GT(stat->forks, 0u);
}

TEST(ProcStatTest, OfflineCpuLeavesAGap) {
  absl::StatusOr<ProcStat> stat = ParseProcStat(
      "cpu  10 0 10 10 0 0 0 0 0 0\ncpu0 5 0 5 5 0 0 0 0 0 0\ncpu3 5 0 5 5 0 0 0 0 0 0\n", 100);
  ASSERT_TRUE(stat.ok()) << stat.status();
  ASSERT_EQ(stat->cpus.size(), 2u);
  EXPECT_EQ(stat->cpus[1].index, 3);
}

TEST(ProcStatTest, OldKernelWithFourFields) {
  absl::StatusOr<ProcStat> stat = ParseProcStat("cpu 1 2 3 4\n", 100);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_DOUBLE_EQ(stat->total.idle, 0.04);
  EXPECT_DOUBLE_EQ(stat->total.steal, 0.0);
}

TEST(ProcStatTest, RejectsGarbage) {
  EXPECT_THAT(Message(ParseProcStat("cpu 1 2 x 4\n", 100).status()),
              HasSubstr("/proc/stat line 1: bad number 'x'"));
  EXPECT_THAT(Message(ParseProcStat("cpu 1 2\n", 100).status()),
              HasSubstr("fewer than 4 CPU fields"));
  EXPECT_THAT(Message(ParseProcStat("cpuX 1 2 3 4\ncpu 1 2 3 4\n", 100).status()),
              HasSubstr("bad CPU name"));
  EXPECT_THAT(Message(ParseProcStat("ctxt 5\n", 100).status()), HasSubstr("no 'cpu' line"));
  EXPECT_THAT(Message(ParseProcStat("", 100).status()), HasSubstr("no 'cpu' line"));
  EXPECT_THAT(Message(ParseProcStat("cpu 1 2 3 4\nctxt -1\n", 100).status()),
              HasSubstr("line 2: bad value for ctxt"));
  EXPECT_THAT(Message(ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\ncpu0 1 2 3 4\n", 100).status()),
              HasSubstr("duplicate CPU"));
  EXPECT_THAT(Message(ParseProcStat("cpu 1 2 3 4\n", 0).status()), HasSubstr("USER_HZ"));
}

TEST(ProcStatTest, TruncatedFileFailsOrParsesWhatIsComplete) {
  std::string full = ReadFixture("proc_stat");
  // Cut in the middle of the first CPU line: the number is cut too, but a
  // truncated number still parses; the line must have its 4 fields.
  EXPECT_FALSE(ParseProcStat(full.substr(0, 12), 100).ok());
  EXPECT_TRUE(ParseProcStat(full.substr(0, full.find("cpu0")), 100).ok());
}

ProcStat Stat(std::vector<std::pair<int, double>> idles, double user) {
  ProcStat stat;
  for (auto [index, idle] : idles) {
    CpuTimes cpu;
    cpu.index = index;
    cpu.idle = idle;
    cpu.user = user;
    cpu.iowait = 1;
    stat.cpus.push_back(cpu);
    stat.total.idle += idle;
    stat.total.user += user;
    stat.total.iowait += 1;
  }
  return stat;
}

TEST(CpuClampTest, CounterThatGoesBackASmallStepKeepsItsPreviousValue) {
  CpuClamp clamp;
  ProcStat first = Stat({{0, 100}, {1, 100}}, 10);
  EXPECT_EQ(clamp.Apply(first), 0);
  ProcStat second = Stat({{0, 99.5}, {1, 101}}, 11);  // cpu0 idle stepped back 0.5 s
  EXPECT_EQ(clamp.Apply(second), 1);                  // only cpu0 idle; the total still grew
  EXPECT_DOUBLE_EQ(second.cpus[0].idle, 100);
  EXPECT_DOUBLE_EQ(second.cpus[1].idle, 101);
  EXPECT_DOUBLE_EQ(second.cpus[0].user, 11);
  ProcStat third = Stat({{0, 100.5}, {1, 102}}, 12);
  EXPECT_EQ(clamp.Apply(third), 0);
  EXPECT_DOUBLE_EQ(third.cpus[0].idle, 100.5);
  EXPECT_EQ(clamp.resets(), 0u);
}

TEST(CpuClampTest, IowaitGoingBackIsClamped) {
  CpuClamp clamp;
  ProcStat first = Stat({{0, 100}}, 10);
  first.cpus[0].iowait = 5;
  clamp.Apply(first);
  ProcStat second = Stat({{0, 101}}, 10);
  second.cpus[0].iowait = 4.99;
  clamp.Apply(second);
  EXPECT_DOUBLE_EQ(second.cpus[0].iowait, 5);
}

TEST(CpuClampTest, LargeJumpBackResets) {
  CpuClamp clamp;
  ProcStat first = Stat({{0, 100}, {1, 100}}, 10);
  clamp.Apply(first);
  ProcStat second = Stat({{0, 50}, {1, 101}}, 10);
  clamp.Apply(second);
  EXPECT_DOUBLE_EQ(second.cpus[0].idle, 50);
  EXPECT_GE(clamp.resets(), 1u);
  ProcStat third = Stat({{0, 51}, {1, 102}}, 10);
  clamp.Apply(third);
  EXPECT_DOUBLE_EQ(third.cpus[0].idle, 51);
}

TEST(CpuClampTest, HotPluggedCpusAppearAndDisappear) {
  CpuClamp clamp;
  ProcStat two = Stat({{0, 100}, {1, 100}}, 10);
  clamp.Apply(two);
  // cpu1 goes offline: only cpu0 is listed, and the total loses cpu1's time.
  ProcStat one = Stat({{0, 101}}, 10);
  clamp.Apply(one);
  ASSERT_EQ(one.cpus.size(), 1u);
  EXPECT_DOUBLE_EQ(one.cpus[0].idle, 101);
  EXPECT_DOUBLE_EQ(one.total.idle, 101);  // a jump back of 99 s: reset, not clamped
  // cpu1 comes back with a lower idle than it had: it starts fresh.
  ProcStat back = Stat({{0, 102}, {1, 90}}, 10);
  clamp.Apply(back);
  EXPECT_DOUBLE_EQ(back.cpus[1].idle, 90);
  // A new cpu2 appears.
  ProcStat three = Stat({{0, 103}, {1, 91}, {2, 5}}, 10);
  clamp.Apply(three);
  EXPECT_DOUBLE_EQ(three.cpus[2].idle, 5);
  EXPECT_GE(clamp.resets(), 3u);
}

TEST(LoadAvgTest, ParsesFixtureAndRejectsGarbage) {
  absl::StatusOr<LoadAvg> load = ParseLoadAvg(ReadFixture("proc_loadavg"));
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_GE(load->load1, 0);
  EXPECT_GT(load->total, 0u);
  load = ParseLoadAvg("0.52 0.58 0.59 2/187 4242\n");
  ASSERT_TRUE(load.ok());
  EXPECT_DOUBLE_EQ(load->load1, 0.52);
  EXPECT_DOUBLE_EQ(load->load15, 0.59);
  EXPECT_EQ(load->running, 2u);
  EXPECT_EQ(load->total, 187u);
  EXPECT_THAT(Message(ParseLoadAvg("").status()), HasSubstr("/proc/loadavg: empty"));
  EXPECT_THAT(Message(ParseLoadAvg("0.52 0.58\n").status()), HasSubstr("bad load averages"));
  EXPECT_THAT(Message(ParseLoadAvg("0.52 0.58 0.59 2-187\n").status()),
              HasSubstr("missing running/total"));
}

TEST(PressureTest, ParsesFixtures) {
  for (const char* name : {"pressure_cpu", "pressure_memory", "pressure_io"}) {
    absl::StatusOr<PressureStat> pressure = ParsePressure(ReadFixture(name));
    ASSERT_TRUE(pressure.ok()) << name << ": " << pressure.status();
    EXPECT_TRUE(pressure->full.has_value()) << name;
  }
  absl::StatusOr<PressureStat> cpu = ParsePressure(
      "some avg10=4.64 avg60=5.26 avg300=6.12 total=106753262\n"
      "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  ASSERT_TRUE(cpu.ok());
  EXPECT_DOUBLE_EQ(cpu->some.avg10, 4.64);
  EXPECT_DOUBLE_EQ(cpu->some.avg300, 6.12);
  EXPECT_EQ(cpu->some.total_us, 106753262u);
}

TEST(PressureTest, OldKernelWithoutFullLine) {
  absl::StatusOr<PressureStat> cpu =
      ParsePressure("some avg10=0.10 avg60=0.00 avg300=0.00 total=42\n");
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->full.has_value());
}

TEST(PressureTest, RejectsGarbage) {
  EXPECT_THAT(Message(ParsePressure("").status()), HasSubstr("no 'some' line"));
  EXPECT_THAT(Message(ParsePressure("some avg10=x avg60=0 avg300=0 total=1\n").status()),
              HasSubstr("bad value for avg10"));
  EXPECT_THAT(Message(ParsePressure("some avg10=0 avg60=0 avg300=0\n").status()),
              HasSubstr("expected avg10, avg60, avg300, total"));
  EXPECT_THAT(Message(ParsePressure("half avg10=0 avg60=0 avg300=0 total=1\n").status()),
              HasSubstr("expected 'some' or 'full'"));
}

TEST(MeminfoTest, ParsesFixtureInBytes) {
  absl::StatusOr<NamedValues> mem = ParseMeminfo(ReadFixture("proc_meminfo"));
  ASSERT_TRUE(mem.ok()) << mem.status();
  ASSERT_FALSE(mem->empty());
  EXPECT_EQ((*mem)[0].first, "MemTotal");
  EXPECT_EQ((*mem)[0].second % 1024, 0u);
  bool found_anon = false, found_hugepages = false;
  for (const auto& [name, value] : *mem) {
    if (name == "Active(anon)") found_anon = true;
    if (name == "HugePages_Total") found_hugepages = true;
  }
  EXPECT_TRUE(found_anon);
  EXPECT_TRUE(found_hugepages);
  absl::StatusOr<NamedValues> small = ParseMeminfo("MemTotal:  2 kB\nHugePages_Free: 3\n");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)[0].second, 2048u);
  EXPECT_EQ((*small)[1].second, 3u);
}

TEST(MeminfoTest, RejectsGarbage) {
  EXPECT_THAT(Message(ParseMeminfo("").status()), HasSubstr("/proc/meminfo: empty"));
  EXPECT_THAT(Message(ParseMeminfo("MemTotal 5 kB\n").status()),
              HasSubstr("line 1: expected 'Key: value'"));
  EXPECT_THAT(Message(ParseMeminfo("MemTotal: 5 MB\n").status()), HasSubstr("unknown unit 'MB'"));
  EXPECT_THAT(Message(ParseMeminfo("MemTotal: 1\nMemFree: -5 kB\n").status()),
              HasSubstr("line 2: bad value"));
}

TEST(VmstatTest, ParsesFixture) {
  absl::StatusOr<NamedValues> vm = ParseVmstat(ReadFixture("proc_vmstat"));
  ASSERT_TRUE(vm.ok()) << vm.status();
  bool found = false;
  for (const auto& [name, value] : *vm) found |= name == "pgfault" && value > 0;
  EXPECT_TRUE(found);
  EXPECT_THAT(Message(ParseVmstat("pgfault\n").status()), HasSubstr("expected 'key value'"));
  EXPECT_THAT(Message(ParseVmstat("pgfault 1 2\n").status()), HasSubstr("expected 'key value'"));
}

TEST(NetDevTest, ParsesFixture) {
  absl::StatusOr<std::vector<NetDevStat>> devs = ParseNetDev(ReadFixture("net_dev"));
  ASSERT_TRUE(devs.ok()) << devs.status();
  ASSERT_EQ(devs->size(), 4u);
  EXPECT_EQ((*devs)[0].name, "lo");
  EXPECT_EQ((*devs)[0].rx_bytes, 161909582u);
  EXPECT_EQ((*devs)[0].rx_packets, 19643u);
  EXPECT_EQ((*devs)[0].tx_bytes, 161909582u);
  EXPECT_EQ((*devs)[3].name, "eth0");
  EXPECT_EQ((*devs)[3].tx_packets, 2171u);
}

TEST(NetDevTest, InterfacesAppearAndVanish) {
  std::string header =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n";
  absl::StatusOr<std::vector<NetDevStat>> none = ParseNetDev(header);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  absl::StatusOr<std::vector<NetDevStat>> one =
      ParseNetDev(header + "veth1a2b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].name, "veth1a2b");
  EXPECT_EQ((*one)[0].tx_compressed, 16u);
}

TEST(NetDevTest, RejectsTruncatedLines) {
  std::string full = ReadFixture("net_dev");
  EXPECT_THAT(Message(ParseNetDev(full.substr(0, full.size() - 20)).status()),
              HasSubstr("line 6: expected 16 counters"));
  EXPECT_THAT(Message(ParseNetDev("garbage\n").status()), HasSubstr("expected the header"));
  EXPECT_THAT(Message(ParseNetDev("").status()), HasSubstr("missing header lines"));
}

TEST(NetSnmpTest, ParsesSnmpFixture) {
  absl::StatusOr<std::vector<ProtoCounter>> counters = ParseNetSnmp(ReadFixture("net_snmp"));
  ASSERT_TRUE(counters.ok()) << counters.status();
  auto find = [&](std::string_view proto, std::string_view name) -> std::optional<int64_t> {
    for (const ProtoCounter& c : *counters) {
      if (c.protocol == proto && c.name == name) return c.value;
    }
    return std::nullopt;
  };
  EXPECT_EQ(find("Tcp", "MaxConn"), -1);
  EXPECT_EQ(find("Tcp", "ActiveOpens"), 519);
  EXPECT_EQ(find("Tcp", "PassiveOpens"), 475);
  EXPECT_EQ(find("Tcp", "RetransSegs"), 16);
  EXPECT_EQ(find("Tcp", "CurrEstab"), 0);
  EXPECT_EQ(find("Udp", "OutDatagrams"), 30);
  EXPECT_EQ(find("IcmpMsg", "InType3"), 1);
}

TEST(NetSnmpTest, ParsesNetstatFixture) {
  absl::StatusOr<std::vector<ProtoCounter>> counters =
      ParseNetSnmp(ReadFixture("net_netstat"), "/proc/net/netstat");
  ASSERT_TRUE(counters.ok()) << counters.status();
  int found = 0;
  for (const ProtoCounter& c : *counters) {
    if (c.protocol == "TcpExt" &&
        (c.name == "ListenOverflows" || c.name == "ListenDrops" || c.name == "TCPTimeouts")) {
      ++found;
    }
  }
  EXPECT_EQ(found, 3);
}

TEST(NetSnmpTest, RejectsMismatchedLines) {
  EXPECT_THAT(Message(ParseNetSnmp("Tcp: A B\n").status()),
              HasSubstr("header without a value line"));
  EXPECT_THAT(Message(ParseNetSnmp("Tcp: A B\nUdp: 1 2\n").status()),
              HasSubstr("line 2: expected values for Tcp"));
  EXPECT_THAT(Message(ParseNetSnmp("Tcp: A B\nTcp: 1\n").status()),
              HasSubstr("fewer values than names"));
  EXPECT_THAT(Message(ParseNetSnmp("Tcp: A\nTcp: 1 2\n").status()),
              HasSubstr("more values than names"));
  EXPECT_THAT(Message(ParseNetSnmp("Tcp: A\nTcp: x\n", "/proc/net/netstat").status()),
              HasSubstr("/proc/net/netstat line 2: bad value 'x' for A"));
}

TEST(SockstatTest, ParsesFixture) {
  absl::StatusOr<std::vector<SockstatValue>> values = ParseSockstat(ReadFixture("net_sockstat"));
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[0].protocol, "sockets");
  EXPECT_EQ((*values)[0].name, "used");
  EXPECT_EQ((*values)[0].value, 17u);
  EXPECT_EQ((*values)[1].protocol, "TCP");
  EXPECT_EQ((*values)[1].name, "inuse");
  EXPECT_THAT(Message(ParseSockstat("TCP: inuse\n").status()), HasSubstr("bad value for inuse"));
  EXPECT_THAT(Message(ParseSockstat("TCP inuse 1\n").status()), HasSubstr("expected 'PROTO:"));
}

TEST(DiskstatsTest, ParsesFixture) {
  absl::StatusOr<std::vector<DiskStat>> disks = ParseDiskstats(ReadFixture("proc_diskstats"));
  ASSERT_TRUE(disks.ok()) << disks.status();
  const DiskStat* vda = nullptr;
  for (const DiskStat& d : *disks) {
    if (d.name == "vda") vda = &d;
  }
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->major, 254u);
  EXPECT_EQ(vda->reads_completed, 67805u);
  EXPECT_EQ(vda->sectors_read, 4249634u);
  EXPECT_EQ(vda->io_time_ms, 18388u);
  EXPECT_EQ(vda->flush_time_ms, 140u);
}

TEST(DiskstatsTest, OldKernelFormatAndGarbage) {
  absl::StatusOr<std::vector<DiskStat>> disks =
      ParseDiskstats("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n");
  ASSERT_TRUE(disks.ok());
  EXPECT_EQ((*disks)[0].weighted_io_time_ms, 11u);
  EXPECT_EQ((*disks)[0].discards_completed, 0u);
  EXPECT_THAT(Message(ParseDiskstats("8 0 sda 1 2 3\n").status()),
              HasSubstr("fewer than 11 counters"));
  EXPECT_THAT(Message(ParseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n").status()),
              HasSubstr("bad counter 'x'"));
  EXPECT_THAT(Message(ParseDiskstats("8 sda\n").status()),
              HasSubstr("expected 'major minor name'"));
}

TEST(DiskRatesTest, DerivesIopsBytesAwaitAndUtilisation) {
  DiskStat before, after;
  after.reads_completed = 100;
  after.writes_completed = 300;
  after.sectors_read = 2048;     // 1 MiB
  after.sectors_written = 4096;  // 2 MiB
  after.read_time_ms = 200;      // 2 ms per read
  after.write_time_ms = 1200;    // 4 ms per write
  after.io_time_ms = 500;        // busy half of 1 s
  DiskRates rates = ComputeDiskRates(before, after, 1.0);
  EXPECT_DOUBLE_EQ(rates.read_iops, 100);
  EXPECT_DOUBLE_EQ(rates.write_iops, 300);
  EXPECT_DOUBLE_EQ(rates.read_bytes_per_second, 1 << 20);
  EXPECT_DOUBLE_EQ(rates.write_bytes_per_second, 2 << 20);
  EXPECT_DOUBLE_EQ(rates.read_await_ms, 2);
  EXPECT_DOUBLE_EQ(rates.write_await_ms, 4);
  EXPECT_DOUBLE_EQ(rates.await_ms, 3.5);
  EXPECT_DOUBLE_EQ(rates.utilisation, 0.5);
}

TEST(DiskRatesTest, CountersGoingBackwardsGiveZeroNotHugeRates) {
  DiskStat before, after;
  before.reads_completed = 1000;
  before.io_time_ms = 1000;
  after.reads_completed = 10;
  after.io_time_ms = 5;
  DiskRates rates = ComputeDiskRates(before, after, 1.0);
  EXPECT_DOUBLE_EQ(rates.read_iops, 0);
  EXPECT_DOUBLE_EQ(rates.utilisation, 0);
  EXPECT_DOUBLE_EQ(ComputeDiskRates(before, after, 0).read_iops, 0);
  EXPECT_EQ(CounterDelta(5, 3), 0u);
  EXPECT_EQ(CounterDelta(3, 5), 2u);
}

TEST(FileNrTest, ParsesFixtureAndRejectsGarbage) {
  absl::StatusOr<FileNr> nr = ParseFileNr(ReadFixture("file_nr"));
  ASSERT_TRUE(nr.ok()) << nr.status();
  EXPECT_GT(nr->allocated, 0u);
  EXPECT_GT(nr->maximum, nr->allocated);
  EXPECT_THAT(Message(ParseFileNr("1184\t0\n").status()),
              HasSubstr("expected 'allocated unused max'"));
  EXPECT_THAT(Message(ParseFileNr("").status()), HasSubstr("empty"));
}

}  // namespace
}  // namespace tpslab::monitor
