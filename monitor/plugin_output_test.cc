#include "monitor/plugin_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

TEST(PluginOutputTest, CheckLoadStyleOutput) {
  PluginOutput out = ParsePluginOutput(
      "LOAD OK - total load average: 0.49, 0.57, 0.61|load1=0.490;5.000;10.000;0; "
      "load5=0.570;4.000;6.000;0; load15=0.610;3.000;4.000;0; \n");
  EXPECT_EQ(out.status_text, "LOAD OK - total load average: 0.49, 0.57, 0.61");
  EXPECT_EQ(out.long_output, "");
  EXPECT_TRUE(out.perf_errors.empty());
  ASSERT_EQ(out.perf_data.size(), 3u);
  EXPECT_EQ(out.perf_data[0].label(), "load1");
  EXPECT_DOUBLE_EQ(out.perf_data[0].value(), 0.49);
  EXPECT_EQ(out.perf_data[0].warn(), "5.000");
  EXPECT_EQ(out.perf_data[0].crit(), "10.000");
  EXPECT_TRUE(out.perf_data[0].has_min());
  EXPECT_DOUBLE_EQ(out.perf_data[0].min(), 0);
  EXPECT_FALSE(out.perf_data[0].has_max());
  EXPECT_EQ(out.perf_data[2].label(), "load15");
}

TEST(PluginOutputTest, QuotedLabelsUnitsAndMultiLine) {
  PluginOutput out = ParsePluginOutput(
      "DISK OK - free space: / 3326 MB (56%); | '/'=2643MB;5948;5958;0;5968\n"
      "/ 15272 MB (77%);\n"
      "/boot 68 MB (69%);\n"
      "/home 69357 MB (27%); | '/boot'=68MB;88;93;0;98\n"
      "'/home a'=69357MB;253404;253409;0;253414 'it''s'=5%;;;;\n");
  EXPECT_EQ(out.status_text, "DISK OK - free space: / 3326 MB (56%);");
  EXPECT_EQ(out.long_output, "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%); ");
  EXPECT_TRUE(out.perf_errors.empty()) << out.perf_errors[0];
  ASSERT_EQ(out.perf_data.size(), 4u);
  EXPECT_EQ(out.perf_data[0].label(), "/");
  EXPECT_EQ(out.perf_data[0].unit(), "MB");
  EXPECT_DOUBLE_EQ(out.perf_data[0].max(), 5968);
  EXPECT_EQ(out.perf_data[1].label(), "/boot");
  EXPECT_EQ(out.perf_data[2].label(), "/home a");
  EXPECT_EQ(out.perf_data[3].label(), "it's");
  EXPECT_EQ(out.perf_data[3].unit(), "%");
  EXPECT_EQ(out.perf_data[3].warn(), "");
}

TEST(PluginOutputTest, UndeterminedValueAndRangesInThresholds) {
  absl::StatusOr<std::vector<tpslab::v1::PerfData>> data =
      ParsePerfData("time=U;@10:20;~:30 rta=0.5ms;100.000;500.000;0; c=12c");
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->size(), 3u);
  EXPECT_TRUE(std::isnan((*data)[0].value()));
  EXPECT_EQ((*data)[0].warn(), "@10:20");
  EXPECT_EQ((*data)[0].crit(), "~:30");
  EXPECT_EQ((*data)[1].unit(), "ms");
  EXPECT_EQ((*data)[2].unit(), "c");
  EXPECT_DOUBLE_EQ((*data)[2].value(), 12);
}

TEST(PluginOutputTest, GarbageIsReportedNotFatal) {
  PluginOutput out = ParsePluginOutput("something happened | this is not perfdata x=1 y=abc\n");
  EXPECT_EQ(out.status_text, "something happened");
  ASSERT_EQ(out.perf_data.size(), 1u);
  EXPECT_EQ(out.perf_data[0].label(), "x");
  ASSERT_EQ(out.perf_errors.size(), 5u);
  EXPECT_THAT(out.perf_errors[0], HasSubstr("invalid perfdata 'this': missing '='"));
  EXPECT_THAT(out.perf_errors[4], HasSubstr("invalid perfdata 'y=abc': bad value 'abc'"));
}

TEST(PluginOutputTest, StrictPerfDataErrors) {
  auto error = [](std::string_view text) {
    return std::string(ParsePerfData(text).status().message());
  };
  EXPECT_THAT(error("'open=1"), HasSubstr("unterminated quote"));
  EXPECT_THAT(error("=1"), HasSubstr("empty label"));
  EXPECT_THAT(error("a=1;2;3;4;5;6"), HasSubstr("more than 5"));
  EXPECT_THAT(error("a=1;2;3;x"), HasSubstr("bad min 'x'"));
  EXPECT_THAT(error("a=1;2;3;0;y"), HasSubstr("bad max 'y'"));
  EXPECT_THAT(error("a="), HasSubstr("bad value ''"));
  EXPECT_TRUE(ParsePerfData("").ok());
}

TEST(PluginOutputTest, EmptyAndBinaryOutput) {
  PluginOutput empty = ParsePluginOutput("");
  EXPECT_EQ(empty.status_text, "");
  EXPECT_TRUE(empty.perf_data.empty());
  std::string binary("\x01\xff\x00zz|\x02=", 8);
  PluginOutput garbage = ParsePluginOutput(binary);
  EXPECT_EQ(garbage.perf_data.size(), 0u);
  EXPECT_EQ(garbage.perf_errors.size(), 1u);
}

TEST(PluginOutputTest, ExitCodes) {
  EXPECT_EQ(StateFromExitCode(0), tpslab::v1::CHECK_STATE_OK);
  EXPECT_EQ(StateFromExitCode(1), tpslab::v1::CHECK_STATE_WARNING);
  EXPECT_EQ(StateFromExitCode(2), tpslab::v1::CHECK_STATE_CRITICAL);
  EXPECT_EQ(StateFromExitCode(3), tpslab::v1::CHECK_STATE_UNKNOWN);
  EXPECT_EQ(StateFromExitCode(127), tpslab::v1::CHECK_STATE_UNKNOWN);
  EXPECT_EQ(StateFromExitCode(-1), tpslab::v1::CHECK_STATE_UNKNOWN);
}

}  // namespace
}  // namespace tpslab::monitor
