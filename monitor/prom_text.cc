#include "monitor/prom_text.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}
bool IsNameChar(char c, bool allow_colon) {
  return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9');
}

// Reads a metric (allow_colon) or label name at `pos`.
std::string_view ReadName(std::string_view line, std::size_t& pos, bool allow_colon) {
  const std::size_t start = pos;
  if (pos >= line.size() || !IsNameStart(line[pos], allow_colon)) return {};
  while (pos < line.size() && IsNameChar(line[pos], allow_colon)) ++pos;
  return line.substr(start, pos - start);
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::optional<double> value = ParseDouble(text);
  if (value && !std::isfinite(*value)) return std::nullopt;  // "inf", "nan" spelled otherwise
  return value;
}

// The family a sample belongs to: histogram/summary samples carry suffixes.
std::string_view FamilyOf(std::string_view name, const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      std::string_view base = name.substr(0, name.size() - suffix.size());
      auto it = types.find(std::string(base));
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

}  // namespace

absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text) {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;
  std::set<std::string> families_with_samples;
  Lines lines(text);
  std::string_view line;
  int number = 0;
  auto error = [&number](std::string_view what) {
    return absl::InvalidArgumentError(Cat("line ", number, ": ", what));
  };
  while (lines.Next(line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t pos = line.find_first_not_of(" \t");
    if (pos == std::string_view::npos) continue;
    if (line[pos] == '#') {
      Fields fields(line.substr(pos + 1));
      std::string_view keyword = fields.Next();
      if (keyword != "TYPE") continue;  // HELP and free comments
      std::string_view name = fields.Next();
      std::string_view type = fields.Next();
      std::size_t name_pos = 0;
      if (ReadName(name, name_pos, true).size() != name.size() || name.empty()) {
        return error(Cat("invalid metric name '", name, "' in TYPE"));
      }
      if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
          type != "untyped") {
        return error(Cat("unknown type '", type, "'"));
      }
      if (!fields.Next().empty()) return error("trailing text after TYPE");
      std::string key(name);
      if (types.count(key) > 0) return error(Cat("second TYPE line for '", name, "'"));
      if (families_with_samples.count(key) > 0) {
        return error(Cat("TYPE for '", name, "' after its samples"));
      }
      types.emplace(std::move(key), std::string(type));
      continue;
    }
    PromSample sample;
    std::string_view name = ReadName(line, pos, true);
    if (name.empty()) return error("expected a metric name");
    sample.name = std::string(name);
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      std::set<std::string> seen;
      for (;;) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        if (pos < line.size() && line[pos] == '}') {
          ++pos;
          break;
        }
        std::string_view label = ReadName(line, pos, false);
        if (label.empty()) return error("expected a label name or '}'");
        while (pos < line.size() && line[pos] == ' ') ++pos;
        if (pos >= line.size() || line[pos] != '=') {
          return error(Cat("expected '=' after label name '", label, "'"));
        }
        ++pos;
        while (pos < line.size() && line[pos] == ' ') ++pos;
        if (pos >= line.size() || line[pos] != '"') {
          return error(Cat("expected '\"' to open the value of label '", label, "'"));
        }
        ++pos;
        std::string value;
        bool closed = false;
        while (pos < line.size()) {
          char c = line[pos++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (pos >= line.size()) break;
            char escaped = line[pos++];
            if (escaped == 'n') {
              value.push_back('\n');
            } else if (escaped == '\\' || escaped == '"') {
              value.push_back(escaped);
            } else {
              return error(Cat("bad escape '\\", escaped, "' in label '", label, "'"));
            }
            continue;
          }
          value.push_back(c);
        }
        if (!closed) return error(Cat("unterminated value of label '", label, "'"));
        if (!seen.insert(std::string(label)).second) {
          return error(Cat("duplicate label '", label, "'"));
        }
        sample.labels.emplace_back(std::string(label), std::move(value));
        while (pos < line.size() && line[pos] == ' ') ++pos;
        if (pos < line.size() && line[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < line.size() && line[pos] == '}') {
          ++pos;
          break;
        }
        return error("expected ',' or '}' after a label value");
      }
    }
    if (pos >= line.size() || (line[pos] != ' ' && line[pos] != '\t')) {
      return error(Cat("expected a blank and a value after '", sample.name, "'"));
    }
    Fields rest(line.substr(pos));
    std::string_view value_text = rest.Next();
    std::optional<double> value = ParseValue(value_text);
    if (!value) return error(Cat("bad value '", value_text, "'"));
    sample.value = *value;
    std::string_view timestamp = rest.Next();
    if (!timestamp.empty() && !ParseI64(timestamp)) {
      return error(Cat("bad timestamp '", timestamp, "'"));
    }
    if (!rest.Next().empty()) return error("trailing text after the value");
    std::string family(FamilyOf(sample.name, types));
    if (auto it = types.find(family); it != types.end()) sample.type = it->second;
    families_with_samples.insert(std::move(family));
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace tpslab::monitor
