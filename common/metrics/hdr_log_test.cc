#include "common/metrics/hdr_log.h"

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/metrics/hdr_codec.h"
#include "common/metrics/hdr_histogram.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kHour = 3'600'000'000;

HdrHistogram Sample(uint64_t seed, size_t n) {
  HdrHistogram h(1, kHour, 3);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(1'000.0), 1.0);
  for (size_t i = 0; i < n; ++i) h.Record(std::llround(dist(rng)));
  return h;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(HdrLogTest, WritesTheReferenceLayout) {
  std::ostringstream out;
  HdrLogWriter writer(out);
  ASSERT_TRUE(writer.WriteHeader(1'700'000'000.0).ok());
  HdrHistogram h(1, kHour, 3);
  h.Record(12'345);
  ASSERT_TRUE(writer.WriteInterval(1.0, 3.5, h, "ftp_retr").ok());
  ASSERT_TRUE(writer.WriteInterval(3.5, 4.0, HdrHistogram(1, kHour, 3)).ok());
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "#[Histogram log format version 1.3]");
  EXPECT_EQ(lines[1],
            "#[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]");
  EXPECT_EQ(lines[2], "#[BaseTime: 1700000000.000 (seconds since epoch)]");
  EXPECT_EQ(lines[3],
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
            "\"Interval_Compressed_Histogram\"");
  // Max 12345 us lands in the bucket 12344..12351, reported in ms.
  EXPECT_EQ(lines[4], "Tag=ftp_retr,1.000,2.500,12.351," + Base64Encode(EncodeHdrCompressed(h, 9)));
  EXPECT_THAT(lines[5], StartsWith("3.500,0.500,0.000,HISTF"));
}

TEST(HdrLogTest, RoundTrip) {
  std::ostringstream out;
  HdrLogWriter writer(out, {.max_value_unit_ratio = 1.0, .compression_level = 6});
  const double start = 1'650'000'000.25;
  ASSERT_TRUE(writer.WriteHeader(start).ok());
  ASSERT_TRUE(writer.WriteComment(" produced by hdr_log_test").ok());
  std::vector<HdrHistogram> written;
  for (int i = 0; i < 5; ++i) {
    written.push_back(Sample(static_cast<uint64_t>(i), 1'000 * static_cast<size_t>(i)));
    ASSERT_TRUE(
        writer.WriteInterval(i, i + 1, written.back(), i % 2 == 0 ? "" : "tag" + std::to_string(i))
            .ok());
  }
  std::istringstream in(out.str());
  HdrLogReader reader(in);
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<std::optional<HdrLogInterval>> next = reader.Next();
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_TRUE(next->has_value());
    const HdrLogInterval& interval = **next;
    EXPECT_EQ(interval.tag, i % 2 == 0 ? "" : "tag" + std::to_string(i));
    EXPECT_NEAR(interval.start_sec, 1'650'000'000.25 + i, 1e-3);
    EXPECT_NEAR(interval.length_sec, 1.0, 1e-9);
    EXPECT_NEAR(interval.max, static_cast<double>(written[static_cast<size_t>(i)].Max()), 1e-3);
    EXPECT_EQ(interval.histogram, written[static_cast<size_t>(i)]);
  }
  absl::StatusOr<std::optional<HdrLogInterval>> end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_NEAR(*reader.start_time_sec(), start, 1e-3);
  EXPECT_NEAR(*reader.base_time_sec(), start, 1e-3);
}

TEST(HdrLogTest, TimestampBaseFollowsTheReferenceRule) {
  const std::string encoded = Base64Encode(EncodeHdrCompressed(Sample(1, 10)));
  {
    // No BaseTime, relative timestamps: relative to StartTime.
    std::istringstream in(
        "#[StartTime: 1000000000.000 (seconds since epoch), x]\r\n"
        "5.000,1.000,1.000," +
        encoded + "\r\n");
    absl::StatusOr<std::vector<HdrLogInterval>> log = ReadHdrLog(in);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(log->size(), 1u);
    EXPECT_DOUBLE_EQ((*log)[0].start_sec, 1'000'000'005.0);
  }
  {
    // No BaseTime, absolute timestamps: taken as they are.
    std::istringstream in(
        "#[StartTime: 1000000000.000 (seconds since epoch), x]\n"
        "1000000007.000,1.000,1.000," +
        encoded + "\n");
    absl::StatusOr<std::vector<HdrLogInterval>> log = ReadHdrLog(in);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_DOUBLE_EQ((*log)[0].start_sec, 1'000'000'007.0);
  }
  {
    // Neither StartTime nor BaseTime.
    std::istringstream in("2.000,1.000,1.000," + encoded + "\n");
    absl::StatusOr<std::vector<HdrLogInterval>> log = ReadHdrLog(in);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_DOUBLE_EQ((*log)[0].start_sec, 2.0);
  }
}

TEST(HdrLogTest, BadLinesNameTheLineAndTheProblem) {
  const std::string encoded = Base64Encode(EncodeHdrCompressed(Sample(1, 10)));
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"#c\n1.0,2.0,3.0\n", "hdr log line 2: expected 4 comma-separated fields"},
      {"x,1.0,1.0," + encoded + "\n", "hdr log line 1: bad StartTimestamp 'x'"},
      {"1.0,nan,1.0," + encoded + "\n", "bad Interval_Length 'nan'"},
      {"1.0,1.0,1.0,@@@@\n", "hdr log line 1: histogram: invalid base64 character at offset 0"},
      {"1.0,1.0,1.0,AAAA\n", "hdr log line 1: histogram: truncated"},
      {"Tag=abc\n", "Tag= without the interval fields"},
      {"#[StartTime: soon]\n", "bad StartTime seconds"},
  };
  for (const Case& c : cases) {
    std::istringstream in(c.text);
    EXPECT_THAT(ReadHdrLog(in).status().message(), HasSubstr(c.error)) << c.text;
  }
  std::istringstream long_line(std::string(100, '1') + "\n");
  HdrLogReaderOptions options;
  options.max_line_bytes = 64;
  EXPECT_THAT(ReadHdrLog(long_line, options).status().message(),
              HasSubstr("hdr log line 1: longer than 64 bytes"));
}

TEST(HdrLogTest, WriterRejectsBadTagsAndComments) {
  std::ostringstream out;
  HdrLogWriter writer(out);
  EXPECT_THAT(writer.WriteInterval(0, 1, Sample(1, 1), "a,b").message(),
              HasSubstr("must not contain commas, spaces or line breaks"));
  EXPECT_THAT(writer.WriteInterval(0, 1, Sample(1, 1), "a b").message(),
              HasSubstr("must not contain"));
  EXPECT_THAT(writer.WriteComment("two\nlines").message(), HasSubstr("line break"));
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace tpslab::metrics
