#include "common/parse/duration.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::parse {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

std::string Error(std::string_view text) {
  absl::StatusOr<nanoseconds> d = ParseDuration(text);
  EXPECT_FALSE(d.ok()) << "parsed " << text;
  if (d.ok()) return "";
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(d.status().message());
}

TEST(ParseDurationTest, SimpleUnits) {
  struct Case {
    std::string_view text;
    nanoseconds want;
  };
  for (const Case& c : {
           Case{"0", nanoseconds(0)},
           Case{"-0", nanoseconds(0)},
           Case{"0s", nanoseconds(0)},
           Case{"10ns", nanoseconds(10)},
           Case{"100us", microseconds(100)},
           Case{"100\xc2\xb5s", microseconds(100)},
           Case{"100\xce\xbcs", microseconds(100)},
           Case{"250ms", milliseconds(250)},
           Case{"30s", seconds(30)},
           Case{"5m", minutes(5)},
           Case{"1h", hours(1)},
           Case{"2d", hours(48)},
       }) {
    absl::StatusOr<nanoseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(ParseDurationTest, FractionsCompositesAndSigns) {
  struct Case {
    std::string_view text;
    nanoseconds want;
  };
  for (const Case& c : {
           Case{"1.5s", milliseconds(1500)},
           Case{".5s", milliseconds(500)},
           Case{"1.s", seconds(1)},
           Case{"1m30s", seconds(90)},
           Case{"1h2m3.5s", hours(1) + minutes(2) + milliseconds(3500)},
           Case{"1.5h", minutes(90)},
           Case{"0.1h", minutes(6)},
           Case{"1s1s", seconds(2)},
           Case{"1.0000000015s", nanoseconds(1'000'000'001)},  // truncated below 1ns
           Case{"0.000000000000000000000001s", nanoseconds(0)},
           Case{"-1.5s", milliseconds(-1500)},
           Case{"+2m", minutes(2)},
           Case{"2562047h47m16.854775807s", nanoseconds(std::numeric_limits<int64_t>::max())},
           Case{"-2562047h47m16.854775808s", nanoseconds(std::numeric_limits<int64_t>::min())},
       }) {
    absl::StatusOr<nanoseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(d->count(), c.want.count()) << c.text;
  }
}

TEST(ParseDurationTest, MissingUnit) {
  EXPECT_EQ(Error("30"),
            "invalid duration '30': missing unit in '30' (e.g. '30s'; units: ns, us, ms, s, m, h, "
            "d)");
  EXPECT_EQ(Error("1m30"),
            "invalid duration '1m30': missing unit in '30' at position 3 (e.g. '30s'; units: ns, "
            "us, ms, s, m, h, d)");
  EXPECT_THAT(Error("-1.5"), HasSubstr("missing unit in '1.5' (e.g. '1.5s'"));
}

TEST(ParseDurationTest, UnknownUnit) {
  EXPECT_EQ(Error("25x"),
            "invalid duration '25x': unknown unit 'x' at position 3 (valid units: ns, us, ms, s, "
            "m, h, d)");
  EXPECT_THAT(Error("5M"), HasSubstr("unknown unit 'M' at position 2"));
  EXPECT_THAT(Error("5sec"), HasSubstr("unknown unit 'sec'"));
  EXPECT_THAT(Error("1s 2s"), HasSubstr("unknown unit 's ' at position 2"));
}

TEST(ParseDurationTest, MissingNumber) {
  EXPECT_EQ(Error(""), "invalid duration '': empty string");
  EXPECT_EQ(Error("-"), "invalid duration '-': missing number after '-'");
  EXPECT_EQ(Error("s"), "invalid duration 's': expected a number at position 1, found 's'");
  EXPECT_EQ(Error(".s"), "invalid duration '.s': expected digits around '.' at position 1");
  EXPECT_THAT(Error("1s-2s"), HasSubstr("unknown unit 's-'"));
  EXPECT_THAT(Error(" 1s"), HasSubstr("expected a number at position 1, found ' '"));
  EXPECT_THAT(Error("--1s"), HasSubstr("expected a number at position 2, found '-'"));
}

TEST(ParseDurationTest, Overflow) {
  EXPECT_THAT(
      Error("2562047h47m16.854775808s"),
      HasSubstr("exceeds the largest duration, 2562047h47m16.854775807s (about 292 years)"));
  EXPECT_THAT(Error("106752d"), HasSubstr("exceeds the largest duration"));
  EXPECT_THAT(Error("99999999999999999999999ns"), HasSubstr("exceeds the largest duration"));
  EXPECT_THAT(Error("9223372036854775807ns1ns"), HasSubstr("exceeds the largest duration"));
  EXPECT_THAT(Error("-2562047h47m16.854775809s"), HasSubstr("exceeds the largest duration"));
}

TEST(FormatDurationTest, HumanOutput) {
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(nanoseconds(10)), "10ns");
  EXPECT_EQ(FormatDuration(nanoseconds(1500)), "1.5us");
  EXPECT_EQ(FormatDuration(microseconds(100)), "100us");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(microseconds(1250)), "1.25ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(hours(1)), "1h");
  EXPECT_EQ(FormatDuration(hours(26) + milliseconds(500)), "26h0.5s");
  EXPECT_EQ(FormatDuration(hours(1) + minutes(2) + seconds(3)), "1h2m3s");
  EXPECT_EQ(FormatDuration(seconds(1) + nanoseconds(1)), "1.000000001s");
  EXPECT_EQ(FormatDuration(milliseconds(-1500)), "-1.5s");
  EXPECT_EQ(FormatDuration(nanoseconds(std::numeric_limits<int64_t>::min())),
            "-2562047h47m16.854775808s");
}

TEST(FormatDurationTest, RoundTrips) {
  for (int64_t n :
       {int64_t{1}, int64_t{999}, int64_t{1001}, int64_t{999'999}, int64_t{1'000'001},
        int64_t{59'999'999'999}, int64_t{3'600'000'000'001}, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min(), int64_t{-42}}) {
    const std::string text = FormatDuration(nanoseconds(n));
    absl::StatusOr<nanoseconds> back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(back->count(), n) << text;
  }
}

}  // namespace
}  // namespace tpslab::parse
