// The HdrHistogram interval log (.hlog) format, as written by the reference's
// HistogramLogWriter and read by its HistogramLogReader, HistogramLogProcessor
// and the HdrHistogram plotting tools:
//
//   #[Histogram log format version 1.3]
//   #[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]
//   #[BaseTime: 1700000000.000 (seconds since epoch)]
//   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//   0.000,1.000,12.345,HISTFAAAA...
//   Tag=ftp_retr,1.000,1.000,3.210,HISTFAAAA...
//
// Each interval line holds the interval start (seconds, relative to BaseTime
// when one is given), its length, its maximum value divided by a unit ratio
// (e.g. microseconds / 1000 = milliseconds), and the base64 of the compressed
// V2 encoding (hdr_codec.h); an optional Tag= names the series.
//
// Example:
//   std::ofstream file(path);
//   HdrLogWriter writer(file);
//   writer.WriteHeader(start_epoch_sec);            // version, start, base, legend
//   writer.WriteInterval(0.0, 1.0, histogram, "ftp_retr");
//
//   std::ifstream in(path);
//   HdrLogReader reader(in);
//   while (true) {
//     absl::StatusOr<std::optional<HdrLogInterval>> next = reader.Next();
//     if (!next.ok()) return next.status();
//     if (!next->has_value()) break;
//     Use((*next)->tag, (*next)->histogram);
//   }

#ifndef TPSLAB_COMMON_METRICS_HDR_LOG_H_
#define TPSLAB_COMMON_METRICS_HDR_LOG_H_

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics/hdr_codec.h"
#include "common/metrics/hdr_histogram.h"

namespace tpslab::metrics {

struct HdrLogWriterOptions {
  // Interval_Max is written as histogram.Max() / max_value_unit_ratio.
  // Default 1000: values recorded in microseconds appear in milliseconds.
  double max_value_unit_ratio = 1000.0;
  // zlib level of the embedded compressed histograms. Default 9, as the
  // reference's HistogramLogWriter.
  int compression_level = 9;
};

// Writes an interval log to a stream. Not thread-safe.
class HdrLogWriter {
 public:
  explicit HdrLogWriter(std::ostream& out, HdrLogWriterOptions options = {});

  // Writes "#[Histogram log format version 1.3]".
  absl::Status WriteFormatVersion();
  // Writes "#<text>"; `text` must not contain a line break.
  absl::Status WriteComment(std::string_view text);
  // Writes "#[StartTime: <sec> (seconds since epoch), <UTC date>]".
  absl::Status WriteStartTime(double epoch_sec);
  // Writes "#[BaseTime: <sec> (seconds since epoch)]".
  absl::Status WriteBaseTime(double epoch_sec);
  // Writes the CSV legend line.
  absl::Status WriteLegend();
  // Writes the usual preamble: version, StartTime and BaseTime (both
  // `start_epoch_sec`, so interval timestamps are relative to it), legend.
  absl::Status WriteHeader(double start_epoch_sec);

  // Writes one interval line for `histogram`, covering [start_sec, end_sec)
  // (relative to the base time when one was written). `tag`, when not empty,
  // must not contain commas, spaces or line breaks.
  absl::Status WriteInterval(double start_sec, double end_sec, const HdrHistogram& histogram,
                             std::string_view tag = {});

 private:
  absl::Status Flush(std::string_view text);

  std::ostream& out_;
  HdrLogWriterOptions options_;
};

// One interval read back from a log.
struct HdrLogInterval {
  // Tag of the line; empty when it had none.
  std::string tag;
  // Interval start in seconds since the epoch when the log has a base time or
  // its timestamps are absolute (the reference's rule), as written otherwise.
  double start_sec = 0;
  // Interval length in seconds.
  double length_sec = 0;
  // Interval_Max column as written (already divided by the unit ratio).
  double max = 0;
  HdrHistogram histogram;
};

struct HdrLogReaderOptions {
  // Limits for each embedded histogram (see HdrDecodeLimits).
  HdrDecodeLimits decode_limits;
  // Longest line accepted. Default 16 MiB, far above any real histogram line.
  size_t max_line_bytes = size_t{16} << 20;
};

// Reads an interval log from a stream, one interval at a time. Comments,
// the legend and blank lines are skipped; StartTime and BaseTime are noted.
class HdrLogReader {
 public:
  explicit HdrLogReader(std::istream& in, HdrLogReaderOptions options = {});

  // Returns the next interval, std::nullopt at the end of the log, or an
  // error naming the line number and what is wrong with it.
  absl::StatusOr<std::optional<HdrLogInterval>> Next();

  // StartTime and BaseTime seen so far (seconds since the epoch).
  std::optional<double> start_time_sec() const { return start_time_sec_; }
  std::optional<double> base_time_sec() const { return base_time_sec_; }

 private:
  // Reads one line without its terminator; false at end of input.
  absl::StatusOr<bool> ReadLine(std::string* line);
  absl::StatusOr<HdrLogInterval> ParseInterval(std::string_view line);

  std::istream& in_;
  HdrLogReaderOptions options_;
  int64_t line_number_ = 0;
  std::optional<double> start_time_sec_;
  std::optional<double> base_time_sec_;
  // The reference's choice of base for interval timestamps, made at the first
  // interval: the BaseTime, else StartTime when timestamps look relative,
  // else 0.
  std::optional<double> effective_base_sec_;
};

// Reads a whole log; fails on the first bad line.
absl::StatusOr<std::vector<HdrLogInterval>> ReadHdrLog(std::istream& in,
                                                       HdrLogReaderOptions options = {});

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_HDR_LOG_H_
