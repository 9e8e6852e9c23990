#include "common/metrics/interval_recorder.h"

#include <mutex>
#include <utility>

namespace tpslab::metrics {

IntervalRecorder::IntervalRecorder(int64_t lowest_discernible_value,
                                   int64_t highest_trackable_value, int significant_digits)
    : lowest_discernible_value_(lowest_discernible_value),
      highest_trackable_value_(highest_trackable_value),
      significant_digits_(significant_digits),
      first_(lowest_discernible_value, highest_trackable_value, significant_digits),
      second_(lowest_discernible_value, highest_trackable_value, significant_digits),
      active_(&first_) {}

void IntervalRecorder::SwapInterval(HdrHistogram& recycled) {
  std::lock_guard<std::mutex> lock(phaser_.reader_mutex());
  HdrHistogram* const old = active_.load(std::memory_order_relaxed);
  HdrHistogram* const idle = old == &first_ ? &second_ : &first_;
  // `idle` was reset when it was last taken out; writers move to it now.
  active_.store(idle, std::memory_order_release);
  phaser_.FlipPhase();
  // No writer is inside *old any more: it is ours until it becomes active
  // again at the next swap, by which time it has been reset. Writers only
  // added to its counts; derive total, min and max from them.
  old->RecomputeTotals();
  if (recycled.SameLayout(*old)) {
    std::swap(recycled, *old);
    old->Reset();
  } else {
    recycled = std::move(*old);
    *old = MakeEmptyHistogram();
  }
}

HdrHistogram IntervalRecorder::GetIntervalHistogram() {
  HdrHistogram interval = MakeEmptyHistogram();
  SwapInterval(interval);
  return interval;
}

HdrHistogram IntervalRecorder::MakeEmptyHistogram() const {
  return HdrHistogram(lowest_discernible_value_, highest_trackable_value_, significant_digits_);
}

}  // namespace tpslab::metrics
