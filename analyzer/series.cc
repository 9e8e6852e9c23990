#include "analyzer/series.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace tpslab::analyzer {

int64_t BucketOf(int64_t time_ns, int64_t bucket_ns) {
  assert(bucket_ns > 0);
  int64_t q = time_ns / bucket_ns;
  if (time_ns % bucket_ns < 0) --q;
  return q * bucket_ns;
}

Buckets BucketSamples(std::span<const Sample> samples, int64_t clock_offset_ns,
                      Aggregation aggregation, int64_t bucket_ns) {
  struct Acc {
    double sum = 0;
    double max = -std::numeric_limits<double>::infinity();
    double last = 0;
    int64_t last_time = std::numeric_limits<int64_t>::min();
    int n = 0;
  };
  std::map<int64_t, Acc> acc;
  for (const Sample& s : samples) {
    if (!std::isfinite(s.value)) continue;
    const int64_t t = s.time_ns + clock_offset_ns;
    Acc& a = acc[BucketOf(t, bucket_ns)];
    a.sum += s.value;
    a.max = std::max(a.max, s.value);
    if (t >= a.last_time) {
      a.last_time = t;
      a.last = s.value;
    }
    ++a.n;
  }
  Buckets out;
  for (const auto& [bucket, a] : acc) {
    switch (aggregation) {
      case Aggregation::kMean:
        out[bucket] = a.sum / a.n;
        break;
      case Aggregation::kSum:
        out[bucket] = a.sum;
        break;
      case Aggregation::kLast:
        out[bucket] = a.last;
        break;
      case Aggregation::kMax:
        out[bucket] = a.max;
        break;
    }
  }
  return out;
}

std::vector<Sample> CounterRates(std::span<const Sample> counter) {
  std::vector<Sample> rates;
  for (size_t i = 1; i < counter.size(); ++i) {
    const Sample& a = counter[i - 1];
    const Sample& b = counter[i];
    if (b.time_ns <= a.time_ns || b.value < a.value) continue;
    const double seconds = static_cast<double>(b.time_ns - a.time_ns) / kNanosPerSecond;
    rates.push_back({b.time_ns, (b.value - a.value) / seconds});
  }
  return rates;
}

const std::vector<double>* JoinedSeries::Column(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &columns[i];
  }
  return nullptr;
}

JoinedSeries JoinSeries(const std::vector<std::pair<std::string, Buckets>>& series,
                        int64_t bucket_ns) {
  JoinedSeries joined;
  joined.bucket_ns = bucket_ns;
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const auto& [name, buckets] : series) {
    if (buckets.empty()) continue;
    first = std::min(first, buckets.begin()->first);
    last = std::max(last, buckets.rbegin()->first);
  }
  if (first <= last) {
    for (int64_t b = first; b <= last; b += bucket_ns) joined.buckets.push_back(b);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [name, buckets] : series) {
    joined.names.push_back(name);
    std::vector<double>& column = joined.columns.emplace_back(joined.buckets.size(), nan);
    for (const auto& [bucket, value] : buckets) {
      assert(bucket % bucket_ns == 0);
      column[static_cast<size_t>((bucket - first) / bucket_ns)] = value;
    }
  }
  return joined;
}

}  // namespace tpslab::analyzer
