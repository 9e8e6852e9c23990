// Time series as the correlation engine sees them: samples from one source
// (agent time, nanoseconds since the epoch), placed on the coordinator's
// clock by the source's estimated clock offset, bucketed to a fixed grid
// (1 s by default) and joined column by column on a contiguous grid, so that
// "one row later" always means "one bucket later".
//
// Example:
//   Buckets cpu = BucketSamples(CounterRates(cpu_seconds), monitor_offset_ns,
//                               Aggregation::kMean);
//   Buckets tps = ...;
//   JoinedSeries joined = JoinSeries({{"server_cpu", cpu}, {"tps", tps}});
//   const std::vector<double>* column = joined.Column("tps");  // NaN = no data
#ifndef TPSLAB_ANALYZER_SERIES_H_
#define TPSLAB_ANALYZER_SERIES_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpslab::analyzer {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// One sample: when (agent clock, ns since the epoch) and what.
struct Sample {
  int64_t time_ns = 0;
  double value = 0;
};

// How samples that fall into the same bucket combine.
enum class Aggregation {
  kMean,  // Gauges and rates: the average.
  kSum,   // Counts per bucket (e.g. transactions completed).
  kLast,  // The latest value (e.g. active users at the end of the bucket).
  kMax,   // Peaks (e.g. queue depth).
};

// Bucket start on the coordinator's clock (ns) -> value.
using Buckets = std::map<int64_t, double>;

// Returns the bucket that coordinator time `time_ns` falls into: the start of
// the `bucket_ns`-wide interval holding it (floor, also for negative times).
int64_t BucketOf(int64_t time_ns, int64_t bucket_ns = kNanosPerSecond);

// Places each sample at time_ns + clock_offset_ns (the source's "coordinator
// minus agent" clock offset, as AgentStream estimates it) and combines the
// samples of each bucket with `aggregation`. Non-finite values are skipped.
Buckets BucketSamples(std::span<const Sample> samples, int64_t clock_offset_ns,
                      Aggregation aggregation, int64_t bucket_ns = kNanosPerSecond);

// Turns a cumulative counter (sorted by time) into a rate per second, one
// sample per consecutive pair, at the later time. A decrease (counter reset,
// process restart) or a non-increasing time yields no sample for that pair.
std::vector<Sample> CounterRates(std::span<const Sample> counter);

// Columns on one contiguous bucket grid.
struct JoinedSeries {
  int64_t bucket_ns = kNanosPerSecond;
  std::vector<int64_t> buckets;              // Ascending, every bucket_ns.
  std::vector<std::string> names;            // Column names.
  std::vector<std::vector<double>> columns;  // columns[c][row]; NaN = no data.

  // The column called `name`, or nullptr.
  const std::vector<double>* Column(std::string_view name) const;
};

// Joins named bucketed series on the grid from the earliest to the latest
// bucket of any of them (every bucket_ns; missing values NaN). Bucket keys
// must be multiples of bucket_ns (as BucketSamples makes them).
JoinedSeries JoinSeries(const std::vector<std::pair<std::string, Buckets>>& series,
                        int64_t bucket_ns = kNanosPerSecond);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_SERIES_H_
