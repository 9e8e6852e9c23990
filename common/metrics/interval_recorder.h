// IntervalRecorder: records values into an HdrHistogram from any number of
// threads without a lock, and hands the reporting thread everything recorded
// since its previous call, exactly once (the reference's Recorder).
//
// Writers record into the active histogram with relaxed atomic increments
// inside a WriterReaderPhaser critical section (two wait-free atomic
// increments around the record). The reporting thread swaps in an idle
// histogram, flips the phase to wait out writers still on the old one, and
// takes the old one: no value is lost or reported twice.
//
// Example:
//   IntervalRecorder recorder(1, 3'600'000'000, 3);  // 1 us .. 1 h, 3 digits
//   // any thread, per transaction:
//   recorder.Record(latency_us);
//   // reporting thread, once per interval:
//   HdrHistogram interval(1, 3'600'000'000, 3);
//   recorder.SwapInterval(interval);   // interval = values since last swap
//   cumulative.Add(interval);
//
// Memory: three histograms' worth (two inside, one the caller recycles);
// nothing is allocated after construction as long as the caller passes a
// histogram of the same layout to SwapInterval().

#ifndef TPSLAB_COMMON_METRICS_INTERVAL_RECORDER_H_
#define TPSLAB_COMMON_METRICS_INTERVAL_RECORDER_H_

#include <atomic>
#include <cstdint>

#include "common/metrics/hdr_histogram.h"
#include "common/metrics/writer_reader_phaser.h"

namespace tpslab::metrics {

class IntervalRecorder {
 public:
  // Histograms of this layout; an invalid layout aborts as in HdrHistogram's
  // constructor (check it first with HdrHistogram::ValidateLayout()).
  IntervalRecorder(int64_t lowest_discernible_value, int64_t highest_trackable_value,
                   int significant_digits);

  IntervalRecorder(const IntervalRecorder&) = delete;
  IntervalRecorder& operator=(const IntervalRecorder&) = delete;

  // Records `count` occurrences of `value` (HdrHistogram::Record semantics:
  // clamped above the highest trackable value, negatives rejected, both
  // counted in the interval histogram). Thread-safe, lock-free, no allocation.
  void Record(int64_t value, int64_t count = 1) noexcept {
    const int64_t token = phaser_.WriterCriticalSectionEnter();
    active_.load(std::memory_order_acquire)->RecordConcurrent(value, count);
    phaser_.WriterCriticalSectionExit(token);
  }

  // Replaces the contents of `recycled` with everything recorded since the
  // previous swap and starts a new interval. `recycled`'s storage is reused
  // for a later interval when it has this recorder's layout (no allocation);
  // otherwise it is replaced. Call from reporting threads only (they are
  // serialized); waits for writers still recording into the old interval.
  void SwapInterval(HdrHistogram& recycled);

  // Same as SwapInterval() into a new histogram (allocates).
  HdrHistogram GetIntervalHistogram();

  // An empty histogram with this recorder's layout.
  HdrHistogram MakeEmptyHistogram() const;

 private:
  const int64_t lowest_discernible_value_;
  const int64_t highest_trackable_value_;
  const int significant_digits_;
  WriterReaderPhaser phaser_;
  HdrHistogram first_;
  HdrHistogram second_;
  std::atomic<HdrHistogram*> active_;
};

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_INTERVAL_RECORDER_H_
