// FitUsl on synthetic series with known parameters: exact data, 2% noise,
// pure contention (κ = 0), linear scaling, and invalid input.
#include "analyzer/usl.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tpslab::analyzer {
namespace {

std::vector<UslPoint> Synthetic(double lambda, double sigma, double kappa,
                                const std::vector<double>& ns, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  UslFit truth;
  truth.lambda = lambda;
  truth.sigma = sigma;
  truth.kappa = kappa;
  std::vector<UslPoint> points;
  for (double n : ns) points.push_back({n, UslThroughput(truth, n) * (1.0 + noise * gauss(rng))});
  return points;
}

const std::vector<double> kSteps = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128};

TEST(UslTest, RecoversExactParameters) {
  const auto points = Synthetic(1000, 0.05, 0.0002, kSteps, 0.0, 1);
  absl::StatusOr<UslFit> fit = FitUsl(points);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->lambda, 1000, 1e-3);
  EXPECT_NEAR(fit->sigma, 0.05, 1e-7);
  EXPECT_NEAR(fit->kappa, 0.0002, 1e-9);
  ASSERT_TRUE(fit->peak_concurrency.has_value());
  EXPECT_NEAR(*fit->peak_concurrency, std::sqrt(0.95 / 0.0002), 1e-3);  // 68.9
  EXPECT_NEAR(*fit->peak_throughput, UslThroughput(*fit, *fit->peak_concurrency), 1e-9);
  EXPECT_NEAR(fit->r_squared, 1.0, 1e-12);
  EXPECT_LT(fit->rmse, 1e-6);
  EXPECT_EQ(fit->points, 12);
}

// Tolerances for 2% multiplicative Gaussian noise on 12 points, checked over
// 20 seeds: λ within 5%, σ within ±0.015, κ within 30%, N* within 15%.
TEST(UslTest, RecoversParametersFromNoisyData) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto points = Synthetic(1000, 0.05, 0.0002, kSteps, 0.02, seed);
    absl::StatusOr<UslFit> fit = FitUsl(points);
    ASSERT_TRUE(fit.ok()) << fit.status();
    SCOPED_TRACE(seed);
    EXPECT_NEAR(fit->lambda, 1000, 50);
    EXPECT_NEAR(fit->sigma, 0.05, 0.015);
    EXPECT_NEAR(fit->kappa, 0.0002, 0.00006);
    ASSERT_TRUE(fit->peak_concurrency.has_value());
    EXPECT_NEAR(*fit->peak_concurrency, 68.9, 68.9 * 0.15);
    EXPECT_GT(fit->r_squared, 0.95);
  }
}

TEST(UslTest, PureContentionHasNoPeakButAnAsymptote) {
  const auto points = Synthetic(500, 0.1, 0.0, kSteps, 0.0, 1);
  absl::StatusOr<UslFit> fit = FitUsl(points);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->sigma, 0.1, 1e-6);
  EXPECT_NEAR(fit->kappa, 0.0, 1e-9);
  if (fit->kappa == 0) {
    EXPECT_FALSE(fit->peak_concurrency.has_value());
    ASSERT_TRUE(fit->asymptotic_throughput.has_value());
    EXPECT_NEAR(*fit->asymptotic_throughput, 5000, 1);
  } else {
    EXPECT_GT(*fit->peak_concurrency, 1000);  // Far beyond anything measured.
  }
}

TEST(UslTest, LinearScalingPinsBothBoundsAtZero) {
  std::vector<UslPoint> points;
  for (double n : kSteps) points.push_back({n, 250 * n});
  absl::StatusOr<UslFit> fit = FitUsl(points);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_NEAR(fit->lambda, 250, 1e-6);
  EXPECT_EQ(fit->sigma, 0.0);
  EXPECT_EQ(fit->kappa, 0.0);
  EXPECT_FALSE(fit->peak_concurrency.has_value());
  EXPECT_FALSE(fit->asymptotic_throughput.has_value());
}

TEST(UslTest, SuperlinearDataStaysWithinBounds) {
  // Throughput growing faster than linearly would need σ < 0; the fit keeps
  // σ, κ ≥ 0.
  std::vector<UslPoint> points;
  for (double n : kSteps) points.push_back({n, 100 * n * (1 + 0.002 * n)});
  absl::StatusOr<UslFit> fit = FitUsl(points);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_GE(fit->sigma, 0.0);
  EXPECT_GE(fit->kappa, 0.0);
}

TEST(UslTest, RejectsInvalidInput) {
  std::vector<UslPoint> two = {{1, 10}, {2, 20}};
  EXPECT_EQ(FitUsl(two).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitUsl(two).status().message(), "USL fit needs at least 3 points, got 2");

  std::vector<UslPoint> zero = {{1, 10}, {2, 0}, {3, 30}};
  EXPECT_EQ(FitUsl(zero).status().message(),
            "USL point 1: throughput must be a finite number > 0, got 0");

  std::vector<UslPoint> negative = {{-1, 10}, {2, 20}, {3, 30}};
  EXPECT_EQ(FitUsl(negative).status().message(),
            "USL point 0: concurrency must be a finite number > 0, got -1");

  std::vector<UslPoint> same = {{4, 10}, {4, 11}, {8, 30}};
  EXPECT_EQ(FitUsl(same).status().message(),
            "USL fit needs at least 3 distinct concurrencies, got 2");
}

}  // namespace
}  // namespace tpslab::analyzer
