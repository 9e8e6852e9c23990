// DecideUse: one synthetic run per verdict, with the numbers in the words.
#include "analyzer/use_verdict.h"

#include <gtest/gtest.h>

#include <vector>

namespace tpslab::analyzer {
namespace {

// Throughput 1000 tx/s per 10 users up to 40 users, then flat at 4000;
// p99 constant before the knee, growing with load after it.
std::vector<UseStage> Saturating() {
  std::vector<UseStage> stages;
  for (int users = 10; users <= 80; users += 10) {
    const double tps = users <= 40 ? 100.0 * users : 4000.0;
    stages.push_back({.load = double(users),
                      .tps = tps,
                      .p99_ms = users <= 40 ? 2.0 : 2.0 * users / 40.0,
                      .server_cpu = 0.2,
                      .server_cores = 2,
                      .generator_cpu = 0.3});
  }
  return stages;
}

TEST(UseVerdictTest, ClientBoundInvalidatesTheRun) {
  auto stages = Saturating();
  stages[5].generator_cpu = 0.95;
  stages.back().server_cpu = 0.99;  // Would look CPU-bound otherwise.
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kClient);
  EXPECT_FALSE(v.run_valid);
  EXPECT_EQ(v.summary,
            "client-bound, run invalid: the load generator used 95% of its CPU at 60 users "
            "(limit 85%); its own queueing is in the latencies. Use more generator threads or "
            "agents");
}

TEST(UseVerdictTest, NotSaturatedWhileThroughputScales) {
  std::vector<UseStage> stages;
  for (int users = 10; users <= 50; users += 10) {
    stages.push_back({.load = double(users), .tps = 95.0 * users, .p99_ms = 2});
  }
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kNotSaturated);
  EXPECT_TRUE(v.run_valid);
  EXPECT_EQ(v.summary,
            "not saturated: throughput still grows (950 -> 4750 tx/s, the last step at 100% of "
            "the initial slope); add load to find the limit");
}

TEST(UseVerdictTest, RetrogradeThroughputNamesThePeak) {
  auto stages = Saturating();
  stages.back().server_cpu = 0.99;
  stages.back().tps = 2500;  // Fell from the 4000 tx/s before it.
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kCpu);
  EXPECT_EQ(v.summary,
            "CPU-bound: throughput peaked at 4000 tx/s at 40 users and fell to 2500 tx/s by 80 "
            "users (p99 2.00 -> 4.00 ms) while server CPU reached 99% of 2 cores");
}

TEST(UseVerdictTest, CpuBound) {
  auto stages = Saturating();
  stages.back().server_cpu = 0.97;
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kCpu);
  EXPECT_EQ(v.summary,
            "CPU-bound: throughput flattened at 4000 tx/s by 80 users (p99 2.00 -> 4.00 ms) "
            "while server CPU reached 97% of 2 cores");
  EXPECT_EQ(v.evidence[0],
            "throughput 1000 -> 4000 tx/s for load 10 -> 80; last step adds 0.00 tx/s per unit "
            "of load, 0% of the first step's 100.00");
}

TEST(UseVerdictTest, DiskBound) {
  auto stages = Saturating();
  stages.back().server_cpu = 0.5;
  stages.back().disk_busy = 0.92;
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kDisk);
  EXPECT_NE(v.summary.find("disk-bound: "), std::string::npos) << v.summary;
  EXPECT_NE(v.summary.find("busy 92% of the time"), std::string::npos) << v.summary;
}

TEST(UseVerdictTest, NetworkBoundWhenLinkCapacityKnown) {
  auto stages = Saturating();
  stages.back().network_bytes_per_s = 118e6;
  stages.back().network_capacity_bytes_per_s = 125e6;  // 1 Gbit/s.
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kNetwork);
  EXPECT_NE(v.summary.find("network carried 118.0 MB/s, 94% of the link's 125.0 MB/s"),
            std::string::npos)
      << v.summary;
}

TEST(UseVerdictTest, NetworkUnknownCapacityIsNotACandidate) {
  auto stages = Saturating();
  stages.back().network_bytes_per_s = 5e9;  // Loopback: no capacity.
  const UseVerdict v = DecideUse(stages);
  EXPECT_NE(v.bottleneck, Bottleneck::kNetwork);
}

TEST(UseVerdictTest, LockOrQueueBoundWhenLatencyRisesWithoutAResourceLimit) {
  auto stages = Saturating();
  stages.back().listen_overflows_per_s = 12;
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kLockOrQueue);
  EXPECT_EQ(v.summary,
            "lock/queue-bound: throughput flattened at 4000 tx/s by 80 users (p99 2.00 -> 4.00 "
            "ms) while no resource was near its limit (server CPU reached 20% of 2 cores); the "
            "listen queue overflowed 12.0 times/s: work waits on a lock, a queue or a fixed-size "
            "pool");
}

TEST(UseVerdictTest, UndeterminedWhenFlatWithoutLatencyGrowth) {
  auto stages = Saturating();
  for (auto& s : stages) s.p99_ms = 2;
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kUndetermined);
  EXPECT_NE(v.summary.find("latency stayed flat"), std::string::npos);
}

TEST(UseVerdictTest, OneStageIsNotEnough) {
  const std::vector<UseStage> stages = {{.load = 10, .tps = 100}};
  const UseVerdict v = DecideUse(stages);
  EXPECT_EQ(v.bottleneck, Bottleneck::kUndetermined);
  EXPECT_EQ(v.summary, "undetermined: 1 stage(s) measured; a verdict needs at least 2 load levels");
}

TEST(UseVerdictTest, Names) {
  EXPECT_STREQ(BottleneckName(Bottleneck::kLockOrQueue), "lock-or-queue");
  EXPECT_STREQ(BottleneckName(Bottleneck::kClient), "client");
}

}  // namespace
}  // namespace tpslab::analyzer
