// Pearson and lagged correlation on series with known relationships.
#include "analyzer/lag_correlation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tpslab::analyzer {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(PearsonTest, PerfectAndInverse) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const std::vector<double> up = {2, 4, 6, 8, 10};
  const std::vector<double> down = {5, 4, 3, 2, 1};
  EXPECT_NEAR(*Pearson(x, up), 1.0, 1e-12);
  EXPECT_NEAR(*Pearson(x, down), -1.0, 1e-12);
}

TEST(PearsonTest, KnownValue) {
  // r for these pairs is 0.8 (hand computed: sxy = 8, sxx = 10, syy = 10).
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const std::vector<double> y = {2, 1, 4, 3, 5};
  EXPECT_NEAR(*Pearson(x, y), 0.8, 1e-12);
}

TEST(PearsonTest, SkipsMissingAndRejectsConstantOrShort) {
  const std::vector<double> x = {1, kNan, 3, 4, 5};
  const std::vector<double> y = {2, 100, 6, kNan, 10};
  EXPECT_NEAR(*Pearson(x, y), 1.0, 1e-12);  // Pairs (1,2), (3,6), (5,10).
  const std::vector<double> flat = {3, 3, 3, 3, 3};
  EXPECT_FALSE(Pearson(x, flat).has_value());
  const std::vector<double> two = {1, 2};
  EXPECT_FALSE(Pearson(two, two).has_value());
}

// The target follows the metric by 3 intervals, with noise: best lag +3.
TEST(LagCorrelationTest, FindsTheLeadOfTheMetric) {
  std::mt19937 rng(7);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> metric(120), target(120);
  for (auto& v : metric) v = gauss(rng);
  for (size_t t = 0; t < target.size(); ++t) {
    target[t] = (t >= 3 ? 2.0 * metric[t - 3] : 0.0) + 0.2 * gauss(rng);
  }
  std::optional<LagCorrelation> best = BestLagCorrelation(metric, target, 5);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->lag, 3);
  EXPECT_GT(best->r, 0.95);
  EXPECT_EQ(best->pairs, 117);

  best = BestLagCorrelation(target, metric, 5);  // Swapped: the metric follows.
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->lag, -3);
}

TEST(LagCorrelationTest, ZeroLagWinsTies) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::optional<LagCorrelation> best = BestLagCorrelation(x, x, 3);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->lag, 0);  // A ramp correlates perfectly at every lag.
  EXPECT_NEAR(best->r, 1.0, 1e-12);
}

TEST(LagCorrelationTest, RanksColumnsByStrength) {
  JoinedSeries joined;
  joined.buckets = {0, 1, 2, 3, 4, 5};
  joined.names = {"tps", "cpu", "noise", "retrans", "flat"};
  joined.columns = {{10, 20, 30, 40, 50, 60},
                    {11, 19, 31, 41, 48, 62},
                    {5, 1, 4, 1, 5, 9},
                    {60, 50, 40, 30, 20, 10},
                    {1, 1, 1, 1, 1, 1}};
  const std::vector<MetricCorrelation> ranked = RankCorrelations(joined, "tps", 0);
  ASSERT_EQ(ranked.size(), 3u);  // "flat" has no coefficient.
  EXPECT_EQ(ranked[0].metric, "retrans");
  EXPECT_NEAR(ranked[0].best.r, -1.0, 1e-12);
  EXPECT_EQ(ranked[1].metric, "cpu");
  EXPECT_EQ(ranked[2].metric, "noise");
  EXPECT_TRUE(RankCorrelations(joined, "latency", 0).empty());
}

}  // namespace
}  // namespace tpslab::analyzer
