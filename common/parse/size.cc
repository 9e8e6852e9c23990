#include "common/parse/size.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/parse/decimal.h"
#include "common/parse/quote.h"

namespace tpslab::parse {
namespace {

constexpr absl::string_view kPrefixes = "kmgtpe";  // 1000^n or 1024^n, n = index + 1
constexpr int kMaxFractionDigits = 19;             // 10^19 still fits in uint64_t
constexpr absl::string_view kUnitHelp =
    "B; kB, MB, GB, TB, PB, EB (powers of 1000); KiB, MiB, GiB, TiB, PiB, EiB or K, M, G, T, "
    "P, E (powers of 1024)";

absl::Status Invalid(absl::string_view text, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid size ", QuoteForError(text), ": ", detail));
}

std::string At(size_t index) { return absl::StrCat("at position ", index + 1); }

uint64_t Power(uint64_t base, size_t exponent) {
  uint64_t result = 1;
  for (size_t i = 0; i < exponent; ++i) result *= base;
  return result;
}

// Returns the multiplier of `unit`, or an error detail in `error`.
uint64_t UnitMultiplier(absl::string_view unit, std::string* error) {
  if (unit.empty() || unit == "B") return 1;
  if (unit.back() == 'b') {
    *error = absl::StrCat("unit ", QuoteForError(unit),
                          " ends in a lowercase 'b', which means bits; sizes are in bytes "
                          "(write 'B', e.g. 'MB' or 'MiB')");
    return 0;
  }
  const size_t prefix = kPrefixes.find(absl::ascii_tolower(static_cast<unsigned char>(unit[0])));
  const absl::string_view rest = unit.substr(1);
  if (prefix != absl::string_view::npos) {
    if (rest.empty() || rest == "i" || rest == "iB") return Power(1024, prefix + 1);
    if (rest == "B") return Power(1000, prefix + 1);
  }
  *error = absl::StrCat("unknown unit ", QuoteForError(unit), " (valid: ", kUnitHelp, ")");
  return 0;
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(std::string_view input) {
  const absl::string_view text(input.data(), input.size());
  if (text.empty()) return Invalid(text, "empty string");
  if (text[0] == '-') return Invalid(text, "negative sizes are not allowed");

  size_t i = 0;
  const Decimal d = ScanDecimal(input, &i, kMaxFractionDigits);
  if (!d.any_digits) {
    if (i > 0) return Invalid(text, "expected digits around '.' at position 1");
    return Invalid(text, absl::StrCat("expected a number at position 1, found ",
                                      QuoteForError(text.substr(0, 1))));
  }
  const size_t number_end = i;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i > number_end && i == text.size()) {
    return Invalid(text, absl::StrCat("trailing space ", At(number_end)));
  }
  const size_t unit_begin = i;
  while (i < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size()) {
    return Invalid(text, absl::StrCat("unexpected ", QuoteForError(text.substr(i, 1)), " ", At(i),
                                      " (expected a number and an optional unit, e.g. '64MiB')"));
  }
  const absl::string_view unit = text.substr(unit_begin);
  std::string error;
  const uint64_t multiplier = UnitMultiplier(unit, &error);
  if (multiplier == 0) return Invalid(text, error);
  if (multiplier == 1 && d.fraction != 0) {
    return Invalid(text, absl::StrCat("a fractional number of bytes (", text.substr(0, number_end),
                                      ") needs a unit such as KiB; sizes are whole bytes"));
  }

  const auto total = static_cast<unsigned __int128>(d.whole) * multiplier +
                     static_cast<unsigned __int128>(d.fraction) * multiplier / d.scale;
  if (d.whole_overflow || total > std::numeric_limits<uint64_t>::max()) {
    return Invalid(text,
                   absl::StrCat("exceeds the largest size, ", std::numeric_limits<uint64_t>::max(),
                                " bytes (just under 16EiB)"));
  }
  return static_cast<uint64_t>(total);
}

std::string FormatSize(uint64_t bytes) {
  static constexpr absl::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  for (size_t n = std::size(kUnits); n >= 1; --n) {
    const uint64_t unit = Power(1024, n);
    if (bytes < unit) continue;
    const uint64_t rest = bytes % unit;
    // Three decimals represent rest/unit exactly iff rest * 1000 is a multiple of unit.
    const auto thousandths = static_cast<unsigned __int128>(rest) * 1000;
    if (thousandths % unit != 0) continue;
    std::string out = absl::StrCat(bytes / unit);
    auto decimals = static_cast<uint64_t>(thousandths / unit);
    if (decimals != 0) {
      int width = 3;
      while (decimals % 10 == 0) {
        decimals /= 10;
        --width;
      }
      absl::StrAppendFormat(&out, ".%0*d", width, decimals);
    }
    absl::StrAppend(&out, kUnits[n - 1]);
    return out;
  }
  return absl::StrCat(bytes, "B");
}

}  // namespace tpslab::parse
