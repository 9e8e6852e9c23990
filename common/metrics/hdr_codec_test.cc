#include "common/metrics/hdr_codec.h"

#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tpslab::metrics {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kHour = 3'600'000'000;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

void Put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void Put64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// An uncompressed V2 encoding with the given header fields and raw payload.
std::string RawV2(int64_t lowest, int64_t highest, int32_t digits, std::string_view payload,
                  double ratio = 1.0, std::optional<int32_t> payload_length = std::nullopt) {
  std::string out;
  Put32(out, 0x1c849313);
  Put32(out, static_cast<uint32_t>(payload_length.value_or(static_cast<int32_t>(payload.size()))));
  Put32(out, 0);
  Put32(out, static_cast<uint32_t>(digits));
  Put64(out, static_cast<uint64_t>(lowest));
  Put64(out, static_cast<uint64_t>(highest));
  Put64(out, std::bit_cast<uint64_t>(ratio));
  out += payload;
  return out;
}

// Wraps `inner` as a compressed V2 encoding.
std::string Compress(std::string_view inner) {
  uLongf length = compressBound(static_cast<uLong>(inner.size()));
  std::string body(length, '\0');
  EXPECT_EQ(
      compress2(reinterpret_cast<Bytef*>(body.data()), &length,
                reinterpret_cast<const Bytef*>(inner.data()), static_cast<uLong>(inner.size()), 6),
      Z_OK);
  body.resize(length);
  std::string out;
  Put32(out, 0x1c849314);
  Put32(out, static_cast<uint32_t>(length));
  return out + body;
}

HdrHistogram LogNormalHistogram(int digits, size_t n, uint64_t seed) {
  HdrHistogram h(1, kHour, digits);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(800.0), 1.2);
  for (size_t i = 0; i < n; ++i) h.Record(std::llround(dist(rng)));
  return h;
}

TEST(HdrCodecTest, EmptyHistogramIsByteExact) {
  HdrHistogram h(1, kHour, 3);
  // Header fields, then a single zero count: what the reference writes.
  EXPECT_EQ(Hex(EncodeHdrUncompressed(h)),
            "1c849313"          // cookie
            "00000001"          // payload length
            "00000000"          // normalizing index offset
            "00000003"          // significant digits
            "0000000000000001"  // lowest discernible value
            "00000000d693a400"  // highest trackable value (3.6e9)
            "3ff0000000000000"  // integer-to-double ratio 1.0
            "00");
}

TEST(HdrCodecTest, CountsAreZigZagLeb128WithZeroRuns) {
  HdrHistogram h(1, kHour, 3);
  h.Record(0);
  h.Record(5, 300);
  const std::string bytes = EncodeHdrUncompressed(h);
  // index 0: 1 -> 0x02; indexes 1..4: run of 4 zeros -> -4 -> 0x07;
  // index 5: 300 -> zigzag 600 -> 0xd8 0x04.
  EXPECT_EQ(Hex(bytes.substr(kHdrV2HeaderSize)), "0207d804");
  EXPECT_EQ(Hex(bytes.substr(4, 4)), "00000004");
}

TEST(HdrCodecTest, NineByteWordsRoundTrip) {
  HdrHistogram h(1, kHour, 2);
  h.Record(1, std::numeric_limits<int64_t>::max() - 10);
  h.Record(7, 10);
  absl::StatusOr<HdrHistogram> back = DecodeHdr(EncodeHdrUncompressed(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->CountAtValue(1), std::numeric_limits<int64_t>::max() - 10);
  EXPECT_EQ(*back, h);
}

TEST(HdrCodecTest, RoundTripsManyLayouts) {
  struct Layout {
    int64_t lowest;
    int64_t highest;
  };
  for (Layout layout : {Layout{1, kHour}, Layout{1000, kHour}, Layout{1024, int64_t{1} << 40},
                        Layout{1, std::numeric_limits<int64_t>::max()}}) {
    for (int digits = 1; digits <= 4; ++digits) {
      SCOPED_TRACE(testing::Message() << layout.lowest << ".." << layout.highest << " d" << digits);
      HdrHistogram h(layout.lowest, layout.highest, digits);
      std::mt19937_64 rng(static_cast<uint64_t>(digits));
      std::lognormal_distribution<double> dist(std::log(50'000.0), 2.0);
      for (int i = 0; i < 20'000; ++i) h.Record(std::llround(dist(rng)));
      h.Record(0, 3);
      for (const std::string& bytes : {EncodeHdrUncompressed(h), EncodeHdrCompressed(h),
                                       EncodeHdrCompressed(h, 9), EncodeHdrCompressed(h, 0)}) {
        absl::StatusOr<HdrHistogram> back = DecodeHdr(bytes);
        ASSERT_TRUE(back.ok()) << back.status();
        EXPECT_EQ(*back, h);
        EXPECT_EQ(back->Min(), h.Min());
        EXPECT_EQ(back->Max(), h.Max());
        EXPECT_EQ(back->Mean(), h.Mean());
        EXPECT_EQ(back->ValueAtPercentile(99.9), h.ValueAtPercentile(99.9));
      }
    }
  }
}

TEST(HdrCodecTest, CompressedIsSmallerAndTrailingBytesAreIgnored) {
  HdrHistogram h = LogNormalHistogram(3, 100'000, 5);
  const std::string raw = EncodeHdrUncompressed(h);
  const std::string compressed = EncodeHdrCompressed(h);
  EXPECT_LT(compressed.size(), raw.size());
  EXPECT_EQ(Hex(compressed.substr(0, 4)), "1c849314");
  absl::StatusOr<HdrHistogram> back = DecodeHdr(compressed + "trailing junk");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(HdrCodecTest, DecodedHistogramsMergeLikeRecordingAll) {
  HdrHistogram a = LogNormalHistogram(3, 10'000, 21);
  HdrHistogram b = LogNormalHistogram(3, 10'000, 22);
  HdrHistogram all = a;
  all.Add(b);
  absl::StatusOr<HdrHistogram> merged = DecodeHdr(EncodeHdrCompressed(a));
  absl::StatusOr<HdrHistogram> other = DecodeHdr(EncodeHdrCompressed(b));
  ASSERT_TRUE(merged.ok() && other.ok());
  merged->Add(*other);
  EXPECT_EQ(*merged, all);
}

TEST(HdrCodecTest, RejectsShortInputAndBadCookies) {
  EXPECT_THAT(DecodeHdr("").status().message(), HasSubstr("truncated: 0 bytes"));
  EXPECT_THAT(DecodeHdr("\x1c\x84").status().message(), HasSubstr("4-byte cookie"));
  const absl::Status bad =
      DecodeHdr(std::string("\x12\x34\x56\x78", 4) + std::string(60, '\0')).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("bad cookie 0x12345678"));
  const absl::Status v1 =
      DecodeHdr(std::string("\x1c\x84\x93\x01", 4) + std::string(60, '\0')).status();
  EXPECT_EQ(v1.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(v1.message(), HasSubstr("V0/V1"));
}

TEST(HdrCodecTest, RejectsTruncatedUncompressed) {
  const std::string good = EncodeHdrUncompressed(LogNormalHistogram(3, 1'000, 6));
  EXPECT_THAT(DecodeHdr(good.substr(0, 20)).status().message(),
              HasSubstr("truncated header: 20 bytes, a V2 header needs 40"));
  EXPECT_THAT(DecodeHdr(good.substr(0, good.size() - 1)).status().message(),
              HasSubstr("truncated payload"));
  // A word whose continuation bit promises a byte that is not there.
  EXPECT_THAT(DecodeHdr(RawV2(1, kHour, 3, "\x02\x80")).status().message(),
              HasSubstr("word at payload offset 1 is cut off"));
}

TEST(HdrCodecTest, RejectsCountsBeyondRange) {
  // Layout 1..2 at 1 digit has 32 counts. Skip 40 zeros, then a count.
  const std::string payload = "\x4f\x02";  // zigzag(-40) = 79, zigzag(1) = 2
  const absl::Status status = DecodeHdr(RawV2(1, 2, 1, payload)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("counts beyond range: count at index 40"));
  EXPECT_THAT(status.message(), HasSubstr("has 32 counts"));
  // A trailing zero run past the end is harmless (the reference accepts it).
  EXPECT_TRUE(DecodeHdr(RawV2(1, 2, 1, "\x02\x4f")).ok());
}

TEST(HdrCodecTest, RejectsHostileHeadersWithoutAllocating) {
  // 5 digits over the whole int64 range: ~6M counts (48 MiB), over the limit.
  const absl::Status huge =
      DecodeHdr(RawV2(1, std::numeric_limits<int64_t>::max(), 5, "\x00")).status();
  EXPECT_EQ(huge.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(huge.message(), HasSubstr("more than the decode limit of 2097152"));
  // A caller may lower the limit further.
  HdrDecodeLimits tight;
  tight.max_counts_length = 1000;
  EXPECT_EQ(DecodeHdr(EncodeHdrUncompressed(HdrHistogram(1, kHour, 3)), tight).status().code(),
            absl::StatusCode::kResourceExhausted);

  EXPECT_THAT(DecodeHdr(RawV2(1, kHour, 9, "\x00")).status().message(),
              HasSubstr("bad header: significant_digits 9"));
  EXPECT_THAT(DecodeHdr(RawV2(0, kHour, 3, "\x00")).status().message(),
              HasSubstr("bad header: lowest_discernible_value 0"));
  EXPECT_THAT(DecodeHdr(RawV2(1, -5, 3, "\x00")).status().message(),
              HasSubstr("bad header: highest_trackable_value -5"));
  EXPECT_THAT(DecodeHdr(RawV2(1, kHour, 3, "\x00", 2.0)).status().message(),
              HasSubstr("integer-to-double ratio 2 is not 1.0"));
  EXPECT_THAT(DecodeHdr(RawV2(1, kHour, 3, "\x00", 1.0, -1000)).status().message(),
              HasSubstr("negative payload length"));
  // 32 counts take at most 288 bytes; a header claiming more is lying.
  EXPECT_THAT(DecodeHdr(Compress(RawV2(1, 2, 1, "", 1.0, 100'000'000))).status().message(),
              HasSubstr("payload length 100000000 exceeds the 288 bytes 32 counts can take"));
  // Zero runs longer than 2^31 - 1, as the reference refuses them.
  std::string run;
  const uint64_t zigzag = (uint64_t{1} << 33) - 1;  // zigzag(-2^32)
  for (uint64_t u = zigzag; u != 0; u >>= 7)
    run.push_back(static_cast<char>((u & 0x7f) | (u >> 7 ? 0x80 : 0)));
  EXPECT_THAT(DecodeHdr(RawV2(1, kHour, 3, run)).status().message(),
              HasSubstr("zero run (encoded as -4294967296) at payload offset 0"));
}

TEST(HdrCodecTest, RejectsBadCompressedInput) {
  const std::string good = EncodeHdrCompressed(LogNormalHistogram(3, 1'000, 7));
  EXPECT_THAT(DecodeHdr(good.substr(0, 6)).status().message(),
              HasSubstr("a compressed V2 encoding needs at least 8"));
  EXPECT_THAT(DecodeHdr(good.substr(0, good.size() - 5)).status().message(),
              HasSubstr("truncated: compressed length says"));

  std::string garbage = good.substr(0, 8);
  garbage += std::string(good.size() - 8, '\x55');
  const absl::Status zlib = DecodeHdr(garbage).status();
  EXPECT_EQ(zlib.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zlib.message(), HasSubstr("bad zlib data"));

  EXPECT_THAT(DecodeHdr(Compress("abc")).status().message(),
              HasSubstr("compressed data inflates to 3 bytes, a V2 header needs 40"));
  EXPECT_THAT(DecodeHdr(Compress(std::string(40, '\x01'))).status().message(),
              HasSubstr("bad cookie 0x01010101 inside the compressed data"));
  // The header promises 10 payload bytes; only 2 follow.
  EXPECT_THAT(DecodeHdr(Compress(RawV2(1, kHour, 3, "\x02\x02", 1.0, 10))).status().message(),
              HasSubstr("truncated payload: header says 10 bytes, compressed data holds 2"));
  // A cut-off zlib stream is also truncated, not a crash.
  std::string cut;
  Put32(cut, 0x1c849314);
  Put32(cut, static_cast<uint32_t>(good.size() - 18));
  cut += good.substr(8, good.size() - 18);
  EXPECT_THAT(DecodeHdr(cut).status().message(), HasSubstr("truncated payload"));
}

TEST(HdrCodecTest, MutatedInputsNeverCrash) {
  // Bounded mutation run: every result is either a histogram or an error;
  // ASan (--config=asan) checks that nothing reads out of bounds.
  const std::vector<std::string> seeds = {
      EncodeHdrUncompressed(LogNormalHistogram(2, 2'000, 8)),
      EncodeHdrCompressed(LogNormalHistogram(3, 2'000, 9)),
  };
  std::mt19937_64 rng(10);
  int decoded = 0;
  for (int i = 0; i < 4'000; ++i) {
    std::string bytes = seeds[static_cast<size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0:
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
          break;
        case 1:
          bytes.resize(rng() % (bytes.size() + 1));
          break;
        default:
          bytes.insert(rng() % (bytes.size() + 1), 1, static_cast<char>(rng()));
          break;
      }
      if (bytes.empty()) break;
    }
    absl::StatusOr<HdrHistogram> result = DecodeHdr(bytes);
    if (result.ok()) {
      ++decoded;
      EXPECT_LE(result->counts_length(), size_t{1} << 21);
    } else {
      EXPECT_FALSE(result.status().message().empty());
    }
  }
  EXPECT_GT(decoded, 0);
}

TEST(HdrCodecTest, Base64MatchesRfc4648) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"},
                                                         {std::string("\xff\xfe\x00", 3), "//4A"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    absl::StatusOr<std::string> back = Base64Decode(encoded);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
  EXPECT_THAT(Base64Decode("Zm9").status().message(), HasSubstr("length 3 is not a multiple of 4"));
  EXPECT_THAT(Base64Decode("Zm9*").status().message(),
              HasSubstr("invalid base64 character at offset 3"));
  EXPECT_THAT(Base64Decode("Z=9v").status().message(),
              HasSubstr("misplaced base64 padding at offset 1"));
  EXPECT_THAT(Base64Decode("Zg==Zg==").status().message(), HasSubstr("misplaced base64 padding"));
  EXPECT_THAT(Base64Decode("Zh==").status().message(),
              HasSubstr("non-zero bits under its padding"));
}

TEST(HdrCodecTest, ProtoRoundTrip) {
  HdrHistogram h = LogNormalHistogram(3, 5'000, 11);
  const tpslab::v1::Histogram proto = ToProto(h, "us");
  EXPECT_EQ(proto.unit(), "us");
  EXPECT_EQ(proto.total_count(), 5'000u);
  EXPECT_EQ(proto.min(), h.Min());
  EXPECT_EQ(proto.max(), h.Max());
  EXPECT_EQ(proto.mean(), h.Mean());
  EXPECT_EQ(Hex(proto.encoded().substr(0, 4)), "1c849314");
  absl::StatusOr<HdrHistogram> back = FromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);

  tpslab::v1::Histogram lying = proto;
  lying.set_total_count(4'999);
  EXPECT_THAT(FromProto(lying).status().message(),
              HasSubstr("Histogram.total_count 4999 disagrees with the 5000 values"));
  EXPECT_THAT(FromProto(tpslab::v1::Histogram()).status().message(),
              HasSubstr("Histogram.encoded: truncated: 0 bytes"));
}

}  // namespace
}  // namespace tpslab::metrics
