#include "analyzer/use_verdict.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace tpslab::analyzer {
namespace {

double Slope(const UseStage& a, const UseStage& b) {
  return b.load != a.load ? (b.tps - a.tps) / (b.load - a.load) : 0.0;
}

int Percent(double fraction) { return static_cast<int>(std::lround(100.0 * fraction)); }

}  // namespace

const char* BottleneckName(Bottleneck bottleneck) {
  switch (bottleneck) {
    case Bottleneck::kClient:
      return "client";
    case Bottleneck::kNotSaturated:
      return "not-saturated";
    case Bottleneck::kCpu:
      return "cpu";
    case Bottleneck::kDisk:
      return "disk";
    case Bottleneck::kNetwork:
      return "network";
    case Bottleneck::kLockOrQueue:
      return "lock-or-queue";
    case Bottleneck::kUndetermined:
      return "undetermined";
  }
  return "undetermined";
}

UseVerdict DecideUse(std::span<const UseStage> stages, const UseOptions& options) {
  UseVerdict verdict;
  if (stages.size() < 2) {
    verdict.summary = absl::StrFormat(
        "undetermined: %d stage(s) measured; a verdict needs at least 2 load levels",
        stages.size());
    return verdict;
  }
  std::vector<UseStage> s(stages.begin(), stages.end());
  std::stable_sort(s.begin(), s.end(),
                   [](const UseStage& a, const UseStage& b) { return a.load < b.load; });
  const UseStage& first = s.front();
  const UseStage& last = s.back();

  // 1. The generator itself.
  const auto busiest_generator = std::max_element(
      s.begin(), s.end(),
      [](const UseStage& a, const UseStage& b) { return a.generator_cpu < b.generator_cpu; });
  if (busiest_generator->generator_cpu >= options.saturated) {
    verdict.bottleneck = Bottleneck::kClient;
    verdict.run_valid = false;
    verdict.summary = absl::StrFormat(
        "client-bound, run invalid: the load generator used %d%% of its CPU at %.0f users "
        "(limit %d%%); its own queueing is in the latencies. Use more generator threads or "
        "agents",
        Percent(busiest_generator->generator_cpu), busiest_generator->load,
        Percent(options.saturated));
    return verdict;
  }

  // 2. Still scaling?
  const double initial = Slope(first, s[1]);
  const double final = Slope(s[s.size() - 2], last);
  const double gain = initial > 0 ? final / initial : 0.0;
  const double latency_growth = first.p99_ms > 0 ? last.p99_ms / first.p99_ms : 1.0;
  verdict.evidence.push_back(absl::StrFormat(
      "throughput %.0f -> %.0f tx/s for load %.0f -> %.0f; last step adds %.2f tx/s per unit "
      "of load, %d%% of the first step's %.2f",
      first.tps, last.tps, first.load, last.load, final, Percent(gain), initial));
  verdict.evidence.push_back(absl::StrFormat("p99 latency %.2f -> %.2f ms (x%.1f)", first.p99_ms,
                                             last.p99_ms, latency_growth));
  if (initial > 0 && gain >= options.flat_gain) {
    verdict.bottleneck = Bottleneck::kNotSaturated;
    verdict.summary = absl::StrFormat(
        "not saturated: throughput still grows (%.0f -> %.0f tx/s, the last step at %d%% of "
        "the initial slope); add load to find the limit",
        first.tps, last.tps, Percent(gain));
    return verdict;
  }

  // 3. Hardware resources at the last (saturated) stage.
  struct Candidate {
    Bottleneck kind;
    double utilization;
    std::string words;
  };
  std::vector<Candidate> candidates = {
      {Bottleneck::kCpu, last.server_cpu,
       absl::StrFormat("server CPU reached %d%% of %.0f cores", Percent(last.server_cpu),
                       last.server_cores)},
      {Bottleneck::kDisk, last.disk_busy,
       absl::StrFormat("the busiest disk was busy %d%% of the time", Percent(last.disk_busy))},
  };
  if (last.network_capacity_bytes_per_s && *last.network_capacity_bytes_per_s > 0) {
    const double u = last.network_bytes_per_s / *last.network_capacity_bytes_per_s;
    candidates.push_back(
        {Bottleneck::kNetwork, u,
         absl::StrFormat("the network carried %.1f MB/s, %d%% of the link's %.1f MB/s",
                         last.network_bytes_per_s / 1e6, Percent(u),
                         *last.network_capacity_bytes_per_s / 1e6)});
  }
  for (const Candidate& c : candidates) verdict.evidence.push_back(c.words);
  if (last.listen_overflows_per_s > 0) {
    verdict.evidence.push_back(
        absl::StrFormat("listen queue overflowed %.1f times/s", last.listen_overflows_per_s));
  }
  if (last.tcp_retransmits_per_s > 0) {
    verdict.evidence.push_back(
        absl::StrFormat("TCP retransmitted %.1f segments/s", last.tcp_retransmits_per_s));
  }
  const auto top = std::max_element(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.utilization < b.utilization; });
  // Past the peak, more load costs throughput (contention, the USL's
  // retrograde region): say where it peaked, not only where it ended.
  const UseStage& peak =
      *std::max_element(stages.begin(), stages.end(),
                        [](const UseStage& a, const UseStage& b) { return a.tps < b.tps; });
  const std::string flat =
      peak.tps > last.tps * 1.05
          ? absl::StrFormat(
                "throughput peaked at %.0f tx/s at %.0f users and fell to %.0f tx/s by %.0f users "
                "(p99 %.2f -> %.2f ms)",
                peak.tps, peak.load, last.tps, last.load, first.p99_ms, last.p99_ms)
          : absl::StrFormat("throughput flattened at %.0f tx/s by %.0f users (p99 %.2f -> %.2f ms)",
                            last.tps, last.load, first.p99_ms, last.p99_ms);
  if (top->utilization >= options.saturated) {
    verdict.bottleneck = top->kind;
    const char* label = top->kind == Bottleneck::kCpu    ? "CPU"
                        : top->kind == Bottleneck::kDisk ? "disk"
                                                         : "network";
    verdict.summary = absl::StrFormat("%s-bound: %s while %s", label, flat, top->words);
    return verdict;
  }

  // 4./5. Nothing at its limit.
  if (latency_growth >= options.latency_growth) {
    verdict.bottleneck = Bottleneck::kLockOrQueue;
    std::string queues;
    if (last.listen_overflows_per_s > 0) {
      queues = absl::StrFormat("; the listen queue overflowed %.1f times/s",
                               last.listen_overflows_per_s);
    }
    verdict.summary = absl::StrFormat(
        "lock/queue-bound: %s while no resource was near its limit (%s)%s: work waits on a "
        "lock, a queue or a fixed-size pool",
        flat, top->words, queues);
    return verdict;
  }
  verdict.bottleneck = Bottleneck::kUndetermined;
  verdict.summary = absl::StrFormat(
      "undetermined: %s, yet no resource was near its limit (%s) and latency stayed flat", flat,
      top->words);
  return verdict;
}

}  // namespace tpslab::analyzer
