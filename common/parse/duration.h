// Durations as people write them in flags and config files: "250ms", "1m30s",
// "1.5s", "100us", "2d". The syntax is Go's time.ParseDuration plus a "d"
// (24h) unit: a sequence of decimal numbers, each with an optional fraction
// and a required unit, optionally preceded by '-' or '+'.
//
//   absl::StatusOr<std::chrono::nanoseconds> d = ParseDuration("1m30s");  // 90s
//   FormatDuration(*d);                                                   // "1m30s"
//   ParseDuration("30").status().message();
//   // -> "invalid duration '30': missing unit in '30' (e.g. '30s'; units: ns, us, ms, s, m, h, d)"
#ifndef TPSLAB_COMMON_PARSE_DURATION_H_
#define TPSLAB_COMMON_PARSE_DURATION_H_

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::parse {

// Parses a duration. Units: "ns"; "us", "µs" (U+00B5) or "μs" (U+03BC);
// "ms"; "s"; "m"; "h"; "d" (24h). Unit names are case-sensitive ("M" is not
// a unit). A number without a unit is an error unless it is "0". Fractions
// below one nanosecond are truncated. Fails with InvalidArgument naming the
// offending part (missing or unknown unit, missing number, stray character)
// or when the total does not fit in int64 nanoseconds (about 292 years).
absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Formats `d` for humans and config files: "0s", "10ns", "1.5us", "250ms",
// "1.5s", "1m30s", "2h", "26h0.5s" (hours are the largest unit, zero
// components are left out). Exact: ParseDuration(FormatDuration(d)) == d.
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace tpslab::parse

#endif  // TPSLAB_COMMON_PARSE_DURATION_H_
