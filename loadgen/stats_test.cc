#include "loadgen/stats.h"

#include <gtest/gtest.h>

#include <thread>

namespace tpslab::loadgen {
namespace {

TEST(StatsTest, MergesThreadsPerIntervalAndTotals) {
  ThreadStats a(2, true), b(2, true);
  StatsMerger merger({{"tx", true}, {"tx/step", false}}, {&a, &b});
  a.RecordSuccess(0, 1000, 100);
  b.RecordSuccess(0, 3000, 200);
  b.RecordError(0, v1::ERROR_CLASS_TIMEOUT);
  a.AddBytes(1, 10, 20);
  a.AddDropped();
  std::vector<OpInterval> first = merger.Collect();
  EXPECT_EQ(merger.CollectDropped(), 1u);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].count, 3u);
  EXPECT_EQ(first[0].errors, 1u);
  EXPECT_EQ(first[0].by_class[v1::ERROR_CLASS_TIMEOUT], 1u);
  EXPECT_EQ(first[0].latency.TotalCount(), 2);
  EXPECT_EQ(first[0].uncorrected.Max(), first[0].uncorrected.HighestEquivalentValue(200));
  EXPECT_EQ(first[1].bytes_sent, 10u);
  EXPECT_EQ(first[1].bytes_received, 20u);

  a.RecordSuccess(0, 5000, 5000);
  std::vector<OpInterval> second = merger.Collect();
  EXPECT_EQ(second[0].count, 1u);
  EXPECT_EQ(second[0].errors, 0u);
  EXPECT_EQ(merger.CollectDropped(), 0u);
  EXPECT_EQ(merger.totals()[0].count, 4u);
  EXPECT_EQ(merger.totals()[0].latency.TotalCount(), 3);
  EXPECT_EQ(merger.total_dropped(), 1u);

  v1::OperationStats proto = merger.totals()[0].ToProto("tx", true);
  EXPECT_EQ(proto.count(), 4u);
  ASSERT_EQ(proto.errors_by_class_size(), 1);
  EXPECT_EQ(proto.errors_by_class(0).class_(), v1::ERROR_CLASS_TIMEOUT);
  EXPECT_EQ(proto.latency().total_count(), 3u);
  EXPECT_EQ(proto.uncorrected_latency().total_count(), 3u);
}

TEST(StatsTest, ConcurrentRecordingLosesNothing) {
  ThreadStats t(1, false);
  StatsMerger merger({{"tx", true}}, {&t});
  std::thread writer([&] {
    for (int i = 0; i < 100000; ++i) t.RecordSuccess(0, 100 + i % 50, 0);
  });
  uint64_t seen = 0;
  int64_t recorded = 0;
  for (int i = 0; i < 50; ++i) {
    std::vector<OpInterval> interval = merger.Collect();
    seen += interval[0].count;
    recorded += interval[0].latency.TotalCount();
  }
  writer.join();
  std::vector<OpInterval> last = merger.Collect();
  seen += last[0].count;
  recorded += last[0].latency.TotalCount();
  EXPECT_EQ(seen, 100000u);
  EXPECT_EQ(recorded, 100000);
}

TEST(StatsTest, ErrorClassNames) {
  EXPECT_STREQ(ErrorClassName(v1::ERROR_CLASS_REFUSED), "refused");
  EXPECT_STREQ(ErrorClassName(v1::ERROR_CLASS_UNEXPECTED_REPLY), "unexpected_reply");
  EXPECT_STREQ(ErrorClassName(v1::ERROR_CLASS_CHECK_FAILED), "check_failed");
}

}  // namespace
}  // namespace tpslab::loadgen
