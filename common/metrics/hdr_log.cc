#include "common/metrics/hdr_log.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace tpslab::metrics {
namespace {

constexpr std::string_view kFormatVersionComment = "[Histogram log format version 1.3]";
constexpr std::string_view kLegend =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";
constexpr std::string_view kStartTimePrefix = "#[StartTime: ";
constexpr std::string_view kBaseTimePrefix = "#[BaseTime: ";
constexpr std::string_view kTagPrefix = "Tag=";
// The reference treats interval timestamps more than a year before StartTime
// as relative to it.
constexpr double kOneYearSec = 365.0 * 24 * 3600;

// "Tue Nov 14 22:13:20 UTC 2023", like java.util.Date.toString() in UTC.
std::string UtcDate(double epoch_sec) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = static_cast<std::time_t>(std::floor(epoch_sec));
  std::tm tm{};
  if (!std::isfinite(epoch_sec) || gmtime_r(&t, &tm) == nullptr) return "unknown date";
  return absl::StrFormat("%s %s %02d %02d:%02d:%02d UTC %d", kDays[tm.tm_wday], kMonths[tm.tm_mon],
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

// Note: Debian's Abseil has its own string_view type, so the string helpers
// here are std-only.
std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// A finite decimal number filling all of `text`.
std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t comma = line.find(',');
    fields.push_back(line.substr(0, comma));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

bool ValidTag(std::string_view tag) {
  return tag.find_first_of(", \r\n") == std::string_view::npos;
}

// Parses the number that follows `prefix` up to the next space.
std::optional<double> NumberAfter(std::string_view line, std::string_view prefix) {
  std::string_view rest = line.substr(prefix.size());
  return ParseDouble(rest.substr(0, rest.find_first_of(" ]")));
}

}  // namespace

HdrLogWriter::HdrLogWriter(std::ostream& out, HdrLogWriterOptions options)
    : out_(out), options_(options) {}

absl::Status HdrLogWriter::Flush(std::string_view text) {
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out_.good()) return absl::DataLossError("hdr log: writing to the output stream failed");
  return absl::OkStatus();
}

absl::Status HdrLogWriter::WriteFormatVersion() { return WriteComment(kFormatVersionComment); }

absl::Status HdrLogWriter::WriteComment(std::string_view text) {
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    return absl::InvalidArgumentError("hdr log: a comment must not contain a line break");
  }
  return Flush("#" + std::string(text) + "\n");
}

absl::Status HdrLogWriter::WriteStartTime(double epoch_sec) {
  return Flush(absl::StrFormat("#[StartTime: %.3f (seconds since epoch), %s]\n", epoch_sec,
                               UtcDate(epoch_sec)));
}

absl::Status HdrLogWriter::WriteBaseTime(double epoch_sec) {
  return Flush(absl::StrFormat("#[BaseTime: %.3f (seconds since epoch)]\n", epoch_sec));
}

absl::Status HdrLogWriter::WriteLegend() { return Flush(std::string(kLegend) + "\n"); }

absl::Status HdrLogWriter::WriteHeader(double start_epoch_sec) {
  for (absl::Status status : {WriteFormatVersion(), WriteStartTime(start_epoch_sec),
                              WriteBaseTime(start_epoch_sec), WriteLegend()}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status HdrLogWriter::WriteInterval(double start_sec, double end_sec,
                                         const HdrHistogram& histogram, std::string_view tag) {
  if (!ValidTag(tag)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hdr log: tag '%s' must not contain commas, spaces or line breaks", tag));
  }
  const std::string encoded =
      Base64Encode(EncodeHdrCompressed(histogram, options_.compression_level));
  const double max = static_cast<double>(histogram.Max()) / options_.max_value_unit_ratio;
  std::string line;
  if (!tag.empty()) line.append(kTagPrefix).append(tag).append(",");
  absl::StrAppendFormat(&line, "%.3f,%.3f,%.3f,%s\n", start_sec, end_sec - start_sec, max, encoded);
  return Flush(line);
}

HdrLogReader::HdrLogReader(std::istream& in, HdrLogReaderOptions options)
    : in_(in), options_(options) {}

absl::StatusOr<bool> HdrLogReader::ReadLine(std::string* line) {
  line->clear();
  std::streambuf* buffer = in_.rdbuf();
  if (buffer == nullptr) return false;
  bool any = false;
  while (true) {
    const int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) break;
    any = true;
    if (c == '\n') break;
    if (line->size() >= options_.max_line_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat("hdr log line %d: longer than %d bytes",
                                                        line_number_ + 1, options_.max_line_bytes));
    }
    line->push_back(static_cast<char>(c));
  }
  if (!any) return false;
  ++line_number_;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

absl::StatusOr<HdrLogInterval> HdrLogReader::ParseInterval(std::string_view line) {
  std::string tag;
  if (line.starts_with(kTagPrefix)) {
    const size_t comma = line.find(',');
    if (comma == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("hdr log line %d: Tag= without the interval fields", line_number_));
    }
    tag = std::string(line.substr(kTagPrefix.size(), comma - kTagPrefix.size()));
    line.remove_prefix(comma + 1);
  }
  const std::vector<std::string_view> fields = SplitCommas(line);
  if (fields.size() != 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hdr log line %d: expected 4 comma-separated fields "
        "(StartTimestamp,Interval_Length,Interval_Max,Interval_Compressed_Histogram), found %d",
        line_number_, fields.size()));
  }
  static constexpr const char* kNames[] = {"StartTimestamp", "Interval_Length", "Interval_Max"};
  double numbers[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    const std::string_view text = Trim(fields[static_cast<size_t>(i)]);
    const std::optional<double> number = ParseDouble(text);
    if (number.has_value()) numbers[i] = *number;
    if (!number.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("hdr log line %d: bad %s '%s'", line_number_, kNames[i], text));
    }
  }
  absl::StatusOr<std::string> bytes = Base64Decode(Trim(fields[3]));
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("hdr log line %d: histogram: %s", line_number_, bytes.status().message()));
  }
  absl::StatusOr<HdrHistogram> histogram = DecodeHdr(*bytes, options_.decode_limits);
  if (!histogram.ok()) {
    return absl::Status(histogram.status().code(),
                        absl::StrFormat("hdr log line %d: histogram: %s", line_number_,
                                        histogram.status().message()));
  }
  // The reference's rule for interval timestamps (HistogramLogReader).
  const double logged_start = numbers[0];
  if (!start_time_sec_.has_value()) start_time_sec_ = logged_start;
  if (!effective_base_sec_.has_value()) {
    effective_base_sec_ = logged_start < *start_time_sec_ - kOneYearSec ? *start_time_sec_ : 0.0;
  }
  return HdrLogInterval{.tag = std::move(tag),
                        .start_sec = logged_start + *effective_base_sec_,
                        .length_sec = numbers[1],
                        .max = numbers[2],
                        .histogram = *std::move(histogram)};
}

absl::StatusOr<std::optional<HdrLogInterval>> HdrLogReader::Next() {
  std::string line;
  while (true) {
    absl::StatusOr<bool> got = ReadLine(&line);
    if (!got.ok()) return got.status();
    if (!*got) return std::nullopt;
    const std::string_view text = Trim(line);
    if (text.empty() || text.starts_with("\"StartTimestamp\"")) continue;
    if (text.starts_with(kStartTimePrefix) || text.starts_with(kBaseTimePrefix)) {
      const bool start = text.starts_with(kStartTimePrefix);
      const std::optional<double> value =
          NumberAfter(text, start ? kStartTimePrefix : kBaseTimePrefix);
      if (!value.has_value()) {
        return absl::InvalidArgumentError(absl::StrFormat("hdr log line %d: bad %s seconds in '%s'",
                                                          line_number_,
                                                          start ? "StartTime" : "BaseTime", text));
      }
      if (start) {
        start_time_sec_ = value;
      } else {
        base_time_sec_ = value;
        effective_base_sec_ = value;
      }
      continue;
    }
    if (text.starts_with("#")) continue;
    absl::StatusOr<HdrLogInterval> interval = ParseInterval(text);
    if (!interval.ok()) return interval.status();
    return std::optional<HdrLogInterval>(*std::move(interval));
  }
}

absl::StatusOr<std::vector<HdrLogInterval>> ReadHdrLog(std::istream& in,
                                                       HdrLogReaderOptions options) {
  HdrLogReader reader(in, options);
  std::vector<HdrLogInterval> intervals;
  while (true) {
    absl::StatusOr<std::optional<HdrLogInterval>> next = reader.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return intervals;
    intervals.push_back(*std::move(*next));
  }
}

}  // namespace tpslab::metrics
