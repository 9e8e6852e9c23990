#include "analyzer/load_series.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/metrics/hdr_codec.h"

namespace tpslab::analyzer {
namespace {

using google::protobuf::util::TimeUtil;

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

}  // namespace

metrics::HdrHistogram EmptyLatencyHistogram() { return metrics::HdrHistogram(1, 3'600'000'000, 3); }

LatencySummary Summarize(const metrics::HdrHistogram& h) {
  LatencySummary s;
  s.count = h.TotalCount();
  if (s.count == 0) return s;
  s.mean_ms = h.Mean() / 1000.0;
  s.p50_ms = Ms(h.ValueAtPercentile(50));
  s.p90_ms = Ms(h.ValueAtPercentile(90));
  s.p99_ms = Ms(h.ValueAtPercentile(99));
  s.p999_ms = Ms(h.ValueAtPercentile(99.9));
  s.max_ms = Ms(h.Max());
  return s;
}

absl::Status LoadAggregator::Add(std::string_view source_id, const v1::LoadInterval& interval,
                                 int64_t clock_offset_ns) {
  std::vector<metrics::HdrHistogram> histograms;
  histograms.reserve(interval.transactions_size());
  for (const v1::OperationStats& op : interval.transactions()) {
    if (op.latency().encoded().empty() && op.latency().total_count() == 0) {
      histograms.push_back(EmptyLatencyHistogram());
      continue;
    }
    absl::StatusOr<metrics::HdrHistogram> h = metrics::FromProto(op.latency());
    if (!h.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "load interval of %s, transaction '%s': %s", source_id, op.name(), h.status().message()));
    }
    histograms.push_back(*std::move(h));
  }
  // active_users is counted at the end of the interval, so the last
  // interval of a run says 0 although its users were busy until then: an
  // interval that completed work counts with the users the agent had
  // before it.
  double users = interval.active_users();
  auto previous = users_before_.find(source_id);
  if (users == 0 && previous != users_before_.end()) {
    const bool worked = std::any_of(interval.transactions().begin(), interval.transactions().end(),
                                    [](const v1::OperationStats& op) { return op.count() > 0; });
    if (worked) users = previous->second;
  }
  if (previous == users_before_.end()) {
    previous = users_before_.emplace(std::string(source_id), 0.0).first;
  }
  previous->second = interval.active_users();

  const int64_t end_ns = TimeUtil::TimestampToNanoseconds(interval.end()) + clock_offset_ns;
  const int64_t bucket = BucketOf(end_ns);
  AddTo(seconds_[bucket], source_id, interval, users, end_ns, bucket, histograms);
  AddTo(stages_[interval.stage()], source_id, interval, users, end_ns, bucket, histograms);
  return absl::OkStatus();
}

void LoadAggregator::AddTo(Span& span, std::string_view source_id, const v1::LoadInterval& interval,
                           double users, int64_t end_ns, int64_t bucket,
                           const std::vector<metrics::HdrHistogram>& histograms) {
  span.stage = std::max(span.stage, interval.stage());
  span.first_bucket = std::min(span.first_bucket, bucket);
  span.last_bucket = std::max(span.last_bucket, bucket);
  auto it = span.agents.find(source_id);
  if (it == span.agents.end()) it = span.agents.emplace(std::string(source_id), AgentSpan{}).first;
  AgentSpan& agent = it->second;
  const int64_t duration_ns = TimeUtil::TimestampToNanoseconds(interval.end()) -
                              TimeUtil::TimestampToNanoseconds(interval.start());
  agent.seconds += std::max<int64_t>(duration_ns, 0) / 1e9;
  agent.users_sum += users;
  agent.rate_sum += interval.target_rate();
  agent.cpu_seconds += interval.generator_cpu_seconds();
  ++agent.intervals;
  if (end_ns >= agent.last_end_ns) {
    agent.last_end_ns = end_ns;
    agent.users_last = users;
  }
  for (int i = 0; i < interval.transactions_size(); ++i) {
    const v1::OperationStats& op = interval.transactions(i);
    agent.counts[op.name()] += op.count();
    for (TransactionStats* stats : {&span.all, &span.transactions[op.name()]}) {
      stats->count += op.count();
      stats->errors += op.errors();
      stats->latency.Add(histograms[i]);
    }
  }
}

void LoadAggregator::FinishRates(const Span& span, TransactionStats& all,
                                 std::map<std::string, TransactionStats>& transactions) {
  all.tps = 0;
  for (auto& [name, stats] : transactions) stats.tps = 0;
  for (const auto& [source, agent] : span.agents) {
    if (agent.seconds <= 0) continue;
    for (const auto& [name, count] : agent.counts) {
      const double rate = static_cast<double>(count) / agent.seconds;
      transactions[name].tps += rate;
      all.tps += rate;
    }
  }
}

LoadSecond LoadAggregator::ToSecond(int64_t bucket, Span span) {
  LoadSecond s;
  s.bucket_ns = bucket;
  s.stage = span.stage;
  for (const auto& [source, agent] : span.agents) {
    s.active_users += agent.users_last;
    s.target_rate += agent.intervals ? agent.rate_sum / agent.intervals : 0;
    if (agent.seconds > 0) s.generator_cpu += agent.cpu_seconds / agent.seconds;
  }
  FinishRates(span, span.all, span.transactions);
  s.all = std::move(span.all);
  s.transactions = std::move(span.transactions);
  return s;
}

std::vector<LoadSecond> LoadAggregator::PerSecond() const {
  std::vector<LoadSecond> out;
  for (const auto& [bucket, span] : seconds_) out.push_back(ToSecond(bucket, span));
  return out;
}

std::vector<LoadSecond> LoadAggregator::TakeSecondsBefore(int64_t bucket_ns) {
  std::vector<LoadSecond> out;
  auto it = seconds_.begin();
  for (; it != seconds_.end() && it->first < bucket_ns; ++it) {
    out.push_back(ToSecond(it->first, std::move(it->second)));
  }
  seconds_.erase(seconds_.begin(), it);
  return out;
}

std::vector<LoadStage> LoadAggregator::PerStage() const {
  std::vector<LoadStage> out;
  for (const auto& [stage, span] : stages_) {
    LoadStage& s = out.emplace_back();
    s.stage = stage;
    s.first_bucket_ns = span.first_bucket;
    s.last_bucket_ns = span.last_bucket;
    s.all = span.all;
    s.transactions = span.transactions;
    for (const auto& [source, agent] : span.agents) {
      s.seconds = std::max(s.seconds, agent.seconds);
      if (agent.intervals > 0) {
        s.active_users += agent.users_sum / agent.intervals;
        s.target_rate += agent.rate_sum / agent.intervals;
      }
      if (agent.seconds > 0) s.generator_cpu += agent.cpu_seconds / agent.seconds;
    }
    FinishRates(span, s.all, s.transactions);
  }
  return out;
}

std::vector<StagePoint> ToStagePoints(const std::vector<LoadStage>& stages) {
  std::vector<StagePoint> points;
  for (const LoadStage& s : stages) {
    const LatencySummary latency = Summarize(s.all.latency);
    const uint64_t done = s.all.count;
    points.push_back({.stage = static_cast<int>(s.stage),
                      .load = s.active_users > 0 ? s.active_users : s.target_rate,
                      .tps = s.all.tps,
                      .p99_ms = latency.p99_ms,
                      .error_rate = done > 0 ? static_cast<double>(s.all.errors) / done : 0});
  }
  return points;
}

std::vector<UslPoint> ToUslPoints(const std::vector<LoadStage>& stages) {
  std::vector<UslPoint> points;
  for (const LoadStage& s : stages) {
    if (s.active_users > 0 && s.all.tps > 0) points.push_back({s.active_users, s.all.tps});
  }
  return points;
}

}  // namespace tpslab::analyzer
