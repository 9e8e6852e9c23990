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

TEST(PluginCheckTest, PlainDefinitionLeavesIntervalAndTimeoutUnset) {
  absl::StatusOr<PluginCheck> check = ParsePluginCheck("load=check_load");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_FALSE(check->interval.has_value());
  EXPECT_FALSE(check->timeout.has_value());
  // A '[' in the plugin or its arguments is not an option list.
  check = ParsePluginCheck("/usr/bin/[ 1 -eq 1 ]");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->name, "[");
  EXPECT_THAT(check->argv, ElementsAre("/usr/bin/[", "1", "-eq", "1", "]"));
  check = ParsePluginCheck("x=check_dummy 0 '[a=b]'");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->name, "x");
  EXPECT_THAT(check->argv, ElementsAre("/usr/lib/nagios/plugins/check_dummy", "0", "[a=b]"));
}

TEST(PluginCheckTest, ParsesIntervalAndTimeout) {
  absl::StatusOr<PluginCheck> check =
      ParsePluginCheck("ftp[interval=30s,timeout=1.5s]=check_ftp -H 127.0.0.1 -w 1");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->name, "ftp");
  EXPECT_EQ(check->interval, std::chrono::seconds(30));
  EXPECT_EQ(check->timeout, std::chrono::milliseconds(1500));
  EXPECT_THAT(check->argv,
              ElementsAre("/usr/lib/nagios/plugins/check_ftp", "-H", "127.0.0.1", "-w", "1"));
  // Either key alone, in any order, blanks around them allowed.
  check = ParsePluginCheck("a[timeout=5s]=check_dummy 0");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_FALSE(check->interval.has_value());
  EXPECT_EQ(check->timeout, std::chrono::seconds(5));
  check = ParsePluginCheck("a[interval=100ms]=check_dummy 0");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->interval, std::chrono::milliseconds(100));
  EXPECT_FALSE(check->timeout.has_value());
  check = ParsePluginCheck("a[timeout = 2s , interval=1m]=/opt/check_x");
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->interval, std::chrono::minutes(1));
  EXPECT_EQ(check->timeout, std::chrono::seconds(2));
  EXPECT_THAT(check->argv, ElementsAre("/opt/check_x"));
}

TEST(PluginCheckTest, RejectsBadOptionsNamingTheCheckAndKey) {
  auto error = [](std::string_view text) {
    absl::StatusOr<PluginCheck> check = ParsePluginCheck(text);
    EXPECT_EQ(check.status().code(), absl::StatusCode::kInvalidArgument) << text;
    return std::string(check.status().message());
  };
  EXPECT_EQ(error("[interval=1s]=check_dummy 0"), "empty check name before '['");
  EXPECT_EQ(error("web[interval=1s=check_dummy 0"),
            "check 'web': missing ']' after '[interval=1s=check_dummy 0'");
  EXPECT_EQ(error("web[interval=1s]check_dummy 0"),
            "check 'web': expected '=PLUGIN ARGS' after ']'");
  EXPECT_EQ(error("web[interval=1s]"), "check 'web': expected '=PLUGIN ARGS' after ']'");
  EXPECT_EQ(error("web[]=check_dummy 0"),
            "check 'web': empty [] (expected interval=DURATION and/or timeout=DURATION)");
  EXPECT_EQ(error("web[interval=1s,]=check_dummy 0"),
            "check 'web': empty option in [interval=1s,]");
  EXPECT_EQ(error("web[retry=1s]=check_dummy 0"),
            "check 'web': unknown option 'retry' (expected interval or timeout)");
  EXPECT_EQ(error("web[interval=1s,timeout]=check_dummy 0"),
            "check 'web': timeout needs a value (e.g. timeout=30s)");
  EXPECT_EQ(error("web[interval=1s,interval=2s]=check_dummy 0"),
            "check 'web': interval given twice");
  EXPECT_THAT(error("web[interval=30]=check_dummy 0"),
              HasSubstr("check 'web': interval: invalid duration '30': missing unit"));
  EXPECT_THAT(error("web[timeout=5x]=check_dummy 0"),
              HasSubstr("check 'web': timeout: invalid duration '5x'"));
  EXPECT_THAT(error("web[interval=]=check_dummy 0"),
              HasSubstr("check 'web': interval: invalid duration ''"));
  EXPECT_EQ(error("web[interval=50ms]=check_dummy 0"),
            "check 'web': interval must be at least 100ms, got 50ms");
  EXPECT_EQ(error("web[timeout=0s]=check_dummy 0"),
            "check 'web': timeout must be positive, got 0s");
  EXPECT_EQ(error("web[timeout=-1s]=check_dummy 0"),
            "check 'web': timeout must be positive, got -1s");
  EXPECT_EQ(error("web[timeout=1s]="), "check 'web': empty command");
  EXPECT_THAT(error("web[timeout=1s]=check_dummy 'x"), HasSubstr("check 'web': unterminated '"));
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
