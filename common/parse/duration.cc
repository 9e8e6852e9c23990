#include "common/parse/duration.h"

#include <array>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/parse/decimal.h"
#include "common/parse/quote.h"

namespace tpslab::parse {
namespace {

// The magnitude of the most negative duration; positive ones stop one below.
constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;
constexpr uint64_t kMaxPositive = kMaxMagnitude - 1;

// Fraction digits kept; later ones are below a nanosecond even for "d".
constexpr int kMaxFractionDigits = 18;

constexpr uint64_t kMicrosecond = 1000;
constexpr uint64_t kMillisecond = 1000 * kMicrosecond;
constexpr uint64_t kSecond = 1000 * kMillisecond;
constexpr uint64_t kMinute = 60 * kSecond;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;

struct Unit {
  absl::string_view name;
  uint64_t nanos;
};

constexpr std::array<Unit, 9> kUnits = {{
    {"ns", 1},
    {"us", kMicrosecond},
    {"\xc2\xb5s", kMicrosecond},  // U+00B5 MICRO SIGN
    {"\xce\xbcs", kMicrosecond},  // U+03BC GREEK SMALL LETTER MU
    {"ms", kMillisecond},
    {"s", kSecond},
    {"m", kMinute},
    {"h", kHour},
    {"d", kDay},
}};

constexpr absl::string_view kUnitList = "ns, us, ms, s, m, h, d";

absl::Status Invalid(absl::string_view text, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration ", QuoteForError(text), ": ", detail));
}

std::string At(size_t index) { return absl::StrCat("at position ", index + 1); }

bool IsDigit(char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }

std::string OverflowDetail() {
  return absl::StrCat("exceeds the largest duration, ",
                      FormatDuration(std::chrono::nanoseconds(std::numeric_limits<int64_t>::max())),
                      " (about 292 years)");
}

// Appends value / unit as a decimal with the fraction's trailing zeros
// removed; `unit` is a power of ten.
void AppendDecimal(uint64_t value, uint64_t unit, std::string* out) {
  absl::StrAppend(out, value / unit);
  uint64_t fraction = value % unit;
  if (fraction == 0) return;
  int width = 0;
  for (uint64_t u = unit; u > 1; u /= 10) ++width;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --width;
  }
  absl::StrAppendFormat(out, ".%0*d", width, fraction);
}

}  // namespace

absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view input) {
  const absl::string_view text(input.data(), input.size());
  if (text.empty()) return Invalid(text, "empty string");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
    if (text.size() == 1) return Invalid(text, absl::StrCat("missing number after '", text, "'"));
  }
  if (text.substr(i) == "0") return std::chrono::nanoseconds(0);
  const size_t first_part = i;

  uint64_t total = 0;
  while (i < text.size()) {
    const size_t part_begin = i;
    // [digits] ["." [digits]], at least one digit in all.
    const Decimal d =
        ScanDecimal(std::string_view(text.data(), text.size()), &i, kMaxFractionDigits);
    if (!d.any_digits) {
      if (i > part_begin) {
        return Invalid(text, absl::StrCat("expected digits around '.' ", At(part_begin)));
      }
      return Invalid(text, absl::StrCat("expected a number ", At(i), ", found ",
                                        QuoteForError(text.substr(i, 1))));
    }
    const absl::string_view number = text.substr(part_begin, i - part_begin);

    // Unit: everything up to the next digit or '.'.
    const size_t unit_begin = i;
    while (i < text.size() && text[i] != '.' && !IsDigit(text[i])) ++i;
    const absl::string_view unit_name = text.substr(unit_begin, i - unit_begin);
    if (unit_name.empty()) {
      // A lone number needs no position; in "1m30" the position helps.
      const std::string where =
          part_begin > first_part ? absl::StrCat(" ", At(part_begin)) : std::string();
      return Invalid(text, absl::StrCat("missing unit in ", QuoteForError(number), where,
                                        " (e.g. '", number, "s'; units: ", kUnitList, ")"));
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) unit = &u;
    }
    if (unit == nullptr) {
      return Invalid(text, absl::StrCat("unknown unit ", QuoteForError(unit_name), " ",
                                        At(unit_begin), " (valid units: ", kUnitList, ")"));
    }

    if (d.whole_overflow || d.whole > kMaxMagnitude / unit->nanos) {
      return Invalid(text, OverflowDetail());
    }
    uint64_t value = d.whole * unit->nanos;
    // fraction < 10^18 and nanos <= 8.64e13, so the product fits in 128 bits.
    const auto fraction_nanos =
        static_cast<uint64_t>(static_cast<unsigned __int128>(d.fraction) * unit->nanos / d.scale);
    if (value > kMaxMagnitude - fraction_nanos) return Invalid(text, OverflowDetail());
    value += fraction_nanos;
    if (total > kMaxMagnitude - value) return Invalid(text, OverflowDetail());
    total += value;
  }
  if (!negative && total > kMaxPositive) return Invalid(text, OverflowDetail());
  // Unsigned negation wraps, which makes 2^63 come out as INT64_MIN.
  const uint64_t bits = negative ? 0 - total : total;
  return std::chrono::nanoseconds(static_cast<int64_t>(bits));
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  const int64_t count = d.count();
  if (count == 0) return "0s";
  std::string out;
  uint64_t u = static_cast<uint64_t>(count);
  if (count < 0) {
    out.push_back('-');
    u = 0 - u;  // Exact even for INT64_MIN.
  }
  if (u < kMicrosecond) {
    absl::StrAppend(&out, u, "ns");
  } else if (u < kMillisecond) {
    AppendDecimal(u, kMicrosecond, &out);
    out += "us";
  } else if (u < kSecond) {
    AppendDecimal(u, kMillisecond, &out);
    out += "ms";
  } else {
    const uint64_t hours = u / kHour;
    const uint64_t minutes = u % kHour / kMinute;
    const uint64_t rest = u % kMinute;
    if (hours > 0) absl::StrAppend(&out, hours, "h");
    if (minutes > 0) absl::StrAppend(&out, minutes, "m");
    if (rest > 0) {
      AppendDecimal(rest, kSecond, &out);
      out += "s";
    }
  }
  return out;
}

}  // namespace tpslab::parse
