#include "loadgen/threshold.h"

#include <gtest/gtest.h>

namespace tpslab::loadgen {
namespace {

TEST(ThresholdTest, ParsesPercentileWithName) {
  absl::StatusOr<Threshold> t = ParseThreshold("p99(upload) < 50ms");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->metric, Threshold::Metric::kPercentile);
  EXPECT_DOUBLE_EQ(t->percentile, 99);
  EXPECT_EQ(t->name, "upload");
  EXPECT_EQ(t->op, Threshold::Op::kLess);
  EXPECT_DOUBLE_EQ(t->limit, 50);
  EXPECT_TRUE(t->Holds(49.9));
  EXPECT_FALSE(t->Holds(50));
}

TEST(ThresholdTest, ParsesFractionalPercentileAndStepName) {
  absl::StatusOr<Threshold> t = ParseThreshold("  p99.9 ( upload/connect ) <= 1.5s ");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_DOUBLE_EQ(t->percentile, 99.9);
  EXPECT_EQ(t->name, "upload/connect");
  EXPECT_EQ(t->op, Threshold::Op::kLessEqual);
  EXPECT_DOUBLE_EQ(t->limit, 1500);
  EXPECT_EQ(t->expression, "p99.9 ( upload/connect ) <= 1.5s");
}

TEST(ThresholdTest, ParsesErrorRatePercentAndFraction) {
  absl::StatusOr<Threshold> t = ParseThreshold("error_rate < 0.1%");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->metric, Threshold::Metric::kErrorRate);
  EXPECT_TRUE(t->name.empty());
  EXPECT_DOUBLE_EQ(t->limit, 0.001);
  t = ParseThreshold("error_rate(upload) <= 0.05");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_DOUBLE_EQ(t->limit, 0.05);
}

TEST(ThresholdTest, ParsesTpsCountMaxMean) {
  absl::StatusOr<Threshold> t = ParseThreshold("tps(upload) > 1000");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->metric, Threshold::Metric::kTps);
  EXPECT_EQ(t->op, Threshold::Op::kGreater);
  EXPECT_TRUE(t->Holds(1000.5));
  EXPECT_FALSE(t->Holds(1000));
  t = ParseThreshold("count >= 10");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->metric, Threshold::Metric::kCount);
  EXPECT_TRUE(t->Holds(10));
  EXPECT_EQ(ParseThreshold("max < 2s")->metric, Threshold::Metric::kMax);
  EXPECT_EQ(ParseThreshold("mean < 2ms")->metric, Threshold::Metric::kMean);
  EXPECT_EQ(ParseThreshold("errors(x) < 1")->metric, Threshold::Metric::kErrors);
}

TEST(ThresholdTest, RejectsUnknownMetric) {
  absl::StatusOr<Threshold> t = ParseThreshold("p999x(upload) < 5ms");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "invalid threshold 'p999x(upload) < 5ms': unknown metric 'p999x' (expected pNN, max, "
            "mean, tps, count, error_rate or errors)");
  EXPECT_FALSE(ParseThreshold("p0 < 5ms").ok());
  EXPECT_FALSE(ParseThreshold("p101 < 5ms").ok());
}

TEST(ThresholdTest, RejectsMissingComparison) {
  absl::StatusOr<Threshold> t = ParseThreshold("p99(upload) = 5ms");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("expected a comparison (<, <=, >, >=) after 'p99(upload)'"),
            std::string::npos)
      << t.status();
}

TEST(ThresholdTest, RejectsBadValues) {
  absl::StatusOr<Threshold> t = ParseThreshold("p99 < 5xs");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("invalid threshold 'p99 < 5xs': invalid duration '5xs'"),
            std::string::npos)
      << t.status();
  t = ParseThreshold("error_rate < lots%");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("invalid rate 'lots%'"), std::string::npos) << t.status();
  t = ParseThreshold("tps > fast");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("invalid number 'fast'"), std::string::npos);
  t = ParseThreshold("tps(upload >");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("missing ')'"), std::string::npos);
  t = ParseThreshold("tps <");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("missing value"), std::string::npos);
  EXPECT_FALSE(ParseThreshold("").ok());
}

}  // namespace
}  // namespace tpslab::loadgen
