#include "monitor/prom_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace tpslab::monitor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Error(std::string_view text) {
  return std::string(ParsePrometheusText(text).status().message());
}

TEST(PromTextTest, ParsesTypicalExposition) {
  absl::StatusOr<std::vector<PromSample>> samples = ParsePrometheusText(
      "# HELP ftpd_sessions Open sessions.\n"
      "# TYPE ftpd_sessions gauge\n"
      "ftpd_sessions 3\n"
      "# TYPE ftpd_replies_total counter\n"
      "ftpd_replies_total{class=\"2xx\"} 1027 1700000000000\n"
      "ftpd_replies_total{class=\"5xx\",path=\"a\\\"b\\\\c\\nd\"} 4\n"
      "\n"
      "# TYPE rpc_seconds summary\n"
      "rpc_seconds{quantile=\"0.5\"} 0.25\n"
      "rpc_seconds_sum 17.5\n"
      "rpc_seconds_count 70\n"
      "untyped_thing{} -Inf\n"
      "nan_thing NaN\n"
      "sci 1.5e3\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 9u);
  EXPECT_EQ((*samples)[0].name, "ftpd_sessions");
  EXPECT_EQ((*samples)[0].type, "gauge");
  EXPECT_EQ((*samples)[0].value, 3);
  EXPECT_EQ((*samples)[1].type, "counter");
  EXPECT_THAT((*samples)[1].labels, ElementsAre(Pair("class", "2xx")));
  EXPECT_THAT((*samples)[2].labels, ElementsAre(Pair("class", "5xx"), Pair("path", "a\"b\\c\nd")));
  EXPECT_EQ((*samples)[4].name, "rpc_seconds_sum");
  EXPECT_EQ((*samples)[4].type, "summary");
  EXPECT_EQ((*samples)[6].type, "untyped");
  EXPECT_TRUE(std::isinf((*samples)[6].value));
  EXPECT_TRUE(std::isnan((*samples)[7].value));
  EXPECT_EQ((*samples)[8].value, 1500);
}

TEST(PromTextTest, RejectsMalformedLines) {
  EXPECT_THAT(Error("9lives 1\n"), HasSubstr("line 1: expected a metric name"));
  EXPECT_THAT(Error("a{b=\"1\" 2\n"), HasSubstr("expected ',' or '}'"));
  EXPECT_THAT(Error("a{b=1} 2\n"), HasSubstr("expected '\"' to open the value of label 'b'"));
  EXPECT_THAT(Error("a{b} 2\n"), HasSubstr("expected '=' after label name 'b'"));
  EXPECT_THAT(Error("a{b=\"x} 2\n"), HasSubstr("unterminated value of label 'b'"));
  EXPECT_THAT(Error("a{b=\"\\t\"} 2\n"), HasSubstr("bad escape '\\t'"));
  EXPECT_THAT(Error("a{b=\"1\",b=\"2\"} 2\n"), HasSubstr("duplicate label 'b'"));
  EXPECT_THAT(Error("a\n"), HasSubstr("expected a blank and a value after 'a'"));
  EXPECT_THAT(Error("a x\n"), HasSubstr("bad value 'x'"));
  EXPECT_THAT(Error("a inf\n"), HasSubstr("bad value 'inf'"));
  EXPECT_THAT(Error("a 1 2 3\n"), HasSubstr("trailing text"));
  EXPECT_THAT(Error("a 1 1.5\n"), HasSubstr("bad timestamp '1.5'"));
  EXPECT_THAT(Error("ok 1\n# TYPE a gauge\n# TYPE a counter\n"),
              HasSubstr("line 3: second TYPE line for 'a'"));
  EXPECT_THAT(Error("a 1\n# TYPE a gauge\n"), HasSubstr("TYPE for 'a' after its samples"));
  EXPECT_THAT(Error("# TYPE a meter\n"), HasSubstr("unknown type 'meter'"));
  EXPECT_THAT(Error("# TYPE 1a gauge\n"), HasSubstr("invalid metric name '1a'"));
  EXPECT_THAT(Error("a{__x-y=\"1\"} 2\n"), HasSubstr("expected '=' after label name '__x'"));
}

TEST(PromTextTest, EmptyAndCommentsOnly) {
  EXPECT_TRUE(ParsePrometheusText("")->empty());
  EXPECT_TRUE(ParsePrometheusText("# just a comment\n\n# HELP x y\n")->empty());
}

}  // namespace
}  // namespace tpslab::monitor
