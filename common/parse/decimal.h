// Scanning of the unsigned decimal numbers that durations ("1.5s") and sizes
// ("1.5GiB") start with: "[digits][.digits]", at least one digit in all.
// Private to common/parse.
//
//   size_t i = 0;
//   Decimal d = ScanDecimal("1.25KiB", &i, /*max_fraction_digits=*/19);
//   // d.whole == 1, d.fraction == 25, d.scale == 100, i == 4 (at "KiB")
#ifndef TPSLAB_COMMON_PARSE_DECIMAL_H_
#define TPSLAB_COMMON_PARSE_DECIMAL_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tpslab::parse {

struct Decimal {
  // The digits before the '.', saturating; `whole_overflow` says when they
  // did not fit in uint64_t.
  uint64_t whole = 0;
  bool whole_overflow = false;
  // The first max_fraction_digits digits after the '.', as an integer, and
  // 10^(number of those digits); further digits are skipped.
  uint64_t fraction = 0;
  uint64_t scale = 1;
  // False when neither side of the '.' had a digit.
  bool any_digits = false;
};

// Scans a number starting at text[*pos] and advances *pos past its digits
// and '.' (even when there were no digits, past a lone '.'). Never fails:
// callers decide what a Decimal without digits means.
// `max_fraction_digits` must keep 10^max_fraction_digits within uint64_t
// (at most 19).
Decimal ScanDecimal(std::string_view text, std::size_t* pos, int max_fraction_digits);

}  // namespace tpslab::parse

#endif  // TPSLAB_COMMON_PARSE_DECIMAL_H_
