// Nagios threshold ranges, as in the Nagios plugin development guidelines
// ("Threshold and ranges"), and the state a value gets from warn/crit ranges.
//
//   text      alert when
//   "10"      value < 0 or value > 10       (outside 0..10)
//   "10:"     value < 10                    (outside 10..+inf)
//   "~:10"    value > 10                    (outside -inf..10)
//   "10:20"   value < 10 or value > 20      (outside 10..20)
//   "@10:20"  10 <= value <= 20             (inside 10..20)
//
//   absl::StatusOr<ThresholdRange> warn = ParseThresholdRange("~:2");
//   absl::StatusOr<ThresholdRange> crit = ParseThresholdRange("~:4");
//   CheckState state = EvaluateThresholds(3.5, &*warn, &*crit);  // WARNING
#ifndef TPSLAB_MONITOR_THRESHOLDS_H_
#define TPSLAB_MONITOR_THRESHOLDS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/proto/samples.pb.h"

namespace tpslab::monitor {

struct ThresholdRange {
  // Lower bound; ignored when start_infinite ("~").
  double start = 0;
  bool start_infinite = false;
  // Upper bound; ignored when end_infinite (nothing after ':').
  double end = 0;
  bool end_infinite = false;
  // "@": alert when the value is inside [start, end] instead of outside.
  bool alert_inside = false;
  // The text it was parsed from.
  std::string text;

  // True when `value` should raise an alert under this range.
  bool Alerts(double value) const;
};

// Parses a range. Fails with InvalidArgument (naming the text) on empty
// text, bad numbers, or start > end.
absl::StatusOr<ThresholdRange> ParseThresholdRange(std::string_view text);

// CRITICAL if `crit` alerts, else WARNING if `warn` alerts, else OK. Either
// may be null (no threshold). A NaN value is UNKNOWN.
tpslab::v1::CheckState EvaluateThresholds(double value, const ThresholdRange* warn,
                                          const ThresholdRange* crit);

// "OK", "WARNING", "CRITICAL", "UNKNOWN" (and "UNSPECIFIED").
std::string_view CheckStateName(tpslab::v1::CheckState state);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_THRESHOLDS_H_
