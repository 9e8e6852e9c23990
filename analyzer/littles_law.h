// Little's law as a validity check of a load stage: in a steady closed
// system the users N, the throughput X, the response time R and the think
// time Z obey N = X·(R + Z). A stage whose measurements disagree by more
// than the tolerance was not measured in a steady state, or the generator
// spent time it did not account for (its own queueing, pacing, connection
// setup outside the transaction), and its numbers should not be trusted.
//
// Example:
//   LittlesLawCheck check = CheckLittlesLaw({.concurrency = 50, .throughput = 2400,
//                                            .response_time_s = 0.019, .think_time_s = 0.001});
//   // check.expected_concurrency = 48, relative_deviation = 0.04 -> kConsistent
#ifndef TPSLAB_ANALYZER_LITTLES_LAW_H_
#define TPSLAB_ANALYZER_LITTLES_LAW_H_

#include <string>

namespace tpslab::analyzer {

struct LittlesLawInput {
  double concurrency = 0;      // N: mean active users over the stage.
  double throughput = 0;       // X: completed transactions per second.
  double response_time_s = 0;  // R: mean transaction latency, seconds.
  double think_time_s = 0;     // Z: mean think time between transactions, seconds.
  // Largest |N − X(R+Z)| / N still called consistent. Default 0.1 (10%).
  double tolerance = 0.1;
};

enum class LittlesLawVerdict {
  kConsistent,     // Within tolerance.
  kUsersIdle,      // N > X(R+Z): users spent time outside measured transactions.
  kOvercounted,    // N < X(R+Z): more work completed than N users can do.
  kNotApplicable,  // No users or no throughput: nothing to check.
};

// "consistent", "users-idle", "overcounted", "not-applicable": stable names
// for JSON.
const char* LittlesLawVerdictName(LittlesLawVerdict verdict);

struct LittlesLawCheck {
  double expected_concurrency = 0;  // X·(R + Z).
  double relative_deviation = 0;    // (N − X(R+Z)) / N; 0 when not applicable.
  LittlesLawVerdict verdict = LittlesLawVerdict::kNotApplicable;
  std::string explanation;  // Plain words with the numbers.
};

// Checks one stage.
LittlesLawCheck CheckLittlesLaw(const LittlesLawInput& input);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_LITTLES_LAW_H_
