#include "monitor/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "monitor/prom_text.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

TEST(ExpositionTest, HostSampleUsesNodeExporterNames) {
  tpslab::v1::HostSample sample;
  tpslab::v1::CpuTimes* total = sample.add_cpus();
  total->set_cpu("total");
  tpslab::v1::CpuTimes* cpu0 = sample.add_cpus();
  cpu0->set_cpu("cpu0");
  cpu0->set_user(12.5);
  sample.set_load1(0.75);
  tpslab::v1::Pressure* p = sample.add_pressures();
  p->set_resource("cpu");
  p->set_some_total_us(2500000);
  tpslab::v1::NetInterface* lo = sample.add_interfaces();
  lo->set_name("lo");
  lo->set_rx_bytes(1234);
  tpslab::v1::Metric* m = sample.add_metrics();
  m->set_name("node_memory_MemAvailable_bytes");
  m->set_value(1e9);
  std::vector<Series> series;
  AppendHostSeries(sample, series);
  std::string text = RenderExposition(series);
  EXPECT_THAT(text, HasSubstr("# TYPE node_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 12.5\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("cpu=\"total\"")));
  EXPECT_THAT(text, HasSubstr("node_load1 0.75\n"));
  EXPECT_THAT(text, HasSubstr("node_pressure_cpu_waiting_seconds_total 2.5\n"));
  EXPECT_THAT(text, HasSubstr("node_network_receive_bytes_total{device=\"lo\"} 1234\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE node_memory_MemAvailable_bytes gauge\n"));
  EXPECT_THAT(text, HasSubstr("node_memory_MemAvailable_bytes 1000000000\n"));
  // What we render, our strict parser accepts.
  absl::StatusOr<std::vector<PromSample>> parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), series.size());
}

TEST(ExpositionTest, ProcessAndCheckSeries) {
  tpslab::v1::ProcessSample p;
  p.set_selector("name:ftpd");
  p.set_alive(true);
  p.set_processes(1);
  p.set_pid(42);
  p.set_threads(3);
  p.set_rss_bytes(4096);
  std::vector<Series> series;
  AppendProcessSeries(p, 0.25, series);
  tpslab::v1::CheckResult r;
  r.set_name("load");
  r.set_state(tpslab::v1::CHECK_STATE_CRITICAL);
  AppendCheckSeries(r, series);
  std::string text = RenderExposition(series);
  EXPECT_THAT(text, HasSubstr("tpslab_process_threads{selector=\"name:ftpd\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("tpslab_process_cpu_utilisation{selector=\"name:ftpd\"} 0.25\n"));
  EXPECT_THAT(text, HasSubstr("tpslab_process_up{selector=\"name:ftpd\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("tpslab_check_state{check=\"load\"} 2\n"));
  p.set_alive(false);
  series.clear();
  AppendProcessSeries(p, std::nullopt, series);
  EXPECT_EQ(series.size(), 2u);  // up and count only
}

TEST(ExpositionTest, EscapesAndSpecialValues) {
  std::vector<Series> series = {{"x", {{"path", "a\"b\\c\nd"}}, std::nan(""), Series::Type::kGauge},
                                {"y", {}, -INFINITY, Series::Type::kUntyped},
                                {"z", {}, 0.1, Series::Type::kGauge}};
  std::string text = RenderExposition(series);
  EXPECT_THAT(text, HasSubstr("x{path=\"a\\\"b\\\\c\\nd\"} NaN\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE y untyped\ny -Inf\n"));
  EXPECT_THAT(text, HasSubstr("z 0.10000000000000001\n"));
  absl::StatusOr<std::vector<PromSample>> parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].labels[0].second, "a\"b\\c\nd");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
}

}  // namespace
}  // namespace tpslab::monitor
