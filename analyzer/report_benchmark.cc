// Report generation time for a long run (issue 6 benchmark): fills a fresh
// RunStore with a synthetic run of --seconds seconds, as one loadgen and one
// monitor would stream it, then times each step of turning it into the
// report files: AnalyzeRun, summary.json, timeseries.csv and report.html.
//
//   ./bazelw build //analyzer:report_benchmark
//   bazel-out/k8-opt/bin/analyzer/report_benchmark --seconds=3600
//
// Per second the run holds one LoadInterval (2 transactions and 8 steps,
// each an HDR histogram of 1,000 log-normal latencies), one HostSample (3
// CPU rows, 2 interfaces, 1 disk, 400 metrics) and one ProcessSample; the
// load doubles every --seconds/8 like the built-in perf run's ladder.
#include <google/protobuf/util/time_util.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "analyzer/load_series.h"
#include "analyzer/report/html_report.h"
#include "analyzer/run_analysis.h"
#include "analyzer/run_store.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using Clock = std::chrono::steady_clock;

constexpr int64_t kStartS = 1'800'000'000;

v1::OperationStats Op(const std::string& name, uint64_t count, double median_us,
                      std::mt19937_64& random) {
  v1::OperationStats op;
  op.set_name(name);
  op.set_count(count);
  metrics::HdrHistogram h = EmptyLatencyHistogram();
  std::lognormal_distribution<double> latency(std::log(median_us), 0.6);
  for (int i = 0; i < 1000; ++i) h.Record(static_cast<int64_t>(latency(random)) + 1);
  *op.mutable_latency() = metrics::ToProto(h, "us");
  return op;
}

v1::AgentMessage Load(int second, int seconds, std::mt19937_64& random) {
  const int stage = second * 8 / seconds;
  const double users = 1 << stage;
  const double tps = 1500 * users / (1 + 0.3 * (users - 1) + 0.0003 * users * (users - 1));
  v1::AgentMessage m;
  m.set_source_id("loadgen-1");
  m.set_sequence(second + 1);
  v1::LoadInterval* load = m.mutable_load();
  *load->mutable_start() = TimeUtil::SecondsToTimestamp(kStartS + second);
  *load->mutable_end() = TimeUtil::SecondsToTimestamp(kStartS + second + 1);
  load->set_stage(stage);
  load->set_active_users(static_cast<uint32_t>(users));
  load->set_generator_cpu_seconds(0.3);
  const double median_us = 1e6 * users / tps;
  for (const char* transaction : {"upload", "download"}) {
    *load->add_transactions() = Op(transaction, static_cast<uint64_t>(tps / 2), median_us, random);
    for (const char* step : {"connect", "login", "transfer", "quit"}) {
      *load->add_steps() = Op(std::string(transaction) + "/" + step, static_cast<uint64_t>(tps / 2),
                              median_us / 4, random);
    }
  }
  return m;
}

v1::AgentMessage Host(int second, int seconds) {
  const double busy = std::min(1.0, 0.3 + 0.7 * second / seconds);
  v1::AgentMessage m;
  m.set_source_id("monitor-1");
  m.set_sequence(2 * second + 1);
  v1::HostSample* host = m.mutable_host();
  *host->mutable_time() = TimeUtil::MillisecondsToTimestamp((kStartS + second) * 1000 + 500);
  host->set_hostname("bench");
  for (const char* name : {"cpu", "cpu0", "cpu1"}) {
    const double cores = std::string(name) == "cpu" ? 2 : 1;
    v1::CpuTimes* cpu = host->add_cpus();
    cpu->set_cpu(name);
    cpu->set_user(cores * second * busy * 0.6);
    cpu->set_system(cores * second * busy * 0.3);
    cpu->set_softirq(cores * second * busy * 0.1);
    cpu->set_idle(cores * second * (1 - busy));
  }
  host->set_load1(2 * busy);
  for (const char* name : {"lo", "eth0"}) {
    v1::NetInterface* net = host->add_interfaces();
    net->set_name(name);
    net->set_rx_bytes(static_cast<uint64_t>(second) * 5'000'000);
    net->set_tx_bytes(static_cast<uint64_t>(second) * 5'000'000);
  }
  v1::Disk* disk = host->add_disks();
  disk->set_name("vda");
  disk->set_io_time_ms(static_cast<uint64_t>(second) * 10);
  const auto metric = [&](const std::string& name, double value, bool counter) {
    v1::Metric* m = host->add_metrics();
    m->set_name(name);
    m->set_value(value);
    m->set_counter(counter);
  };
  metric("node_memory_MemTotal_bytes", 24e9, false);
  metric("node_memory_MemAvailable_bytes", 20e9 - second * 1e5, false);
  metric("node_netstat_Tcp_ActiveOpens", second * 3000.0, true);
  metric("node_netstat_Tcp_PassiveOpens", second * 3000.0, true);
  metric("node_netstat_Tcp_RetransSegs", second * 2.0, true);
  metric("node_netstat_Tcp_CurrEstab", 40, false);
  metric("node_netstat_TcpExt_ListenOverflows", 0, true);
  metric("node_sockstat_TCP_tw", 20000, false);
  for (int i = 0; i < 392; ++i) metric("node_other_" + std::to_string(i), i * second, true);
  return m;
}

v1::AgentMessage Process(int second) {
  v1::AgentMessage m;
  m.set_source_id("monitor-1");
  m.set_sequence(2 * second + 2);
  v1::ProcessSample* p = m.mutable_process();
  *p->mutable_time() = TimeUtil::MillisecondsToTimestamp((kStartS + second) * 1000 + 500);
  p->set_selector("ftpd");
  p->set_pid(42);
  p->set_cpu_user_seconds(second * 0.6);
  p->set_cpu_system_seconds(second * 0.4);
  p->set_rss_bytes(64 << 20);
  p->set_threads(3);
  p->set_open_fds(100);
  p->set_alive(true);
  return m;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Run(int seconds) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("tpslab-report-benchmark-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open((dir / "run.db").string());
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  if (!(*store)
           ->CreateRun({.run_id = "bench",
                        .name = "report benchmark",
                        .state = v1::RUN_STATE_COMPLETED,
                        .created_ns = kStartS * kNanosPerSecond,
                        .started_ns = kStartS * kNanosPerSecond,
                        .ended_ns = (kStartS + seconds) * kNanosPerSecond})
           .ok()) {
    return 1;
  }
  std::mt19937_64 random(7);
  Clock::time_point t = Clock::now();
  for (int first = 0; first < seconds; first += 300) {
    const absl::Status s = (*store)->InTransaction([&](RunStore::Writer& w) -> absl::Status {
      for (int second = first; second < std::min(seconds, first + 300); ++second) {
        for (const v1::AgentMessage& m :
             {Load(second, seconds, random), Host(second, seconds), Process(second)}) {
          absl::StatusOr<bool> inserted = w.InsertSample(m, "bench", 0);
          if (!inserted.ok()) return inserted.status();
        }
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::printf("store: %d s of run (%d samples) written in %.2f s, %.1f MB\n", seconds, 3 * seconds,
              Seconds(t), std::filesystem::file_size(dir / "run.db") / 1e6);

  t = Clock::now();
  absl::StatusOr<nlohmann::json> report = AnalyzeRun(**store, "bench");
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const double analyze_s = Seconds(t);
  t = Clock::now();
  if (!WriteSummaryJson(*report, (dir / "summary.json").string()).ok() ||
      !WriteTimeseriesCsv(*report, (dir / "timeseries.csv").string()).ok()) {
    return 1;
  }
  const double files_s = Seconds(t);
  t = Clock::now();
  const std::string html = RenderReportHtml(*report);
  std::ofstream(dir / "report.html") << html;
  const double html_s = Seconds(t);
  rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "AnalyzeRun %.3f s; summary.json + timeseries.csv %.3f s; report.html %.3f s "
      "(%.1f MB); total %.3f s; peak RSS %.0f MB\n",
      analyze_s, files_s, html_s, html.size() / 1e6, analyze_s + files_s + html_s,
      usage.ru_maxrss / 1024.0);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tpslab::analyzer

int main(int argc, char** argv) {
  int seconds = 3600;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--seconds=")) {
      seconds = std::atoi(arg.c_str() + 10);
    } else {
      std::fprintf(stderr, "usage: report_benchmark [--seconds=N]\n");
      return 2;
    }
  }
  if (seconds < 16) {
    std::fprintf(stderr, "--seconds: at least 16\n");
    return 2;
  }
  return tpslab::analyzer::Run(seconds);
}
