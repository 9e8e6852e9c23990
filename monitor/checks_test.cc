#include "monitor/checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tpslab::monitor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(PluginCheckTest, ParsesNameAndCommand) {
  absl::StatusOr<PluginCheck> check = ParsePluginCheck("load=check_load -w 5,4,3 -c '10,8,6'");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->name, "load");
  EXPECT_THAT(check->argv,
              ElementsAre("/usr/lib/nagios/plugins/check_load", "-w", "5,4,3", "-c", "10,8,6"));
  check = ParsePluginCheck("/opt/check_x --url=http://a");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->name, "check_x");
  EXPECT_EQ(check->argv[1], "--url=http://a");
  EXPECT_THAT(std::string(ParsePluginCheck("=x").status().message()),
              HasSubstr("empty check name"));
  EXPECT_THAT(std::string(ParsePluginCheck("a=").status().message()), HasSubstr("empty command"));
}

TEST(ThresholdCheckTest, ParsesSelectorAndRanges) {
  absl::StatusOr<ThresholdCheck> check =
      ParseThresholdCheck("tpslab_cpu_busy_ratio{cpu=\"total\"} warn=~:0.8 crit=@0.95:1");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->metric, "tpslab_cpu_busy_ratio");
  EXPECT_THAT(check->labels, ElementsAre(Pair("cpu", "total")));
  EXPECT_EQ(check->warn->text, "~:0.8");
  EXPECT_TRUE(check->crit->alert_inside);
  auto error = [](std::string_view text) {
    return std::string(ParseThresholdCheck(text).status().message());
  };
  EXPECT_THAT(error("node_load1"), HasSubstr("has no warn= or crit="));
  EXPECT_THAT(error("node_load1 warm=3"), HasSubstr("expected warn=RANGE or crit=RANGE"));
  EXPECT_THAT(error("node_load1 warn=5:1"), HasSubstr("start is greater than end"));
  EXPECT_THAT(error("1bad warn=1"), HasSubstr("invalid metric selector '1bad'"));
}

TEST(ThresholdCheckTest, EvaluatesAgainstSeries) {
  std::vector<Series> series = {
      {"node_load1", {}, 3.0, Series::Type::kGauge},
      {"x", {{"cpu", "0"}}, 0.1, Series::Type::kGauge},
      {"x", {{"cpu", "total"}}, 0.97, Series::Type::kGauge},
  };
  tpslab::v1::CheckResult r =
      EvaluateThresholdCheck(*ParseThresholdCheck("node_load1 warn=2 crit=4"), series);
  EXPECT_EQ(r.state(), tpslab::v1::CHECK_STATE_WARNING);
  EXPECT_EQ(r.output(), "WARNING - node_load1 = 3");
  ASSERT_EQ(r.perf_data_size(), 1);
  EXPECT_EQ(r.perf_data(0).warn(), "2");
  r = EvaluateThresholdCheck(*ParseThresholdCheck("x{cpu=\"total\"} crit=~:0.95"), series);
  EXPECT_EQ(r.state(), tpslab::v1::CHECK_STATE_CRITICAL);
  r = EvaluateThresholdCheck(*ParseThresholdCheck("x{cpu=\"0\"} crit=~:0.95"), series);
  EXPECT_EQ(r.state(), tpslab::v1::CHECK_STATE_OK);
  r = EvaluateThresholdCheck(*ParseThresholdCheck("missing warn=1"), series);
  EXPECT_EQ(r.state(), tpslab::v1::CHECK_STATE_UNKNOWN);
  EXPECT_THAT(r.output(), HasSubstr("no series missing"));
}

TEST(CheckStatesTest, ReportsTransitions) {
  CheckStates states;
  tpslab::v1::CheckResult r;
  r.set_name("a");
  r.set_state(tpslab::v1::CHECK_STATE_OK);
  EXPECT_FALSE(states.Update(r));  // first OK is not news
  EXPECT_FALSE(states.Update(r));
  r.set_state(tpslab::v1::CHECK_STATE_CRITICAL);
  EXPECT_TRUE(states.Update(r));
  EXPECT_EQ(r.previous_state(), tpslab::v1::CHECK_STATE_OK);
  r.clear_previous_state();
  EXPECT_FALSE(states.Update(r));
  EXPECT_EQ(r.previous_state(), tpslab::v1::CHECK_STATE_UNSPECIFIED);
  tpslab::v1::CheckResult b;
  b.set_name("b");
  b.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
  EXPECT_TRUE(states.Update(b));  // first non-OK is
  EXPECT_EQ(states.latest().size(), 2u);
}

}  // namespace
}  // namespace tpslab::monitor
