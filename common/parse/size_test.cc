#include "common/parse/size.h"

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::parse {
namespace {

using ::testing::HasSubstr;

std::string Error(std::string_view text) {
  absl::StatusOr<uint64_t> n = ParseSize(text);
  EXPECT_FALSE(n.ok()) << "parsed " << text;
  if (n.ok()) return "";
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(n.status().message());
}

constexpr uint64_t kKi = 1024;
constexpr uint64_t kMi = kKi * 1024;
constexpr uint64_t kGi = kMi * 1024;
constexpr uint64_t kTi = kGi * 1024;

TEST(ParseSizeTest, Units) {
  struct Case {
    std::string_view text;
    uint64_t want;
  };
  for (const Case& c : {
           Case{"0", 0},
           Case{"512", 512},
           Case{"512B", 512},
           Case{"1KiB", kKi},
           Case{"1kiB", kKi},
           Case{"2MiB", 2 * kMi},
           Case{"3GiB", 3 * kGi},
           Case{"4TiB", 4 * kTi},
           Case{"1PiB", kTi * 1024},
           Case{"1Ki", kKi},
           Case{"4k", 4 * kKi},
           Case{"4K", 4 * kKi},
           Case{"1M", kMi},
           Case{"1g", kGi},
           Case{"1kB", 1000},
           Case{"1KB", 1000},
           Case{"10MB", 10'000'000},
           Case{"10mB", 10'000'000},
           Case{"2GB", 2'000'000'000},
           Case{"1TB", 1'000'000'000'000},
           Case{"64 MiB", 64 * kMi},
           Case{"1.5GiB", 1'610'612'736},
           Case{"1.5KB", 1500},
           Case{"0.1KiB", 102},  // rounds down to whole bytes
           Case{"1.0", 1},
           Case{".5KiB", 512},
           Case{"15EiB", 15 * kTi * kMi},
           Case{"18446744073709551615", std::numeric_limits<uint64_t>::max()},
       }) {
    absl::StatusOr<uint64_t> n = ParseSize(c.text);
    ASSERT_TRUE(n.ok()) << c.text << ": " << n.status();
    EXPECT_EQ(*n, c.want) << c.text;
  }
}

TEST(ParseSizeTest, BitsAreRejected) {
  EXPECT_EQ(Error("10Mb"),
            "invalid size '10Mb': unit 'Mb' ends in a lowercase 'b', which means bits; sizes are "
            "in bytes (write 'B', e.g. 'MB' or 'MiB')");
  EXPECT_THAT(Error("1kib"), HasSubstr("unit 'kib' ends in a lowercase 'b'"));
  EXPECT_THAT(Error("8b"), HasSubstr("unit 'b' ends in a lowercase 'b'"));
}

TEST(ParseSizeTest, UnknownUnit) {
  EXPECT_EQ(Error("4x"),
            "invalid size '4x': unknown unit 'x' (valid: B; kB, MB, GB, TB, PB, EB (powers of "
            "1000); KiB, MiB, GiB, TiB, PiB, EiB or K, M, G, T, P, E (powers of 1024))");
  EXPECT_THAT(Error("1KIB"), HasSubstr("unknown unit 'KIB'"));
  EXPECT_THAT(Error("1bytes"), HasSubstr("unknown unit 'bytes'"));
  EXPECT_THAT(Error("1ZiB"), HasSubstr("unknown unit 'ZiB'"));
}

TEST(ParseSizeTest, MalformedNumbers) {
  EXPECT_EQ(Error(""), "invalid size '': empty string");
  EXPECT_EQ(Error("-1KiB"), "invalid size '-1KiB': negative sizes are not allowed");
  EXPECT_EQ(Error("KiB"), "invalid size 'KiB': expected a number at position 1, found 'K'");
  EXPECT_EQ(Error(".KiB"), "invalid size '.KiB': expected digits around '.' at position 1");
  EXPECT_EQ(Error("1.5"),
            "invalid size '1.5': a fractional number of bytes (1.5) needs a unit such as KiB; "
            "sizes are whole bytes");
  EXPECT_THAT(Error("1.5B"), HasSubstr("a fractional number of bytes"));
  EXPECT_EQ(Error("10 "), "invalid size '10 ': trailing space at position 3");
  EXPECT_EQ(Error("1,5MiB"),
            "invalid size '1,5MiB': unexpected ',' at position 2 (expected a number and an "
            "optional unit, e.g. '64MiB')");
  EXPECT_THAT(Error("1MiB2"), HasSubstr("unexpected '2' at position 5"));
  EXPECT_THAT(Error("+1"), HasSubstr("expected a number at position 1, found '+'"));
}

TEST(ParseSizeTest, Overflow) {
  EXPECT_EQ(Error("18446744073709551616"),
            "invalid size '18446744073709551616': exceeds the largest size, "
            "18446744073709551615 bytes (just under 16EiB)");
  EXPECT_THAT(Error("16EiB"), HasSubstr("exceeds the largest size"));
  EXPECT_THAT(Error("20000000TB"), HasSubstr("exceeds the largest size"));
  EXPECT_THAT(Error("99999999999999999999999999KiB"), HasSubstr("exceeds the largest size"));
}

TEST(FormatSizeTest, HumanOutput) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(512), "512B");
  EXPECT_EQ(FormatSize(1023), "1023B");
  EXPECT_EQ(FormatSize(kKi), "1KiB");
  EXPECT_EQ(FormatSize(1536), "1.5KiB");
  EXPECT_EQ(FormatSize(1025), "1025B");
  EXPECT_EQ(FormatSize(kMi + kMi / 4), "1.25MiB");
  EXPECT_EQ(FormatSize(1'610'612'736), "1.5GiB");
  EXPECT_EQ(FormatSize(10'000'000), "9765.625KiB");
  EXPECT_EQ(FormatSize(1'000'000), "1000000B");
  EXPECT_EQ(FormatSize(4 * kTi), "4TiB");
}

TEST(FormatSizeTest, RoundTrips) {
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1536}, uint64_t{10'000'000},
                     kGi + 1, 3 * kTi + kTi / 8, std::numeric_limits<uint64_t>::max(),
                     std::numeric_limits<uint64_t>::max() - 1023}) {
    const std::string text = FormatSize(n);
    absl::StatusOr<uint64_t> back = ParseSize(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, n) << text;
  }
}

}  // namespace
}  // namespace tpslab::parse
