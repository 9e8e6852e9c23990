#include "monitor/plugin_output.h"

#include <cmath>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

std::string_view Trim(std::string_view text) {
  std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(start, end - start + 1);
}

absl::Status PerfError(std::string_view item, std::string_view what) {
  return absl::InvalidArgumentError(Cat("invalid perfdata '", item, "': ", what));
}

// Parses one item (label already split off).
absl::StatusOr<tpslab::v1::PerfData> ParseItem(std::string_view item, std::string label,
                                               std::string_view rest) {
  tpslab::v1::PerfData datum;
  datum.set_label(std::move(label));
  // value[UOM];warn;crit;min;max
  std::string_view fields[5];
  int count = 0;
  while (true) {
    std::size_t semi = rest.find(';');
    if (count == 5) return PerfError(item, "more than 5 ';'-separated fields");
    fields[count++] = rest.substr(0, semi);
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  std::string_view value = fields[0];
  if (value == "U") {
    datum.set_value(std::nan(""));
  } else {
    // The number is the leading run of digits, sign and point ("5s" has
    // unit "s"; exponents are not used by plugins and "1e3" would read as
    // unit "e3").
    std::size_t unit_start = value.find_first_not_of("0123456789.-+");
    std::string_view number = value.substr(0, unit_start);
    std::optional<double> parsed = ParseDouble(number);
    if (!parsed) return PerfError(item, Cat("bad value '", value, "'"));
    datum.set_value(*parsed);
    if (unit_start != std::string_view::npos) {
      std::string_view unit = value.substr(unit_start);
      for (char c : unit) {
        if (c == ' ' || c == ';' || c == '=' || c == '\'') {
          return PerfError(item, Cat("bad unit '", unit, "'"));
        }
      }
      datum.set_unit(std::string(unit));
    }
  }
  // warn and crit are ranges, kept as text; min and max are numbers.
  datum.set_warn(std::string(fields[1]));
  datum.set_crit(std::string(fields[2]));
  if (count > 3 && !fields[3].empty()) {
    std::optional<double> min = ParseDouble(fields[3]);
    if (!min) return PerfError(item, Cat("bad min '", fields[3], "'"));
    datum.set_min(*min);
  }
  if (count > 4 && !fields[4].empty()) {
    std::optional<double> max = ParseDouble(fields[4]);
    if (!max) return PerfError(item, Cat("bad max '", fields[4], "'"));
    datum.set_max(*max);
  }
  return datum;
}

// Splits `text` into items and parses them; malformed items go to
// `errors` when it is non-null, otherwise the first one fails the call.
absl::Status ParseItems(std::string_view text, std::vector<tpslab::v1::PerfData>& out,
                        std::vector<std::string>* errors) {
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    if (i >= text.size()) return absl::OkStatus();
    const std::size_t item_start = i;
    std::string label;
    absl::Status status = absl::OkStatus();
    if (text[i] == '\'') {
      // Quoted label: '' is a literal quote.
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            label.push_back('\'');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        label.push_back(text[i++]);
      }
      if (!closed) status = PerfError(text.substr(item_start), "unterminated quote");
    } else {
      while (i < text.size() && text[i] != '=' && text[i] != ' ') label.push_back(text[i++]);
    }
    std::size_t end = text.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(item_start, end - item_start);
    if (status.ok()) {
      if (i >= text.size() || text[i] != '=') {
        status = PerfError(item, "missing '='");
      } else if (label.empty()) {
        status = PerfError(item, "empty label");
      } else {
        absl::StatusOr<tpslab::v1::PerfData> datum =
            ParseItem(item, std::move(label), text.substr(i + 1, end - i - 1));
        if (datum.ok()) {
          out.push_back(*std::move(datum));
        } else {
          status = datum.status();
        }
      }
    }
    if (!status.ok()) {
      if (errors == nullptr) return status;
      errors->push_back(std::string(status.message()));
    }
    i = end;
  }
}

}  // namespace

absl::StatusOr<std::vector<tpslab::v1::PerfData>> ParsePerfData(std::string_view text) {
  std::vector<tpslab::v1::PerfData> out;
  absl::Status status = ParseItems(text, out, nullptr);
  if (!status.ok()) return status;
  return out;
}

PluginOutput ParsePluginOutput(std::string_view output) {
  PluginOutput result;
  Lines lines(output);
  std::string_view line;
  bool first = true;
  bool in_perfdata = false;
  std::string perf_text;
  while (lines.Next(line)) {
    if (first) {
      first = false;
      std::size_t bar = line.find('|');
      result.status_text = std::string(Trim(line.substr(0, bar)));
      if (bar != std::string_view::npos) {
        perf_text.append(line.substr(bar + 1));
        perf_text.push_back(' ');
      }
      continue;
    }
    if (in_perfdata) {
      perf_text.append(line);
      perf_text.push_back(' ');
      continue;
    }
    std::size_t bar = line.find('|');
    std::string_view text = line.substr(0, bar);
    if (!result.long_output.empty()) result.long_output.push_back('\n');
    if (text.size() > 0 && text.back() == '\r') text.remove_suffix(1);
    result.long_output.append(text);
    if (bar != std::string_view::npos) {
      in_perfdata = true;
      perf_text.append(line.substr(bar + 1));
      perf_text.push_back(' ');
    }
  }
  while (!result.long_output.empty() && result.long_output.back() == '\n') {
    result.long_output.pop_back();
  }
  // A failure here only lands in perf_errors.
  ParseItems(perf_text, result.perf_data, &result.perf_errors).IgnoreError();
  return result;
}

tpslab::v1::CheckState StateFromExitCode(int exit_code) {
  switch (exit_code) {
    case 0:
      return tpslab::v1::CHECK_STATE_OK;
    case 1:
      return tpslab::v1::CHECK_STATE_WARNING;
    case 2:
      return tpslab::v1::CHECK_STATE_CRITICAL;
    default:
      return tpslab::v1::CHECK_STATE_UNKNOWN;
  }
}

}  // namespace tpslab::monitor
