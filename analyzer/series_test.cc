// Bucketing with clock offsets, counter rates and the contiguous join.
#include "analyzer/series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tpslab::analyzer {
namespace {

constexpr int64_t kS = kNanosPerSecond;

TEST(SeriesTest, BucketOfFloorsAlsoBeforeTheEpoch) {
  EXPECT_EQ(BucketOf(0), 0);
  EXPECT_EQ(BucketOf(kS - 1), 0);
  EXPECT_EQ(BucketOf(kS), kS);
  EXPECT_EQ(BucketOf(-1), -kS);
  EXPECT_EQ(BucketOf(2500, 1000), 2000);
}

TEST(SeriesTest, BucketsApplyTheClockOffset) {
  // The agent's clock is 300 ms behind: its 10.8 s sample is 11.1 s on the
  // coordinator's clock, so all three samples land in second 11.
  const std::vector<Sample> samples = {
      {10 * kS + 800'000'000, 1.0}, {10 * kS + 900'000'000, 3.0}, {11 * kS + 100'000'000, 5.0}};
  const Buckets mean = BucketSamples(samples, 300'000'000, Aggregation::kMean);
  ASSERT_EQ(mean.size(), 1u);
  EXPECT_EQ(mean.at(11 * kS), 3.0);  // 11.1, 11.2 and 11.4 s.
  EXPECT_EQ(mean.count(10 * kS), 0u);
  EXPECT_EQ(BucketSamples(samples, 0, Aggregation::kMean).at(10 * kS), 2.0);

  const Buckets sum = BucketSamples(samples, 0, Aggregation::kSum);
  EXPECT_EQ(sum.at(10 * kS), 4.0);
  EXPECT_EQ(sum.at(11 * kS), 5.0);
  EXPECT_EQ(BucketSamples(samples, 0, Aggregation::kLast).at(10 * kS), 3.0);
  EXPECT_EQ(BucketSamples(samples, 0, Aggregation::kMax).at(10 * kS), 3.0);
}

TEST(SeriesTest, CounterRatesSkipResets) {
  const std::vector<Sample> counter = {{0, 100},     {kS, 150},    {3 * kS, 250},
                                       {4 * kS, 10}, {5 * kS, 20}, {5 * kS, 30}};
  const std::vector<Sample> rates = CounterRates(counter);
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_EQ(rates[0].time_ns, kS);
  EXPECT_EQ(rates[0].value, 50.0);
  EXPECT_EQ(rates[1].value, 50.0);  // 100 over 2 s.
  EXPECT_EQ(rates[2].time_ns, 5 * kS);
  EXPECT_EQ(rates[2].value, 10.0);  // After the reset.
}

TEST(SeriesTest, JoinFillsGapsWithNan) {
  Buckets tps = {{10 * kS, 100}, {13 * kS, 130}};
  Buckets cpu = {{11 * kS, 0.5}, {12 * kS, 0.6}};
  const JoinedSeries joined = JoinSeries({{"tps", tps}, {"cpu", cpu}});
  EXPECT_EQ(joined.buckets, (std::vector<int64_t>{10 * kS, 11 * kS, 12 * kS, 13 * kS}));
  const std::vector<double>& t = *joined.Column("tps");
  EXPECT_EQ(t[0], 100);
  EXPECT_TRUE(std::isnan(t[1]));
  EXPECT_EQ(t[3], 130);
  EXPECT_EQ((*joined.Column("cpu"))[2], 0.6);
  EXPECT_EQ(joined.Column("disk"), nullptr);
  EXPECT_TRUE(JoinSeries({}).buckets.empty());
}

}  // namespace
}  // namespace tpslab::analyzer
