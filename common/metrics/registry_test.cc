#include "common/metrics/registry.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics/hdr_histogram.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, RendersTheExactExpositionText) {
  Registry registry;
  Counter* retr =
      *registry.GetCounter("ftpd_commands_total", "FTP commands received.", {{"command", "RETR"}});
  Counter* stor =
      *registry.GetCounter("ftpd_commands_total", "FTP commands received.", {{"command", "STOR"}});
  Counter* bytes = *registry.GetCounter("ftpd_bytes_total", "Bytes sent.\nIncluding \\ headers.");
  IntGauge* sessions = *registry.GetIntGauge("ftpd_sessions", "Open sessions.");
  Gauge* load = *registry.GetGauge("host_load", "Load average.", {{"window", "1m"}});
  Gauge* odd = *registry.GetGauge("host_load", "Load average.",
                                  {{"window", "weird \"quoted\" \\ and\nnewline"}});
  retr->Inc();
  retr->Inc(2);
  stor->Inc(5);
  bytes->Inc(uint64_t{1} << 40);
  sessions->Set(4);
  sessions->Add(-1);
  load->Set(0.25);
  odd->Set(std::numeric_limits<double>::infinity());

  EXPECT_EQ(registry.Render(),
            "# HELP ftpd_bytes_total Bytes sent.\\nIncluding \\\\ headers.\n"
            "# TYPE ftpd_bytes_total counter\n"
            "ftpd_bytes_total 1099511627776\n"
            "# HELP ftpd_commands_total FTP commands received.\n"
            "# TYPE ftpd_commands_total counter\n"
            "ftpd_commands_total{command=\"RETR\"} 3\n"
            "ftpd_commands_total{command=\"STOR\"} 5\n"
            "# HELP ftpd_sessions Open sessions.\n"
            "# TYPE ftpd_sessions gauge\n"
            "ftpd_sessions 3\n"
            "# HELP host_load Load average.\n"
            "# TYPE host_load gauge\n"
            "host_load{window=\"1m\"} 0.25\n"
            "host_load{window=\"weird \\\"quoted\\\" \\\\ and\\nnewline\"} +Inf\n");
}

TEST(RegistryTest, LabelsAreSortedByNameAndSeriesByLabels) {
  Registry registry;
  *registry.GetCounter("requests_total", "Requests.", {{"z", "1"}, {"a", "2"}});
  *registry.GetCounter("requests_total", "Requests.", {{"a", "1"}, {"z", "9"}});
  (*registry.GetCounter("requests_total", "Requests."))->Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total 1\n"
            "requests_total{a=\"1\",z=\"9\"} 0\n"
            "requests_total{a=\"2\",z=\"1\"} 0\n");
}

TEST(RegistryTest, SameSeriesReturnsTheSameMetric) {
  Registry registry;
  Counter* a = *registry.GetCounter("x_total", "X.", {{"k", "v"}});
  Counter* b = *registry.GetCounter("x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, *registry.GetCounter("x_total", "X.", {{"k", "w"}}));
}

TEST(RegistryTest, SummaryFromHdrHistogram) {
  Registry registry;
  SummaryOptions options;
  options.quantiles = {0.5, 0.99, 1.0};
  options.value_scale = 1e-6;  // us -> s
  HistogramSummary* latency =
      *registry.GetSummary("ftpd_transfer_seconds", "Transfer latency.", {{"op", "retr"}}, options);
  HdrHistogram interval(1, 3'600'000'000, 3);
  for (int64_t v = 1; v <= 1000; ++v) interval.Record(v * 1000);  // 1 ms .. 1 s
  latency->Add(interval);
  latency->Record(2'000'000);

  HdrHistogram all = interval;
  all.Record(2'000'000);
  double sum = 0;
  for (const HdrBucket& b : all.RecordedBuckets()) {
    sum += static_cast<double>(all.MedianEquivalentValue(b.lowest_value)) *
           static_cast<double>(b.count);
  }
  const auto seconds = [](int64_t us) {
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + 32, static_cast<double>(us) * 1e-6);
    return std::string(buffer, end);
  };
  const auto text = [](double v) {
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + 32, v);
    return std::string(buffer, end);
  };
  EXPECT_EQ(registry.Render(),
            "# HELP ftpd_transfer_seconds Transfer latency.\n"
            "# TYPE ftpd_transfer_seconds summary\n"
            "ftpd_transfer_seconds{op=\"retr\",quantile=\"0.5\"} " +
                seconds(all.ValueAtPercentile(50)) +
                "\n"
                "ftpd_transfer_seconds{op=\"retr\",quantile=\"0.99\"} " +
                seconds(all.ValueAtPercentile(99)) +
                "\n"
                "ftpd_transfer_seconds{op=\"retr\",quantile=\"1\"} " +
                seconds(all.ValueAtPercentile(100)) +
                "\n"
                "ftpd_transfer_seconds_sum{op=\"retr\"} " +
                text(sum * 1e-6) +
                "\n"
                "ftpd_transfer_seconds_count{op=\"retr\"} 1001\n");
  // The median (rank 501 of 1001) is 501 ms; its bucket ends at 501.247 ms.
  EXPECT_EQ(all.ValueAtPercentile(50), 501'247);
  EXPECT_EQ(latency->Snapshot(), all);
}

TEST(RegistryTest, EmptySummaryHasNaNQuantiles) {
  Registry registry;
  SummaryOptions options;
  options.quantiles = {0.9};
  ASSERT_TRUE(registry.GetSummary("rpc_latency", "RPC latency in us.", {}, options).ok());
  EXPECT_EQ(registry.Render(),
            "# HELP rpc_latency RPC latency in us.\n"
            "# TYPE rpc_latency summary\n"
            "rpc_latency{quantile=\"0.9\"} NaN\n"
            "rpc_latency_sum 0\n"
            "rpc_latency_count 0\n");
}

TEST(RegistryTest, RejectsBadNamesAndConflicts) {
  Registry registry;
  EXPECT_THAT(registry.GetCounter("9lives", "x").status().message(),
              HasSubstr("invalid metric name '9lives'"));
  EXPECT_THAT(registry.GetCounter("a-b", "x").status().message(),
              HasSubstr("invalid metric name 'a-b'"));
  EXPECT_TRUE(registry.GetCounter("ns:sub_total", "x").ok());
  EXPECT_THAT(registry.GetCounter("ok_total", "x", {{"bad-label", "v"}}).status().message(),
              HasSubstr("invalid label name 'bad-label'"));
  EXPECT_THAT(registry.GetCounter("ok_total", "x", {{"__reserved", "v"}}).status().message(),
              HasSubstr("label name '__reserved' is reserved"));

  ASSERT_TRUE(registry.GetCounter("c_total", "C.").ok());
  const absl::Status type = registry.GetGauge("c_total", "C.").status();
  EXPECT_EQ(type.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(type.message(), HasSubstr("already registered as a counter, not a gauge"));
  EXPECT_THAT(registry.GetCounter("c_total", "Other.").status().message(),
              HasSubstr("already registered with help 'C.', not 'Other.'"));

  ASSERT_TRUE(registry.GetGauge("g", "G.").ok());
  EXPECT_THAT(registry.GetIntGauge("g", "G.").status().message(), HasSubstr("another value type"));

  ASSERT_TRUE(registry.GetSummary("lat", "L.").ok());
  EXPECT_THAT(registry.GetCounter("lat_count", "x").status().message(),
              HasSubstr("collide with the _count series of summary 'lat'"));
  ASSERT_TRUE(registry.GetCounter("dur_sum", "x").ok());
  EXPECT_THAT(registry.GetSummary("dur", "D.").status().message(),
              HasSubstr("would collide with the registered metric 'dur_sum'"));
  EXPECT_THAT(registry.GetSummary("q", "Q.", {{"quantile", "x"}}).status().message(),
              HasSubstr("the label 'quantile' is reserved"));
  SummaryOptions bad;
  bad.quantiles = {1.5};
  EXPECT_THAT(registry.GetSummary("q", "Q.", {}, bad).status().message(),
              HasSubstr("quantile 1.5 is outside [0, 1]"));
  bad = SummaryOptions();
  bad.significant_digits = 7;
  EXPECT_THAT(registry.GetSummary("q", "Q.", {}, bad).status().message(),
              HasSubstr("significant_digits 7"));
  SummaryOptions other;
  other.quantiles = {0.5};
  EXPECT_THAT(registry.GetSummary("lat", "L.", {}, other).status().message(),
              HasSubstr("already exists with other quantiles"));
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  Counter* counter = *registry.GetCounter("events_total", "Events.");
  IntGauge* gauge = *registry.GetIntGauge("level", "Level.");
  Gauge* dgauge = *registry.GetGauge("dlevel", "Level.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        counter->Inc();
        gauge->Add(2);
        dgauge->Add(0.5);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter->Value(), 40'000u);
  EXPECT_EQ(gauge->Value(), 80'000);
  EXPECT_EQ(dgauge->Value(), 20'000.0);
  EXPECT_THAT(registry.Render(), HasSubstr("events_total 40000\n"));
}

}  // namespace
}  // namespace tpslab::metrics
