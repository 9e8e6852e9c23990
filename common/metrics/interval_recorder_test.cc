#include "common/metrics/interval_recorder.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/metrics/hdr_histogram.h"
#include "gtest/gtest.h"

namespace tpslab::metrics {
namespace {

constexpr int64_t kHour = 3'600'000'000;

// Deterministic per-thread values spanning several buckets.
int64_t ValueFor(int thread, int i) {
  return 1 + (int64_t{thread} * 7919 + int64_t{i} * 104'729) % 5'000'000;
}

TEST(IntervalRecorderTest, IntervalsHoldWhatWasRecordedSinceTheLastSwap) {
  IntervalRecorder recorder(1, kHour, 3);
  recorder.Record(10);
  recorder.Record(20, 3);
  HdrHistogram interval(1, kHour, 3);
  recorder.SwapInterval(interval);
  EXPECT_EQ(interval.TotalCount(), 4);
  EXPECT_EQ(interval.CountAtValue(20), 3);

  recorder.Record(30);
  recorder.SwapInterval(interval);  // recycled: the old contents go away
  EXPECT_EQ(interval.TotalCount(), 1);
  EXPECT_EQ(interval.CountAtValue(30), 1);
  EXPECT_EQ(interval.CountAtValue(20), 0);

  recorder.SwapInterval(interval);
  EXPECT_EQ(interval.TotalCount(), 0);
}

TEST(IntervalRecorderTest, OverflowAndRejectsAreCountedPerInterval) {
  IntervalRecorder recorder(1, 1'000, 3);
  recorder.Record(5'000);
  recorder.Record(-1);
  HdrHistogram interval = recorder.GetIntervalHistogram();
  EXPECT_EQ(interval.overflow_count(), 1);
  EXPECT_EQ(interval.rejected_count(), 1);
  EXPECT_EQ(interval.TotalCount(), 1);
  EXPECT_EQ(recorder.GetIntervalHistogram().overflow_count(), 0);
}

TEST(IntervalRecorderTest, RecycledHistogramOfAnotherLayoutIsReplaced) {
  IntervalRecorder recorder(1, kHour, 3);
  recorder.Record(123);
  HdrHistogram other(1, 1'000, 1);
  recorder.SwapInterval(other);
  EXPECT_EQ(other.highest_trackable_value(), kHour);
  EXPECT_EQ(other.significant_digits(), 3);
  EXPECT_EQ(other.CountAtValue(123), 1);
  // Both internal histograms still work after the replacement.
  for (int i = 0; i < 3; ++i) {
    recorder.Record(7);
    EXPECT_EQ(recorder.GetIntervalHistogram().CountAtValue(7), 1);
  }
}

TEST(IntervalRecorderTest, ConcurrentWritersLoseAndDuplicateNothing) {
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 50'000;
  IntervalRecorder recorder(1, kHour, 3);
  std::atomic<int> running{kWriters};
  std::atomic<int> swaps{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        // Every 10000 values, wait for another swap, so that swaps certainly
        // interleave with recording however the threads are scheduled.
        if (i % 10'000 == 0) {
          while (swaps.load() < i / 10'000) std::this_thread::yield();
        }
        recorder.Record(ValueFor(t, i));
      }
      running.fetch_sub(1);
    });
  }
  // The reporting thread swaps as fast as it can while writers run.
  HdrHistogram merged(1, kHour, 3);
  HdrHistogram interval(1, kHour, 3);
  int64_t sum_of_interval_totals = 0;
  while (running.load() > 0) {
    recorder.SwapInterval(interval);
    sum_of_interval_totals += interval.TotalCount();
    merged.Add(interval);
    swaps.fetch_add(1);
  }
  for (std::thread& w : writers) w.join();
  recorder.SwapInterval(interval);
  sum_of_interval_totals += interval.TotalCount();
  merged.Add(interval);

  HdrHistogram expected(1, kHour, 3);
  for (int t = 0; t < kWriters; ++t) {
    for (int i = 0; i < kPerWriter; ++i) expected.Record(ValueFor(t, i));
  }
  EXPECT_EQ(sum_of_interval_totals, int64_t{kWriters} * kPerWriter);
  EXPECT_EQ(merged, expected);  // every value exactly once, in its bucket
  EXPECT_EQ(merged.Max(), expected.Max());
  EXPECT_EQ(merged.Min(), expected.Min());
  EXPECT_GE(swaps.load(), kPerWriter / 10'000 - 1);
  recorder.SwapInterval(interval);
  EXPECT_EQ(interval.TotalCount(), 0);
}

TEST(IntervalRecorderTest, SeveralReportingThreadsAreSerialized) {
  IntervalRecorder recorder(1, kHour, 2);
  constexpr int kValues = 20'000;
  std::atomic<int64_t> collected{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      HdrHistogram interval(1, kHour, 2);
      while (!done.load()) {
        recorder.SwapInterval(interval);
        collected.fetch_add(interval.TotalCount());
      }
    });
  }
  std::thread writer([&] {
    for (int i = 0; i < kValues; ++i) recorder.Record(i);
  });
  writer.join();
  done.store(true);
  for (std::thread& r : readers) r.join();
  collected.fetch_add(recorder.GetIntervalHistogram().TotalCount());
  EXPECT_EQ(collected.load(), kValues);
}

}  // namespace
}  // namespace tpslab::metrics
