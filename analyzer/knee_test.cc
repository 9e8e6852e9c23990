// FindKnee and HighestTpsUnderSlo on synthetic curves with known answers.
#include "analyzer/knee.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace tpslab::analyzer {
namespace {

// Throughput c·N up to the ceiling, then flat: the knee is exactly where
// c·N meets the ceiling. Latency grows past the knee by Little's law.
std::vector<StagePoint> Saturating(double per_user, double ceiling, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<StagePoint> stages;
  for (int i = 1; i <= 20; ++i) {
    const double n = 10.0 * i;
    const double tps = std::min(per_user * n, ceiling) * (1.0 + noise * gauss(rng));
    stages.push_back({.stage = i - 1, .load = n, .tps = tps, .p99_ms = 1000.0 * n / tps * 2});
  }
  return stages;
}

TEST(KneeTest, FindsTheBreakpointOfASaturatingCurve) {
  const auto stages = Saturating(100, 8000, 0.0, 1);  // Knee at N = 80.
  std::optional<Knee> knee = FindKnee(stages);
  ASSERT_TRUE(knee.has_value());
  EXPECT_EQ(knee->point.load, 80);
  EXPECT_EQ(knee->index, 7);
  EXPECT_EQ(knee->method, "kneedle");
  EXPECT_NEAR(knee->marginal_gain, 0.0, 1e-12);
  EXPECT_NEAR(knee->latency_growth, 1.0, 1e-12);
}

// With 3% noise the knee stays within one stage (±10 users) over 20 seeds.
TEST(KneeTest, NoisyCurveKneeWithinOneStage) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto stages = Saturating(100, 8000, 0.03, seed);
    std::optional<Knee> knee = FindKnee(stages);
    ASSERT_TRUE(knee.has_value()) << seed;
    EXPECT_NEAR(knee->point.load, 80, 10) << seed;
  }
}

TEST(KneeTest, InputOrderDoesNotMatter) {
  auto stages = Saturating(100, 8000, 0.0, 1);
  std::reverse(stages.begin(), stages.end());
  std::optional<Knee> knee = FindKnee(stages);
  ASSERT_TRUE(knee.has_value());
  EXPECT_EQ(knee->point.load, 80);
  EXPECT_EQ(knee->index, 12);
}

TEST(KneeTest, LinearScalingHasNoKnee) {
  std::vector<StagePoint> stages;
  for (int i = 1; i <= 8; ++i) stages.push_back({.stage = i, .load = 5.0 * i, .tps = 40.0 * i});
  EXPECT_FALSE(FindKnee(stages).has_value());
}

TEST(KneeTest, RetrogradeCurveWithoutBendKneesAtThePeak) {
  // Linear up to N = 40, then throughput falls.
  std::vector<StagePoint> stages = {{.load = 10, .tps = 1000}, {.load = 20, .tps = 2000},
                                    {.load = 30, .tps = 3000}, {.load = 40, .tps = 4000},
                                    {.load = 50, .tps = 3000}, {.load = 60, .tps = 2500}};
  std::optional<Knee> knee = FindKnee(stages);
  ASSERT_TRUE(knee.has_value());
  EXPECT_EQ(knee->point.load, 40);
  EXPECT_EQ(knee->method, "peak");
  EXPECT_NEAR(knee->marginal_gain, -0.75, 1e-12);  // -75 tx/s per user vs +100.
}

TEST(KneeTest, TooFewStages) {
  std::vector<StagePoint> stages = {{.load = 1, .tps = 10}, {.load = 2, .tps = 11}};
  EXPECT_FALSE(FindKnee(stages).has_value());
}

TEST(SloTest, HighestTpsWhoseP99MeetsTheObjective) {
  std::vector<StagePoint> stages = {
      {.stage = 0, .load = 10, .tps = 1000, .p99_ms = 5},
      {.stage = 1, .load = 20, .tps = 1900, .p99_ms = 9},
      {.stage = 2, .load = 30, .tps = 2500, .p99_ms = 30, .error_rate = 0.05},
      {.stage = 3, .load = 40, .tps = 2600, .p99_ms = 60},
  };
  std::optional<StagePoint> best = HighestTpsUnderSlo(stages, {.p99_ms = 50});
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->stage, 1);  // Stage 2 fails on errors, stage 3 on p99.
  best = HighestTpsUnderSlo(stages, {.p99_ms = 50, .max_error_rate = 0.1});
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->stage, 2);
  EXPECT_FALSE(HighestTpsUnderSlo(stages, {.p99_ms = 5}).has_value());  // Strictly below.
}

}  // namespace
}  // namespace tpslab::analyzer
