#include "analyzer/littles_law.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace tpslab::analyzer {

const char* LittlesLawVerdictName(LittlesLawVerdict verdict) {
  switch (verdict) {
    case LittlesLawVerdict::kConsistent:
      return "consistent";
    case LittlesLawVerdict::kUsersIdle:
      return "users-idle";
    case LittlesLawVerdict::kOvercounted:
      return "overcounted";
    case LittlesLawVerdict::kNotApplicable:
      return "not-applicable";
  }
  return "not-applicable";
}

LittlesLawCheck CheckLittlesLaw(const LittlesLawInput& in) {
  LittlesLawCheck check;
  if (!(in.concurrency > 0) || !(in.throughput > 0)) {
    check.explanation =
        absl::StrFormat("not applicable: N = %.3g users, X = %.3g tx/s (both must be > 0)",
                        in.concurrency, in.throughput);
    return check;
  }
  check.expected_concurrency = in.throughput * (in.response_time_s + in.think_time_s);
  check.relative_deviation = (in.concurrency - check.expected_concurrency) / in.concurrency;
  const std::string numbers = absl::StrFormat(
      "N = %.2f users, X·(R+Z) = %.2f tx/s × (%.2f ms + %.2f ms) = %.2f (%+.1f%%)", in.concurrency,
      in.throughput, in.response_time_s * 1e3, in.think_time_s * 1e3, check.expected_concurrency,
      -100.0 * check.relative_deviation);
  if (std::abs(check.relative_deviation) <= in.tolerance) {
    check.verdict = LittlesLawVerdict::kConsistent;
    check.explanation = "consistent: " + numbers;
  } else if (check.relative_deviation > 0) {
    check.verdict = LittlesLawVerdict::kUsersIdle;
    check.explanation =
        "users idle outside measured transactions (generator queueing, pacing or unmeasured "
        "setup): " +
        numbers;
  } else {
    check.verdict = LittlesLawVerdict::kOvercounted;
    check.explanation =
        "more transactions completed than the users could have run (overlapping intervals or "
        "miscounted users): " +
        numbers;
  }
  return check;
}

}  // namespace tpslab::analyzer
