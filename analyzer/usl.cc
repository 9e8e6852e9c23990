#include "analyzer/usl.h"

#include <Eigen/Dense>
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <unsupported/Eigen/NonLinearOptimization>
#include <vector>

#include "absl/strings/str_format.h"

namespace tpslab::analyzer {
namespace {

// Parameters in the order λ, σ, κ.
using Params = std::array<double, 3>;

double Model(const Params& p, double n) {
  return p[0] * n / (1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0));
}

// Residuals model − measured over the parameters marked free; the others
// stay at their value in `fixed`. The interface Eigen's LevenbergMarquardt
// expects: inputs(), values(), operator() and df().
struct Residuals {
  std::span<const UslPoint> points;
  std::array<bool, 3> free;
  Params fixed;

  int inputs() const { return static_cast<int>(free[0]) + free[1] + free[2]; }
  int values() const { return static_cast<int>(points.size()); }

  Params Expand(const Eigen::VectorXd& x) const {
    Params p = fixed;
    int k = 0;
    for (int i = 0; i < 3; ++i) {
      if (free[i]) p[i] = x[k++];
    }
    return p;
  }

  int operator()(const Eigen::VectorXd& x, Eigen::VectorXd& fvec) const {
    const Params p = Expand(x);
    for (int i = 0; i < values(); ++i) {
      fvec[i] = Model(p, points[i].concurrency) - points[i].throughput;
    }
    return 0;
  }

  int df(const Eigen::VectorXd& x, Eigen::MatrixXd& fjac) const {
    const Params p = Expand(x);
    for (int i = 0; i < values(); ++i) {
      const double n = points[i].concurrency;
      const double d = 1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0);
      const std::array<double, 3> grad = {
          n / d,
          -p[0] * n * (n - 1.0) / (d * d),
          -p[0] * n * n * (n - 1.0) / (d * d),
      };
      int k = 0;
      for (int j = 0; j < 3; ++j) {
        if (free[j]) fjac(i, k++) = grad[j];
      }
    }
    return 0;
  }
};

double SumSquares(std::span<const UslPoint> points, const Params& p) {
  double sse = 0;
  for (const UslPoint& point : points) {
    const double r = Model(p, point.concurrency) - point.throughput;
    sse += r * r;
  }
  return sse;
}

// Starting point: linear least squares on N/X = a + b(N−1) + cN(N−1), which
// is the USL rearranged (a = 1/λ, b = σ/λ, c = κ/λ).
Params InitialGuess(std::span<const UslPoint> points) {
  const int m = static_cast<int>(points.size());
  Eigen::MatrixXd a(m, 3);
  Eigen::VectorXd y(m);
  for (int i = 0; i < m; ++i) {
    const double n = points[i].concurrency;
    a(i, 0) = 1.0;
    a(i, 1) = n - 1.0;
    a(i, 2) = n * (n - 1.0);
    y[i] = n / points[i].throughput;
  }
  const Eigen::Vector3d coef = a.colPivHouseholderQr().solve(y);
  if (coef[0] > 0 && std::isfinite(coef[0])) {
    return {1.0 / coef[0], coef[1] / coef[0], coef[2] / coef[0]};
  }
  // Degenerate data: start from the best single-user rate seen.
  double lambda = 0;
  for (const UslPoint& point : points) {
    lambda = std::max(lambda, point.throughput / point.concurrency);
  }
  return {lambda, 0.0, 0.0};
}

// Fits the parameters marked free, starting from `start`; the others are
// held at their value in `start`.
std::optional<Params> FitSubModel(std::span<const UslPoint> points, std::array<bool, 3> free,
                                  Params start) {
  Residuals residuals{points, free, start};
  Eigen::VectorXd x(residuals.inputs());
  int k = 0;
  for (int i = 0; i < 3; ++i) {
    if (free[i]) x[k++] = start[i];
  }
  Eigen::LevenbergMarquardt<Residuals> lm(residuals);
  lm.parameters.maxfev = 2000;
  lm.parameters.ftol = 1e-12;
  lm.parameters.xtol = 1e-12;
  const Eigen::LevenbergMarquardtSpace::Status status = lm.minimize(x);
  if (status == Eigen::LevenbergMarquardtSpace::ImproperInputParameters) return std::nullopt;
  const Params p = residuals.Expand(x);
  for (double v : p) {
    if (!std::isfinite(v)) return std::nullopt;
  }
  return p;
}

}  // namespace

double UslThroughput(const UslFit& fit, double n) {
  return Model({fit.lambda, fit.sigma, fit.kappa}, n);
}

absl::StatusOr<UslFit> FitUsl(std::span<const UslPoint> points) {
  if (points.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrFormat("USL fit needs at least 3 points, got %d", points.size()));
  }
  std::set<double> distinct;
  for (size_t i = 0; i < points.size(); ++i) {
    const UslPoint& p = points[i];
    if (!std::isfinite(p.concurrency) || p.concurrency <= 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "USL point %d: concurrency must be a finite number > 0, got %g", i, p.concurrency));
    }
    if (!std::isfinite(p.throughput) || p.throughput <= 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "USL point %d: throughput must be a finite number > 0, got %g", i, p.throughput));
    }
    distinct.insert(p.concurrency);
  }
  if (distinct.size() < 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "USL fit needs at least 3 distinct concurrencies, got %d", distinct.size()));
  }

  const Params guess = InitialGuess(points);
  const Params clamped = {guess[0] > 0 ? guess[0] : 1.0, std::max(guess[1], 0.0),
                          std::max(guess[2], 0.0)};
  // Simplest models first: a model with more free parameters replaces a
  // simpler one only when it lowers the residual by more than rounding noise
  // (so linear data gives σ = κ = 0 exactly, not 1e-17).
  struct Candidate {
    std::array<bool, 3> free;
    Params start;
  };
  const Candidate candidates[] = {
      {{true, false, false}, {clamped[0], 0.0, 0.0}},
      {{true, true, false}, {clamped[0], clamped[1], 0.0}},
      {{true, false, true}, {clamped[0], 0.0, clamped[2]}},
      {{true, true, true}, guess},
      {{true, true, true}, clamped},
  };
  double mean = 0;
  for (const UslPoint& p : points) mean += p.throughput;
  mean /= static_cast<double>(points.size());
  double sst = 0;
  for (const UslPoint& p : points) sst += (p.throughput - mean) * (p.throughput - mean);
  const double noise = 1e-12 * std::max(sst, mean * mean);

  std::optional<Params> best;
  double best_sse = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) {
    std::optional<Params> p = FitSubModel(points, c.free, c.start);
    if (!p || (*p)[0] <= 0 || (*p)[1] < 0 || (*p)[2] < 0) continue;
    const double sse = SumSquares(points, *p);
    if (sse < best_sse - noise) {
      best_sse = sse;
      best = p;
    }
  }
  if (!best) return absl::InternalError("USL fit: the optimizer found no feasible fit");

  UslFit fit;
  fit.lambda = (*best)[0];
  fit.sigma = (*best)[1];
  fit.kappa = (*best)[2];
  fit.points = static_cast<int>(points.size());
  if (fit.kappa > 0 && fit.sigma < 1) {
    fit.peak_concurrency = std::sqrt((1.0 - fit.sigma) / fit.kappa);
    fit.peak_throughput = UslThroughput(fit, *fit.peak_concurrency);
  } else if (fit.kappa == 0 && fit.sigma > 0) {
    fit.asymptotic_throughput = fit.lambda / fit.sigma;
  }
  fit.r_squared = sst > 0 ? 1.0 - best_sse / sst : 1.0;
  fit.rmse = std::sqrt(best_sse / static_cast<double>(points.size()));
  return fit;
}

}  // namespace tpslab::analyzer
