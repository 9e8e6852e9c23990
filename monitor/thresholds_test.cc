#include "monitor/thresholds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;
using tpslab::v1::CHECK_STATE_CRITICAL;
using tpslab::v1::CHECK_STATE_OK;
using tpslab::v1::CHECK_STATE_UNKNOWN;
using tpslab::v1::CHECK_STATE_WARNING;

ThresholdRange Range(std::string_view text) {
  absl::StatusOr<ThresholdRange> range = ParseThresholdRange(text);
  EXPECT_TRUE(range.ok()) << range.status();
  return range.ok() ? *range : ThresholdRange{};
}

std::string Error(std::string_view text) {
  return std::string(ParseThresholdRange(text).status().message());
}

// The table of the Nagios plugin development guidelines.
TEST(ThresholdRangeTest, PlainNumberIsZeroToN) {
  ThresholdRange r = Range("10");
  EXPECT_TRUE(r.Alerts(-0.5));
  EXPECT_FALSE(r.Alerts(0));
  EXPECT_FALSE(r.Alerts(10));
  EXPECT_TRUE(r.Alerts(10.01));
}

TEST(ThresholdRangeTest, StartColonIsStartToInfinity) {
  ThresholdRange r = Range("10:");
  EXPECT_TRUE(r.Alerts(9.99));
  EXPECT_FALSE(r.Alerts(10));
  EXPECT_FALSE(r.Alerts(1e300));
}

TEST(ThresholdRangeTest, TildeIsMinusInfinity) {
  ThresholdRange r = Range("~:10");
  EXPECT_FALSE(r.Alerts(-1e300));
  EXPECT_FALSE(r.Alerts(10));
  EXPECT_TRUE(r.Alerts(10.5));
}

TEST(ThresholdRangeTest, StartEndIsOutside) {
  ThresholdRange r = Range("10:20");
  EXPECT_TRUE(r.Alerts(9));
  EXPECT_FALSE(r.Alerts(10));
  EXPECT_FALSE(r.Alerts(15));
  EXPECT_FALSE(r.Alerts(20));
  EXPECT_TRUE(r.Alerts(21));
}

TEST(ThresholdRangeTest, AtSignIsInsideInclusive) {
  ThresholdRange r = Range("@10:20");
  EXPECT_FALSE(r.Alerts(9.9));
  EXPECT_TRUE(r.Alerts(10));
  EXPECT_TRUE(r.Alerts(15));
  EXPECT_TRUE(r.Alerts(20));
  EXPECT_FALSE(r.Alerts(20.1));
}

TEST(ThresholdRangeTest, MoreForms) {
  EXPECT_TRUE(Range("@10").Alerts(5));  // inside 0..10
  EXPECT_FALSE(Range("@10").Alerts(11));
  EXPECT_TRUE(Range("@~:0").Alerts(-3));  // inside -inf..0
  EXPECT_FALSE(Range("~:").Alerts(1e9));  // everything is inside
  EXPECT_TRUE(Range("-5:-1").Alerts(0));
  EXPECT_FALSE(Range("-5:-1").Alerts(-3));
  EXPECT_TRUE(Range("0.5:1.5").Alerts(0.25));
  EXPECT_FALSE(Range("10:10").Alerts(10));
  EXPECT_EQ(Range("@10:20").text, "@10:20");
}

TEST(ThresholdRangeTest, RejectsBadRanges) {
  EXPECT_THAT(Error(""), HasSubstr("invalid threshold range '': empty"));
  EXPECT_THAT(Error("@"), HasSubstr("missing end"));
  EXPECT_THAT(Error("abc"), HasSubstr("bad end 'abc'"));
  EXPECT_THAT(Error("x:10"), HasSubstr("bad start 'x'"));
  EXPECT_THAT(Error("10:y"), HasSubstr("bad end 'y'"));
  EXPECT_THAT(Error("20:10"), HasSubstr("'20:10': start is greater than end"));
  EXPECT_THAT(Error("1:2:3"), HasSubstr("bad end '2:3'"));
  EXPECT_THAT(Error("inf"), HasSubstr("bad end 'inf'"));
}

TEST(EvaluateThresholdsTest, CriticalBeatsWarning) {
  ThresholdRange warn = Range("~:2");
  ThresholdRange crit = Range("~:4");
  EXPECT_EQ(EvaluateThresholds(1, &warn, &crit), CHECK_STATE_OK);
  EXPECT_EQ(EvaluateThresholds(3, &warn, &crit), CHECK_STATE_WARNING);
  EXPECT_EQ(EvaluateThresholds(5, &warn, &crit), CHECK_STATE_CRITICAL);
  EXPECT_EQ(EvaluateThresholds(5, nullptr, &crit), CHECK_STATE_CRITICAL);
  EXPECT_EQ(EvaluateThresholds(3, nullptr, &crit), CHECK_STATE_OK);
  EXPECT_EQ(EvaluateThresholds(3, &warn, nullptr), CHECK_STATE_WARNING);
  EXPECT_EQ(EvaluateThresholds(3, nullptr, nullptr), CHECK_STATE_OK);
  EXPECT_EQ(EvaluateThresholds(std::nan(""), &warn, &crit), CHECK_STATE_UNKNOWN);
  EXPECT_EQ(CheckStateName(CHECK_STATE_WARNING), "WARNING");
}

}  // namespace
}  // namespace tpslab::monitor
