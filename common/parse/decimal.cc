#include "common/parse/decimal.h"

#include <cassert>
#include <limits>

namespace tpslab::parse {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Decimal ScanDecimal(std::string_view text, std::size_t* pos, int max_fraction_digits) {
  assert(max_fraction_digits >= 0 && max_fraction_digits <= 19);
  Decimal d;
  std::size_t i = *pos;
  const std::size_t begin = i;
  while (i < text.size() && IsDigit(text[i])) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (d.whole > (std::numeric_limits<uint64_t>::max() - digit) / 10) d.whole_overflow = true;
    d.whole = d.whole * 10 + digit;
    ++i;
  }
  d.any_digits = i > begin;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int kept = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (kept < max_fraction_digits) {
        d.fraction = d.fraction * 10 + static_cast<uint64_t>(text[i] - '0');
        d.scale *= 10;
        ++kept;
      }
      d.any_digits = true;
      ++i;
    }
  }
  *pos = i;
  return d;
}

}  // namespace tpslab::parse
