// Universal Scalability Law (Gunther) fit of throughput against concurrency:
//
//   X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// λ is the throughput of one user, σ the contention (serialized fraction),
// κ the coherency cost (crosstalk between users). The fit minimizes the sum
// of squared throughput residuals with Eigen's Levenberg–Marquardt
// (unsupported/Eigen/NonLinearOptimization) under the bounds σ ≥ 0, κ ≥ 0:
// the unconstrained model is fitted first, started from the linear least
// squares fit of N/X = a + b(N−1) + cN(N−1); if a bound is violated, the
// sub-models with that parameter pinned at 0 are fitted too and the feasible
// fit with the smallest residual wins (an active-set search over the two
// bounds, exact for this small problem).
//
// Example:
//   std::vector<UslPoint> points = {{1, 980}, {2, 1900}, {4, 3500}, ...};
//   absl::StatusOr<UslFit> fit = FitUsl(points);
//   if (fit.ok() && fit->peak_concurrency) {
//     printf("peak %.0f tx/s at N*=%.1f (R²=%.3f)\n", *fit->peak_throughput,
//            *fit->peak_concurrency, fit->r_squared);
//   }
#ifndef TPSLAB_ANALYZER_USL_H_
#define TPSLAB_ANALYZER_USL_H_

#include <optional>
#include <span>

#include "absl/status/statusor.h"

namespace tpslab::analyzer {

// One measured point: mean concurrency (active users, or in-flight requests
// for an open model) and the throughput measured at it (tx/s).
struct UslPoint {
  double concurrency = 0;
  double throughput = 0;
};

struct UslFit {
  double lambda = 0;  // Throughput of a single user (tx/s).
  double sigma = 0;   // Contention, ≥ 0.
  double kappa = 0;   // Coherency, ≥ 0.
  // N* = sqrt((1−σ)/κ), where throughput peaks; empty when κ = 0 or σ ≥ 1
  // (throughput then never falls: it approaches λ/σ, or never stops rising).
  std::optional<double> peak_concurrency;
  // X(N*); empty with peak_concurrency.
  std::optional<double> peak_throughput;
  // Throughput ceiling λ/σ for κ = 0 and σ > 0 (Amdahl's asymptote); empty
  // otherwise.
  std::optional<double> asymptotic_throughput;
  double r_squared = 0;  // 1 − SSE/SST over the measured throughputs.
  double rmse = 0;       // sqrt(SSE/n), in tx/s.
  int points = 0;        // Points used.
};

// Throughput the model predicts at concurrency `n`.
double UslThroughput(const UslFit& fit, double n);

// Fits the USL to `points`. Errors (InvalidArgument): fewer than 3 points,
// fewer than 3 distinct concurrencies, a concurrency or throughput ≤ 0
// or not finite (the message names the point). Internal when the optimizer
// finds no finite fit.
absl::StatusOr<UslFit> FitUsl(std::span<const UslPoint> points);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_USL_H_
