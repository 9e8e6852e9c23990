// Load results of every loadgen agent joined per second and per load stage.
// Counts and durations add up per agent and rates add across agents;
// latency percentiles come from HDR histograms merged across agents and
// intervals, never from averaged percentiles.
//
// Each LoadInterval is placed in the 1 s bucket of its end time on the
// coordinator's clock (end + the agent's clock offset).
//
// Example:
//   LoadAggregator load;
//   for (const auto& [offset_ns, interval] : intervals) {
//     if (absl::Status s = load.Add(interval, offset_ns); !s.ok()) ...;  // bad histogram
//   }
//   std::vector<LoadSecond> seconds = load.PerSecond();
//   std::vector<LoadStage> stages = load.PerStage();
//   std::vector<StagePoint> curve = ToStagePoints(stages);  // for FindKnee
#ifndef TPSLAB_ANALYZER_LOAD_SERIES_H_
#define TPSLAB_ANALYZER_LOAD_SERIES_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "analyzer/knee.h"
#include "analyzer/series.h"
#include "analyzer/usl.h"
#include "common/metrics/hdr_histogram.h"
#include "common/proto/load.pb.h"

namespace tpslab::analyzer {

// The histogram layout latencies are merged into: 1 us .. 1 h at 3 digits.
metrics::HdrHistogram EmptyLatencyHistogram();

// Latency summary of a merged histogram, in milliseconds (recorded in us).
struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};
LatencySummary Summarize(const metrics::HdrHistogram& latency_us);

// Results of one transaction (or of all of them, name "") over a span.
struct TransactionStats {
  uint64_t count = 0;
  uint64_t errors = 0;
  double tps = 0;  // Completed transactions per second (sum over agents).
  metrics::HdrHistogram latency = EmptyLatencyHistogram();  // Merged, us.
};

// One second (bucket) of the run.
struct LoadSecond {
  int64_t bucket_ns = 0;     // Bucket start, coordinator clock.
  uint32_t stage = 0;        // The highest stage any agent reported in it.
  double active_users = 0;   // Sum over agents of each agent's last value.
  double target_rate = 0;    // Sum over agents (open model).
  double generator_cpu = 0;  // Generator CPU seconds per second (sum over agents).
  TransactionStats all;      // Every transaction together.
  std::map<std::string, TransactionStats> transactions;  // By name.
};

// One load stage.
struct LoadStage {
  uint32_t stage = 0;
  int64_t first_bucket_ns = 0;
  int64_t last_bucket_ns = 0;
  double seconds = 0;        // Longest measured duration of any agent in it.
  double active_users = 0;   // Sum over agents of each agent's mean.
  double target_rate = 0;    // Sum over agents of each agent's mean.
  double generator_cpu = 0;  // CPU seconds per second, sum over agents.
  TransactionStats all;
  std::map<std::string, TransactionStats> transactions;
};

class LoadAggregator {
 public:
  // Adds one interval of agent `source_id`, whose clock is `clock_offset_ns`
  // behind the coordinator's. Fails (and adds nothing) when a transaction's
  // histogram does not decode, naming the transaction.
  absl::Status Add(std::string_view source_id, const v1::LoadInterval& interval,
                   int64_t clock_offset_ns);

  // The run second by second, ascending (only seconds with data).
  std::vector<LoadSecond> PerSecond() const;

  // Removes the seconds before `bucket_ns` and returns them, ascending. A
  // caller that adds intervals in coordinator-time order can take each
  // finished second as it goes instead of keeping every second's merged
  // histograms (~190 KB per second and transaction) to the end of a run.
  std::vector<LoadSecond> TakeSecondsBefore(int64_t bucket_ns);

  // The run stage by stage, ascending.
  std::vector<LoadStage> PerStage() const;

 private:
  // What one agent contributed to one bucket or stage.
  struct AgentSpan {
    double seconds = 0;
    double users_sum = 0;  // Sum over intervals (for the mean).
    double users_last = 0;
    int64_t last_end_ns = INT64_MIN;
    double rate_sum = 0;
    double cpu_seconds = 0;
    int intervals = 0;
    std::map<std::string, uint64_t> counts;  // By transaction name.
  };
  struct Span {
    uint32_t stage = 0;
    int64_t first_bucket = INT64_MAX;
    int64_t last_bucket = INT64_MIN;
    std::map<std::string, AgentSpan, std::less<>> agents;
    TransactionStats all;
    std::map<std::string, TransactionStats> transactions;
  };
  static void AddTo(Span& span, std::string_view source_id, const v1::LoadInterval& interval,
                    double users, int64_t end_ns, int64_t bucket,
                    const std::vector<metrics::HdrHistogram>& histograms);
  // The LoadSecond of one per-second span.
  static LoadSecond ToSecond(int64_t bucket, Span span);
  // Fills the per-second rates from the agents' counts and durations.
  static void FinishRates(const Span& span, TransactionStats& all,
                          std::map<std::string, TransactionStats>& transactions);

  std::map<int64_t, Span> seconds_;
  std::map<uint32_t, Span> stages_;
  // Each agent's active users at the end of its previous interval (intervals
  // of one agent arrive in order).
  std::map<std::string, double, std::less<>> users_before_;
};

// Stage aggregates as knee-detection input (load: active users, or the
// target rate for an open-model stage without users).
std::vector<StagePoint> ToStagePoints(const std::vector<LoadStage>& stages);

// Stage aggregates as USL input (concurrency: mean active users; stages
// without users or throughput are left out).
std::vector<UslPoint> ToUslPoints(const std::vector<LoadStage>& stages);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_LOAD_SERIES_H_
