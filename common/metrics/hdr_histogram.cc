#include "common/metrics/hdr_histogram.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"

namespace tpslab::metrics {
namespace {

// Geometry derived from a layout, computed exactly as the reference does
// (AbstractHistogram.init / establishSize), with integer arithmetic instead of
// Math.log so that no rounding can creep in.
struct Geometry {
  int unit_magnitude = 0;
  int sub_bucket_count_magnitude = 0;
  int32_t sub_bucket_count = 0;
  int32_t bucket_count = 0;
  int64_t counts_length = 0;
};

// floor(log2(v)) for v >= 1.
int FloorLog2(uint64_t v) { return std::bit_width(v) - 1; }

// The reference's getBucketsNeededToCoverValue.
int32_t BucketsNeededToCoverValue(int64_t value, int32_t sub_bucket_count, int unit_magnitude) {
  uint64_t smallest_untrackable_value = static_cast<uint64_t>(sub_bucket_count) << unit_magnitude;
  int32_t buckets_needed = 1;
  while (smallest_untrackable_value <= static_cast<uint64_t>(value)) {
    if (smallest_untrackable_value >
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 2)) {
      return buckets_needed + 1;
    }
    smallest_untrackable_value <<= 1;
    ++buckets_needed;
  }
  return buckets_needed;
}

absl::StatusOr<Geometry> ComputeGeometry(int64_t lowest, int64_t highest, int digits) {
  if (lowest < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("lowest_discernible_value %d must be >= 1", lowest));
  }
  if (digits < HdrHistogram::kMinSignificantDigits ||
      digits > HdrHistogram::kMaxSignificantDigits) {
    return absl::InvalidArgumentError(absl::StrFormat("significant_digits %d must be in [%d, %d]",
                                                      digits, HdrHistogram::kMinSignificantDigits,
                                                      HdrHistogram::kMaxSignificantDigits));
  }
  if (lowest > std::numeric_limits<int64_t>::max() / 2 || highest < 2 * lowest) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "highest_trackable_value %d must be >= 2 * lowest_discernible_value %d", highest, lowest));
  }
  Geometry g;
  int64_t largest_value_with_single_unit_resolution = 2;
  for (int i = 0; i < digits; ++i) largest_value_with_single_unit_resolution *= 10;
  g.unit_magnitude = FloorLog2(static_cast<uint64_t>(lowest));
  // ceil(log2(x)) for x >= 2: bit width of x - 1.
  g.sub_bucket_count_magnitude =
      std::bit_width(static_cast<uint64_t>(largest_value_with_single_unit_resolution - 1));
  if (g.sub_bucket_count_magnitude + g.unit_magnitude > 62) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "significant_digits %d cannot be represented above lowest_discernible_value %d "
        "(unit magnitude %d + sub-bucket magnitude %d > 62)",
        digits, lowest, g.unit_magnitude, g.sub_bucket_count_magnitude));
  }
  g.sub_bucket_count = int32_t{1} << g.sub_bucket_count_magnitude;
  g.bucket_count = BucketsNeededToCoverValue(highest, g.sub_bucket_count, g.unit_magnitude);
  g.counts_length = static_cast<int64_t>(g.bucket_count + 1) * (g.sub_bucket_count / 2);
  return g;
}

}  // namespace

absl::Status HdrHistogram::ValidateLayout(int64_t lowest_discernible_value,
                                          int64_t highest_trackable_value, int significant_digits) {
  return ComputeGeometry(lowest_discernible_value, highest_trackable_value, significant_digits)
      .status();
}

absl::StatusOr<int64_t> HdrHistogram::CountsLengthFor(int64_t lowest_discernible_value,
                                                      int64_t highest_trackable_value,
                                                      int significant_digits) {
  absl::StatusOr<Geometry> g =
      ComputeGeometry(lowest_discernible_value, highest_trackable_value, significant_digits);
  if (!g.ok()) return g.status();
  return g->counts_length;
}

absl::StatusOr<HdrHistogram> HdrHistogram::Create(int64_t lowest_discernible_value,
                                                  int64_t highest_trackable_value,
                                                  int significant_digits) {
  absl::Status status =
      ValidateLayout(lowest_discernible_value, highest_trackable_value, significant_digits);
  if (!status.ok()) return status;
  return HdrHistogram(lowest_discernible_value, highest_trackable_value, significant_digits);
}

HdrHistogram::HdrHistogram(int64_t lowest_discernible_value, int64_t highest_trackable_value,
                           int significant_digits)
    : lowest_discernible_value_(lowest_discernible_value),
      highest_trackable_value_(highest_trackable_value),
      significant_digits_(significant_digits) {
  absl::StatusOr<Geometry> g =
      ComputeGeometry(lowest_discernible_value, highest_trackable_value, significant_digits);
  if (!g.ok()) {
    std::fprintf(stderr, "HdrHistogram: invalid layout: %s\n",
                 std::string(g.status().message()).c_str());
    std::abort();
  }
  unit_magnitude_ = g->unit_magnitude;
  sub_bucket_count_magnitude_ = g->sub_bucket_count_magnitude;
  sub_bucket_half_count_magnitude_ = sub_bucket_count_magnitude_ - 1;
  sub_bucket_count_ = g->sub_bucket_count;
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  bucket_count_ = g->bucket_count;
  leading_zero_count_base_ = 64 - unit_magnitude_ - sub_bucket_count_magnitude_;
  sub_bucket_mask_ = (static_cast<uint64_t>(sub_bucket_count_) - 1) << unit_magnitude_;
  counts_.assign(static_cast<size_t>(g->counts_length), 0);
}

void HdrHistogram::RecordInvalid(int64_t count) noexcept {
  if (count == 0) return;
  ++rejected_count_;
}

void HdrHistogram::RecordConcurrent(int64_t value, int64_t count) noexcept {
  if (value < 0 || count <= 0) [[unlikely]] {
    if (count != 0)
      std::atomic_ref<int64_t>(rejected_count_).fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Atomic integer arithmetic wraps; no signed overflow here.
  if (value > highest_trackable_value_) [[unlikely]] {
    std::atomic_ref<int64_t>(overflow_count_).fetch_add(count, std::memory_order_relaxed);
    value = highest_trackable_value_;
  }
  std::atomic_ref<int64_t>(counts_[CountsIndex(value)]).fetch_add(count, std::memory_order_relaxed);
}

bool HdrHistogram::SameLayout(const HdrHistogram& other) const noexcept {
  return lowest_discernible_value_ == other.lowest_discernible_value_ &&
         highest_trackable_value_ == other.highest_trackable_value_ &&
         significant_digits_ == other.significant_digits_;
}

void HdrHistogram::Add(const HdrHistogram& other) noexcept {
  const size_t other_limit = other.CountsLimit();
  if (unit_magnitude_ == other.unit_magnitude_ && sub_bucket_count_ == other.sub_bucket_count_ &&
      other_limit <= counts_.size()) {
    // Same bucket geometry: index i means the same values in both arrays.
    for (size_t i = 0; i < other_limit; ++i) counts_[i] = WrapAdd(counts_[i], other.counts_[i]);
    if (other.total_count_ != 0) {
      total_count_ = WrapAdd(total_count_, other.total_count_);
      max_value_ = std::max(max_value_, other.max_value_);
      min_non_zero_minus_one_ = std::min(min_non_zero_minus_one_, other.min_non_zero_minus_one_);
    }
  } else {
    for (size_t i = 0; i < other_limit; ++i) {
      if (other.counts_[i] > 0) Record(other.ValueFromIndex(i), other.counts_[i]);
    }
  }
  overflow_count_ = WrapAdd(overflow_count_, other.overflow_count_);
  rejected_count_ = WrapAdd(rejected_count_, other.rejected_count_);
}

void HdrHistogram::Reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  overflow_count_ = 0;
  rejected_count_ = 0;
  max_value_ = 0;
  min_non_zero_minus_one_ = std::numeric_limits<uint64_t>::max();
}

size_t HdrHistogram::CountsLimit() const noexcept {
  if (total_count_ == 0) return 0;
  return std::min(CountsIndex(max_value_) + 1, counts_.size());
}

void HdrHistogram::RecomputeTotals(size_t end) noexcept {
  assert(end <= counts_.size());
  total_count_ = 0;
  max_value_ = 0;
  min_non_zero_minus_one_ = std::numeric_limits<uint64_t>::max();
  size_t max_index = 0;
  bool any = false;
  for (size_t i = 0; i < end; ++i) {
    if (counts_[i] == 0) continue;
    total_count_ = WrapAdd(total_count_, counts_[i]);
    max_index = i;
    any = true;
    if (i != 0 && min_non_zero_minus_one_ == std::numeric_limits<uint64_t>::max()) {
      min_non_zero_minus_one_ = static_cast<uint64_t>(ValueFromIndex(i)) - 1;
    }
  }
  if (any) {
    // Like the reference: the top of the highest non-empty bucket.
    max_value_ = HighestEquivalentValue(ValueFromIndex(max_index));
  }
}

int64_t HdrHistogram::Min() const noexcept {
  if (total_count_ == 0 || counts_[0] > 0 ||
      min_non_zero_minus_one_ == std::numeric_limits<uint64_t>::max()) {
    return 0;
  }
  return LowestEquivalentValue(static_cast<int64_t>(min_non_zero_minus_one_ + 1));
}

int64_t HdrHistogram::Max() const noexcept {
  return max_value_ == 0 ? 0 : HighestEquivalentValue(max_value_);
}

double HdrHistogram::Mean() const noexcept {
  if (total_count_ == 0) return 0.0;
  double total_value = 0;
  for (const HdrBucket& b : RecordedBuckets()) {
    total_value +=
        static_cast<double>(MedianEquivalentValue(b.lowest_value)) * static_cast<double>(b.count);
  }
  return total_value / static_cast<double>(total_count_);
}

double HdrHistogram::StdDev() const noexcept {
  if (total_count_ == 0) return 0.0;
  const double mean = Mean();
  double geometric_deviation_total = 0.0;
  for (const HdrBucket& b : RecordedBuckets()) {
    const double deviation = static_cast<double>(MedianEquivalentValue(b.lowest_value)) - mean;
    geometric_deviation_total += deviation * deviation * static_cast<double>(b.count);
  }
  return std::sqrt(geometric_deviation_total / static_cast<double>(total_count_));
}

int64_t HdrHistogram::ValueAtPercentile(double percentile) const noexcept {
  if (total_count_ <= 0) return 0;
  if (std::isnan(percentile)) percentile = 0.0;
  // As the reference: step one ulp down so that round-off cannot push the
  // rank into the next bucket, clamp to [0, 100], then round the rank up.
  const double requested = std::min(
      std::max(std::nextafter(percentile, -std::numeric_limits<double>::infinity()), 0.0), 100.0);
  const double fp_count = (requested * static_cast<double>(total_count_)) / 100.0;
  int64_t count_at_percentile = fp_count >= static_cast<double>(total_count_)
                                    ? total_count_
                                    : static_cast<int64_t>(std::ceil(fp_count));
  count_at_percentile = std::max<int64_t>(count_at_percentile, 1);
  int64_t total_to_current_index = 0;
  const size_t limit = CountsLimit();
  for (size_t i = 0; i < limit; ++i) {
    total_to_current_index += counts_[i];
    if (total_to_current_index >= count_at_percentile) {
      const int64_t value_at_index = ValueFromIndex(i);
      return percentile == 0.0 ? LowestEquivalentValue(value_at_index)
                               : HighestEquivalentValue(value_at_index);
    }
  }
  return Max();
}

int64_t HdrHistogram::CountAtValue(int64_t value) const noexcept {
  if (value < 0) return 0;
  const size_t index = CountsIndex(value);
  return index < counts_.size() ? counts_[index] : 0;
}

int64_t HdrHistogram::LowestEquivalentValue(int64_t value) const noexcept {
  const int bucket = BucketIndex(value);
  return ValueFromBucket(bucket, SubBucketIndex(value, bucket));
}

int64_t HdrHistogram::SizeOfEquivalentValueRange(int64_t value) const noexcept {
  const int bucket = BucketIndex(value);
  const int sub_bucket = SubBucketIndex(value, bucket);
  const int adjusted_bucket = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return static_cast<int64_t>(uint64_t{1} << (unit_magnitude_ + adjusted_bucket));
}

int64_t HdrHistogram::NextNonEquivalentValue(int64_t value) const noexcept {
  // Unsigned: the bucket holding INT64_MAX ends at 2^63, which wraps exactly
  // as the reference's long arithmetic does.
  return static_cast<int64_t>(static_cast<uint64_t>(LowestEquivalentValue(value)) +
                              static_cast<uint64_t>(SizeOfEquivalentValueRange(value)));
}

int64_t HdrHistogram::HighestEquivalentValue(int64_t value) const noexcept {
  return static_cast<int64_t>(static_cast<uint64_t>(NextNonEquivalentValue(value)) - 1);
}

int64_t HdrHistogram::MedianEquivalentValue(int64_t value) const noexcept {
  return static_cast<int64_t>(static_cast<uint64_t>(LowestEquivalentValue(value)) +
                              (static_cast<uint64_t>(SizeOfEquivalentValueRange(value)) >> 1));
}

int64_t HdrHistogram::ValueFromIndex(size_t index) const noexcept {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  int sub_bucket = static_cast<int>(index & static_cast<size_t>(sub_bucket_half_count_ - 1)) +
                   sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return ValueFromBucket(bucket, sub_bucket);
}

void HdrHistogram::RecordedRange::Iterator::Advance(size_t from) noexcept {
  index_ = from;
  while (index_ < limit_ && histogram_->counts_[index_] == 0) ++index_;
  if (index_ < limit_) {
    bucket_.index = index_;
    bucket_.lowest_value = histogram_->ValueFromIndex(index_);
    bucket_.highest_value = histogram_->HighestEquivalentValue(bucket_.lowest_value);
    bucket_.count = histogram_->counts_[index_];
  }
}

}  // namespace tpslab::metrics
