// HdrHistogram: a log-linear histogram of non-negative 64-bit values (normally
// latencies in microseconds) with a fixed relative precision, bucket-for-bucket
// compatible with Gil Tene's reference HdrHistogram (Java 2.1.x, C, Go).
//
// The layout (lowest discernible value, highest trackable value, significant
// digits) fixes the counts array exactly as the reference computes it, so the
// V2 encoding (hdr_codec.h) of a histogram carries the same counts array as a
// reference histogram with the same layout, and percentiles, min, max, mean
// and standard deviation follow the reference's definitions.
//
// Memory is allocated once, at construction; Record() is O(1), branch-light and
// never allocates. Values above the highest trackable value are clamped to it
// and counted in overflow_count(); negative values and counts are dropped and
// counted in rejected_count(). Nothing here throws.
//
// Example:
//   // 1 us .. 1 h, 3 significant digits (0.1% relative precision).
//   HdrHistogram h(/*lowest_discernible_value=*/1, /*highest_trackable_value=*/3'600'000'000,
//                  /*significant_digits=*/3);
//   h.Record(latency_us);
//   int64_t p99 = h.ValueAtPercentile(99.0);
//   for (const HdrBucket& b : h.RecordedBuckets()) {
//     printf("%lld..%lld: %lld\n", b.lowest_value, b.highest_value, b.count);
//   }
//
// HdrHistogram is copyable (a copy allocates its own counts) and movable (a
// move steals the counts; a moved-from histogram may only be assigned to or
// destroyed). It is not thread-safe, except that RecordConcurrent() may be
// called from several threads at once while nothing else touches the
// histogram (that is how IntervalRecorder records without a lock).
//
// All value arguments of the query methods below are >= 0.

#ifndef TPSLAB_COMMON_METRICS_HDR_HISTOGRAM_H_
#define TPSLAB_COMMON_METRICS_HDR_HISTOGRAM_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpslab::metrics {

// One non-empty bucket of a histogram, as visited by RecordedBuckets().
struct HdrBucket {
  // Index of the bucket in the counts array (same index as the reference's).
  size_t index = 0;
  // Smallest and largest values that land in this bucket.
  int64_t lowest_value = 0;
  int64_t highest_value = 0;
  // Number of values recorded in this bucket (> 0).
  int64_t count = 0;
};

class HdrHistogram {
 public:
  static constexpr int kMinSignificantDigits = 1;
  static constexpr int kMaxSignificantDigits = 5;

  // Returns OK when (lowest_discernible_value, highest_trackable_value,
  // significant_digits) is a valid layout, as the reference defines it:
  // lowest >= 1, highest >= 2 * lowest, digits in [1, 5], and the precision
  // still representable above `lowest` (unit magnitude + sub-bucket magnitude
  // <= 62). The error message names the offending parameter.
  static absl::Status ValidateLayout(int64_t lowest_discernible_value,
                                     int64_t highest_trackable_value, int significant_digits);

  // Returns the number of counts a histogram with this layout holds (the
  // reference's countsArrayLength), or an error for an invalid layout. Lets
  // callers bound memory before constructing (8 bytes per count).
  static absl::StatusOr<int64_t> CountsLengthFor(int64_t lowest_discernible_value,
                                                 int64_t highest_trackable_value,
                                                 int significant_digits);

  // Creates a histogram, or returns the ValidateLayout() error.
  static absl::StatusOr<HdrHistogram> Create(int64_t lowest_discernible_value,
                                             int64_t highest_trackable_value,
                                             int significant_digits);

  // Creates a histogram with a layout known to be valid (a constant in the
  // code). An invalid layout is a programming error: it prints the
  // ValidateLayout() message and aborts, in every build mode. Use Create()
  // for layouts that come from input.
  HdrHistogram(int64_t lowest_discernible_value, int64_t highest_trackable_value,
               int significant_digits);

  HdrHistogram(const HdrHistogram&) = default;
  HdrHistogram& operator=(const HdrHistogram&) = default;
  HdrHistogram(HdrHistogram&&) noexcept = default;
  HdrHistogram& operator=(HdrHistogram&&) noexcept = default;
  ~HdrHistogram() = default;

  // Records one occurrence of `value`.
  void Record(int64_t value) noexcept { Record(value, 1); }

  // Records `count` occurrences of `value`. A value above
  // highest_trackable_value() is recorded as highest_trackable_value() and
  // adds `count` to overflow_count(). A negative value or count is dropped
  // and adds 1 to rejected_count(); a count of 0 records nothing.
  void Record(int64_t value, int64_t count) noexcept {
    if (value < 0 || count <= 0) [[unlikely]] {
      RecordInvalid(count);
      return;
    }
    if (value > highest_trackable_value_) [[unlikely]] {
      overflow_count_ = WrapAdd(overflow_count_, count);
      value = highest_trackable_value_;
    }
    int64_t& slot = counts_[CountsIndex(value)];
    slot = WrapAdd(slot, count);
    total_count_ = WrapAdd(total_count_, count);
    max_value_ = value > max_value_ ? value : max_value_;
    // value - 1 wraps 0 to the largest uint64_t, so zeros never lower it.
    const uint64_t minus_one = static_cast<uint64_t>(value) - 1;
    min_non_zero_minus_one_ =
        minus_one < min_non_zero_minus_one_ ? minus_one : min_non_zero_minus_one_;
  }

  // Like Record(), but safe to call from several threads at once as long as
  // no other method runs concurrently on this histogram. It only adds to the
  // bucket's count (one relaxed atomic add; overflow and rejects are counted
  // too), so TotalCount(), Min(), Max() and what derives from them are stale
  // until RecomputeTotals() runs after the writers are done (IntervalRecorder
  // does that when it swaps an interval out).
  void RecordConcurrent(int64_t value, int64_t count = 1) noexcept;

  // Adds every count of `other` into this histogram (merging). When both
  // share the bucket geometry (same unit magnitude and sub-bucket count) and
  // other's counts fit, counts are added index for index; otherwise each of
  // other's buckets is re-recorded at its lowest value (the reference's
  // rule), with values above highest_trackable_value() clamped and counted
  // in overflow_count(). other's overflow and rejected counts are added too.
  void Add(const HdrHistogram& other) noexcept;

  // Clears all counts and counters; keeps the layout and the memory.
  void Reset() noexcept;

  // Number of recorded values.
  int64_t TotalCount() const noexcept { return total_count_; }
  // Number of values clamped to highest_trackable_value() (see Record()).
  int64_t overflow_count() const noexcept { return overflow_count_; }
  // Number of Record() calls dropped for a negative value or count.
  int64_t rejected_count() const noexcept { return rejected_count_; }

  // Smallest recorded value, reference semantics: 0 when empty or when the
  // first bucket (values below lowest_discernible_value()) holds counts,
  // otherwise the lowest equivalent value of the smallest recorded value.
  int64_t Min() const noexcept;
  // Largest recorded value, reference semantics: the highest equivalent value
  // of the largest recorded value (0 when empty or only 0 was recorded).
  int64_t Max() const noexcept;
  // Mean of the recorded values, each taken as the median equivalent value of
  // its bucket (as the reference does); 0 when empty.
  double Mean() const noexcept;
  // Population standard deviation on the same median equivalent values.
  double StdDev() const noexcept;

  // Value at `percentile` (in [0, 100]; outside values are clamped, NaN counts
  // as 0), reference semantics: the highest equivalent value of the bucket
  // holding the ceil(percentile/100 * total)-th value (at least the first);
  // for percentile 0, that bucket's lowest equivalent value. 0 when empty.
  int64_t ValueAtPercentile(double percentile) const noexcept;

  // Count recorded in the bucket that holds `value` (0 outside the range).
  int64_t CountAtValue(int64_t value) const noexcept;
  // Count at counts-array index `index` (must be < counts_length()).
  int64_t CountAtIndex(size_t index) const noexcept { return counts_[index]; }

  // Smallest value in the bucket that holds `value`.
  int64_t LowestEquivalentValue(int64_t value) const noexcept;
  // Largest value in the bucket that holds `value`.
  int64_t HighestEquivalentValue(int64_t value) const noexcept;
  // Middle of the bucket that holds `value` (used by Mean and StdDev).
  int64_t MedianEquivalentValue(int64_t value) const noexcept;
  // First value above the bucket that holds `value`.
  int64_t NextNonEquivalentValue(int64_t value) const noexcept;
  // Width of the bucket that holds `value`.
  int64_t SizeOfEquivalentValueRange(int64_t value) const noexcept;
  // True when `a` and `b` land in the same bucket.
  bool ValuesAreEquivalent(int64_t a, int64_t b) const noexcept {
    return LowestEquivalentValue(a) == LowestEquivalentValue(b);
  }

  // Counts-array index for a value in [0, highest_trackable_value()]
  // (the reference's countsArrayIndex).
  size_t CountsIndex(int64_t value) const noexcept {
    const int bucket = BucketIndex(value);
    const int sub_bucket = SubBucketIndex(value, bucket);
    return (static_cast<size_t>(bucket + 1) << sub_bucket_half_count_magnitude_) +
           static_cast<size_t>(sub_bucket - sub_bucket_half_count_);
  }
  // Lowest value of the bucket at counts-array index `index`
  // (the reference's valueFromIndex).
  int64_t ValueFromIndex(size_t index) const noexcept;

  // A forward range over the non-empty buckets, in increasing value order.
  class RecordedRange;
  RecordedRange RecordedBuckets() const noexcept;

  // Layout and geometry.
  int64_t lowest_discernible_value() const noexcept { return lowest_discernible_value_; }
  int64_t highest_trackable_value() const noexcept { return highest_trackable_value_; }
  int significant_digits() const noexcept { return significant_digits_; }
  int unit_magnitude() const noexcept { return unit_magnitude_; }
  int32_t sub_bucket_count() const noexcept { return sub_bucket_count_; }
  int32_t bucket_count() const noexcept { return bucket_count_; }
  size_t counts_length() const noexcept { return counts_.size(); }
  // True when `other` has the same lowest, highest and digits.
  bool SameLayout(const HdrHistogram& other) const noexcept;
  // Bytes used by this histogram, including its counts array.
  size_t MemoryFootprint() const noexcept {
    return sizeof(*this) + counts_.capacity() * sizeof(int64_t);
  }

  // Index of the highest non-empty bucket plus one; 0 when empty.
  size_t CountsLimit() const noexcept;

  // Sets the count at `index` (< counts_length()), for decoders that rebuild
  // a histogram from a counts array. Call RecomputeTotals() afterwards.
  void SetCountAtIndex(size_t index, int64_t count) noexcept { counts_[index] = count; }
  // Recomputes total count, min and max from the counts array (the
  // reference's establishInternalTackingValues), after SetCountAtIndex().
  void RecomputeTotals() noexcept { RecomputeTotals(counts_.size()); }
  // The same when every count at index `end` or above is known to be zero
  // (a decoder that filled only the indices below it): scans only those.
  void RecomputeTotals(size_t end) noexcept;

  // Same layout and identical counts.
  friend bool operator==(const HdrHistogram& a, const HdrHistogram& b) noexcept {
    return a.SameLayout(b) && a.total_count_ == b.total_count_ && a.counts_ == b.counts_;
  }

 private:
  static int64_t WrapAdd(int64_t a, int64_t b) noexcept {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  }
  int BucketIndex(int64_t value) const noexcept {
    return leading_zero_count_base_ -
           std::countl_zero(static_cast<uint64_t>(value) | sub_bucket_mask_);
  }
  int SubBucketIndex(int64_t value, int bucket_index) const noexcept {
    return static_cast<int>(static_cast<uint64_t>(value) >> (bucket_index + unit_magnitude_));
  }
  int64_t ValueFromBucket(int bucket_index, int sub_bucket_index) const noexcept {
    return static_cast<int64_t>(static_cast<uint64_t>(sub_bucket_index)
                                << (bucket_index + unit_magnitude_));
  }
  void RecordInvalid(int64_t count) noexcept;

  int64_t lowest_discernible_value_;
  int64_t highest_trackable_value_;
  int significant_digits_;
  int unit_magnitude_;
  int sub_bucket_count_magnitude_;
  int sub_bucket_half_count_magnitude_;
  int32_t sub_bucket_count_;
  int32_t sub_bucket_half_count_;
  int32_t bucket_count_;
  int leading_zero_count_base_;
  uint64_t sub_bucket_mask_;

  int64_t total_count_ = 0;
  // Updated by RecordConcurrent() through std::atomic_ref.
  alignas(std::atomic_ref<int64_t>::required_alignment) int64_t overflow_count_ = 0;
  alignas(std::atomic_ref<int64_t>::required_alignment) int64_t rejected_count_ = 0;
  // Largest recorded value (0 when empty).
  int64_t max_value_ = 0;
  // Smallest non-zero recorded value minus one; the largest uint64_t when
  // none was recorded.
  uint64_t min_non_zero_minus_one_ = std::numeric_limits<uint64_t>::max();
  std::vector<int64_t> counts_;
};

// Forward iteration over the non-empty buckets of a histogram:
//   for (const HdrBucket& b : h.RecordedBuckets()) { ... }
// The histogram must outlive the range and not change during iteration.
class HdrHistogram::RecordedRange {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = HdrBucket;
    using difference_type = std::ptrdiff_t;
    using pointer = const HdrBucket*;
    using reference = const HdrBucket&;

    Iterator() = default;
    const HdrBucket& operator*() const noexcept { return bucket_; }
    const HdrBucket* operator->() const noexcept { return &bucket_; }
    Iterator& operator++() noexcept {
      Advance(index_ + 1);
      return *this;
    }
    Iterator operator++(int) noexcept {
      Iterator copy = *this;
      ++*this;
      return copy;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ == b.index_;
    }

   private:
    friend class RecordedRange;
    Iterator(const HdrHistogram* histogram, size_t index, size_t limit) noexcept
        : histogram_(histogram), limit_(limit) {
      Advance(index);
    }
    void Advance(size_t from) noexcept;

    const HdrHistogram* histogram_ = nullptr;
    size_t index_ = 0;
    size_t limit_ = 0;
    HdrBucket bucket_;
  };

  Iterator begin() const noexcept { return Iterator(histogram_, 0, limit_); }
  Iterator end() const noexcept { return Iterator(histogram_, limit_, limit_); }

 private:
  friend class HdrHistogram;
  RecordedRange(const HdrHistogram* histogram, size_t limit) noexcept
      : histogram_(histogram), limit_(limit) {}
  const HdrHistogram* histogram_;
  size_t limit_;
};

inline HdrHistogram::RecordedRange HdrHistogram::RecordedBuckets() const noexcept {
  return RecordedRange(this, CountsLimit());
}

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_HDR_HISTOGRAM_H_
