// CheckLittlesLaw: consistent stage, idle users, overcounting, not applicable.
#include "analyzer/littles_law.h"

#include <gtest/gtest.h>

namespace tpslab::analyzer {
namespace {

TEST(LittlesLawTest, ConsistentStage) {
  // 2400 tx/s × (19 ms + 1 ms) = 48 users against 50: 4% off.
  const LittlesLawCheck check = CheckLittlesLaw(
      {.concurrency = 50, .throughput = 2400, .response_time_s = 0.019, .think_time_s = 0.001});
  EXPECT_EQ(check.verdict, LittlesLawVerdict::kConsistent);
  EXPECT_NEAR(check.expected_concurrency, 48.0, 1e-9);
  EXPECT_NEAR(check.relative_deviation, 0.04, 1e-12);
  EXPECT_EQ(check.explanation,
            "consistent: N = 50.00 users, X·(R+Z) = 2400.00 tx/s × (19.00 ms + 1.00 ms) = 48.00 "
            "(-4.0%)");
}

TEST(LittlesLawTest, UsersIdleWhenThroughputTooLowForTheLatency) {
  const LittlesLawCheck check =
      CheckLittlesLaw({.concurrency = 100, .throughput = 1000, .response_time_s = 0.05});
  EXPECT_EQ(check.verdict, LittlesLawVerdict::kUsersIdle);
  EXPECT_NEAR(check.relative_deviation, 0.5, 1e-12);
  EXPECT_NE(check.explanation.find("users idle"), std::string::npos);
}

TEST(LittlesLawTest, OvercountedWhenMoreWorkThanUsers) {
  const LittlesLawCheck check = CheckLittlesLaw(
      {.concurrency = 10, .throughput = 1000, .response_time_s = 0.02, .tolerance = 0.05});
  EXPECT_EQ(check.verdict, LittlesLawVerdict::kOvercounted);
  EXPECT_NEAR(check.relative_deviation, -1.0, 1e-12);
}

TEST(LittlesLawTest, ToleranceIsInclusive) {
  const LittlesLawCheck check = CheckLittlesLaw(
      {.concurrency = 8, .throughput = 28, .response_time_s = 0.25, .tolerance = 0.125});
  EXPECT_EQ(check.relative_deviation, 0.125);  // Exact in binary floating point.
  EXPECT_EQ(check.verdict, LittlesLawVerdict::kConsistent);
}

TEST(LittlesLawTest, NotApplicableWithoutLoad) {
  const LittlesLawCheck check = CheckLittlesLaw({.concurrency = 0, .throughput = 100});
  EXPECT_EQ(check.verdict, LittlesLawVerdict::kNotApplicable);
  EXPECT_EQ(check.explanation, "not applicable: N = 0 users, X = 100 tx/s (both must be > 0)");
}

}  // namespace
}  // namespace tpslab::analyzer
