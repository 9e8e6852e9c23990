// Small helpers for the line- and whitespace-separated text of /proc files:
// splitting without allocating, and strict number parsing with std::from_chars.
//
//   for (std::string_view line : Lines(text)) {
//     Fields fields(line);
//     std::string_view key = fields.Next();
//     std::optional<uint64_t> value = ParseU64(fields.Next());
//   }
#ifndef TPSLAB_MONITOR_TEXT_FIELDS_H_
#define TPSLAB_MONITOR_TEXT_FIELDS_H_

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace tpslab::monitor {

namespace internal {
inline void AppendPiece(std::string& out, std::string_view piece) { out.append(piece); }
inline void AppendPiece(std::string& out, char c) { out.push_back(c); }
// Any contiguous character container (std::string, absl::string_view, ...).
template <typename T>
requires requires(const T& t) { std::string_view(t.data(), t.size()); }
void AppendPiece(std::string& out, const T& text) { out.append(text.data(), text.size()); }
template <typename T>
requires std::is_arithmetic_v<T>
void AppendPiece(std::string& out, T value) { out.append(std::to_string(value)); }
}  // namespace internal

// Concatenates strings, string_views, chars and numbers (std::to_string
// formatting), for error messages: Cat("line ", 3, ": bad '", field, "'").
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (internal::AppendPiece(out, args), ...);
  return out;
}

// Iterates over the lines of `text` ('\n'-separated; a final line without
// '\n' counts; the empty tail after a final '\n' does not).
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}

  // Returns the next line (without '\n') in `line`; false at the end.
  bool Next(std::string_view& line) {
    if (rest_.empty()) return false;
    std::size_t end = rest_.find('\n');
    if (end == std::string_view::npos) {
      line = rest_;
      rest_ = {};
    } else {
      line = rest_.substr(0, end);
      rest_.remove_prefix(end + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
};

// Splits a line into fields separated by runs of spaces or tabs.
class Fields {
 public:
  explicit Fields(std::string_view line) : rest_(line) {}

  // Returns the next field, or an empty view when there is none.
  std::string_view Next() {
    std::size_t start = rest_.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
      rest_ = {};
      return {};
    }
    rest_.remove_prefix(start);
    std::size_t end = rest_.find_first_of(" \t");
    std::string_view field = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end);
    return field;
  }

  // What is left of the line, leading blanks included.
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// Parses a whole field as an unsigned decimal; nullopt on anything else
// (empty, sign, trailing characters, overflow).
inline std::optional<uint64_t> ParseU64(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Parses a whole field as a signed decimal.
inline std::optional<int64_t> ParseI64(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Parses a whole field as a decimal floating-point number ("0.52", "1e3").
inline std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_TEXT_FIELDS_H_
