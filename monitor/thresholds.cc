#include "monitor/thresholds.h"

#include <cmath>

#include "absl/status/status.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

absl::Status RangeError(std::string_view text, std::string_view what) {
  return absl::InvalidArgumentError(Cat("invalid threshold range '", text, "': ", what));
}

}  // namespace

bool ThresholdRange::Alerts(double value) const {
  const bool inside = (start_infinite || value >= start) && (end_infinite || value <= end);
  return alert_inside ? inside : !inside;
}

absl::StatusOr<ThresholdRange> ParseThresholdRange(std::string_view text) {
  ThresholdRange range;
  range.text = std::string(text);
  std::string_view rest = text;
  if (rest.empty()) return RangeError(text, "empty");
  if (rest.front() == '@') {
    range.alert_inside = true;
    rest.remove_prefix(1);
  }
  std::size_t colon = rest.find(':');
  std::string_view start =
      colon == std::string_view::npos ? std::string_view() : rest.substr(0, colon);
  std::string_view end = colon == std::string_view::npos ? rest : rest.substr(colon + 1);
  if (colon == std::string_view::npos) {
    // "10": 0..10.
    range.start = 0;
  } else if (start == "~") {
    range.start_infinite = true;
  } else {
    std::optional<double> value = ParseDouble(start);
    if (!value || !std::isfinite(*value)) return RangeError(text, Cat("bad start '", start, "'"));
    range.start = *value;
  }
  if (end.empty()) {
    if (colon == std::string_view::npos) return RangeError(text, "missing end");
    range.end_infinite = true;
  } else {
    std::optional<double> value = ParseDouble(end);
    if (!value || !std::isfinite(*value)) return RangeError(text, Cat("bad end '", end, "'"));
    range.end = *value;
  }
  if (!range.start_infinite && !range.end_infinite && range.start > range.end) {
    return RangeError(text, "start is greater than end");
  }
  return range;
}

tpslab::v1::CheckState EvaluateThresholds(double value, const ThresholdRange* warn,
                                          const ThresholdRange* crit) {
  if (std::isnan(value)) return tpslab::v1::CHECK_STATE_UNKNOWN;
  if (crit != nullptr && crit->Alerts(value)) return tpslab::v1::CHECK_STATE_CRITICAL;
  if (warn != nullptr && warn->Alerts(value)) return tpslab::v1::CHECK_STATE_WARNING;
  return tpslab::v1::CHECK_STATE_OK;
}

std::string_view CheckStateName(tpslab::v1::CheckState state) {
  switch (state) {
    case tpslab::v1::CHECK_STATE_OK:
      return "OK";
    case tpslab::v1::CHECK_STATE_WARNING:
      return "WARNING";
    case tpslab::v1::CHECK_STATE_CRITICAL:
      return "CRITICAL";
    case tpslab::v1::CHECK_STATE_UNKNOWN:
      return "UNKNOWN";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace tpslab::monitor
