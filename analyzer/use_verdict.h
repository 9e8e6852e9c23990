// A USE-method (utilization, saturation, errors) verdict on what limited a
// run, in plain words with the numbers behind it.
//
// Input: one row per load stage (ascending load) with the throughput and
// latency the generator measured and the utilization of each resource over
// the same stage. The rules, in order:
//   1. client-bound (the run is invalid): some stage has the generator's own
//      CPU at or above `saturated` of the cores it may use. Its latencies
//      include its own queueing, so nothing else can be concluded.
//   2. not saturated: throughput still scales, i.e. the marginal throughput
//      per added unit of load over the last step(s) is at least
//      `flat_gain` of the initial slope (FindKnee finds no knee). Verdict:
//      add load.
//   3. otherwise the last stage is in saturation; the resources of the
//      server at or above `saturated` there are candidates, and the most
//      utilized wins: CPU-bound (server CPU of all its cores), disk-bound
//      (busiest disk's I/O time), network-bound (interface throughput of
//      its link capacity, when the capacity is known).
//   4. lock/queue-bound: saturated, no resource near its limit, and latency
//      grew by at least `latency_growth` from the first stage (work waits in
//      a queue or on a lock, not on hardware); listen-queue overflows and
//      TCP retransmits are quoted as evidence when present.
//   5. undetermined: saturated, no resource at its limit, latency flat.
//
// Example:
//   std::vector<UseStage> stages = ...;  // from LoadStage + monitor samples
//   UseVerdict verdict = DecideUse(stages);
//   puts(verdict.summary.c_str());
//   // "CPU-bound: throughput flattened at 9,850 tx/s from 40 users while
//   //  server CPU reached 97% of 2 cores (p99 3.1 -> 12.4 ms)"
#ifndef TPSLAB_ANALYZER_USE_VERDICT_H_
#define TPSLAB_ANALYZER_USE_VERDICT_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tpslab::analyzer {

// One stage: load, results, and utilization as fractions (0..1) of capacity.
struct UseStage {
  double load = 0;  // Active users (or arrival rate).
  double tps = 0;
  double p99_ms = 0;
  double server_cpu = 0;           // Server CPU busy / (cores × time), 0..1.
  double server_cores = 0;         // Cores of the server host (for the wording).
  double disk_busy = 0;            // Busiest disk's I/O time / time, 0..1.
  double network_bytes_per_s = 0;  // Busiest interface, rx + tx.
  // Link capacity of that interface, bytes/s; empty when unknown (loopback).
  std::optional<double> network_capacity_bytes_per_s = std::nullopt;
  double generator_cpu = 0;  // Generator CPU / the cores it may use, 0..1.
  double tcp_retransmits_per_s = 0;
  double listen_overflows_per_s = 0;
};

struct UseOptions {
  // Utilization at which a resource counts as saturated. Default 0.85.
  double saturated = 0.85;
  // Latency growth (last p99 / first p99) that marks queueing. Default 2.
  double latency_growth = 2.0;
  // Marginal gain of the last step relative to the first, below which
  // throughput counts as flat. Default 0.3.
  double flat_gain = 0.3;
};

enum class Bottleneck {
  kClient,        // The generator saturated; the run is invalid.
  kNotSaturated,  // Throughput still scales with load.
  kCpu,
  kDisk,
  kNetwork,
  kLockOrQueue,
  kUndetermined,
};

// "client", "not-saturated", "cpu", "disk", "network", "lock-or-queue",
// "undetermined": stable names for JSON and findings.
const char* BottleneckName(Bottleneck bottleneck);

struct UseVerdict {
  Bottleneck bottleneck = Bottleneck::kUndetermined;
  bool run_valid = true;              // False when client-bound.
  std::string summary;                // One sentence with the numbers.
  std::vector<std::string> evidence;  // Supporting facts, one per line.
};

// Applies the rules above. Fewer than 2 stages: kUndetermined, saying so.
UseVerdict DecideUse(std::span<const UseStage> stages, const UseOptions& options = {});

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_USE_VERDICT_H_
