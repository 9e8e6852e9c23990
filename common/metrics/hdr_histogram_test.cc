#include "common/metrics/hdr_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::metrics {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kHour = 3'600'000'000;  // 1 h in microseconds

std::vector<int64_t> Uniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(1, 1'000'000);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<int64_t> LogNormal(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(500.0), 1.0);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = std::llround(dist(rng));
  return v;
}

std::vector<int64_t> Bimodal(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> fast(200.0, 20.0);
  std::normal_distribution<double> slow(50'000.0, 5'000.0);
  std::bernoulli_distribution is_slow(0.1);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = std::max<int64_t>(0, std::llround(is_slow(rng) ? slow(rng) : fast(rng)));
  return v;
}

std::vector<int64_t> SingleValue(size_t n) { return std::vector<int64_t>(n, 12'345); }

struct Distribution {
  std::string name;
  std::vector<int64_t> values;
};

std::vector<Distribution> Distributions() {
  constexpr size_t kN = 100'000;  // a multiple of 1000: p99.9 has an exact rank
  return {{"uniform", Uniform(kN, 1)},
          {"lognormal", LogNormal(kN, 2)},
          {"bimodal", Bimodal(kN, 3)},
          {"single", SingleValue(kN)}};
}

// The sample at rank ceil(permille / 1000 * n) of the sorted values.
int64_t ExactAtPermille(const std::vector<int64_t>& sorted, int64_t permille) {
  const int64_t n = static_cast<int64_t>(sorted.size());
  const int64_t rank = std::max<int64_t>(1, (permille * n + 999) / 1000);
  return sorted[static_cast<size_t>(rank - 1)];
}

class AccuracyTest : public ::testing::TestWithParam<int> {};

TEST_P(AccuracyTest, PercentilesWithinPrecisionOfExactValues) {
  const int digits = GetParam();
  const double precision = std::pow(10.0, -digits);
  for (const Distribution& d : Distributions()) {
    SCOPED_TRACE(d.name);
    HdrHistogram h(1, kHour, digits);
    for (int64_t v : d.values) h.Record(v);
    std::vector<int64_t> sorted = d.values;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(h.TotalCount(), static_cast<int64_t>(sorted.size()));

    for (int64_t permille : {500, 900, 990, 999, 1000}) {
      SCOPED_TRACE(permille);
      const int64_t exact = ExactAtPermille(sorted, permille);
      const int64_t got = h.ValueAtPercentile(static_cast<double>(permille) / 10.0);
      // The reference answer: the top of the bucket holding the exact sample.
      EXPECT_EQ(got, h.HighestEquivalentValue(exact));
      EXPECT_GE(got, exact);
      EXPECT_LE(static_cast<double>(got - exact), precision * static_cast<double>(exact));
    }
    const int64_t exact_max = sorted.back();
    EXPECT_EQ(h.Max(), h.HighestEquivalentValue(exact_max));
    EXPECT_LE(static_cast<double>(h.Max() - exact_max), precision * static_cast<double>(exact_max));
    EXPECT_EQ(h.Min(), sorted.front() == 0 ? 0 : h.LowestEquivalentValue(sorted.front()));
    EXPECT_LE(static_cast<double>(sorted.front() - h.Min()),
              precision * static_cast<double>(sorted.front()));
    EXPECT_EQ(h.ValueAtPercentile(0.0), h.LowestEquivalentValue(sorted.front()));

    double sum = 0;
    for (int64_t v : d.values) sum += static_cast<double>(v);
    const double exact_mean = sum / static_cast<double>(d.values.size());
    EXPECT_NEAR(h.Mean(), exact_mean, precision * exact_mean);
    double squares = 0;
    for (int64_t v : d.values) {
      squares += (static_cast<double>(v) - exact_mean) * (static_cast<double>(v) - exact_mean);
    }
    const double exact_stddev = std::sqrt(squares / static_cast<double>(d.values.size()));
    // Bucket midpoints move each value by at most precision/2 of itself.
    EXPECT_NEAR(h.StdDev(), exact_stddev, precision * exact_mean + 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(Digits, AccuracyTest, ::testing::Values(1, 2, 3, 4, 5));

TEST(HdrHistogramTest, LayoutMatchesReferenceGeometry) {
  // 1 us .. 1 h at 3 digits: 2048 sub-buckets, 22 buckets, 23 * 1024 counts
  // (the reference's documented ~185 KB footprint).
  HdrHistogram h(1, kHour, 3);
  EXPECT_EQ(h.sub_bucket_count(), 2048);
  EXPECT_EQ(h.unit_magnitude(), 0);
  EXPECT_EQ(h.bucket_count(), 22);
  EXPECT_EQ(h.counts_length(), 23u * 1024u);
  EXPECT_GE(h.MemoryFootprint(), 23u * 1024u * 8u);
  EXPECT_LT(h.MemoryFootprint(), 23u * 1024u * 8u + 1024u);

  HdrHistogram coarse(1000, 1'000'000, 2);
  EXPECT_EQ(coarse.unit_magnitude(), 9);  // floor(log2(1000))
  EXPECT_EQ(coarse.sub_bucket_count(), 256);

  // The widest layout the reference allows: the whole int64 range.
  HdrHistogram wide(1, std::numeric_limits<int64_t>::max(), 3);
  EXPECT_EQ(wide.bucket_count(), 53);
  wide.Record(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(wide.overflow_count(), 0);
  EXPECT_EQ(wide.Max(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(wide.ValueAtPercentile(100), std::numeric_limits<int64_t>::max());
}

TEST(HdrHistogramTest, EquivalentValueRanges) {
  HdrHistogram h(1, kHour, 3);
  // Below 2048 every value has its own bucket.
  EXPECT_EQ(h.LowestEquivalentValue(2047), 2047);
  EXPECT_EQ(h.HighestEquivalentValue(2047), 2047);
  // 2048..4095: buckets of 2.
  EXPECT_EQ(h.LowestEquivalentValue(2049), 2048);
  EXPECT_EQ(h.HighestEquivalentValue(2048), 2049);
  EXPECT_EQ(h.SizeOfEquivalentValueRange(2048), 2);
  EXPECT_EQ(h.MedianEquivalentValue(2048), 2049);
  EXPECT_EQ(h.NextNonEquivalentValue(2048), 2050);
  EXPECT_TRUE(h.ValuesAreEquivalent(10'000'000, 10'000'001));
  EXPECT_FALSE(h.ValuesAreEquivalent(2047, 2048));
  // valueFromIndex inverts countsArrayIndex at every bucket start.
  for (size_t i = 0; i < h.counts_length(); ++i) {
    ASSERT_EQ(h.CountsIndex(h.ValueFromIndex(i)), i) << i;
  }
}

TEST(HdrHistogramTest, InvalidLayoutsAreRejectedWithTheReason) {
  EXPECT_THAT(HdrHistogram::Create(0, 100, 3).status().message(),
              HasSubstr("lowest_discernible_value 0 must be >= 1"));
  EXPECT_THAT(HdrHistogram::Create(1, 100, 0).status().message(),
              HasSubstr("significant_digits 0 must be in [1, 5]"));
  EXPECT_THAT(HdrHistogram::Create(1, 100, 6).status().message(),
              HasSubstr("significant_digits 6"));
  EXPECT_THAT(HdrHistogram::Create(100, 150, 3).status().message(),
              HasSubstr("highest_trackable_value 150 must be >= 2 * lowest_discernible_value 100"));
  EXPECT_THAT(HdrHistogram::Create(int64_t{1} << 50, std::numeric_limits<int64_t>::max(), 5)
                  .status()
                  .message(),
              HasSubstr("> 62"));
  EXPECT_EQ(HdrHistogram::Create(1, 100, 3).status().code(), absl::StatusCode::kOk);
  EXPECT_EQ(*HdrHistogram::CountsLengthFor(1, kHour, 3), 23 * 1024);
}

TEST(HdrHistogramTest, EmptyHistogram) {
  HdrHistogram h(1, kHour, 3);
  EXPECT_EQ(h.TotalCount(), 0);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.Mean(), 0.0);
  EXPECT_EQ(h.StdDev(), 0.0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.ValueAtPercentile(100), 0);
  EXPECT_EQ(h.CountsLimit(), 0u);
  EXPECT_EQ(h.RecordedBuckets().begin(), h.RecordedBuckets().end());
}

TEST(HdrHistogramTest, RecordsZero) {
  HdrHistogram h(1, kHour, 3);
  h.Record(0);
  h.Record(0);
  EXPECT_EQ(h.TotalCount(), 2);
  EXPECT_EQ(h.CountAtValue(0), 2);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.ValueAtPercentile(100), 0);
  EXPECT_EQ(h.CountsLimit(), 1u);
}

TEST(HdrHistogramTest, OverflowIsClampedAndCounted) {
  HdrHistogram h(1, 1'000'000, 3);
  h.Record(2'000'000);
  h.Record(std::numeric_limits<int64_t>::max(), 3);
  h.Record(500);
  EXPECT_EQ(h.overflow_count(), 4);
  EXPECT_EQ(h.TotalCount(), 5);
  EXPECT_EQ(h.CountAtValue(1'000'000), 4);
  EXPECT_EQ(h.Max(), h.HighestEquivalentValue(1'000'000));
  EXPECT_EQ(h.ValueAtPercentile(100), h.HighestEquivalentValue(1'000'000));
  EXPECT_EQ(h.ValueAtPercentile(10), 500);
}

TEST(HdrHistogramTest, NegativeValuesAndCountsAreRejected) {
  HdrHistogram h(1, kHour, 3);
  h.Record(-1);
  h.Record(std::numeric_limits<int64_t>::min());
  h.Record(5, -2);
  h.Record(5, 0);  // records nothing, rejects nothing
  EXPECT_EQ(h.rejected_count(), 3);
  EXPECT_EQ(h.TotalCount(), 0);
  EXPECT_EQ(h.Max(), 0);
  h.RecordConcurrent(-7);
  EXPECT_EQ(h.rejected_count(), 4);
}

TEST(HdrHistogramTest, RecordWithCount) {
  HdrHistogram h(1, kHour, 3);
  h.Record(100, 7);
  h.Record(300, 3);
  EXPECT_EQ(h.TotalCount(), 10);
  EXPECT_EQ(h.CountAtValue(100), 7);
  EXPECT_EQ(h.ValueAtPercentile(70), 100);
  EXPECT_EQ(h.ValueAtPercentile(70.1), 300);
  EXPECT_DOUBLE_EQ(h.Mean(), (100.0 * 7 + 300.0 * 3) / 10);
}

TEST(HdrHistogramTest, PercentileArgumentIsClamped) {
  HdrHistogram h(1, kHour, 3);
  for (int64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtPercentile(-5), 1);
  EXPECT_EQ(h.ValueAtPercentile(250), 100);
  EXPECT_EQ(h.ValueAtPercentile(std::nan("")), 1);
  EXPECT_EQ(h.ValueAtPercentile(50), 50);
  EXPECT_EQ(h.ValueAtPercentile(50.5), 51);
}

TEST(HdrHistogramTest, RecordedBucketsVisitEveryCountInOrder) {
  HdrHistogram h(1, kHour, 2);
  for (int64_t v : LogNormal(10'000, 9)) h.Record(v);
  int64_t total = 0;
  int64_t previous = -1;
  for (const HdrBucket& b : h.RecordedBuckets()) {
    EXPECT_GT(b.count, 0);
    EXPECT_GT(b.lowest_value, previous);
    EXPECT_EQ(b.lowest_value, h.ValueFromIndex(b.index));
    EXPECT_EQ(b.highest_value, h.HighestEquivalentValue(b.lowest_value));
    EXPECT_EQ(b.count, h.CountAtIndex(b.index));
    previous = b.highest_value;
    total += b.count;
  }
  EXPECT_EQ(total, h.TotalCount());
}

TEST(HdrHistogramTest, AddEqualsRecordingAllValues) {
  const std::vector<int64_t> values = Bimodal(50'000, 11);
  HdrHistogram all(1, kHour, 3);
  HdrHistogram first(1, kHour, 3);
  HdrHistogram second(1, kHour, 3);
  for (size_t i = 0; i < values.size(); ++i) {
    all.Record(values[i]);
    (i % 3 == 0 ? first : second).Record(values[i]);
  }
  first.Add(second);
  EXPECT_EQ(first, all);
  EXPECT_EQ(first.Min(), all.Min());
  EXPECT_EQ(first.Max(), all.Max());
  EXPECT_EQ(first.Mean(), all.Mean());
  for (double p : {50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(first.ValueAtPercentile(p), all.ValueAtPercentile(p));
  }
}

TEST(HdrHistogramTest, AddAcrossLayoutsReRecordsBucketValues) {
  HdrHistogram fine(1, kHour, 3);
  HdrHistogram coarse(1, 10'000'000, 2);
  const std::vector<int64_t> values = LogNormal(20'000, 12);
  for (int64_t v : values) coarse.Record(v);
  fine.Add(coarse);
  EXPECT_EQ(fine.TotalCount(), coarse.TotalCount());
  // Re-recorded at each bucket's lowest value: within the coarse precision.
  for (double p : {50.0, 90.0, 99.0}) {
    const int64_t want = coarse.ValueAtPercentile(p);
    EXPECT_LE(std::abs(fine.ValueAtPercentile(p) - want), want / 100 + 1) << p;
  }

  // A wider source into a narrower target: clamped and counted.
  HdrHistogram narrow(1, 1'000, 3);
  HdrHistogram wide(1, kHour, 3);
  wide.Record(10);
  wide.Record(1'000'000, 2);
  narrow.Add(wide);
  EXPECT_EQ(narrow.TotalCount(), 3);
  EXPECT_EQ(narrow.overflow_count(), 2);
  EXPECT_EQ(narrow.CountAtValue(1'000), 2);
}

TEST(HdrHistogramTest, AddIntoLargerHighestWithSameGeometryIsExact) {
  HdrHistogram small(1, 1'000'000, 3);
  HdrHistogram big(1, kHour, 3);
  for (int64_t v : Uniform(10'000, 13)) small.Record(v);
  big.Add(small);
  EXPECT_EQ(big.TotalCount(), small.TotalCount());
  for (size_t i = 0; i < small.counts_length(); ++i) {
    ASSERT_EQ(big.CountAtIndex(i), small.CountAtIndex(i));
  }
  EXPECT_EQ(big.Max(), small.Max());
  EXPECT_EQ(big.Min(), small.Min());
}

TEST(HdrHistogramTest, ResetClearsEverything) {
  HdrHistogram h(1, 1000, 3);
  h.Record(5);
  h.Record(5000);
  h.Record(-1);
  h.Reset();
  EXPECT_EQ(h.TotalCount(), 0);
  EXPECT_EQ(h.overflow_count(), 0);
  EXPECT_EQ(h.rejected_count(), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_EQ(h.CountAtValue(5), 0);
  EXPECT_EQ(h, HdrHistogram(1, 1000, 3));
}

TEST(HdrHistogramTest, RecomputeTotalsRestoresTrackingValues) {
  HdrHistogram h(1, kHour, 3);
  for (int64_t v : Bimodal(1'000, 14)) h.Record(v);
  HdrHistogram rebuilt(1, kHour, 3);
  for (size_t i = 0; i < h.counts_length(); ++i) rebuilt.SetCountAtIndex(i, h.CountAtIndex(i));
  rebuilt.RecomputeTotals();
  EXPECT_EQ(rebuilt, h);
  EXPECT_EQ(rebuilt.Min(), h.Min());
  EXPECT_EQ(rebuilt.Max(), h.Max());
  EXPECT_EQ(rebuilt.CountsLimit(), h.CountsLimit());
}

TEST(HdrHistogramTest, RecomputeTotalsUpToAnEndMatchesTheFullScan) {
  HdrHistogram h(1, kHour, 3);
  for (int64_t v : Bimodal(1'000, 14)) h.Record(v);
  HdrHistogram rebuilt(1, kHour, 3);
  for (size_t i = 0; i < h.CountsLimit(); ++i) rebuilt.SetCountAtIndex(i, h.CountAtIndex(i));
  rebuilt.RecomputeTotals(h.CountsLimit());
  EXPECT_EQ(rebuilt, h);
  EXPECT_EQ(rebuilt.TotalCount(), h.TotalCount());
  EXPECT_EQ(rebuilt.Min(), h.Min());
  EXPECT_EQ(rebuilt.Max(), h.Max());

  // Counts past `end` are not looked at.
  HdrHistogram partial(1, kHour, 3);
  partial.SetCountAtIndex(3, 2);
  partial.SetCountAtIndex(10, 5);
  partial.RecomputeTotals(4);
  EXPECT_EQ(partial.TotalCount(), 2);
  EXPECT_EQ(partial.Max(), partial.HighestEquivalentValue(3));
}

TEST(HdrHistogramTest, RecordConcurrentMatchesRecord) {
  HdrHistogram plain(1, 1'000'000, 3);
  HdrHistogram concurrent(1, 1'000'000, 3);
  for (int64_t v : LogNormal(5'000, 15)) {
    plain.Record(v);
    concurrent.RecordConcurrent(v);
  }
  plain.Record(5'000'000, 2);
  concurrent.RecordConcurrent(5'000'000, 2);
  concurrent.RecomputeTotals();
  EXPECT_EQ(concurrent, plain);
  EXPECT_EQ(concurrent.Min(), plain.Min());
  EXPECT_EQ(concurrent.Max(), plain.Max());
  EXPECT_EQ(concurrent.overflow_count(), 2);
}

TEST(HdrHistogramTest, CopyAndMove) {
  HdrHistogram h(1, kHour, 3);
  h.Record(42);
  HdrHistogram copy = h;
  copy.Record(43);
  EXPECT_EQ(h.TotalCount(), 1);
  EXPECT_EQ(copy.TotalCount(), 2);
  HdrHistogram moved = std::move(copy);
  EXPECT_EQ(moved.TotalCount(), 2);
  EXPECT_EQ(moved.CountAtValue(43), 1);
}

}  // namespace
}  // namespace tpslab::metrics
