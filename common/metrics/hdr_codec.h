// The standard HdrHistogram V2 encodings, so histograms travel between tpslab
// and any HdrHistogram implementation (Java, C, Go, Rust, ...):
//
//   uncompressed V2 (cookie 0x1c849303, written as 0x1c849313 like the
//   reference: the 0x10 bits announce the 9-byte LEB128 word size):
//     int32 cookie, int32 payload length, int32 normalizing index offset (0),
//     int32 significant digits, int64 lowest discernible value,
//     int64 highest trackable value, float64 integer-to-double ratio (1.0),
//     then the counts as ZigZag LEB128 (at most 9 bytes each), a run of two or
//     more zero counts written as one negative number; all big-endian.
//   compressed V2 (cookie 0x1c849304, written as 0x1c849314):
//     int32 cookie, int32 length N, then N bytes of zlib (deflate) data that
//     inflate to the uncompressed V2 form.
//
// Decoding accepts both, never reads out of bounds and bounds what it
// allocates by HdrDecodeLimits; garbage gets an absl::Status that says what
// is wrong (bad cookie, truncated, counts beyond range, bad zlib data, ...).
//
// Example:
//   std::string bytes = EncodeHdrCompressed(histogram);
//   absl::StatusOr<HdrHistogram> back = DecodeHdr(bytes);
//   tpslab::v1::Histogram proto = ToProto(histogram, "us");
//   std::string line_field = Base64Encode(bytes);  // as in .hlog files

#ifndef TPSLAB_COMMON_METRICS_HDR_CODEC_H_
#define TPSLAB_COMMON_METRICS_HDR_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/metrics/hdr_histogram.h"
#include "common/proto/histogram.pb.h"

namespace tpslab::metrics {

// Cookie bases of the V2 encodings (the reference ORs in 0x10 when writing
// and masks 0xf0 off when reading).
inline constexpr uint32_t kHdrV2EncodingCookie = 0x1c849303;
inline constexpr uint32_t kHdrV2CompressedEncodingCookie = 0x1c849304;
// Size of the uncompressed V2 header, before the counts payload.
inline constexpr size_t kHdrV2HeaderSize = 40;

// Limits that keep a hostile encoding from making the decoder allocate much.
struct HdrDecodeLimits {
  // Largest counts array (8 bytes per count) a header may ask for. Default
  // 1 << 21 (16 MiB): every layout with up to 4 significant digits over the
  // whole int64 range, and 5 digits over 1..2^32 (1 us..1 h in us).
  int64_t max_counts_length = int64_t{1} << 21;
};

// Encodes `histogram` in the uncompressed V2 format. Byte-identical to the
// reference's encodeIntoByteBuffer for the same counts.
std::string EncodeHdrUncompressed(const HdrHistogram& histogram);

// Encodes `histogram` in the compressed V2 format, deflating at
// `zlib_level` (-1 = zlib's default, as the reference's default; 0..9).
std::string EncodeHdrCompressed(const HdrHistogram& histogram, int zlib_level = -1);

// Decodes an uncompressed or compressed V2 encoding. Trailing bytes after the
// encoding are ignored (as the reference does). V0/V1 encodings (HdrHistogram
// before 2.0.x) and DoubleHistogram encodings (ratio != 1.0) are rejected.
absl::StatusOr<HdrHistogram> DecodeHdr(std::string_view bytes, const HdrDecodeLimits& limits = {});

// Standard base64 (RFC 4648 alphabet, '=' padding), as used in .hlog files.
std::string Base64Encode(std::string_view bytes);
// Decodes standard padded base64; rejects other characters, bad padding and
// lengths that are not a multiple of 4, naming the offset.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

// Fills a tpslab.v1.Histogram: compressed V2 bytes, `unit`, and the summary
// fields (total_count, min, max, mean as HdrHistogram defines them).
tpslab::v1::Histogram ToProto(const HdrHistogram& histogram, std::string_view unit);

// Decodes proto.encoded and checks that proto.total_count agrees with it.
absl::StatusOr<HdrHistogram> FromProto(const tpslab::v1::Histogram& proto,
                                       const HdrDecodeLimits& limits = {});

}  // namespace tpslab::metrics

#endif  // TPSLAB_COMMON_METRICS_HDR_CODEC_H_
