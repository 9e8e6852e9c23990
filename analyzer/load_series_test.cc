// LoadAggregator: two agents with clock offsets, merged histograms (not
// averaged percentiles), per-second and per-stage rates, bad histograms.
#include "analyzer/load_series.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
constexpr int64_t kS = kNanosPerSecond;

// An interval [end − 1 s, end) with `count` transactions "upload":
// `fast` of them at 1 ms, the rest at `slow_us`.
v1::LoadInterval Interval(int64_t end_s, uint32_t stage, uint32_t users, int count, int fast,
                          int64_t slow_us, int errors = 0) {
  v1::LoadInterval interval;
  *interval.mutable_start() = TimeUtil::NanosecondsToTimestamp((end_s - 1) * kS);
  *interval.mutable_end() = TimeUtil::NanosecondsToTimestamp(end_s * kS);
  interval.set_stage(stage);
  interval.set_active_users(users);
  interval.set_generator_cpu_seconds(0.25);
  v1::OperationStats* op = interval.add_transactions();
  op->set_name("upload");
  op->set_count(count);
  op->set_errors(errors);
  metrics::HdrHistogram h = EmptyLatencyHistogram();
  h.Record(1000, fast);
  h.Record(slow_us, count - fast);
  *op->mutable_latency() = metrics::ToProto(h, "us");
  return interval;
}

TEST(LoadSeriesTest, MergesHistogramsAcrossAgentsInsteadOfAveragingPercentiles) {
  LoadAggregator load;
  // Agent a: p99 = 1 ms (990 at 1 ms, 10 at 100 ms). Agent b, whose clock is
  // 2 s behind: p99 = 2 ms (all 1000 at 2 ms). Merged p99 is 2 ms (the
  // 1980th of 2000 values), not their 1.5 ms average.
  ASSERT_TRUE(load.Add("a", Interval(10, 0, 10, 1000, 990, 100000), 0).ok());
  ASSERT_TRUE(load.Add("b", Interval(8, 0, 5, 1000, 0, 2000), 2 * kS).ok());
  const std::vector<LoadSecond> seconds = load.PerSecond();
  ASSERT_EQ(seconds.size(), 1u);
  const LoadSecond& s = seconds[0];
  EXPECT_EQ(s.bucket_ns, 10 * kS);
  EXPECT_EQ(s.all.count, 2000u);
  EXPECT_DOUBLE_EQ(s.all.tps, 2000.0);
  EXPECT_DOUBLE_EQ(s.active_users, 15.0);
  EXPECT_DOUBLE_EQ(s.generator_cpu, 0.5);
  const LatencySummary latency = Summarize(s.all.latency);
  EXPECT_EQ(latency.count, 2000);
  EXPECT_NEAR(latency.p99_ms, 2.0, 0.002);
  EXPECT_NEAR(latency.p50_ms, 2.0, 0.002);  // The 1000th value: 990 are at 1 ms.
  EXPECT_NEAR(latency.max_ms, 100.0, 0.1);
  EXPECT_EQ(s.transactions.at("upload").count, 2000u);
}

TEST(LoadSeriesTest, PerStageRatesAndUsers) {
  LoadAggregator load;
  for (int t = 1; t <= 4; ++t) {
    ASSERT_TRUE(load.Add("a", Interval(100 + t, 0, 10, 500, 500, 0), 0).ok());
    ASSERT_TRUE(load.Add("b", Interval(100 + t, 0, 10, 300, 300, 0), 0).ok());
  }
  for (int t = 5; t <= 6; ++t) {
    ASSERT_TRUE(load.Add("a", Interval(100 + t, 1, 20, 700, 600, 50000, 7), 0).ok());
  }
  const std::vector<LoadStage> stages = load.PerStage();
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].stage, 0u);
  EXPECT_DOUBLE_EQ(stages[0].seconds, 4.0);
  EXPECT_DOUBLE_EQ(stages[0].all.tps, 800.0);  // 500 + 300 per second.
  EXPECT_DOUBLE_EQ(stages[0].active_users, 20.0);
  EXPECT_EQ(stages[0].first_bucket_ns, 101 * kS);
  EXPECT_EQ(stages[0].last_bucket_ns, 104 * kS);
  EXPECT_DOUBLE_EQ(stages[1].all.tps, 700.0);
  EXPECT_EQ(stages[1].all.errors, 14u);

  const std::vector<StagePoint> points = ToStagePoints(stages);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1].stage, 1);
  EXPECT_DOUBLE_EQ(points[1].load, 20.0);
  EXPECT_DOUBLE_EQ(points[1].error_rate, 0.01);
  EXPECT_NEAR(points[1].p99_ms, 50.0, 0.05);  // 200 of 1400 at 50 ms.
  const std::vector<UslPoint> usl = ToUslPoints(stages);
  ASSERT_EQ(usl.size(), 2u);
  EXPECT_DOUBLE_EQ(usl[0].concurrency, 20.0);
  EXPECT_DOUBLE_EQ(usl[0].throughput, 800.0);
}

TEST(LoadSeriesTest, LastIntervalOfARunCountsWithTheUsersThatDidTheWork) {
  LoadAggregator load;
  // Stage 1 holds 4 users; the run ends with the last interval, whose
  // end-of-interval user count is 0 although 4 users completed 400
  // transactions in it. An idle interval at 0 users stays at 0.
  ASSERT_TRUE(load.Add("a", Interval(1, 0, 2, 200, 200, 1000), 0).ok());
  ASSERT_TRUE(load.Add("a", Interval(2, 1, 4, 400, 400, 1000), 0).ok());
  ASSERT_TRUE(load.Add("a", Interval(3, 1, 0, 400, 400, 1000), 0).ok());
  ASSERT_TRUE(load.Add("a", Interval(4, 1, 0, 0, 0, 1000), 0).ok());
  const std::vector<LoadStage> stages = load.PerStage();
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_DOUBLE_EQ(stages[0].active_users, 2.0);
  EXPECT_DOUBLE_EQ(stages[1].active_users, (4.0 + 4.0 + 0.0) / 3);
  const std::vector<LoadSecond> seconds = load.PerSecond();
  ASSERT_EQ(seconds.size(), 4u);
  EXPECT_DOUBLE_EQ(seconds[2].active_users, 4.0);
  EXPECT_DOUBLE_EQ(seconds[3].active_users, 0.0);
}

TEST(LoadSeriesTest, TakeSecondsBeforeDrainsFinishedSecondsAndKeepsStages) {
  LoadAggregator streamed, whole;
  for (int t = 1; t <= 4; ++t) {
    for (LoadAggregator* load : {&streamed, &whole}) {
      ASSERT_TRUE(load->Add("a", Interval(100 + t, 0, 10, 100 * t, 100 * t, 0), 0).ok());
    }
  }
  const std::vector<LoadSecond> first = streamed.TakeSecondsBefore(103 * kS);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].bucket_ns, 101 * kS);
  EXPECT_EQ(first[1].bucket_ns, 102 * kS);
  EXPECT_DOUBLE_EQ(first[1].all.tps, 200.0);
  EXPECT_EQ(Summarize(first[1].all.latency).count, 200);
  EXPECT_DOUBLE_EQ(first[1].active_users, 10.0);
  EXPECT_DOUBLE_EQ(first[1].generator_cpu, 0.25);
  EXPECT_DOUBLE_EQ(first[1].transactions.at("upload").tps, 200.0);
  EXPECT_TRUE(streamed.TakeSecondsBefore(103 * kS).empty());  // Already taken.
  const std::vector<LoadSecond> rest = streamed.PerSecond();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].bucket_ns, 103 * kS);
  // Stages still cover every interval.
  ASSERT_EQ(streamed.PerStage().size(), 1u);
  EXPECT_EQ(streamed.PerStage()[0].all.count, whole.PerStage()[0].all.count);
  EXPECT_DOUBLE_EQ(streamed.PerStage()[0].all.tps, 250.0);
}

TEST(LoadSeriesTest, RejectsACorruptHistogramNamingTheTransaction) {
  LoadAggregator load;
  v1::LoadInterval interval = Interval(10, 0, 1, 10, 10, 0);
  interval.mutable_transactions(0)->mutable_latency()->set_encoded("garbage");
  const absl::Status status = load.Add("agent-7", interval, 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("load interval of agent-7, transaction 'upload': "),
            std::string::npos)
      << status;
  EXPECT_TRUE(load.PerSecond().empty());
}

}  // namespace
}  // namespace tpslab::analyzer
