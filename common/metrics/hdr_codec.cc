#include "common/metrics/hdr_codec.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tpslab::metrics {
namespace {

// The reference writes the cookie base with 0x10 set (word size 9 bytes,
// LEB128) and reads cookie & ~0xf0.
constexpr uint32_t kWordSizeBits = 0x10;
constexpr uint32_t kCookieBaseMask = ~uint32_t{0xf0};
// Older encodings the reference can still read; we name them when rejecting.
constexpr uint32_t kV1EncodingCookie = 0x1c849301;
constexpr uint32_t kV1CompressedEncodingCookie = 0x1c849302;
constexpr uint32_t kV0EncodingCookie = 0x1c849308;
constexpr uint32_t kV0CompressedEncodingCookie = 0x1c849309;
// A ZigZag LEB128-64b9B word is at most 9 bytes.
constexpr int64_t kMaxWordBytes = 9;
// Largest zero run the reference accepts (Integer.MAX_VALUE).
constexpr int64_t kMaxZeroRun = std::numeric_limits<int32_t>::max();
// Payload is inflated in pieces of this size, so memory follows the data that
// actually arrives rather than the length a header claims.
constexpr size_t kInflateChunk = 64 * 1024;

void PutBigEndian32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void PutBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint32_t GetBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// ZigZag LEB128-64b9B, as the reference's ZigZagEncoding.putLong: seven bits
// per byte for up to eight bytes, then a ninth byte with the last eight bits.
void PutZigZag(std::string& out, int64_t value) {
  uint64_t u = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if ((u >> 7) == 0) {
      out.push_back(static_cast<char>(u));
      return;
    }
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}

// Reads one ZigZag LEB128-64b9B word at data[*pos]; false when the data ends
// inside the word.
bool GetZigZag(std::string_view data, size_t* pos, int64_t* value) {
  uint64_t u = 0;
  for (int i = 0; i < kMaxWordBytes; ++i) {
    if (*pos >= data.size()) return false;
    const uint64_t b = static_cast<unsigned char>(data[(*pos)++]);
    if (i == 8) {
      u |= b << 56;
      break;
    }
    u |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  *value = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

// The 40-byte V2 header, validated.
struct Header {
  int32_t payload_length = 0;
  int32_t significant_digits = 0;
  int64_t lowest_discernible_value = 0;
  int64_t highest_trackable_value = 0;
  int64_t counts_length = 0;
};

absl::StatusOr<Header> ParseHeader(const char* p, const HdrDecodeLimits& limits) {
  const uint32_t cookie = GetBigEndian32(p);
  if ((cookie & kCookieBaseMask) != kHdrV2EncodingCookie) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bad cookie 0x%08x inside the compressed data: expected an uncompressed V2 cookie "
        "(0x%08x)",
        cookie, kHdrV2EncodingCookie | kWordSizeBits));
  }
  Header h;
  h.payload_length = static_cast<int32_t>(GetBigEndian32(p + 4));
  // p + 8: normalizing index offset. It only says how the writer stored its
  // array internally; the counts in the payload are in logical order.
  h.significant_digits = static_cast<int32_t>(GetBigEndian32(p + 12));
  h.lowest_discernible_value = static_cast<int64_t>(GetBigEndian64(p + 16));
  h.highest_trackable_value = static_cast<int64_t>(GetBigEndian64(p + 24));
  const double ratio = std::bit_cast<double>(GetBigEndian64(p + 32));
  if (h.payload_length < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad header: negative payload length %d", h.payload_length));
  }
  if (ratio != 1.0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bad header: integer-to-double ratio %g is not 1.0 (DoubleHistogram encodings are not "
        "supported)",
        ratio));
  }
  absl::StatusOr<int64_t> counts_length = HdrHistogram::CountsLengthFor(
      h.lowest_discernible_value, h.highest_trackable_value, h.significant_digits);
  if (!counts_length.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad header: ", counts_length.status().message()));
  }
  if (*counts_length > limits.max_counts_length) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "header asks for %d counts (lowest %d, highest %d, %d digits), more than the decode "
        "limit of %d",
        *counts_length, h.lowest_discernible_value, h.highest_trackable_value, h.significant_digits,
        limits.max_counts_length));
  }
  h.counts_length = *counts_length;
  if (h.payload_length > h.counts_length * kMaxWordBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad header: payload length %d exceeds the %d bytes %d counts can take",
                        h.payload_length, h.counts_length * kMaxWordBytes, h.counts_length));
  }
  return h;
}

// Walks the counts payload, calling on_count(index, count) for every
// explicit count; checks that each lands inside the counts array.
template <typename OnCount>
absl::Status WalkCounts(std::string_view payload, int64_t counts_length, OnCount on_count) {
  size_t pos = 0;
  int64_t index = 0;
  while (pos < payload.size()) {
    const size_t word_offset = pos;
    int64_t value = 0;
    if (!GetZigZag(payload, &pos, &value)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "truncated counts payload: word at payload offset %d is cut off", word_offset));
    }
    if (value < 0) {
      if (value < -kMaxZeroRun) {
        return absl::InvalidArgumentError(
            absl::StrFormat("zero run (encoded as %d) at payload offset %d is longer than %d",
                            value, word_offset, kMaxZeroRun));
      }
      // At most payload.size() runs of < 2^31 each: no overflow.
      index += -value;
      continue;
    }
    if (index >= counts_length) {
      return absl::OutOfRangeError(absl::StrFormat(
          "counts beyond range: count at index %d (payload offset %d) but the layout has %d "
          "counts",
          index, word_offset, counts_length));
    }
    on_count(index, value);
    ++index;
  }
  return absl::OkStatus();
}

absl::StatusOr<HdrHistogram> BuildHistogram(const Header& header, std::string_view payload) {
  int64_t total = 0;
  bool total_overflows = false;
  absl::Status valid = WalkCounts(payload, header.counts_length, [&](int64_t, int64_t count) {
    total_overflows |= __builtin_add_overflow(total, count, &total);
  });
  if (!valid.ok()) return valid;
  if (total_overflows) {
    return absl::InvalidArgumentError("counts add up to more than 2^63 - 1 values");
  }
  HdrHistogram histogram(header.lowest_discernible_value, header.highest_trackable_value,
                         header.significant_digits);
  size_t end = 0;  // One past the last index the payload filled.
  absl::Status filled =
      WalkCounts(payload, header.counts_length, [&](int64_t index, int64_t count) {
        histogram.SetCountAtIndex(static_cast<size_t>(index), count);
        end = static_cast<size_t>(index) + 1;
      });
  if (!filled.ok()) return filled;
  // Everything past the payload is zero: the scan stops there rather than
  // at the end of the counts array, which is usually far larger.
  histogram.RecomputeTotals(end);
  return histogram;
}

absl::StatusOr<HdrHistogram> DecodeUncompressed(std::string_view bytes,
                                                const HdrDecodeLimits& limits) {
  if (bytes.size() < kHdrV2HeaderSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated header: %d bytes, a V2 header needs %d", bytes.size(), kHdrV2HeaderSize));
  }
  absl::StatusOr<Header> header = ParseHeader(bytes.data(), limits);
  if (!header.ok()) return header.status();
  const size_t available = bytes.size() - kHdrV2HeaderSize;
  if (static_cast<size_t>(header->payload_length) > available) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated payload: header says %d bytes, %d present", header->payload_length, available));
  }
  return BuildHistogram(
      *header, bytes.substr(kHdrV2HeaderSize, static_cast<size_t>(header->payload_length)));
}

// An inflate stream that always ends.
class Inflater {
 public:
  Inflater(const char* data, size_t size) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    stream_.avail_in = static_cast<uInt>(size);
    init_status_ = inflateInit(&stream_);
  }
  ~Inflater() {
    if (init_status_ == Z_OK) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates up to `size` bytes into `out`; returns how many it produced
  // (fewer when the stream or the input ends).
  absl::StatusOr<size_t> Read(char* out, size_t size) {
    if (init_status_ != Z_OK) {
      return absl::InternalError(
          absl::StrFormat("bad zlib data: inflateInit failed (%d)", init_status_));
    }
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = static_cast<uInt>(size);
    while (stream_.avail_out > 0 && !ended_) {
      const uInt in_before = stream_.avail_in;
      const uInt out_before = stream_.avail_out;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc == Z_BUF_ERROR ||
                 (rc == Z_OK && stream_.avail_in == in_before && stream_.avail_out == out_before)) {
        break;  // No progress possible: the input is exhausted.
      } else if (rc != Z_OK) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "bad zlib data: %s (zlib error %d after %d compressed bytes)",
            stream_.msg != nullptr ? stream_.msg : "inflate failed", rc, stream_.total_in));
      }
    }
    return size - stream_.avail_out;
  }

 private:
  z_stream stream_{};
  int init_status_ = Z_OK;
  bool ended_ = false;
};

absl::StatusOr<HdrHistogram> DecodeCompressed(std::string_view bytes,
                                              const HdrDecodeLimits& limits) {
  if (bytes.size() < 8) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "truncated: %d bytes, a compressed V2 encoding needs at least 8", bytes.size()));
  }
  const int32_t compressed_length = static_cast<int32_t>(GetBigEndian32(bytes.data() + 4));
  if (compressed_length < 0 || static_cast<size_t>(compressed_length) > bytes.size() - 8) {
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated: compressed length says %d bytes, %d present", compressed_length,
                        bytes.size() - 8));
  }
  Inflater inflater(bytes.data() + 8, static_cast<size_t>(compressed_length));
  std::array<char, kHdrV2HeaderSize> header_bytes{};
  absl::StatusOr<size_t> got = inflater.Read(header_bytes.data(), header_bytes.size());
  if (!got.ok()) return got.status();
  if (*got < kHdrV2HeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated: compressed data inflates to %d bytes, a V2 header needs %d",
                        *got, kHdrV2HeaderSize));
  }
  absl::StatusOr<Header> header = ParseHeader(header_bytes.data(), limits);
  if (!header.ok()) return header.status();
  std::string payload;
  const size_t payload_length = static_cast<size_t>(header->payload_length);
  while (payload.size() < payload_length) {
    const size_t have = payload.size();
    const size_t want = std::min(kInflateChunk, payload_length - have);
    payload.resize(have + want);
    got = inflater.Read(payload.data() + have, want);
    if (!got.ok()) return got.status();
    if (*got < want) {
      return absl::InvalidArgumentError(
          absl::StrFormat("truncated payload: header says %d bytes, compressed data holds %d",
                          payload_length, have + *got));
    }
  }
  return BuildHistogram(*header, payload);
}

}  // namespace

std::string EncodeHdrUncompressed(const HdrHistogram& histogram) {
  // Like the reference: counts up to the highest non-empty one, and at least
  // index 0 (an empty histogram encodes one zero count).
  const size_t limit = std::max<size_t>(histogram.CountsLimit(), 1);
  std::string payload;
  size_t index = 0;
  while (index < limit) {
    const int64_t count = histogram.CountAtIndex(index++);
    int64_t zeros = 0;
    if (count == 0) {
      zeros = 1;
      while (index < limit && histogram.CountAtIndex(index) == 0) {
        ++zeros;
        ++index;
      }
    }
    PutZigZag(payload, zeros > 1 ? -zeros : count);
  }
  std::string out;
  out.reserve(kHdrV2HeaderSize + payload.size());
  PutBigEndian32(out, kHdrV2EncodingCookie | kWordSizeBits);
  PutBigEndian32(out, static_cast<uint32_t>(payload.size()));
  PutBigEndian32(out, 0);  // normalizing index offset
  PutBigEndian32(out, static_cast<uint32_t>(histogram.significant_digits()));
  PutBigEndian64(out, static_cast<uint64_t>(histogram.lowest_discernible_value()));
  PutBigEndian64(out, static_cast<uint64_t>(histogram.highest_trackable_value()));
  PutBigEndian64(out, std::bit_cast<uint64_t>(1.0));
  out += payload;
  return out;
}

std::string EncodeHdrCompressed(const HdrHistogram& histogram, int zlib_level) {
  const std::string raw = EncodeHdrUncompressed(histogram);
  uLongf compressed_length = compressBound(static_cast<uLong>(raw.size()));
  std::string out(8 + compressed_length, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data() + 8), &compressed_length,
                           reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), std::clamp(zlib_level, -1, 9));
  // compressBound() makes room for any input; only memory exhaustion fails.
  if (rc != Z_OK) {
    std::fprintf(stderr, "EncodeHdrCompressed: compress2 failed (%d)\n", rc);
    std::abort();
  }
  out.resize(8 + compressed_length);
  std::string header;
  PutBigEndian32(header, kHdrV2CompressedEncodingCookie | kWordSizeBits);
  PutBigEndian32(header, static_cast<uint32_t>(compressed_length));
  out.replace(0, 8, header);
  return out;
}

absl::StatusOr<HdrHistogram> DecodeHdr(std::string_view bytes, const HdrDecodeLimits& limits) {
  if (bytes.size() < 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("truncated: %d bytes, an HdrHistogram encoding starts with a 4-byte "
                        "cookie",
                        bytes.size()));
  }
  const uint32_t cookie = GetBigEndian32(bytes.data());
  switch (cookie & kCookieBaseMask) {
    case kHdrV2EncodingCookie:
      return DecodeUncompressed(bytes, limits);
    case kHdrV2CompressedEncodingCookie:
      return DecodeCompressed(bytes, limits);
    case kV1EncodingCookie:
    case kV1CompressedEncodingCookie:
    case kV0EncodingCookie:
    case kV0CompressedEncodingCookie:
      return absl::UnimplementedError(absl::StrFormat(
          "cookie 0x%08x is a V0/V1 HdrHistogram encoding; only V2 is supported", cookie));
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "bad cookie 0x%08x: not an HdrHistogram V2 encoding (expected 0x%08x or 0x%08x)", cookie,
          kHdrV2EncodingCookie | kWordSizeBits, kHdrV2CompressedEncodingCookie | kWordSizeBits));
  }
}

namespace {
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("base64 length %d is not a multiple of 4", text.size()));
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int d = 0;
      if (c == '=' && last && j >= 4 - padding) {
        d = 0;
      } else {
        d = Base64Value(c);
        if (d < 0) {
          return absl::InvalidArgumentError(
              c == '=' ? absl::StrFormat("misplaced base64 padding at offset %d", i + j)
                       : absl::StrFormat("invalid base64 character at offset %d", i + j));
        }
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    const size_t produced = last ? 3 - padding : 3;
    if (last && padding > 0 && (v & ((padding == 1 ? 0xffu : 0xffffu))) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("base64 group at offset %d has non-zero bits under its padding", i));
    }
    for (size_t k = 0; k < produced; ++k) out.push_back(static_cast<char>(v >> (16 - 8 * k)));
  }
  return out;
}

tpslab::v1::Histogram ToProto(const HdrHistogram& histogram, std::string_view unit) {
  tpslab::v1::Histogram proto;
  proto.set_encoded(EncodeHdrCompressed(histogram));
  proto.set_unit(std::string(unit));
  proto.set_total_count(static_cast<uint64_t>(histogram.TotalCount()));
  proto.set_min(histogram.Min());
  proto.set_max(histogram.Max());
  proto.set_mean(histogram.Mean());
  return proto;
}

absl::StatusOr<HdrHistogram> FromProto(const tpslab::v1::Histogram& proto,
                                       const HdrDecodeLimits& limits) {
  absl::StatusOr<HdrHistogram> histogram = DecodeHdr(proto.encoded(), limits);
  if (!histogram.ok()) {
    return absl::Status(histogram.status().code(),
                        absl::StrCat("Histogram.encoded: ", histogram.status().message()));
  }
  if (proto.total_count() != static_cast<uint64_t>(histogram->TotalCount())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Histogram.total_count %d disagrees with the %d values in Histogram.encoded",
        proto.total_count(), histogram->TotalCount()));
  }
  return histogram;
}

}  // namespace tpslab::metrics
