#include "monitor/checks.h"

#include "absl/status/status.h"
#include "common/parse/duration.h"
#include "monitor/plugin_runner.h"
#include "monitor/prom_text.h"
#include "monitor/text_fields.h"
#include "monitor/timestamp.h"

namespace tpslab::monitor {

namespace {

std::string_view TrimBlanks(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// Parses the "interval=D,timeout=D" between the brackets of check `check`.
absl::Status ParseCheckOptions(std::string_view options, PluginCheck& check) {
  const std::string where = Cat("check '", check.name, "': ");
  if (TrimBlanks(options).empty()) {
    return absl::InvalidArgumentError(
        Cat(where, "empty [] (expected interval=DURATION and/or timeout=DURATION)"));
  }
  std::string_view rest = options;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view option = TrimBlanks(rest.substr(0, comma));
    if (option.empty()) {
      return absl::InvalidArgumentError(Cat(where, "empty option in [", options, "]"));
    }
    const std::size_t eq = option.find('=');
    const std::string_view key = TrimBlanks(option.substr(0, eq));
    std::optional<std::chrono::nanoseconds>* target = nullptr;
    if (key == "interval") target = &check.interval;
    if (key == "timeout") target = &check.timeout;
    if (target == nullptr) {
      return absl::InvalidArgumentError(
          Cat(where, "unknown option '", key, "' (expected interval or timeout)"));
    }
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(Cat(where, key, " needs a value (e.g. ", key, "=30s)"));
    }
    if (target->has_value()) return absl::InvalidArgumentError(Cat(where, key, " given twice"));
    absl::StatusOr<std::chrono::nanoseconds> value =
        parse::ParseDuration(TrimBlanks(option.substr(eq + 1)));
    if (!value.ok()) {
      return absl::InvalidArgumentError(Cat(where, key, ": ", value.status().message()));
    }
    absl::Status valid = key == "interval" ? ValidateCheckInterval(Cat(where, key), *value)
                                           : ValidateCheckTimeout(Cat(where, key), *value);
    if (!valid.ok()) return valid;
    *target = *value;
    if (comma == std::string_view::npos) return absl::OkStatus();
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace

absl::Status ValidateCheckInterval(std::string_view what, std::chrono::nanoseconds interval) {
  if (interval >= kMinCheckInterval) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat(what, " must be at least ",
                                        parse::FormatDuration(kMinCheckInterval), ", got ",
                                        parse::FormatDuration(interval)));
}

absl::Status ValidateCheckTimeout(std::string_view what, std::chrono::nanoseconds timeout) {
  if (timeout > std::chrono::nanoseconds::zero()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat(what, " must be positive, got ", parse::FormatDuration(timeout)));
}

absl::StatusOr<PluginCheck> ParsePluginCheck(std::string_view text) {
  PluginCheck check;
  // "NAME[" (NAME without blanks, '/' or '=') opens the options; otherwise a
  // name is present when the first word has a '='.
  const std::size_t bracket = text.find_first_of("[ \t/=");
  const std::size_t eq = text.substr(0, text.find_first_of(" \t")).find('=');
  if (bracket != std::string_view::npos && text[bracket] == '[') {
    check.name = std::string(text.substr(0, bracket));
    if (check.name.empty()) return absl::InvalidArgumentError("empty check name before '['");
    const std::size_t close = text.find(']', bracket);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          Cat("check '", check.name, "': missing ']' after '", text.substr(bracket), "'"));
    }
    if (close + 1 >= text.size() || text[close + 1] != '=') {
      return absl::InvalidArgumentError(
          Cat("check '", check.name, "': expected '=PLUGIN ARGS' after ']'"));
    }
    if (absl::Status status =
            ParseCheckOptions(text.substr(bracket + 1, close - bracket - 1), check);
        !status.ok()) {
      return status;
    }
    text.remove_prefix(close + 2);
  } else if (eq != std::string_view::npos) {
    check.name = std::string(text.substr(0, eq));
    text.remove_prefix(eq + 1);
    if (check.name.empty()) return absl::InvalidArgumentError("empty check name before '='");
  }
  absl::StatusOr<std::vector<std::string>> argv = SplitCommandLine(text);
  if (!argv.ok()) {
    if (check.name.empty()) return argv.status();
    return absl::InvalidArgumentError(Cat("check '", check.name, "': ", argv.status().message()));
  }
  check.argv = *std::move(argv);
  if (check.argv[0].find('/') == std::string::npos) {
    check.argv[0] = "/usr/lib/nagios/plugins/" + check.argv[0];
  }
  if (check.name.empty()) check.name = check.argv[0].substr(check.argv[0].rfind('/') + 1);
  return check;
}

absl::StatusOr<ThresholdCheck> ParseThresholdCheck(std::string_view text) {
  ThresholdCheck check;
  Fields fields(text);
  std::string_view selector = fields.Next();
  if (selector.empty()) return absl::InvalidArgumentError("empty threshold check");
  // Reuse the exposition parser for "name{labels}" by giving it a value.
  absl::StatusOr<std::vector<PromSample>> parsed = ParsePrometheusText(Cat(selector, " 0\n"));
  if (!parsed.ok() || parsed->size() != 1) {
    return absl::InvalidArgumentError(Cat("invalid metric selector '", selector, "'"));
  }
  check.name = std::string(selector);
  check.metric = (*parsed)[0].name;
  check.labels = (*parsed)[0].labels;
  for (std::string_view field = fields.Next(); !field.empty(); field = fields.Next()) {
    std::optional<ThresholdRange>* target = nullptr;
    if (field.substr(0, 5) == "warn=") target = &check.warn;
    if (field.substr(0, 5) == "crit=") target = &check.crit;
    if (target == nullptr) {
      return absl::InvalidArgumentError(
          Cat("expected warn=RANGE or crit=RANGE, got '", field, "'"));
    }
    absl::StatusOr<ThresholdRange> range = ParseThresholdRange(field.substr(5));
    if (!range.ok()) return range.status();
    *target = *std::move(range);
  }
  if (!check.warn && !check.crit) {
    return absl::InvalidArgumentError(
        Cat("threshold check '", selector, "' has no warn= or crit="));
  }
  return check;
}

tpslab::v1::CheckResult EvaluateThresholdCheck(const ThresholdCheck& check,
                                               const std::vector<Series>& series) {
  tpslab::v1::CheckResult result;
  *result.mutable_time() = NowTimestamp();
  result.set_name(check.name);
  for (const Series& s : series) {
    if (s.name != check.metric) continue;
    bool match = true;
    for (const auto& [label, value] : check.labels) {
      const std::string* have = s.Label(label);
      if (have == nullptr || *have != value) match = false;
    }
    if (!match) continue;
    result.set_state(EvaluateThresholds(s.value, check.warn ? &*check.warn : nullptr,
                                        check.crit ? &*check.crit : nullptr));
    result.set_output(
        Cat(CheckStateName(result.state()), " - ", check.name, " = ", FormatValue(s.value)));
    tpslab::v1::PerfData* datum = result.add_perf_data();
    datum->set_label(check.metric);
    datum->set_value(s.value);
    if (check.warn) datum->set_warn(check.warn->text);
    if (check.crit) datum->set_crit(check.crit->text);
    return result;
  }
  result.set_state(tpslab::v1::CHECK_STATE_UNKNOWN);
  result.set_output(Cat("UNKNOWN - no series ", check.name));
  return result;
}

bool CheckStates::Update(tpslab::v1::CheckResult& result) {
  auto it = latest_.find(result.name());
  bool changed;
  if (it == latest_.end()) {
    changed = result.state() != tpslab::v1::CHECK_STATE_OK;
    if (changed) result.set_previous_state(tpslab::v1::CHECK_STATE_UNSPECIFIED);
  } else {
    changed = it->second.state() != result.state();
    if (changed) result.set_previous_state(it->second.state());
  }
  latest_[result.name()] = result;
  return changed;
}

}  // namespace tpslab::monitor
