// Byte sizes as people write them in flags and config files: "512", "4K",
// "1KiB", "10MB", "1.5GiB", "64 MiB".
//
// Units and case rules:
//   - no unit or "B": bytes.
//   - "KiB" "MiB" "GiB" "TiB" "PiB" "EiB" (also "Ki", "Mi", ...): powers of 1024.
//   - "kB"/"KB" "MB" "GB" "TB" "PB" "EB": powers of 1000 (SI).
//   - "K" "M" "G" "T" "P" "E" alone: powers of 1024, as in dd, nginx and
//     Docker ("4k" is 4096).
//   - The prefix letter may be either case ("kB" = "KB", "k" = "K", "kiB" =
//     "KiB"); the rest is case-sensitive ("KIB" is not a unit).
//   - A trailing lowercase 'b' means bits and is rejected ("10Mb", "1kib").
//   - Spaces may separate the number and the unit; nothing else may.
//   - A fraction is allowed with a unit and rounds down to whole bytes
//     ("0.1KiB" is 102); a fractional byte count ("1.5B") is an error.
//
//   absl::StatusOr<uint64_t> n = ParseSize("1.5GiB");  // 1610612736
//   FormatSize(*n);                                     // "1.5GiB"
//   ParseSize("10Mb").status().message();
//   // -> "invalid size '10Mb': unit 'Mb' ends in a lowercase 'b', which means bits; ..."
#ifndef TPSLAB_COMMON_PARSE_SIZE_H_
#define TPSLAB_COMMON_PARSE_SIZE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::parse {

// Parses a byte size following the rules above. Fails with InvalidArgument
// naming the problem: empty input, a negative or missing number, an unknown
// unit, bits instead of bytes, a fractional byte count, or a value above
// 2^64 - 1 bytes.
absl::StatusOr<uint64_t> ParseSize(std::string_view text);

// Formats `bytes` with the largest binary unit in which the value has at
// most three decimals, else in bytes: "0B", "512B", "1.5KiB", "1.25GiB",
// "1000000B". Exact: ParseSize(FormatSize(n)) == n.
std::string FormatSize(uint64_t bytes);

}  // namespace tpslab::parse

#endif  // TPSLAB_COMMON_PARSE_SIZE_H_
