#include "analyzer/run_analysis.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/lag_correlation.h"
#include "analyzer/littles_law.h"
#include "analyzer/load_series.h"
#include "analyzer/series.h"
#include "analyzer/usl.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;
using json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Longest run accepted, in seconds of load data (10 days). Longer spans come
// from a broken clock offset and would allocate a row per second.
constexpr int64_t kMaxGridSeconds = 10 * 86400;

// Series that describe the server (correlated against tps and p99_ms).
const std::vector<std::string>& ServerSeriesNames() {
  static const std::vector<std::string> names = {"cpu_busy",
                                                 "cpu_user",
                                                 "cpu_system",
                                                 "cpu_softirq",
                                                 "cpu_iowait",
                                                 "load1",
                                                 "mem_used_bytes",
                                                 "net_rx_bytes_per_s",
                                                 "net_tx_bytes_per_s",
                                                 "tcp_active_opens_per_s",
                                                 "tcp_passive_opens_per_s",
                                                 "tcp_retrans_per_s",
                                                 "tcp_curr_estab",
                                                 "tcp_time_wait",
                                                 "listen_overflows_per_s",
                                                 "disk_busy",
                                                 "process_cpu",
                                                 "process_rss_bytes",
                                                 "process_threads",
                                                 "process_fds",
                                                 "process_ctx_switches_per_s"};
  return names;
}

// JSON has no NaN: missing values are null.
json Num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
json Num(std::optional<double> v) { return v ? Num(*v) : json(nullptr); }
json TextOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// A series column: null for NaN, integers where the value is whole (stage,
// users, counts) so the JSON and CSV read naturally.
json Column(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) {
    if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9e15) {
      out.push_back(static_cast<int64_t>(v));
    } else {
      out.push_back(Num(v));
    }
  }
  return out;
}

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-28T05:40:00Z" (UTC, whole seconds).
std::string Iso8601(int64_t ns) {
  const auto seconds = static_cast<std::time_t>(BucketOf(ns) / kNanosPerSecond);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int64_t Nanos(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToNanoseconds(t); }

const char* AgentKindName(v1::AgentKind kind) {
  switch (kind) {
    case v1::AGENT_KIND_LOADGEN:
      return "loadgen";
    case v1::AGENT_KIND_MONITOR:
      return "monitor";
    default:
      return "unspecified";
  }
}

const char* CheckStateName(v1::CheckState state) {
  switch (state) {
    case v1::CHECK_STATE_OK:
      return "OK";
    case v1::CHECK_STATE_WARNING:
      return "WARNING";
    case v1::CHECK_STATE_CRITICAL:
      return "CRITICAL";
    default:
      return "UNKNOWN";
  }
}

// Error class names of the report (errors_by_class keys).
const char* ErrorClassName(v1::ErrorClass error_class) {
  switch (error_class) {
    case v1::ERROR_CLASS_REFUSED:
      return "refused";
    case v1::ERROR_CLASS_TIMEOUT:
      return "timeout";
    case v1::ERROR_CLASS_RESET:
      return "reset";
    case v1::ERROR_CLASS_UNEXPECTED_REPLY:
      return "unexpected-reply";
    case v1::ERROR_CLASS_CHECK_FAILED:
      return "check-failed";
    case v1::ERROR_CLASS_TLS:
      return "tls";
    default:
      return "other";
  }
}

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

double Ratio(uint64_t part, uint64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// The contiguous one-second grid of the report's series.
struct Grid {
  int64_t first_bucket = 0;
  size_t rows = 0;

  std::optional<size_t> Row(int64_t bucket) const {
    if (bucket < first_bucket) return std::nullopt;
    const auto row = static_cast<size_t>((bucket - first_bucket) / kNanosPerSecond);
    return row < rows ? std::optional<size_t>(row) : std::nullopt;
  }
  std::vector<double> Empty() const { return std::vector<double>(rows, kNaN); }
  // The buckets that fall on the grid; NaN elsewhere.
  std::vector<double> Place(const Buckets& buckets) const {
    std::vector<double> column = Empty();
    for (const auto& [bucket, value] : buckets) {
      if (std::optional<size_t> row = Row(bucket)) column[*row] = value;
    }
    return column;
  }
};

// Mean of the finite values of `column` in the rows of buckets
// [first_bucket, last_bucket]; NaN when there is none.
double MeanOver(const std::vector<double>& column, const Grid& grid, int64_t first_bucket,
                int64_t last_bucket) {
  double sum = 0;
  int n = 0;
  for (int64_t b = first_bucket; b <= last_bucket; b += kNanosPerSecond) {
    std::optional<size_t> row = grid.Row(b);
    if (row && std::isfinite(column[*row])) {
      sum += column[*row];
      ++n;
    }
  }
  return n > 0 ? sum / n : kNaN;
}

// --- Host samples -----------------------------------------------------------

// CPU seconds by mode, summed as the report splits them.
struct CpuSplit {
  double busy = 0;    // user + nice + system + irq + softirq + steal.
  double total = 0;   // busy + idle + iowait.
  double user = 0;    // user + nice.
  double system = 0;  // system + irq.
  double softirq = 0;
  double iowait = 0;
};

// What the report uses of one host sample, NaN where the sample lacks it.
struct HostPoint {
  int64_t time_ns = 0;  // Agent clock.
  std::optional<CpuSplit> cpu;
  int cores = 0;
  double load1 = kNaN;
  double mem_used = kNaN;
  double net_rx = kNaN;  // Cumulative bytes over all interfaces (incl. lo).
  double net_tx = kNaN;
  double active_opens = kNaN;  // Cumulative.
  double passive_opens = kNaN;
  double retrans = kNaN;
  double listen_overflows = kNaN;
  double curr_estab = kNaN;  // Gauges.
  double time_wait = kNaN;
  std::map<std::string, double> disk_io_ms;  // Cumulative, by device.
};

HostPoint ToHostPoint(const v1::HostSample& h) {
  HostPoint p;
  p.time_ns = Nanos(h.time());
  const auto add = [](CpuSplit& s, const v1::CpuTimes& c) {
    const double busy = c.user() + c.nice() + c.system() + c.irq() + c.softirq() + c.steal();
    s.busy += busy;
    s.total += busy + c.idle() + c.iowait();
    s.user += c.user() + c.nice();
    s.system += c.system() + c.irq();
    s.softirq += c.softirq();
    s.iowait += c.iowait();
  };
  const v1::CpuTimes* total = nullptr;
  for (const v1::CpuTimes& c : h.cpus()) {
    if (c.cpu() == "total") {
      total = &c;
    } else {
      ++p.cores;
    }
  }
  if (total != nullptr) {
    p.cpu.emplace();
    add(*p.cpu, *total);
  } else if (p.cores > 0) {
    p.cpu.emplace();
    for (const v1::CpuTimes& c : h.cpus()) add(*p.cpu, c);
  }
  p.load1 = h.load1();
  if (h.interfaces_size() > 0) {
    p.net_rx = p.net_tx = 0;
    for (const v1::NetInterface& i : h.interfaces()) {
      p.net_rx += static_cast<double>(i.rx_bytes());
      p.net_tx += static_cast<double>(i.tx_bytes());
    }
  }
  for (const v1::Disk& d : h.disks()) p.disk_io_ms[d.name()] = static_cast<double>(d.io_time_ms());
  double mem_total = kNaN, mem_available = kNaN;
  const std::pair<const char*, double*> wanted[] = {
      {"node_memory_MemTotal_bytes", &mem_total},
      {"node_memory_MemAvailable_bytes", &mem_available},
      {"node_netstat_Tcp_ActiveOpens", &p.active_opens},
      {"node_netstat_Tcp_PassiveOpens", &p.passive_opens},
      {"node_netstat_Tcp_RetransSegs", &p.retrans},
      {"node_netstat_TcpExt_ListenOverflows", &p.listen_overflows},
      {"node_netstat_Tcp_CurrEstab", &p.curr_estab},
      {"node_sockstat_TCP_tw", &p.time_wait},
  };
  for (const v1::Metric& m : h.metrics()) {
    if (!m.labels().empty()) continue;
    for (const auto& [name, field] : wanted) {
      if (m.name() == name) *field = m.value();
    }
  }
  p.mem_used = mem_total - mem_available;  // NaN unless both are there.
  return p;
}

// One monitored host: the samples of one monitor source.
struct HostSource {
  std::string source_id;
  std::string hostname;
  int64_t clock_offset_ns = 0;
  std::vector<HostPoint> points;  // Time order.
  int cores = 0;                  // From the latest sample that lists cores.
};

std::vector<Sample> Values(const std::vector<HostPoint>& points, double HostPoint::*field) {
  std::vector<Sample> out;
  for (const HostPoint& p : points) {
    if (std::isfinite(p.*field)) out.push_back({p.time_ns, p.*field});
  }
  return out;
}

// Per-second rate of a cumulative field, bucketed on the coordinator clock.
Buckets Rate(const HostSource& host, double HostPoint::*field) {
  return BucketSamples(CounterRates(Values(host.points, field)), host.clock_offset_ns,
                       Aggregation::kMean);
}

Buckets Gauge(const HostSource& host, double HostPoint::*field) {
  return BucketSamples(Values(host.points, field), host.clock_offset_ns, Aggregation::kLast);
}

// A value computed from each pair of consecutive samples, at the later one.
template <typename F>
Buckets Pairwise(const HostSource& host, F value) {
  std::vector<Sample> out;
  for (size_t i = 1; i < host.points.size(); ++i) {
    const HostPoint& a = host.points[i - 1];
    const HostPoint& b = host.points[i];
    if (b.time_ns <= a.time_ns) continue;
    const double seconds = static_cast<double>(b.time_ns - a.time_ns) / kNanosPerSecond;
    if (std::optional<double> v = value(a, b, seconds)) out.push_back({b.time_ns, *v});
  }
  return BucketSamples(out, host.clock_offset_ns, Aggregation::kMean);
}

// CPU mode fraction of all cores between two samples; empty when the
// counters went backwards or did not advance.
Buckets CpuFraction(const HostSource& host, double CpuSplit::*mode) {
  return Pairwise(host,
                  [mode](const HostPoint& a, const HostPoint& b, double) -> std::optional<double> {
                    if (!a.cpu || !b.cpu) return std::nullopt;
                    const double total = b.cpu->total - a.cpu->total;
                    const double part = (*b.cpu).*mode - (*a.cpu).*mode;
                    if (!(total > 0) || part < 0) return std::nullopt;
                    return std::clamp(part / total, 0.0, 1.0);
                  });
}

// The busiest disk's I/O time per wall time between two samples.
Buckets DiskBusy(const HostSource& host) {
  return Pairwise(
      host, [](const HostPoint& a, const HostPoint& b, double seconds) -> std::optional<double> {
        std::optional<double> busiest;
        for (const auto& [device, io_ms] : b.disk_io_ms) {
          auto before = a.disk_io_ms.find(device);
          if (before == a.disk_io_ms.end() || io_ms < before->second) continue;
          const double busy = std::clamp((io_ms - before->second) / 1000.0 / seconds, 0.0, 1.0);
          busiest = std::max(busiest.value_or(0.0), busy);
        }
        return busiest;
      });
}

// --- Process samples --------------------------------------------------------

void AddInto(Buckets& sum, const Buckets& part) {
  for (const auto& [bucket, value] : part) sum[bucket] += value;
}

struct ProcessColumns {
  Buckets cpu_cores, rss, threads, fds, ctx_per_s;
  bool any = false;
};

// Every watched process that was alive, summed per second. One process
// instance is (source, selector, pid): a restarted process starts a new
// counter series instead of a negative delta.
ProcessColumns ProcessSeries(const std::vector<StoredProcess>& samples) {
  std::map<std::tuple<std::string, std::string, int32_t>, std::vector<const StoredProcess*>>
      instances;
  for (const StoredProcess& p : samples) {
    if (!p.sample.alive()) continue;
    instances[{p.source_id, p.sample.selector(), p.sample.pid()}].push_back(&p);
  }
  ProcessColumns out;
  for (const auto& [key, list] : instances) {
    out.any = true;
    const int64_t offset = list.front()->clock_offset_ns;
    std::vector<Sample> cpu, ctx, rss, threads, fds;
    for (const StoredProcess* p : list) {
      const int64_t t = Nanos(p->sample.time());
      cpu.push_back({t, p->sample.cpu_user_seconds() + p->sample.cpu_system_seconds()});
      ctx.push_back({t, static_cast<double>(p->sample.voluntary_ctx_switches() +
                                            p->sample.involuntary_ctx_switches())});
      rss.push_back({t, static_cast<double>(p->sample.rss_bytes())});
      threads.push_back({t, static_cast<double>(p->sample.threads())});
      fds.push_back({t, static_cast<double>(p->sample.open_fds())});
    }
    AddInto(out.cpu_cores, BucketSamples(CounterRates(cpu), offset, Aggregation::kMean));
    AddInto(out.ctx_per_s, BucketSamples(CounterRates(ctx), offset, Aggregation::kMean));
    AddInto(out.rss, BucketSamples(rss, offset, Aggregation::kLast));
    AddInto(out.threads, BucketSamples(threads, offset, Aggregation::kLast));
    AddInto(out.fds, BucketSamples(fds, offset, Aggregation::kLast));
  }
  return out;
}

// --- Load -------------------------------------------------------------------

struct OpTotals {
  uint64_t count = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_class;
  metrics::HdrHistogram latency = EmptyLatencyHistogram();
};

// Percentiles of the spectrum: 0, 50, 75, 87.5, ... (halving the rest while
// at least one value lies beyond), the decades 90, 99, 99.9, ... (while the
// count resolves them), and 100.
std::vector<double> SpectrumPercentiles(int64_t count) {
  std::set<double> p = {0.0, 50.0, 100.0};
  for (int k = 1; k <= 30 && (int64_t{1} << k) <= count; ++k) {
    p.insert(100.0 * (1.0 - std::ldexp(1.0, -k)));
  }
  double rest = 10.0;  // 100 - percentile.
  for (int64_t resolution = 10; resolution <= count && rest >= 1e-4; resolution *= 10) {
    p.insert(100.0 - rest);
    rest /= 10;
  }
  return {p.begin(), p.end()};
}

json Spectrum(const metrics::HdrHistogram& h) {
  json points = json::array();
  if (h.TotalCount() == 0) return points;
  for (double p : SpectrumPercentiles(h.TotalCount())) {
    const int64_t us = p == 0 ? h.Min() : p == 100 ? h.Max() : h.ValueAtPercentile(p);
    points.push_back({p, Ms(us)});
  }
  return points;
}

// Latency fields of a stage, transaction or step; null without values.
void PutLatency(json& out, const metrics::HdrHistogram& h) {
  const LatencySummary l = Summarize(h);
  const bool any = l.count > 0;
  out["mean_ms"] = any ? json(l.mean_ms) : json(nullptr);
  out["p50_ms"] = any ? json(l.p50_ms) : json(nullptr);
  out["p90_ms"] = any ? json(l.p90_ms) : json(nullptr);
  out["p99_ms"] = any ? json(l.p99_ms) : json(nullptr);
  out["p999_ms"] = any ? json(l.p999_ms) : json(nullptr);
  out["max_ms"] = any ? json(l.max_ms) : json(nullptr);
}

// What the report keeps of one second of load (not its histograms).
struct SecondSummary {
  int64_t bucket_ns = 0;
  uint32_t stage = 0;
  double active_users = 0;
  double generator_cpu = 0;  // CPU seconds per second, all generators.
  double tps = 0;
  uint64_t count = 0;
  uint64_t errors = 0;
  LatencySummary latency;
};

SecondSummary Summary(const LoadSecond& s) {
  return {.bucket_ns = s.bucket_ns,
          .stage = s.stage,
          .active_users = s.active_users,
          .generator_cpu = s.generator_cpu,
          .tps = s.all.tps,
          .count = s.all.count,
          .errors = s.all.errors,
          .latency = Summarize(s.all.latency)};
}

// The agents of the run: every source with samples in it, described by its
// agent record when there is one.
struct RunAgent {
  std::string source_id;
  v1::AgentKind kind = v1::AGENT_KIND_UNSPECIFIED;
  std::optional<AgentRecord> record;
};

// Builds the document step by step; each method fills one part.
class ReportBuilder {
 public:
  ReportBuilder(const RunRecord& run, const AnalysisOptions& options)
      : run_(run), options_(options) {}

  absl::Status Build(RunStore& store);
  json TakeDocument() { return std::move(doc_); }

 private:
  absl::Status LoadResults(RunStore& store);
  absl::Status Monitoring(RunStore& store);
  absl::Status Agents(RunStore& store);
  void ChooseServerHost();
  void GeneratorCapacity();
  void LoadSeriesColumns();
  void HostSeriesColumns();
  void ProcessSeriesColumns();
  void RunSection();
  void StageSection();
  void TransactionSection();
  void CurveSections();
  void VerdictSection();
  void CorrelationSection();
  absl::Status FindingSection(RunStore& store);
  void CheckSection();
  void SeriesSection();

  double Ts(int64_t coordinator_ns) const {
    return static_cast<double>(coordinator_ns - origin_ns_) / kNanosPerSecond;
  }
  std::vector<double>& Col(const std::string& name) { return columns_[name]; }
  // Adds a finding the analysis derived (t_s NaN: run-wide).
  void Derive(double t_s, const char* severity, const char* kind, std::string message) {
    derived_.push_back({t_s, severity, kind, std::move(message)});
  }

  const RunRecord& run_;
  const AnalysisOptions& options_;
  json doc_ = json::object();

  // Load.
  std::vector<StoredLoad> loads_;
  std::vector<SecondSummary> seconds_;
  std::vector<LoadStage> stages_;
  std::vector<StagePoint> points_;
  std::map<std::string, OpTotals> steps_;
  std::map<std::string, std::map<std::string, uint64_t>> transaction_error_classes_;
  int corrupt_intervals_ = 0;
  std::string first_corruption_;
  std::set<std::string> load_sources_;

  // Time.
  int64_t origin_ns_ = 0;
  Grid grid_;

  // Monitoring.
  std::vector<StoredProcess> process_samples_;
  std::vector<StoredCheck> checks_;
  std::map<std::string, HostSource> hosts_;  // By source id.
  const HostSource* server_ = nullptr;
  std::vector<RunAgent> agents_;
  std::optional<double> generator_cores_;
  std::string generator_cores_note_;

  // Results.
  std::map<std::string, std::vector<double>> columns_;
  std::map<uint32_t, std::pair<double, double>> stage_span_s_;  // stage -> start, end.
  std::map<uint32_t, double> stage_generator_;                  // Fraction; NaN unknown.
  std::optional<Knee> knee_;
  UseVerdict verdict_;
  struct Derived {
    double t_s;
    const char* severity;
    const char* kind;
    std::string message;
  };
  std::vector<Derived> derived_;
};

absl::Status ReportBuilder::Build(RunStore& store) {
  if (absl::Status s = LoadResults(store); !s.ok()) return s;
  if (absl::Status s = Monitoring(store); !s.ok()) return s;
  if (absl::Status s = Agents(store); !s.ok()) return s;
  ChooseServerHost();
  GeneratorCapacity();
  for (const std::string& name : ReportSeriesNames()) {
    if (name != "t_s") columns_[name] = grid_.Empty();
  }
  LoadSeriesColumns();
  HostSeriesColumns();
  ProcessSeriesColumns();

  doc_["schema"] = kReportSchema;
  doc_["generated_at"] = Iso8601(options_.now_ns != 0 ? options_.now_ns : SystemNowNs());
  RunSection();
  StageSection();
  TransactionSection();
  CurveSections();
  VerdictSection();
  CorrelationSection();
  CheckSection();
  SeriesSection();
  return FindingSection(store);
}

absl::Status ReportBuilder::LoadResults(RunStore& store) {
  absl::StatusOr<std::vector<StoredLoad>> loads = store.LoadIntervals(run_.run_id);
  if (!loads.ok()) return loads.status();
  loads_ = *std::move(loads);
  // Intervals in coordinator-time order (each agent's stay in sequence
  // order), so every second is complete when a later one starts and can be
  // summarized and dropped: a second's merged histograms take ~190 KB per
  // transaction, too much to keep for a long run.
  const auto bucket_of = [](const StoredLoad& l) {
    return BucketOf(Nanos(l.interval.end()) + l.clock_offset_ns);
  };
  std::vector<const StoredLoad*> order;
  for (const StoredLoad& l : loads_) order.push_back(&l);
  std::stable_sort(order.begin(), order.end(), [&](const StoredLoad* a, const StoredLoad* b) {
    return bucket_of(*a) < bucket_of(*b);
  });
  LoadAggregator aggregator;
  const auto take_seconds_before = [&](int64_t bucket) {
    for (const LoadSecond& second : aggregator.TakeSecondsBefore(bucket)) {
      seconds_.push_back(Summary(second));
    }
  };
  for (const StoredLoad* interval : order) {
    const StoredLoad& l = *interval;
    load_sources_.insert(l.source_id);
    take_seconds_before(bucket_of(l));
    // A corrupt histogram from one agent must not hide the rest of the run.
    if (absl::Status s = aggregator.Add(l.source_id, l.interval, l.clock_offset_ns); !s.ok()) {
      if (corrupt_intervals_++ == 0) first_corruption_ = std::string(s.message());
      continue;
    }
    for (const v1::OperationStats& op : l.interval.transactions()) {
      std::map<std::string, uint64_t>& classes = transaction_error_classes_[op.name()];
      for (const v1::ErrorCount& e : op.errors_by_class()) {
        classes[ErrorClassName(e.class_())] += e.count();
      }
    }
    for (const v1::OperationStats& op : l.interval.steps()) {
      OpTotals& step = steps_[op.name()];
      step.count += op.count();
      step.errors += op.errors();
      for (const v1::ErrorCount& e : op.errors_by_class()) {
        step.errors_by_class[ErrorClassName(e.class_())] += e.count();
      }
      if (op.latency().encoded().empty()) continue;
      absl::StatusOr<metrics::HdrHistogram> h = metrics::FromProto(op.latency());
      if (h.ok()) {
        step.latency.Add(*h);
      } else if (corrupt_intervals_++ == 0) {
        first_corruption_ = absl::StrFormat("load interval of %s, step '%s': %s", l.source_id,
                                            op.name(), h.status().message());
      }
    }
  }
  take_seconds_before(std::numeric_limits<int64_t>::max());
  stages_ = aggregator.PerStage();
  if (seconds_.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "run '%s' has no load results: no load interval from a loadgen agent was stored for it%s",
        run_.run_id,
        corrupt_intervals_ > 0 ? absl::StrFormat(" that decodes (%s)", first_corruption_) : ""));
  }
  points_ = ToStagePoints(stages_);
  grid_.first_bucket = seconds_.front().bucket_ns;
  const int64_t span_s = (seconds_.back().bucket_ns - grid_.first_bucket) / kNanosPerSecond + 1;
  if (span_s > kMaxGridSeconds) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "run '%s': load intervals span %d s (from %s to %s); more than %d s means an agent's "
        "clock or clock offset is wrong",
        run_.run_id, span_s, Iso8601(grid_.first_bucket), Iso8601(seconds_.back().bucket_ns),
        kMaxGridSeconds));
  }
  grid_.rows = static_cast<size_t>(span_s);
  origin_ns_ = run_.started_ns > 0 ? run_.started_ns : grid_.first_bucket;
  return absl::OkStatus();
}

absl::Status ReportBuilder::Monitoring(RunStore& store) {
  absl::StatusOr<std::vector<StoredHost>> hosts = store.HostSamples(run_.run_id);
  if (!hosts.ok()) return hosts.status();
  absl::StatusOr<std::vector<StoredProcess>> processes = store.ProcessSamples(run_.run_id);
  if (!processes.ok()) return processes.status();
  process_samples_ = *std::move(processes);
  absl::StatusOr<std::vector<StoredCheck>> checks = store.CheckResults(run_.run_id);
  if (!checks.ok()) return checks.status();
  checks_ = *std::move(checks);
  // Only the compact points are kept (a host sample carries hundreds of
  // metrics).
  for (const StoredHost& h : *hosts) {
    HostSource& host = hosts_[h.source_id];
    host.source_id = h.source_id;
    host.clock_offset_ns = h.clock_offset_ns;
    if (!h.sample.hostname().empty()) host.hostname = h.sample.hostname();
    host.points.push_back(ToHostPoint(h.sample));
    if (host.points.back().cores > 0) host.cores = host.points.back().cores;
  }
  return absl::OkStatus();
}

absl::Status ReportBuilder::Agents(RunStore& store) {
  absl::StatusOr<std::vector<AgentRecord>> records = store.ListAgents();
  if (!records.ok()) return records.status();
  std::map<std::string, v1::AgentKind> sources;  // Kind from the data.
  for (const std::string& s : load_sources_) sources[s] = v1::AGENT_KIND_LOADGEN;
  for (const auto& [source, host] : hosts_) sources.emplace(source, v1::AGENT_KIND_MONITOR);
  for (const StoredProcess& p : process_samples_) {
    sources.emplace(p.source_id, v1::AGENT_KIND_MONITOR);
  }
  for (const StoredCheck& c : checks_) sources.emplace(c.source_id, v1::AGENT_KIND_MONITOR);
  for (const auto& [source, kind] : sources) {
    RunAgent& agent = agents_.emplace_back();
    agent.source_id = source;
    agent.kind = kind;
    for (const AgentRecord& r : *records) {
      if (r.source_id != source) continue;
      agent.record = r;
      if (r.kind != v1::AGENT_KIND_UNSPECIFIED) agent.kind = r.kind;
    }
  }
  return absl::OkStatus();
}

void ReportBuilder::ChooseServerHost() {
  std::set<std::string> loadgen_hosts;
  for (const RunAgent& a : agents_) {
    if (a.kind == v1::AGENT_KIND_LOADGEN && a.record) loadgen_hosts.insert(a.record->hostname);
  }
  if (!options_.server_hostname.empty()) {
    for (const auto& [source, host] : hosts_) {
      if (host.hostname == options_.server_hostname) {
        server_ = &host;
        return;
      }
    }
  }
  for (const auto& [source, host] : hosts_) {
    if (!loadgen_hosts.contains(host.hostname)) {
      server_ = &host;
      return;
    }
  }
  if (!hosts_.empty()) server_ = &hosts_.begin()->second;
}

// The cores the generators may use: per loadgen host, its cores (from a
// monitor on that host) capped by the agents' threads there; the threads
// alone when the host is not monitored.
void ReportBuilder::GeneratorCapacity() {
  std::map<std::string, uint32_t> threads_by_host;
  std::set<std::string> unknown;
  for (const RunAgent& a : agents_) {
    if (!load_sources_.contains(a.source_id)) continue;
    if (!a.record || a.record->hostname.empty()) {
      unknown.insert(a.source_id);
      continue;
    }
    threads_by_host[a.record->hostname] += a.record->threads;
  }
  double cores = 0;
  for (const auto& [hostname, threads] : threads_by_host) {
    int host_cores = 0;
    for (const auto& [source, host] : hosts_) {
      if (host.hostname == hostname) host_cores = std::max(host_cores, host.cores);
    }
    if (host_cores > 0 && threads > 0) {
      cores += std::min<double>(host_cores, threads);
    } else if (host_cores > 0 || threads > 0) {
      cores += std::max<double>(host_cores, threads);
    } else {
      unknown.insert(hostname);
    }
  }
  if (!unknown.empty()) {
    generator_cores_note_ = absl::StrFormat(
        "generator CPU capacity unknown for %s (no agent record, thread count or monitored host), "
        "so client saturation was not checked",
        absl::StrJoin(unknown, ", "));
    return;
  }
  if (cores > 0) generator_cores_ = cores;
}

void ReportBuilder::LoadSeriesColumns() {
  for (const SecondSummary& s : seconds_) {
    const std::optional<size_t> row = grid_.Row(s.bucket_ns);
    if (!row) continue;
    const size_t r = *row;
    const LatencySummary& l = s.latency;
    Col("stage")[r] = s.stage;
    Col("users")[r] = s.active_users;
    Col("tps")[r] = s.tps;
    // Errors as a rate like tps (count / measured seconds, summed over agents).
    Col("errors_per_s")[r] = s.count > 0 ? s.tps * Ratio(s.errors, s.count) : 0.0;
    if (l.count > 0) {
      Col("p50_ms")[r] = l.p50_ms;
      Col("p90_ms")[r] = l.p90_ms;
      Col("p99_ms")[r] = l.p99_ms;
      Col("max_ms")[r] = l.max_ms;
    }
    if (generator_cores_) Col("generator_cpu")[r] = s.generator_cpu / *generator_cores_;
  }
}

void ReportBuilder::HostSeriesColumns() {
  if (server_ == nullptr) return;
  const HostSource& h = *server_;
  Col("cpu_busy") = grid_.Place(CpuFraction(h, &CpuSplit::busy));
  Col("cpu_user") = grid_.Place(CpuFraction(h, &CpuSplit::user));
  Col("cpu_system") = grid_.Place(CpuFraction(h, &CpuSplit::system));
  Col("cpu_softirq") = grid_.Place(CpuFraction(h, &CpuSplit::softirq));
  Col("cpu_iowait") = grid_.Place(CpuFraction(h, &CpuSplit::iowait));
  Col("load1") = grid_.Place(Gauge(h, &HostPoint::load1));
  Col("mem_used_bytes") = grid_.Place(Gauge(h, &HostPoint::mem_used));
  Col("net_rx_bytes_per_s") = grid_.Place(Rate(h, &HostPoint::net_rx));
  Col("net_tx_bytes_per_s") = grid_.Place(Rate(h, &HostPoint::net_tx));
  Col("tcp_active_opens_per_s") = grid_.Place(Rate(h, &HostPoint::active_opens));
  Col("tcp_passive_opens_per_s") = grid_.Place(Rate(h, &HostPoint::passive_opens));
  Col("tcp_retrans_per_s") = grid_.Place(Rate(h, &HostPoint::retrans));
  Col("tcp_curr_estab") = grid_.Place(Gauge(h, &HostPoint::curr_estab));
  Col("tcp_time_wait") = grid_.Place(Gauge(h, &HostPoint::time_wait));
  Col("listen_overflows_per_s") = grid_.Place(Rate(h, &HostPoint::listen_overflows));
  Col("disk_busy") = grid_.Place(DiskBusy(h));
}

void ReportBuilder::ProcessSeriesColumns() {
  const ProcessColumns p = ProcessSeries(process_samples_);
  if (!p.any) return;
  Col("process_cpu") = grid_.Place(p.cpu_cores);
  Col("process_rss_bytes") = grid_.Place(p.rss);
  Col("process_threads") = grid_.Place(p.threads);
  Col("process_fds") = grid_.Place(p.fds);
  Col("process_ctx_switches_per_s") = grid_.Place(p.ctx_per_s);
}

void ReportBuilder::RunSection() {
  json run;
  run["id"] = run_.run_id;
  run["name"] = run_.name;
  run["state"] = RunStateName(run_.state);
  run["target"] = TextOrNull(options_.target);
  run["server"] = TextOrNull(options_.server);
  run["watched"] = options_.watched;
  run["started_at"] = run_.started_ns > 0 ? json(Iso8601(run_.started_ns)) : json(nullptr);
  run["ended_at"] = run_.ended_ns > 0 ? json(Iso8601(run_.ended_ns)) : json(nullptr);
  const int64_t data_end = grid_.first_bucket + static_cast<int64_t>(grid_.rows) * kNanosPerSecond;
  run["duration_s"] = run_.started_ns > 0 && run_.ended_ns > run_.started_ns
                          ? static_cast<double>(run_.ended_ns - run_.started_ns) / kNanosPerSecond
                          : Ts(data_end);
  json host = {{"hostname", nullptr}, {"cores", nullptr}, {"kernel", TextOrNull(options_.kernel)}};
  if (server_ != nullptr) {
    host["hostname"] = TextOrNull(server_->hostname);
    host["cores"] = server_->cores > 0 ? json(server_->cores) : json(nullptr);
  }
  run["host"] = host;
  run["scenario"] = nullptr;
  if (!run_.scenario_json.empty()) {
    json scenario = json::parse(run_.scenario_json, nullptr, /*allow_exceptions=*/false);
    if (!scenario.is_discarded()) run["scenario"] = scenario;
  }
  json agents = json::array();
  for (const RunAgent& a : agents_) {
    json agent = {{"source_id", a.source_id}, {"kind", AgentKindName(a.kind)},
                  {"hostname", nullptr},      {"version", nullptr},
                  {"threads", nullptr},       {"clock_offset_ms", nullptr},
                  {"round_trip_ms", nullptr}};
    if (a.record) {
      agent["hostname"] = TextOrNull(a.record->hostname);
      agent["version"] = TextOrNull(a.record->version);
      agent["threads"] = a.record->threads > 0 ? json(a.record->threads) : json(nullptr);
      agent["clock_offset_ms"] = static_cast<double>(a.record->clock_offset_ns) / 1e6;
      agent["round_trip_ms"] = a.record->round_trip_ns > 0
                                   ? json(static_cast<double>(a.record->round_trip_ns) / 1e6)
                                   : json(nullptr);
    }
    agents.push_back(agent);
  }
  run["agents"] = agents;
  doc_["run"] = run;
}

void ReportBuilder::StageSection() {
  json stages = json::array();
  for (size_t i = 0; i < stages_.size(); ++i) {
    const LoadStage& s = stages_[i];
    const double start_s = Ts(s.first_bucket_ns);
    const double end_s = Ts(s.last_bucket_ns + kNanosPerSecond);
    stage_span_s_[s.stage] = {start_s, end_s};
    const double generator = generator_cores_ ? s.generator_cpu / *generator_cores_ : kNaN;
    stage_generator_[s.stage] = generator;
    json row = {{"stage", s.stage},
                {"load", points_[i].load},
                {"users", s.active_users},
                {"target_rate", s.target_rate > 0 ? json(s.target_rate) : json(nullptr)},
                {"start_s", start_s},
                {"end_s", end_s},
                {"seconds", s.seconds},
                {"tps", s.all.tps},
                {"count", s.all.count},
                {"errors", s.all.errors},
                {"error_rate", Ratio(s.all.errors, s.all.count)}};
    PutLatency(row, s.all.latency);
    row["server_cpu"] =
        Num(MeanOver(columns_["cpu_busy"], grid_, s.first_bucket_ns, s.last_bucket_ns));
    row["process_cpu"] =
        Num(MeanOver(columns_["process_cpu"], grid_, s.first_bucket_ns, s.last_bucket_ns));
    row["generator_cpu"] = Num(generator);
    stages.push_back(row);
  }
  doc_["stages"] = stages;
}

void ReportBuilder::TransactionSection() {
  double seconds = 0;
  for (const LoadStage& s : stages_) seconds += s.seconds;
  OpTotals overall;
  std::map<std::string, OpTotals> transactions;
  for (const LoadStage& s : stages_) {
    for (const auto& [name, stats] : s.transactions) {
      OpTotals& t = transactions[name];
      t.count += stats.count;
      t.errors += stats.errors;
      t.latency.Add(stats.latency);
    }
    overall.count += s.all.count;
    overall.errors += s.all.errors;
    overall.latency.Add(s.all.latency);
  }
  for (auto& [name, t] : transactions) {
    t.errors_by_class = transaction_error_classes_[name];
    for (const auto& [error_class, n] : t.errors_by_class)
      overall.errors_by_class[error_class] += n;
  }
  const auto totals = [&](const OpTotals& t) {
    json row = {{"count", t.count},
                {"errors", t.errors},
                {"error_rate", Ratio(t.errors, t.count)},
                {"tps", seconds > 0 ? static_cast<double>(t.count) / seconds : 0.0}};
    PutLatency(row, t.latency);
    row["errors_by_class"] = json::object();
    for (const auto& [error_class, n] : t.errors_by_class) row["errors_by_class"][error_class] = n;
    return row;
  };

  json rows = json::array();
  json spectrum = json::array();
  spectrum.push_back({{"transaction", ""}, {"points", Spectrum(overall.latency)}});
  for (const auto& [name, t] : transactions) {
    json row = {{"name", name}};
    row.update(totals(t));
    json steps = json::array();
    const std::string prefix = name + "/";
    for (const auto& [step_name, step] : steps_) {
      if (!step_name.starts_with(prefix)) continue;
      const LatencySummary l = Summarize(step.latency);
      const bool any = l.count > 0;
      steps.push_back({{"name", step_name},
                       {"count", step.count},
                       {"errors", step.errors},
                       {"mean_ms", any ? json(l.mean_ms) : json(nullptr)},
                       {"p50_ms", any ? json(l.p50_ms) : json(nullptr)},
                       {"p99_ms", any ? json(l.p99_ms) : json(nullptr)}});
    }
    row["steps"] = steps;
    rows.push_back(row);
    spectrum.push_back({{"transaction", name}, {"points", Spectrum(t.latency)}});
  }
  doc_["transactions"] = rows;
  doc_["spectrum"] = spectrum;

  json all = totals(overall);
  double peak = 0;
  for (const LoadStage& s : stages_) peak = std::max(peak, s.all.tps);
  all["peak_tps"] = peak;
  doc_["overall"] = all;

  if (overall.errors > 0) {
    double first_error_s = kNaN;
    for (const SecondSummary& s : seconds_) {
      if (s.errors > 0) {
        first_error_s = Ts(s.bucket_ns);
        break;
      }
    }
    std::vector<std::string> classes;
    for (const auto& [error_class, n] : overall.errors_by_class) {
      classes.push_back(absl::StrFormat("%s %d", error_class, n));
    }
    Derive(first_error_s, overall.errors * 100 > overall.count ? "critical" : "warning", "errors",
           absl::StrFormat("%d of %d transactions failed (%.3f%%)%s", overall.errors, overall.count,
                           100.0 * Ratio(overall.errors, overall.count),
                           classes.empty() ? "" : ": " + absl::StrJoin(classes, ", ")));
  }
  if (corrupt_intervals_ > 0) {
    Derive(kNaN, "warning", "corrupt-sample",
           absl::StrFormat("%d load interval(s) or step histogram(s) were left out because they "
                           "do not decode; the first: %s",
                           corrupt_intervals_, first_corruption_));
  }
}

void ReportBuilder::CurveSections() {
  // Knee.
  knee_ = FindKnee(points_, options_.knee);
  json knee = {{"found", knee_.has_value()},
               {"stage", nullptr},
               {"load", nullptr},
               {"tps", nullptr},
               {"p99_ms", nullptr},
               {"method", nullptr},
               {"marginal_gain", nullptr},
               {"latency_growth", nullptr}};
  if (knee_) {
    const StagePoint& k = knee_->point;
    knee["stage"] = k.stage;
    knee["load"] = k.load;
    knee["tps"] = k.tps;
    knee["p99_ms"] = k.p99_ms;
    knee["method"] = knee_->method;
    knee["marginal_gain"] = Num(knee_->marginal_gain);
    knee["latency_growth"] = Num(knee_->latency_growth);
    std::string gain;
    if (std::isfinite(knee_->marginal_gain)) {
      gain = absl::StrFormat("; beyond it each unit of load adds %.0f%% of the initial gain",
                             100.0 * knee_->marginal_gain);
    }
    Derive(stage_span_s_[static_cast<uint32_t>(k.stage)].first, "warning", "knee",
           absl::StrFormat("throughput stops scaling at stage %d: %.0f tx/s at load %.0f "
                           "(p99 %.2f ms)%s",
                           k.stage, k.tps, k.load, k.p99_ms, gain));
  } else if (points_.size() >= 3) {
    Derive(kNaN, "info", "knee",
           absl::StrFormat("no knee: throughput still scales over the %d stages (up to %.0f "
                           "tx/s); add load to find the limit",
                           points_.size(), points_.back().tps));
  } else {
    Derive(kNaN, "info", "knee",
           absl::StrFormat("no knee: %d stage(s) measured; knee detection needs at least 3",
                           points_.size()));
  }
  doc_["knee"] = knee;

  // SLO.
  const std::optional<StagePoint> best = HighestTpsUnderSlo(
      points_, {.p99_ms = options_.slo_p99_ms, .max_error_rate = options_.slo_max_error_rate});
  json slo = {{"p99_ms", options_.slo_p99_ms},
              {"max_error_rate", options_.slo_max_error_rate},
              {"max_tps", nullptr},
              {"at_load", nullptr},
              {"stage", nullptr}};
  if (best) {
    slo["max_tps"] = best->tps;
    slo["at_load"] = best->load;
    slo["stage"] = best->stage;
    Derive(stage_span_s_[static_cast<uint32_t>(best->stage)].first, "info", "slo",
           absl::StrFormat("highest throughput with p99 < %g ms and error rate <= %g%%: %.0f tx/s "
                           "at load %.0f (stage %d, p99 %.2f ms)",
                           options_.slo_p99_ms, 100.0 * options_.slo_max_error_rate, best->tps,
                           best->load, best->stage, best->p99_ms));
  } else {
    double lowest_p99 = std::numeric_limits<double>::infinity();
    for (const StagePoint& p : points_) lowest_p99 = std::min(lowest_p99, p.p99_ms);
    Derive(kNaN, "warning", "slo",
           absl::StrFormat("no stage met p99 < %g ms with error rate <= %g%% (lowest p99 %.2f ms)",
                           options_.slo_p99_ms, 100.0 * options_.slo_max_error_rate, lowest_p99));
  }
  doc_["slo"] = slo;

  // USL.
  const std::vector<UslPoint> usl_points = ToUslPoints(stages_);
  const absl::StatusOr<UslFit> fit = FitUsl(usl_points);
  json usl = {{"ok", fit.ok()},
              {"sigma", nullptr},
              {"kappa", nullptr},
              {"lambda", nullptr},
              {"peak_n", nullptr},
              {"peak_tps", nullptr},
              {"asymptotic_tps", nullptr},
              {"r2", nullptr},
              {"rmse", nullptr},
              {"points", usl_points.size()},
              {"message", ""},
              {"curve", json::array()}};
  if (fit.ok()) {
    usl["sigma"] = fit->sigma;
    usl["kappa"] = fit->kappa;
    usl["lambda"] = fit->lambda;
    usl["peak_n"] = Num(fit->peak_concurrency);
    usl["peak_tps"] = Num(fit->peak_throughput);
    usl["asymptotic_tps"] = Num(fit->asymptotic_throughput);
    usl["r2"] = Num(fit->r_squared);
    usl["rmse"] = Num(fit->rmse);
    if (!fit->peak_concurrency) {
      usl["message"] =
          fit->asymptotic_throughput
              ? absl::StrFormat(
                    "no peak: kappa = 0, throughput approaches lambda/sigma = %.0f tx/s",
                    *fit->asymptotic_throughput)
              : std::string("no peak: throughput keeps rising within the fitted model");
    }
    double max_n = 0, min_n = 1;
    for (const UslPoint& p : usl_points) {
      max_n = std::max(max_n, p.concurrency);
      min_n = std::min(min_n, p.concurrency);
    }
    const double to = 1.5 * max_n;
    constexpr int kSteps = 100;
    for (int i = 0; i <= kSteps; ++i) {
      const double n = min_n + (to - min_n) * i / kSteps;
      usl["curve"].push_back({n, UslThroughput(*fit, n)});
    }
  } else {
    usl["message"] = std::string(fit.status().message());
  }
  doc_["usl"] = usl;

  // Little's law (think time and pacing are not in the stored intervals:
  // Z = 0, which flags scenarios that have them).
  json little_stages = json::array();
  int applicable = 0;
  std::vector<std::string> inconsistent;
  for (const LoadStage& s : stages_) {
    const LatencySummary l = Summarize(s.all.latency);
    const LittlesLawCheck check = CheckLittlesLaw({.concurrency = s.active_users,
                                                   .throughput = s.all.tps,
                                                   .response_time_s = l.mean_ms / 1e3});
    const bool ok = check.verdict != LittlesLawVerdict::kNotApplicable;
    if (ok) ++applicable;
    if (ok && check.verdict != LittlesLawVerdict::kConsistent) {
      inconsistent.push_back(absl::StrFormat("stage %d: %s", s.stage, check.explanation));
    }
    little_stages.push_back({{"stage", s.stage},
                             {"measured_concurrency", s.active_users},
                             {"predicted", ok ? json(check.expected_concurrency) : json(nullptr)},
                             {"error", ok ? json(check.relative_deviation) : json(nullptr)},
                             {"verdict", LittlesLawVerdictName(check.verdict)},
                             {"explanation", check.explanation}});
  }
  std::string message;
  if (applicable == 0) {
    message = "not applicable: no stage had both active users and throughput";
  } else if (!inconsistent.empty()) {
    message =
        absl::StrJoin(inconsistent, "; ") + " (think time and pacing are not subtracted: Z = 0)";
  }
  doc_["littles_law"] = {{"ok", applicable > 0 && inconsistent.empty()},
                         {"stages", little_stages},
                         {"message", message}};
}

void ReportBuilder::VerdictSection() {
  std::vector<UseStage> rows;
  for (size_t i = 0; i < stages_.size(); ++i) {
    const LoadStage& s = stages_[i];
    const auto mean = [&](const char* name) {
      const double v = MeanOver(columns_[name], grid_, s.first_bucket_ns, s.last_bucket_ns);
      return std::isfinite(v) ? v : 0.0;
    };
    const double generator = stage_generator_[s.stage];
    rows.push_back({.load = points_[i].load,
                    .tps = points_[i].tps,
                    .p99_ms = points_[i].p99_ms,
                    .server_cpu = mean("cpu_busy"),
                    .server_cores = server_ != nullptr ? static_cast<double>(server_->cores) : 0,
                    .disk_busy = mean("disk_busy"),
                    .network_bytes_per_s = mean("net_rx_bytes_per_s") + mean("net_tx_bytes_per_s"),
                    .network_capacity_bytes_per_s = std::nullopt,
                    .generator_cpu = std::isfinite(generator) ? generator : 0.0,
                    .tcp_retransmits_per_s = mean("tcp_retrans_per_s"),
                    .listen_overflows_per_s = mean("listen_overflows_per_s")});
  }
  verdict_ = DecideUse(rows, options_.use);
  const bool judged_server = verdict_.bottleneck != Bottleneck::kClient &&
                             verdict_.bottleneck != Bottleneck::kNotSaturated && rows.size() >= 2;
  if (server_ == nullptr && judged_server) {
    // DecideUse saw zeros for every server resource; say what is missing
    // instead of blaming a lock or a queue.
    std::vector<std::string> evidence(
        verdict_.evidence.begin(),
        verdict_.evidence.begin() + std::min<size_t>(2, verdict_.evidence.size()));
    const UseStage& last =
        *std::max_element(rows.begin(), rows.end(),
                          [](const UseStage& a, const UseStage& b) { return a.load < b.load; });
    verdict_.bottleneck = Bottleneck::kUndetermined;
    verdict_.summary = absl::StrFormat(
        "undetermined: throughput flattened at %.0f tx/s by load %.0f, but no monitor sampled "
        "the server host during run %s, so CPU, disk and network cannot be judged; run a "
        "monitor on the server",
        last.tps, last.load, run_.run_id);
    verdict_.evidence = std::move(evidence);
  }
  if (server_ == nullptr) {
    verdict_.evidence.push_back(absl::StrFormat(
        "no host samples were stored for run %s: server resources unknown", run_.run_id));
    Derive(kNaN, "warning", "no-monitor",
           absl::StrFormat("no host samples were stored for run %s: the server's CPU, memory, "
                           "network and disk are unknown",
                           run_.run_id));
  } else {
    verdict_.evidence.push_back(absl::StrFormat("server host %s (%d cores, monitor %s)",
                                                server_->hostname, server_->cores,
                                                server_->source_id));
  }
  if (!generator_cores_note_.empty()) verdict_.evidence.push_back(generator_cores_note_);
  double busiest = -1;
  uint32_t busiest_stage = 0;
  for (const auto& [stage, fraction] : stage_generator_) {
    if (std::isfinite(fraction) && fraction > busiest) {
      busiest = fraction;
      busiest_stage = stage;
    }
  }
  if (busiest >= 0) {
    verdict_.evidence.push_back(
        absl::StrFormat("load generator CPU peaked at %.0f%% of its %g cores (stage %d)",
                        100.0 * busiest, *generator_cores_, busiest_stage));
  }
  if (verdict_.bottleneck == Bottleneck::kClient) {
    Derive(stage_span_s_[busiest_stage].first, "critical", "client-bound",
           absl::StrFormat("the load generator used %.0f%% of its %g cores at stage %d: its own "
                           "queueing is in the latencies and the run does not measure the server",
                           100.0 * busiest, generator_cores_.value_or(0), busiest_stage));
  }
  const char* severity = verdict_.bottleneck == Bottleneck::kClient         ? "critical"
                         : verdict_.bottleneck == Bottleneck::kNotSaturated ? "info"
                                                                            : "warning";
  Derive(kNaN, severity, "verdict", verdict_.summary);
  doc_["verdict"] = {{"bottleneck", BottleneckName(verdict_.bottleneck)},
                     {"run_valid", verdict_.run_valid},
                     {"summary", verdict_.summary},
                     {"evidence", verdict_.evidence}};
}

void ReportBuilder::CorrelationSection() {
  json out = json::array();
  for (const char* against : {"tps", "p99_ms"}) {
    const std::vector<double>& target = columns_[against];
    std::vector<json> rows;
    for (const std::string& name : ServerSeriesNames()) {
      const std::optional<LagCorrelation> c =
          BestLagCorrelation(columns_[name], target, options_.max_lag_s);
      if (!c) continue;
      rows.push_back({{"metric", name},
                      {"against", against},
                      {"lag_s", c->lag},
                      {"r", c->r},
                      {"pairs", c->pairs}});
    }
    std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
      return std::abs(a["r"].get<double>()) > std::abs(b["r"].get<double>());
    });
    for (json& row : rows) out.push_back(std::move(row));
  }
  doc_["correlations"] = out;
}

absl::Status ReportBuilder::FindingSection(RunStore& store) {
  absl::StatusOr<std::vector<FindingRecord>> stored = store.ListFindings(run_.run_id);
  if (!stored.ok()) return stored.status();
  struct Row {
    double t_s;
    json value;
  };
  std::vector<Row> rows;
  for (const FindingRecord& f : *stored) {
    const double t_s = f.time_ns > 0 ? Ts(f.time_ns) : kNaN;
    rows.push_back(
        {t_s,
         {{"t_s", Num(t_s)}, {"severity", f.severity}, {"kind", f.kind}, {"message", f.message}}});
  }
  for (const Derived& d : derived_) {
    rows.push_back({d.t_s,
                    {{"t_s", Num(d.t_s)},
                     {"severity", d.severity},
                     {"kind", d.kind},
                     {"message", d.message}}});
  }
  // By time; run-wide findings (no time) last.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (std::isfinite(a.t_s) != std::isfinite(b.t_s)) return std::isfinite(a.t_s);
    return std::isfinite(a.t_s) && a.t_s < b.t_s;
  });
  json findings = json::array();
  for (Row& r : rows) findings.push_back(std::move(r.value));
  doc_["findings"] = findings;
  return absl::OkStatus();
}

void ReportBuilder::CheckSection() {
  json checks = json::array();
  for (const StoredCheck& c : checks_) {
    checks.push_back({{"t_s", Ts(Nanos(c.result.time()) + c.clock_offset_ns)},
                      {"name", c.result.name()},
                      {"state", CheckStateName(c.result.state())},
                      {"output", c.result.output()},
                      {"source_id", c.source_id}});
  }
  doc_["checks"] = checks;
}

void ReportBuilder::SeriesSection() {
  json series = json::object();
  std::vector<double> t_s(grid_.rows);
  for (size_t i = 0; i < grid_.rows; ++i) {
    t_s[i] = Ts(grid_.first_bucket + static_cast<int64_t>(i) * kNanosPerSecond);
  }
  series["t_s"] = Column(t_s);
  for (const auto& [name, column] : columns_) series[name] = Column(column);
  doc_["series"] = series;
}

}  // namespace

const std::vector<std::string>& ReportSeriesNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"t_s",    "stage",  "users",  "tps",    "errors_per_s",
                                  "p50_ms", "p90_ms", "p99_ms", "max_ms", "generator_cpu"};
    for (const std::string& s : ServerSeriesNames()) n.push_back(s);
    return n;
  }();
  return names;
}

absl::StatusOr<nlohmann::json> AnalyzeRun(RunStore& store, std::string_view run_id,
                                          const AnalysisOptions& options) {
  absl::StatusOr<RunRecord> run = store.GetRun(run_id);
  if (!run.ok()) return run.status();
  ReportBuilder builder(*run, options);
  if (absl::Status s = builder.Build(store); !s.ok()) return s;
  return builder.TakeDocument();
}

absl::Status WriteTimeseriesCsv(const nlohmann::json& report, const std::string& path) {
  const json* series = report.contains("series") ? &report["series"] : nullptr;
  if (series == nullptr || !series->is_object() || !series->contains("t_s") ||
      !(*series)["t_s"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot write %s: the report has no series.t_s array", path));
  }
  // Schema order first, then any other series alphabetically.
  std::vector<std::string> names;
  for (const std::string& name : ReportSeriesNames()) {
    if (series->contains(name)) names.push_back(name);
  }
  for (const auto& [name, values] : series->items()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  const size_t rows = (*series)["t_s"].size();
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::UnavailableError(absl::StrFormat("cannot create %s", path));
  out << absl::StrJoin(names, ",") << "\n";
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < names.size(); ++c) {
      if (c > 0) out << ',';
      const json& column = (*series)[names[c]];
      if (column.is_array() && r < column.size() && column[r].is_number()) out << column[r].dump();
    }
    out << "\n";
  }
  out.close();
  if (!out) return absl::UnavailableError(absl::StrFormat("cannot write %s", path));
  return absl::OkStatus();
}

absl::Status WriteSummaryJson(const nlohmann::json& report, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::UnavailableError(absl::StrFormat("cannot create %s", path));
  // Check outputs and messages come from plugins and servers: bytes that are
  // not UTF-8 become U+FFFD instead of failing the dump.
  out << report.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrFormat("cannot write %s", path));
  return absl::OkStatus();
}

}  // namespace tpslab::analyzer
