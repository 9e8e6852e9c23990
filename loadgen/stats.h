// Results bookkeeping for loadgen: each engine thread owns a ThreadStats and
// records into it without locks (relaxed atomics written by one thread,
// IntervalRecorders for latency); the reporting thread merges all threads
// once per interval into OpInterval values and accumulates the run's totals.
//
// Usage:
//   std::vector<std::unique_ptr<ThreadStats>> threads = ...;  // one per context
//   threads[t]->RecordSuccess(op, latency_us, uncorrected_us);   // engine thread t
//   threads[t]->RecordError(op, v1::ERROR_CLASS_TIMEOUT);
//   StatsMerger merger(ops, threads);                             // reporting thread
//   std::vector<OpInterval> interval = merger.Collect();          // per interval
//   const std::vector<OpInterval>& total = merger.totals();       // whole run
#ifndef TPSLAB_LOADGEN_STATS_H_
#define TPSLAB_LOADGEN_STATS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics/hdr_histogram.h"
#include "common/metrics/interval_recorder.h"
#include "common/proto/load.pb.h"

namespace tpslab::loadgen {

// Latency histograms: 1 us .. 1 h, 3 significant digits, in microseconds.
inline constexpr int64_t kLowestLatencyUs = 1;
inline constexpr int64_t kHighestLatencyUs = 3'600'000'000;
inline constexpr int kLatencyDigits = 3;
// Number of ErrorClass values (ERROR_CLASS_UNSPECIFIED .. ERROR_CLASS_OTHER).
inline constexpr size_t kErrorClasses = 8;

// What is measured: a transaction or a step of one.
struct OpInfo {
  // "upload" for a transaction, "upload/connect" for a step.
  std::string name;
  bool is_transaction = true;
};

// A new histogram with the latency layout.
metrics::HdrHistogram MakeLatencyHistogram();

// Short lower-case name of an error class: "refused", "timeout", "reset",
// "unexpected_reply", "check_failed", "tls", "other".
const char* ErrorClassName(v1::ErrorClass error_class);

// The counters and histograms one thread records into. Only the owning
// thread records; the reporting thread reads concurrently.
class ThreadStats {
 public:
  // `ops` operations; `uncorrected` adds a second latency histogram per op
  // (open model).
  ThreadStats(size_t ops, bool uncorrected);

  // A successful operation: latency from the intended start (`latency_us`)
  // and from the actual start (`uncorrected_us`, used in the open model).
  void RecordSuccess(size_t op, int64_t latency_us, int64_t uncorrected_us);
  // A failed operation.
  void RecordError(size_t op, v1::ErrorClass error_class);
  // Payload bytes moved by an operation.
  void AddBytes(size_t op, uint64_t sent, uint64_t received);
  // An open-model arrival that could not start.
  void AddDropped() { Bump(dropped_); }

 private:
  friend class StatsMerger;
  // Cache-line aligned: the threads' slots are allocated one after the
  // other, and a slot's writer must not share a line with another thread's.
  struct alignas(64) Slot {
    Slot(bool uncorrected);
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> bytes_sent{0};
    std::atomic<uint64_t> bytes_received{0};
    std::array<std::atomic<uint64_t>, kErrorClasses> by_class{};
    metrics::IntervalRecorder latency;
    std::unique_ptr<metrics::IntervalRecorder> uncorrected;
  };
  // Single writer: a plain load + store is enough and avoids a locked add.
  static void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<uint64_t> dropped_{0};
};

// One operation's results over an interval or over the whole run.
struct OpInterval {
  uint64_t count = 0;  // Completed, with or without error.
  uint64_t errors = 0;
  std::array<uint64_t, kErrorClasses> by_class{};
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Successful operations only; microseconds.
  metrics::HdrHistogram latency = MakeLatencyHistogram();
  metrics::HdrHistogram uncorrected = MakeLatencyHistogram();

  // Adds `other` into this.
  void Add(const OpInterval& other);
  // Fills a tpslab.v1.OperationStats named `name`.
  v1::OperationStats ToProto(const std::string& name, bool with_uncorrected) const;
};

// Merges the threads' stats; used by the reporting thread only.
class StatsMerger {
 public:
  StatsMerger(std::vector<OpInfo> ops, std::vector<ThreadStats*> threads);

  // Everything recorded since the previous call, per op; also added to
  // totals().
  std::vector<OpInterval> Collect();
  // Dropped arrivals since the previous call.
  uint64_t CollectDropped();

  const std::vector<OpInfo>& ops() const { return ops_; }
  const std::vector<OpInterval>& totals() const { return totals_; }
  uint64_t total_dropped() const { return total_dropped_; }

 private:
  struct Seen {
    uint64_t count = 0, errors = 0, bytes_sent = 0, bytes_received = 0;
    std::array<uint64_t, kErrorClasses> by_class{};
  };
  std::vector<OpInfo> ops_;
  std::vector<ThreadStats*> threads_;
  std::vector<std::vector<Seen>> seen_;  // [thread][op]
  std::vector<uint64_t> dropped_seen_;
  std::vector<OpInterval> totals_;
  uint64_t total_dropped_ = 0;
  metrics::HdrHistogram scratch_ = MakeLatencyHistogram();
};

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_STATS_H_
