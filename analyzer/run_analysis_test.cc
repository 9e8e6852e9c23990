// AnalyzeRun on a real RunStore in $TEST_TMPDIR fed with synthetic agent
// messages: a stepped closed-model run (1, 2, 4, 8 users, 5 s each) from a
// loadgen on the coordinator's clock and a monitor whose clock is 2 s
// behind, with known counts, latencies, cumulative CPU and counters. The
// document's numbers are checked exactly where the arithmetic is exact.
#include "analyzer/run_analysis.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer/load_series.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

constexpr int64_t kS = kNanosPerSecond;
constexpr int64_t kStartS = 1000;       // Run start, coordinator clock.
constexpr int64_t kMonitorBehindS = 2;  // Monitor clock = coordinator - 2 s.
constexpr int kSecondsPerStage = 5;
constexpr int kStages = 4;
constexpr int kSeconds = kSecondsPerStage * kStages;
constexpr uint32_t kUsers[kStages] = {1, 2, 4, 8};
constexpr uint64_t kUploads[kStages] = {100, 200, 300, 320};  // Per second.
constexpr int64_t kUploadUs[kStages] = {10000, 10000, 13000, 25000};
constexpr uint64_t kLists = 10;  // Per second, at 500 us.
// Host CPU busy fraction (of 2 cores) per stage; dyadic so sums are exact.
constexpr double kBusy[kStages] = {0.25, 0.5, 0.75, 0.9375};
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(dir ? dir : "/tmp") / name;
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
  return path.string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Split(const std::string& line, char separator) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == separator) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

v1::OperationStats Op(const std::string& name, uint64_t count, int64_t latency_us,
                      uint64_t errors = 0) {
  v1::OperationStats op;
  op.set_name(name);
  op.set_count(count);
  op.set_errors(errors);
  if (errors > 0) {
    v1::ErrorCount* timeout = op.add_errors_by_class();
    timeout->set_class_(v1::ERROR_CLASS_TIMEOUT);
    timeout->set_count(errors / 2);
    v1::ErrorCount* reply = op.add_errors_by_class();
    reply->set_class_(v1::ERROR_CLASS_UNEXPECTED_REPLY);
    reply->set_count(errors - errors / 2);
  }
  metrics::HdrHistogram h = EmptyLatencyHistogram();
  h.Record(latency_us, static_cast<int64_t>(count));
  *op.mutable_latency() = metrics::ToProto(h, "us");
  return op;
}

// Interval i (1..20) of the loadgen: [start + i - 1, start + i).
v1::AgentMessage LoadMessage(int i, double generator_cpu_per_stage) {
  const int k = (i - 1) / kSecondsPerStage;
  v1::AgentMessage m;
  m.set_source_id("lg");
  m.set_sequence(i);
  v1::LoadInterval* load = m.mutable_load();
  *load->mutable_start() = TimeUtil::SecondsToTimestamp(kStartS + i - 1);
  *load->mutable_end() = TimeUtil::SecondsToTimestamp(kStartS + i);
  load->set_stage(k);
  load->set_active_users(kUsers[k]);
  load->set_generator_cpu_seconds(generator_cpu_per_stage * (k + 1));
  *load->add_transactions() = Op("upload", kUploads[k], kUploadUs[k], k == 3 ? 2 : 0);
  *load->add_transactions() = Op("list", kLists, 500);
  *load->add_steps() = Op("upload/connect", kUploads[k], 1000);
  return m;
}

// Cumulative host counters after second i (0..20); second i > 0 is in
// stage (i - 1) / 5. Sampled at coordinator time start + i + 0.5.
v1::AgentMessage HostMessage(int i) {
  double user = 100, system = 50, softirq = 10, iowait = 5, idle = 1000;
  double lo = 0, eth_rx = 0, eth_tx = 0, active = 0, passive = 0, retrans = 0, overflows = 0;
  double io_ms = 0;
  for (int s = 1; s <= i; ++s) {
    const int k = (s - 1) / kSecondsPerStage;
    const double b = kBusy[k];
    user += b;  // 2 cores: busy 2b s per s = user b + system b/2 + softirq b/2.
    system += b / 2;
    softirq += b / 2;
    iowait += 0.125;
    idle += 2 - 2 * b - 0.125;
    lo += 1000.0 * (k + 1);
    eth_rx += 500;
    eth_tx += 250;
    active += 10;
    passive += 10.0 * (k + 1);
    retrans += k == 3 ? 1 : 0;
    overflows += k == 3 ? 2 : 0;
    io_ms += 100;
  }
  const int k = i == 0 ? 0 : (i - 1) / kSecondsPerStage;
  v1::AgentMessage m;
  m.set_source_id("mon");
  m.set_sequence(1 + 2 * i);
  v1::HostSample* h = m.mutable_host();
  *h->mutable_time() =
      TimeUtil::NanosecondsToTimestamp((kStartS - kMonitorBehindS + i) * kS + kS / 2);
  h->set_hostname("box");
  v1::CpuTimes* total = h->add_cpus();
  total->set_cpu("total");
  total->set_user(user);
  total->set_system(system);
  total->set_softirq(softirq);
  total->set_iowait(iowait);
  total->set_idle(idle);
  h->add_cpus()->set_cpu("cpu0");
  h->add_cpus()->set_cpu("cpu1");
  h->set_load1(0.5 * (k + 1));
  v1::NetInterface* loopback = h->add_interfaces();
  loopback->set_name("lo");
  loopback->set_rx_bytes(static_cast<uint64_t>(lo));
  loopback->set_tx_bytes(static_cast<uint64_t>(lo));
  v1::NetInterface* eth = h->add_interfaces();
  eth->set_name("eth0");
  eth->set_rx_bytes(static_cast<uint64_t>(eth_rx));
  eth->set_tx_bytes(static_cast<uint64_t>(eth_tx));
  v1::Disk* disk = h->add_disks();
  disk->set_name("sda");
  disk->set_io_time_ms(static_cast<uint64_t>(io_ms));
  const auto metric = [&](const char* name, double value) {
    v1::Metric* m = h->add_metrics();
    m->set_name(name);
    m->set_value(value);
  };
  metric("node_memory_MemTotal_bytes", static_cast<double>(8 * kGiB));
  metric("node_memory_MemAvailable_bytes", static_cast<double>(6 * kGiB - i * kMiB));
  metric("node_netstat_Tcp_ActiveOpens", active);
  metric("node_netstat_Tcp_PassiveOpens", passive);
  metric("node_netstat_Tcp_RetransSegs", retrans);
  metric("node_netstat_Tcp_CurrEstab", kUsers[k]);
  metric("node_netstat_TcpExt_ListenOverflows", overflows);
  metric("node_sockstat_TCP_tw", 4);
  return m;
}

// The watched server process at coordinator time start + i + 0.25: it uses
// 1.5 × the host busy fraction in cores.
v1::AgentMessage ProcessMessage(int i) {
  double user = 3, system = 1;
  for (int s = 1; s <= i; ++s) {
    user += kBusy[(s - 1) / kSecondsPerStage];
    system += kBusy[(s - 1) / kSecondsPerStage] / 2;
  }
  const int k = i == 0 ? 0 : (i - 1) / kSecondsPerStage;
  v1::AgentMessage m;
  m.set_source_id("mon");
  m.set_sequence(2 + 2 * i);
  v1::ProcessSample* p = m.mutable_process();
  *p->mutable_time() =
      TimeUtil::NanosecondsToTimestamp((kStartS - kMonitorBehindS + i) * kS + kS / 4);
  p->set_selector("name:ftpd");
  p->set_pid(42);
  p->set_alive(true);
  p->set_cpu_user_seconds(user);
  p->set_cpu_system_seconds(system);
  p->set_rss_bytes(10 * kMiB + 4096 * i);
  p->set_threads(4);
  p->set_open_fds(10 + kUsers[k]);
  p->set_voluntary_ctx_switches(100 * i);
  p->set_involuntary_ctx_switches(10 * i);
  return m;
}

v1::AgentMessage CheckMessage(uint64_t sequence, int64_t coordinator_s, v1::CheckState state,
                              const std::string& output) {
  v1::AgentMessage m;
  m.set_source_id("mon");
  m.set_sequence(sequence);
  v1::CheckResult* c = m.mutable_check();
  *c->mutable_time() = TimeUtil::SecondsToTimestamp(coordinator_s - kMonitorBehindS);
  c->set_name("check_ftp");
  c->set_state(state);
  c->set_output(output);
  return m;
}

struct RunShape {
  bool monitor = true;
  bool load = true;
  double generator_cpu_per_stage = 0.1;  // Generator CPU s per s, × (stage + 1).
};

class RunAnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RunStore>> store = RunStore::Open(TempPath("analysis.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_
                    ->UpsertAgent({.source_id = "lg",
                                   .kind = v1::AGENT_KIND_LOADGEN,
                                   .hostname = "box",
                                   .version = "0.1.0",
                                   .threads = 2,
                                   .clock_offset_ns = 0,
                                   .round_trip_ns = 200'000})
                    .ok());
    ASSERT_TRUE(store_
                    ->UpsertAgent({.source_id = "mon",
                                   .kind = v1::AGENT_KIND_MONITOR,
                                   .hostname = "box",
                                   .clock_offset_ns = kMonitorBehindS * kS})
                    .ok());
  }

  void AddRun(const std::string& run_id, const RunShape& shape) {
    ASSERT_TRUE(store_
                    ->CreateRun({.run_id = run_id,
                                 .name = "default",
                                 .state = v1::RUN_STATE_COMPLETED,
                                 .created_ns = kStartS * kS,
                                 .started_ns = kStartS * kS,
                                 .ended_ns = (kStartS + kSeconds + 1) * kS,
                                 .scenario_json = R"({"name":"stepped"})"})
                    .ok());
    std::vector<v1::AgentMessage> messages;
    for (int i = 1; shape.load && i <= kSeconds; ++i) {
      messages.push_back(LoadMessage(i, shape.generator_cpu_per_stage));
    }
    for (int i = 0; shape.monitor && i <= kSeconds; ++i) {
      messages.push_back(HostMessage(i));
      messages.push_back(ProcessMessage(i));
    }
    if (shape.monitor) {
      messages.push_back(CheckMessage(100, kStartS + 3, v1::CHECK_STATE_OK, "FTP OK"));
      messages.push_back(CheckMessage(101, kStartS + 12, v1::CHECK_STATE_WARNING, "FTP slow"));
    }
    // Sources are reused across runs of one test: keep sequences unique.
    for (v1::AgentMessage& m : messages) m.set_sequence(m.sequence() + next_sequence_);
    next_sequence_ += 1000;
    ASSERT_TRUE(store_
                    ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                      for (const v1::AgentMessage& m : messages) {
                        absl::StatusOr<bool> inserted = w.InsertSample(m, run_id, 0);
                        if (!inserted.ok()) return inserted.status();
                      }
                      return w
                          .InsertFinding({.run_id = run_id,
                                          .time_ns = (kStartS + 10) * kS,
                                          .severity = "warning",
                                          .kind = "samples-dropped",
                                          .message = "agent mon dropped 2 samples"})
                          .status();
                    })
                    .ok());
  }

  json Analyze(const std::string& run_id, const AnalysisOptions& options = {}) {
    absl::StatusOr<json> report = AnalyzeRun(*store_, run_id, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : json();
  }

  std::unique_ptr<RunStore> store_;
  uint64_t next_sequence_ = 0;
};

double D(const json& j) { return j.get<double>(); }

TEST_F(RunAnalysisTest, SteppedRunRunAndAgents) {
  AddRun("r1", {});
  const json r = Analyze("r1", {.target = "ftp://127.0.0.1:2121",
                                .server = "ftpd",
                                .watched = {"name:ftpd"},
                                .now_ns = 1735689600 * kS});
  EXPECT_EQ(r["schema"], "tpslab.report/1");
  EXPECT_EQ(r["generated_at"], "2025-01-01T00:00:00Z");
  const json& run = r["run"];
  EXPECT_EQ(run["id"], "r1");
  EXPECT_EQ(run["name"], "default");
  EXPECT_EQ(run["state"], "completed");
  EXPECT_EQ(run["target"], "ftp://127.0.0.1:2121");
  EXPECT_EQ(run["server"], "ftpd");
  EXPECT_EQ(run["watched"], json::array({"name:ftpd"}));
  EXPECT_EQ(run["started_at"], "1970-01-01T00:16:40Z");
  EXPECT_DOUBLE_EQ(D(run["duration_s"]), 21.0);
  EXPECT_EQ(run["host"]["hostname"], "box");
  EXPECT_EQ(run["host"]["cores"], 2);
  EXPECT_TRUE(run["host"]["kernel"].is_null());
  EXPECT_EQ(run["scenario"]["name"], "stepped");
  ASSERT_EQ(run["agents"].size(), 2u);
  EXPECT_EQ(run["agents"][0]["source_id"], "lg");
  EXPECT_EQ(run["agents"][0]["kind"], "loadgen");
  EXPECT_DOUBLE_EQ(D(run["agents"][0]["round_trip_ms"]), 0.2);
  EXPECT_EQ(run["agents"][1]["source_id"], "mon");
  EXPECT_EQ(run["agents"][1]["kind"], "monitor");
  EXPECT_DOUBLE_EQ(D(run["agents"][1]["clock_offset_ms"]), 2000.0);
}

TEST_F(RunAnalysisTest, SeriesAreAlignedOnTheCoordinatorClock) {
  AddRun("r1", {});
  const json r = Analyze("r1");
  const json& s = r["series"];
  ASSERT_EQ(s["t_s"].size(), size_t{kSeconds});
  for (const std::string& name : ReportSeriesNames()) {
    ASSERT_TRUE(s.contains(name)) << name;
    EXPECT_EQ(s[name].size(), size_t{kSeconds}) << name;
  }
  EXPECT_EQ(s.size(), ReportSeriesNames().size());
  // Row r is the second [start + r + 1, start + r + 2) : intervals end at
  // start + 1 .. start + 20.
  EXPECT_EQ(s["t_s"][0], 1);
  EXPECT_EQ(s["t_s"][19], 20);
  EXPECT_EQ(s["stage"][4], 0);
  EXPECT_EQ(s["stage"][5], 1);
  EXPECT_EQ(s["users"][19], 8);
  EXPECT_DOUBLE_EQ(D(s["tps"][0]), 110.0);
  EXPECT_DOUBLE_EQ(D(s["tps"][19]), 330.0);
  EXPECT_DOUBLE_EQ(D(s["errors_per_s"][0]), 0.0);
  EXPECT_DOUBLE_EQ(D(s["errors_per_s"][19]), 2.0);
  EXPECT_NEAR(D(s["p99_ms"][0]), 10.0, 0.01);
  EXPECT_NEAR(D(s["p50_ms"][19]), 25.0, 0.02);
  EXPECT_NEAR(D(s["max_ms"][19]), 25.0, 0.02);
  EXPECT_DOUBLE_EQ(D(s["generator_cpu"][0]), 0.05);  // 0.1 CPU s/s of 2 cores.
  EXPECT_DOUBLE_EQ(D(s["generator_cpu"][19]), 0.2);

  // The monitor's samples at agent time t land at t + 2 s: its stage 0
  // values cover rows 0..4 exactly, stage 1 starts at row 5.
  EXPECT_DOUBLE_EQ(D(s["cpu_busy"][0]), 0.25);
  EXPECT_DOUBLE_EQ(D(s["cpu_busy"][4]), 0.25);
  EXPECT_DOUBLE_EQ(D(s["cpu_busy"][5]), 0.5);
  EXPECT_DOUBLE_EQ(D(s["cpu_busy"][19]), 0.9375);
  EXPECT_DOUBLE_EQ(D(s["cpu_user"][0]), 0.125);
  EXPECT_DOUBLE_EQ(D(s["cpu_system"][0]), 0.0625);
  EXPECT_DOUBLE_EQ(D(s["cpu_softirq"][0]), 0.0625);
  EXPECT_DOUBLE_EQ(D(s["cpu_iowait"][0]), 0.0625);
  EXPECT_DOUBLE_EQ(D(s["load1"][0]), 0.5);
  EXPECT_DOUBLE_EQ(D(s["load1"][19]), 2.0);
  EXPECT_EQ(s["mem_used_bytes"][0], 2 * kGiB + kMiB);
  EXPECT_DOUBLE_EQ(D(s["net_rx_bytes_per_s"][0]), 1500.0);  // lo 1000 + eth0 500.
  EXPECT_DOUBLE_EQ(D(s["net_tx_bytes_per_s"][0]), 1250.0);
  EXPECT_DOUBLE_EQ(D(s["net_rx_bytes_per_s"][19]), 4500.0);
  EXPECT_DOUBLE_EQ(D(s["tcp_active_opens_per_s"][7]), 10.0);
  EXPECT_DOUBLE_EQ(D(s["tcp_passive_opens_per_s"][19]), 40.0);
  EXPECT_DOUBLE_EQ(D(s["tcp_retrans_per_s"][0]), 0.0);
  EXPECT_DOUBLE_EQ(D(s["tcp_retrans_per_s"][19]), 1.0);
  EXPECT_EQ(s["tcp_curr_estab"][19], 8);
  EXPECT_EQ(s["tcp_time_wait"][0], 4);
  EXPECT_DOUBLE_EQ(D(s["listen_overflows_per_s"][19]), 2.0);
  EXPECT_DOUBLE_EQ(D(s["disk_busy"][3]), 0.1);
  EXPECT_DOUBLE_EQ(D(s["process_cpu"][0]), 0.375);
  EXPECT_DOUBLE_EQ(D(s["process_cpu"][19]), 1.40625);
  EXPECT_EQ(s["process_rss_bytes"][0], 10 * kMiB + 4096);
  EXPECT_EQ(s["process_threads"][0], 4);
  EXPECT_EQ(s["process_fds"][19], 18);
  EXPECT_DOUBLE_EQ(D(s["process_ctx_switches_per_s"][10]), 110.0);
}

TEST_F(RunAnalysisTest, StagesTransactionsAndSpectrum) {
  AddRun("r1", {});
  const json r = Analyze("r1");
  const json& stages = r["stages"];
  ASSERT_EQ(stages.size(), size_t{kStages});
  const double tps[kStages] = {110, 210, 310, 330};
  for (int k = 0; k < kStages; ++k) {
    const json& st = stages[k];
    SCOPED_TRACE(k);
    EXPECT_EQ(st["stage"], k);
    EXPECT_DOUBLE_EQ(D(st["load"]), kUsers[k]);
    EXPECT_DOUBLE_EQ(D(st["users"]), kUsers[k]);
    EXPECT_TRUE(st["target_rate"].is_null());
    EXPECT_DOUBLE_EQ(D(st["start_s"]), 1.0 + kSecondsPerStage * k);
    EXPECT_DOUBLE_EQ(D(st["end_s"]), 6.0 + kSecondsPerStage * k);
    EXPECT_DOUBLE_EQ(D(st["tps"]), tps[k]);
    EXPECT_EQ(st["count"], 5 * (kUploads[k] + kLists));
    EXPECT_DOUBLE_EQ(D(st["server_cpu"]), kBusy[k]);
    EXPECT_DOUBLE_EQ(D(st["process_cpu"]), 1.5 * kBusy[k]);
    EXPECT_DOUBLE_EQ(D(st["generator_cpu"]), 0.05 * (k + 1));
  }
  EXPECT_EQ(stages[3]["errors"], 10);
  EXPECT_DOUBLE_EQ(D(stages[3]["error_rate"]), 10.0 / 1650.0);
  EXPECT_NEAR(D(stages[0]["p99_ms"]), 10.0, 0.01);
  EXPECT_NEAR(D(stages[0]["p50_ms"]), 10.0, 0.01);  // 100 of 110 at 10 ms.
  EXPECT_NEAR(D(stages[3]["p999_ms"]), 25.0, 0.02);

  const json& tx = r["transactions"];
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx[0]["name"], "list");
  EXPECT_EQ(tx[0]["count"], 200);
  EXPECT_DOUBLE_EQ(D(tx[0]["tps"]), 10.0);
  EXPECT_EQ(tx[0]["steps"].size(), 0u);
  const json& upload = tx[1];
  EXPECT_EQ(upload["name"], "upload");
  EXPECT_EQ(upload["count"], 4600);
  EXPECT_EQ(upload["errors"], 10);
  EXPECT_DOUBLE_EQ(D(upload["error_rate"]), 10.0 / 4600.0);
  EXPECT_DOUBLE_EQ(D(upload["tps"]), 230.0);
  EXPECT_EQ(upload["errors_by_class"], json({{"timeout", 5}, {"unexpected-reply", 5}}));
  ASSERT_EQ(upload["steps"].size(), 1u);
  EXPECT_EQ(upload["steps"][0]["name"], "upload/connect");
  EXPECT_EQ(upload["steps"][0]["count"], 4600);
  EXPECT_NEAR(D(upload["steps"][0]["p50_ms"]), 1.0, 0.001);
  EXPECT_EQ(r["overall"]["count"], 4800);
  EXPECT_DOUBLE_EQ(D(r["overall"]["tps"]), 240.0);
  EXPECT_DOUBLE_EQ(D(r["overall"]["peak_tps"]), 330.0);

  const json& spectrum = r["spectrum"];
  ASSERT_EQ(spectrum.size(), 3u);
  EXPECT_EQ(spectrum[0]["transaction"], "");
  EXPECT_EQ(spectrum[1]["transaction"], "list");
  EXPECT_EQ(spectrum[2]["transaction"], "upload");
  for (const json& entry : spectrum) {
    const json& points = entry["points"];
    ASSERT_GE(points.size(), 10u) << entry["transaction"];
    EXPECT_DOUBLE_EQ(D(points.front()[0]), 0.0);
    EXPECT_DOUBLE_EQ(D(points.back()[0]), 100.0);
    for (size_t i = 1; i < points.size(); ++i) {
      EXPECT_GT(D(points[i][0]), D(points[i - 1][0]));
      EXPECT_GE(D(points[i][1]), D(points[i - 1][1]));
    }
  }
  // All transactions: fastest 0.5 ms, slowest 25 ms.
  EXPECT_NEAR(D(spectrum[0]["points"].front()[1]), 0.5, 0.001);
  EXPECT_NEAR(D(spectrum[0]["points"].back()[1]), 25.0, 0.02);
}

TEST_F(RunAnalysisTest, KneeSloUslLittleAndVerdict) {
  AddRun("r1", {});
  const json r = Analyze("r1");
  // (1, 110), (2, 210), (4, 310), (8, 330): the bend is at 4 users.
  EXPECT_EQ(r["knee"]["found"], true);
  EXPECT_EQ(r["knee"]["stage"], 2);
  EXPECT_DOUBLE_EQ(D(r["knee"]["load"]), 4.0);
  EXPECT_DOUBLE_EQ(D(r["knee"]["tps"]), 310.0);
  EXPECT_NEAR(D(r["knee"]["p99_ms"]), 13.0, 0.01);

  EXPECT_DOUBLE_EQ(D(r["slo"]["p99_ms"]), 50.0);
  EXPECT_DOUBLE_EQ(D(r["slo"]["max_tps"]), 330.0);
  EXPECT_DOUBLE_EQ(D(r["slo"]["at_load"]), 8.0);
  EXPECT_EQ(r["slo"]["stage"], 3);
  const json strict = Analyze("r1", {.slo_p99_ms = 20});
  EXPECT_DOUBLE_EQ(D(strict["slo"]["max_tps"]), 310.0);
  EXPECT_EQ(strict["slo"]["stage"], 2);
  const json impossible = Analyze("r1", {.slo_p99_ms = 1});
  EXPECT_TRUE(impossible["slo"]["max_tps"].is_null());
  EXPECT_TRUE(impossible["slo"]["stage"].is_null());

  const json& usl = r["usl"];
  ASSERT_EQ(usl["ok"], true) << usl["message"];
  EXPECT_GT(D(usl["lambda"]), 0.0);
  EXPECT_GT(D(usl["r2"]), 0.9);
  ASSERT_EQ(usl["curve"].size(), 101u);
  EXPECT_DOUBLE_EQ(D(usl["curve"][0][0]), 1.0);
  EXPECT_DOUBLE_EQ(D(usl["curve"][100][0]), 12.0);  // 1.5 × 8 users.

  const json& little = r["littles_law"];
  ASSERT_EQ(little["stages"].size(), size_t{kStages});
  EXPECT_DOUBLE_EQ(D(little["stages"][0]["measured_concurrency"]), 1.0);
  // X·R = 110 tx/s × (100 × 10 ms + 10 × 0.5 ms) / 110 ≈ 1.005.
  EXPECT_NEAR(D(little["stages"][0]["predicted"]), 1.005, 0.002);
  EXPECT_EQ(little["ok"], true) << little["message"];

  EXPECT_EQ(r["verdict"]["bottleneck"], "cpu");
  EXPECT_EQ(r["verdict"]["run_valid"], true);
  EXPECT_NE(r["verdict"]["summary"].get<std::string>().find("CPU-bound"), std::string::npos)
      << r["verdict"]["summary"];
  EXPECT_FALSE(r["verdict"]["evidence"].empty());
}

TEST_F(RunAnalysisTest, CorrelationsFindingsAndChecks) {
  AddRun("r1", {});
  const json r = Analyze("r1");
  bool cpu_vs_tps = false;
  for (const json& c : r["correlations"]) {
    EXPECT_TRUE(c["against"] == "tps" || c["against"] == "p99_ms") << c;
    EXPECT_GE(c["lag_s"].get<int>(), -3);
    EXPECT_LE(c["lag_s"].get<int>(), 3);
    if (c["metric"] == "cpu_busy" && c["against"] == "tps") {
      cpu_vs_tps = true;
      EXPECT_EQ(c["lag_s"], 0);
      EXPECT_GT(D(c["r"]), 0.95);
    }
  }
  EXPECT_TRUE(cpu_vs_tps) << r["correlations"].dump(1);

  const json& findings = r["findings"];
  std::vector<std::string> kinds;
  for (const json& f : findings) kinds.push_back(f["kind"]);
  for (const char* kind : {"samples-dropped", "knee", "slo", "verdict", "errors"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), kind), kinds.end()) << kind;
  }
  // Timed findings first, by time: the stored drop at 10 s, the knee at
  // stage 2 (11 s), the SLO and the first errors at stage 3 (16 s).
  EXPECT_EQ(findings[0]["kind"], "samples-dropped");
  double previous = -1;
  bool untimed = false;
  for (const json& f : findings) {
    if (f["t_s"].is_null()) {
      untimed = true;
      continue;
    }
    EXPECT_FALSE(untimed) << "timed finding after an untimed one: " << f;
    EXPECT_GE(D(f["t_s"]), previous);
    previous = D(f["t_s"]);
  }
  for (const json& f : findings) {
    if (f["kind"] == "samples-dropped") {
      EXPECT_DOUBLE_EQ(D(f["t_s"]), 10.0);
    }
    if (f["kind"] == "knee") {
      EXPECT_DOUBLE_EQ(D(f["t_s"]), 11.0);
    }
    if (f["kind"] == "errors") {
      EXPECT_DOUBLE_EQ(D(f["t_s"]), 16.0);
      EXPECT_EQ(f["message"],
                "10 of 4800 transactions failed (0.208%): timeout 5, unexpected-reply 5");
    }
  }

  const json& checks = r["checks"];
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_DOUBLE_EQ(D(checks[0]["t_s"]), 3.0);
  EXPECT_EQ(checks[0]["name"], "check_ftp");
  EXPECT_EQ(checks[0]["state"], "OK");
  EXPECT_EQ(checks[0]["output"], "FTP OK");
  EXPECT_DOUBLE_EQ(D(checks[1]["t_s"]), 12.0);
  EXPECT_EQ(checks[1]["state"], "WARNING");
}

TEST_F(RunAnalysisTest, WithoutMonitorTheServerSeriesAreNullAndTheVerdictSaysWhy) {
  AddRun("r2", {.monitor = false});
  const json r = Analyze("r2");
  const json& s = r["series"];
  ASSERT_EQ(s["t_s"].size(), size_t{kSeconds});
  for (const char* name : {"cpu_busy", "mem_used_bytes", "net_rx_bytes_per_s", "process_cpu"}) {
    ASSERT_EQ(s[name].size(), size_t{kSeconds}) << name;
    for (const json& v : s[name]) EXPECT_TRUE(v.is_null()) << name;
  }
  EXPECT_DOUBLE_EQ(D(s["tps"][0]), 110.0);
  // The loadgen's host is not monitored: its 2 threads are its capacity.
  EXPECT_DOUBLE_EQ(D(s["generator_cpu"][0]), 0.05);
  EXPECT_TRUE(r["stages"][0]["server_cpu"].is_null());
  EXPECT_TRUE(r["stages"][0]["process_cpu"].is_null());
  EXPECT_TRUE(r["run"]["host"]["hostname"].is_null());
  EXPECT_TRUE(r["run"]["host"]["cores"].is_null());
  EXPECT_EQ(r["run"]["agents"].size(), 1u);
  EXPECT_TRUE(r["checks"].empty());
  EXPECT_EQ(r["verdict"]["bottleneck"], "undetermined");
  EXPECT_NE(r["verdict"]["summary"].get<std::string>().find(
                "no monitor sampled the server host during run r2"),
            std::string::npos)
      << r["verdict"]["summary"];
  for (const json& c : r["correlations"]) {
    EXPECT_NE(c["metric"], "cpu_busy");
  }
  EXPECT_EQ(r["knee"]["found"], true);  // Load-only results still stand.
}

TEST_F(RunAnalysisTest, SaturatedGeneratorMakesTheRunInvalid) {
  // 0.45 CPU s/s × 4 = 1.8 of 2 cores at the last stage: 90%.
  AddRun("r3", {.generator_cpu_per_stage = 0.45});
  const json r = Analyze("r3");
  EXPECT_EQ(r["verdict"]["bottleneck"], "client");
  EXPECT_EQ(r["verdict"]["run_valid"], false);
  EXPECT_DOUBLE_EQ(D(r["stages"][3]["generator_cpu"]), 0.9);
  bool client_bound = false;
  for (const json& f : r["findings"]) {
    if (f["kind"] == "client-bound") {
      client_bound = true;
      EXPECT_EQ(f["severity"], "critical");
      EXPECT_DOUBLE_EQ(D(f["t_s"]), 16.0);
    }
  }
  EXPECT_TRUE(client_bound);
}

TEST_F(RunAnalysisTest, OpenModelSingleStageRunDegradesToNulls) {
  ASSERT_TRUE(store_->CreateRun({.run_id = "open", .state = v1::RUN_STATE_RUNNING}).ok());
  ASSERT_TRUE(store_
                  ->InTransaction([&](RunStore::Writer& w) -> absl::Status {
                    for (int i = 1; i <= 2; ++i) {
                      v1::AgentMessage m;
                      m.set_source_id("lg");
                      m.set_sequence(5000 + i);
                      v1::LoadInterval* load = m.mutable_load();
                      *load->mutable_start() = TimeUtil::SecondsToTimestamp(2000 + i - 1);
                      *load->mutable_end() = TimeUtil::SecondsToTimestamp(2000 + i);
                      load->set_target_rate(50);
                      *load->add_transactions() = Op("get", 50, 2000);
                      if (auto r = w.InsertSample(m, "open", 0); !r.ok()) return r.status();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  const json r = Analyze("open");
  EXPECT_EQ(r["run"]["state"], "running");
  EXPECT_TRUE(r["run"]["started_at"].is_null());
  // Never started: t_s counts from the first second with load.
  EXPECT_EQ(r["series"]["t_s"], json::array({0, 1}));
  EXPECT_DOUBLE_EQ(D(r["run"]["duration_s"]), 2.0);
  ASSERT_EQ(r["stages"].size(), 1u);
  EXPECT_DOUBLE_EQ(D(r["stages"][0]["load"]), 50.0);  // The target rate.
  EXPECT_DOUBLE_EQ(D(r["stages"][0]["target_rate"]), 50.0);
  EXPECT_EQ(r["knee"]["found"], false);
  EXPECT_TRUE(r["knee"]["stage"].is_null());
  EXPECT_TRUE(r["knee"]["tps"].is_null());
  EXPECT_DOUBLE_EQ(D(r["slo"]["max_tps"]), 50.0);
  EXPECT_EQ(r["usl"]["ok"], false);
  EXPECT_EQ(r["usl"]["message"], "USL fit needs at least 3 points, got 0");
  EXPECT_TRUE(r["usl"]["curve"].empty());
  EXPECT_EQ(r["littles_law"]["ok"], false);
  EXPECT_EQ(r["littles_law"]["message"],
            "not applicable: no stage had both active users and throughput");
  EXPECT_EQ(r["verdict"]["bottleneck"], "undetermined");
  EXPECT_NE(r["verdict"]["summary"].get<std::string>().find("at least 2 load levels"),
            std::string::npos)
      << r["verdict"]["summary"];
  EXPECT_TRUE(r["correlations"].empty());
}

TEST_F(RunAnalysisTest, ErrorsNameTheRun) {
  absl::StatusOr<json> unknown = AnalyzeRun(*store_, "nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "no run 'nope'");

  AddRun("idle", {.load = false});
  absl::StatusOr<json> idle = AnalyzeRun(*store_, "idle");
  EXPECT_EQ(idle.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(idle.status().message().find("run 'idle' has no load results"), std::string::npos)
      << idle.status();
}

TEST_F(RunAnalysisTest, CsvAndSummaryFiles) {
  AddRun("r1", {});
  AddRun("r2", {.monitor = false});
  const json r = Analyze("r1");
  const std::string csv = TempPath("timeseries.csv");
  ASSERT_TRUE(WriteTimeseriesCsv(r, csv).ok());
  std::vector<std::string> lines = Split(ReadFile(csv), '\n');
  ASSERT_EQ(lines.size(), size_t{kSeconds + 2});  // Header, rows, final "".
  EXPECT_EQ(lines.back(), "");
  std::string expected_header;
  for (const std::string& name : ReportSeriesNames()) {
    expected_header += (expected_header.empty() ? "" : ",") + name;
  }
  EXPECT_EQ(lines[0], expected_header);
  EXPECT_EQ(lines[0].substr(0, 33), "t_s,stage,users,tps,errors_per_s,");
  const std::vector<std::string> header = Split(lines[0], ',');
  const std::vector<std::string> row = Split(lines[1], ',');
  ASSERT_EQ(row.size(), header.size());
  const auto cell = [&](const std::vector<std::string>& cells, const std::string& name) {
    return cells[std::find(header.begin(), header.end(), name) - header.begin()];
  };
  EXPECT_EQ(cell(row, "t_s"), "1");
  EXPECT_EQ(cell(row, "stage"), "0");
  EXPECT_EQ(cell(row, "users"), "1");
  EXPECT_EQ(cell(row, "tps"), "110");
  EXPECT_EQ(cell(row, "cpu_busy"), "0.25");
  EXPECT_EQ(cell(row, "net_rx_bytes_per_s"), "1500");

  // Null cells are empty.
  const std::string csv2 = TempPath("timeseries2.csv");
  ASSERT_TRUE(WriteTimeseriesCsv(Analyze("r2"), csv2).ok());
  const std::vector<std::string> row2 = Split(Split(ReadFile(csv2), '\n')[1], ',');
  ASSERT_EQ(row2.size(), header.size());
  EXPECT_EQ(cell(row2, "cpu_busy"), "");
  EXPECT_EQ(cell(row2, "tps"), "110");

  const std::string summary = TempPath("summary.json");
  ASSERT_TRUE(WriteSummaryJson(r, summary).ok());
  const std::string text = ReadFile(summary);
  EXPECT_EQ(text.substr(0, 4), "{\n  ");  // Pretty, 2-space indent.
  EXPECT_EQ(json::parse(text), r);

  const absl::Status bad = WriteSummaryJson(r, "/nonexistent/dir/summary.json");
  EXPECT_EQ(bad.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(bad.message().find("/nonexistent/dir/summary.json"), std::string::npos) << bad;
  const absl::Status no_series = WriteTimeseriesCsv(json::object(), csv);
  EXPECT_EQ(no_series.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_series.message().find("no series.t_s"), std::string::npos) << no_series;
}

}  // namespace
}  // namespace tpslab::analyzer
