// Compare on small hand-written report documents: regressions,
// improvements and unchanged figures with exact deltas, missing figures and
// transactions, and both renderings.
#include "analyzer/compare.h"

#include <gtest/gtest.h>

#include <string>

namespace tpslab::analyzer {
namespace {

using json = nlohmann::json;

json Figures(double tps, double p50, double p99, double p999, double error_rate) {
  return {{"tps", tps},
          {"p50_ms", p50},
          {"p99_ms", p99},
          {"p999_ms", p999},
          {"error_rate", error_rate}};
}

json Report(const std::string& id, json overall, double max_tps, json knee_load, json usl_peak_tps,
            json upload, json list = nullptr) {
  json transactions = json::array();
  upload["name"] = "upload";
  transactions.push_back(upload);
  if (!list.is_null()) {
    list["name"] = "list";
    transactions.push_back(list);
  }
  return {{"schema", "tpslab.report/1"},
          {"run", {{"id", id}}},
          {"overall", overall},
          {"slo", {{"p99_ms", 50.0}, {"max_tps", max_tps}}},
          {"knee", {{"found", !knee_load.is_null()}, {"load", knee_load}}},
          {"usl", {{"ok", true}, {"peak_tps", usl_peak_tps}}},
          {"transactions", transactions}};
}

json Baseline() {
  return Report("base", Figures(1000, 1.0, 10.0, 20.0, 0.002), 900, 40.0, 1200.0,
                Figures(600, 1.0, 10.0, 20.0, 0.002), Figures(400, 0.5, 2.0, 4.0, 0.0));
}

const MetricComparison& Find(const CompareResult& r, const std::string& scope,
                             const std::string& metric) {
  for (const MetricComparison& m : r.metrics) {
    if (m.scope == scope && m.metric == metric) return m;
  }
  ADD_FAILURE() << "no " << scope << "/" << metric;
  static const MetricComparison none;
  return none;
}

// The text with runs of spaces collapsed, so rows can be matched.
std::string Squeeze(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

TEST(CompareTest, RegressionsWithExactDeltas) {
  const json candidate =
      Report("cand", Figures(900, 1.05, 11.5, 20.0, 0.0035), 800, 40.0, nullptr,
             Figures(500, 1.0, 12.0, 20.0, 0.0035), Figures(400, 0.5, 2.0, 4.0, 0.0));
  const CompareResult r = Compare(Baseline(), candidate);
  EXPECT_TRUE(r.regressed);
  EXPECT_EQ(r.baseline_run, "base");
  EXPECT_EQ(r.candidate_run, "cand");

  const MetricComparison& tps = Find(r, "", "tps");
  EXPECT_EQ(tps.change, Change::kRegressed);
  EXPECT_DOUBLE_EQ(*tps.delta, -100.0);
  EXPECT_DOUBLE_EQ(*tps.relative, -0.1);
  const MetricComparison& p99 = Find(r, "", "p99_ms");
  EXPECT_EQ(p99.change, Change::kRegressed);
  EXPECT_DOUBLE_EQ(*p99.delta, 1.5);
  EXPECT_DOUBLE_EQ(*p99.relative, 0.15);
  const MetricComparison& p50 = Find(r, "", "p50_ms");  // +5%: within 10%.
  EXPECT_EQ(p50.change, Change::kUnchanged);
  EXPECT_NEAR(*p50.relative, 0.05, 1e-12);
  EXPECT_EQ(Find(r, "", "p999_ms").change, Change::kUnchanged);
  const MetricComparison& errors = Find(r, "", "error_rate");  // +0.15 pp.
  EXPECT_EQ(errors.change, Change::kRegressed);
  EXPECT_NEAR(*errors.delta, 0.0015, 1e-15);
  const MetricComparison& slo = Find(r, "", "max_tps_under_slo");
  EXPECT_EQ(slo.change, Change::kRegressed);
  EXPECT_DOUBLE_EQ(*slo.delta, -100.0);
  EXPECT_EQ(Find(r, "", "knee_load").change, Change::kUnchanged);
  const MetricComparison& usl = Find(r, "", "usl_peak_tps");
  EXPECT_EQ(usl.change, Change::kMissing);
  EXPECT_EQ(*usl.baseline, 1200.0);
  EXPECT_FALSE(usl.candidate.has_value());
  EXPECT_FALSE(usl.delta.has_value());

  const MetricComparison& upload_tps = Find(r, "upload", "tps");
  EXPECT_EQ(upload_tps.change, Change::kRegressed);
  EXPECT_NEAR(*upload_tps.relative, -1.0 / 6.0, 1e-12);
  EXPECT_EQ(Find(r, "upload", "p99_ms").change, Change::kRegressed);  // +20%.
  EXPECT_EQ(Find(r, "list", "tps").change, Change::kUnchanged);
  EXPECT_EQ(Find(r, "list", "error_rate").change, Change::kUnchanged);  // 0 -> 0.
  // Regressed: run tps, p99, error rate, SLO; upload tps, p99, error rate.
  EXPECT_EQ(r.regressions, 7);
  EXPECT_EQ(r.improvements, 0);

  const std::string text = Squeeze(r.Text());
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "baseline base vs candidate cand: REGRESSED (7 regressed, 0 improved, 10 unchanged, "
            "1 missing)");
  EXPECT_NE(text.find("\n(run) tps 1000.0 900.0 -10.0% regressed\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n(run) error_rate 0.200% 0.350% +0.150 pp regressed\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n(run) usl_peak_tps 1200.0 - - missing\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nupload p99_ms 10.000 12.000 +20.0% regressed\n"), std::string::npos)
      << text;

  const json j = r.Json();
  EXPECT_EQ(j["schema"], "tpslab.compare/1");
  EXPECT_EQ(j["regressed"], true);
  EXPECT_EQ(j["regressions"], 7);
  EXPECT_DOUBLE_EQ(j["thresholds"]["tps_change"].get<double>(), 0.05);
  ASSERT_EQ(j["metrics"].size(), r.metrics.size());
  const json& first = j["metrics"][0];
  EXPECT_EQ(first["scope"], "");
  EXPECT_EQ(first["metric"], "tps");
  EXPECT_DOUBLE_EQ(first["delta"].get<double>(), -100.0);
  EXPECT_EQ(first["change"], "regressed");
  EXPECT_NEAR(j["metrics"][4]["delta_pp"].get<double>(), 0.15, 1e-12);  // Run error_rate.
  EXPECT_TRUE(j["metrics"][7]["candidate"].is_null());                  // usl_peak_tps.
}

TEST(CompareTest, ImprovementsWithExactDeltas) {
  const json candidate =
      Report("cand", Figures(1100, 0.8, 8.0, 20.0, 0.0), 1000, 60.0, 1500.0,
             Figures(700, 0.8, 8.0, 20.0, 0.0), Figures(400, 0.5, 2.0, 4.0, 0.0));
  const CompareResult r = Compare(Baseline(), candidate);
  EXPECT_FALSE(r.regressed);
  const MetricComparison& tps = Find(r, "", "tps");
  EXPECT_EQ(tps.change, Change::kImproved);
  EXPECT_DOUBLE_EQ(*tps.delta, 100.0);
  EXPECT_DOUBLE_EQ(*tps.relative, 0.1);
  const MetricComparison& p99 = Find(r, "", "p99_ms");
  EXPECT_EQ(p99.change, Change::kImproved);
  EXPECT_DOUBLE_EQ(*p99.relative, -0.2);
  EXPECT_EQ(Find(r, "", "p50_ms").change, Change::kImproved);  // -20%.
  const MetricComparison& errors = Find(r, "", "error_rate");  // -0.2 pp.
  EXPECT_EQ(errors.change, Change::kImproved);
  EXPECT_DOUBLE_EQ(*errors.delta, -0.002);
  EXPECT_EQ(Find(r, "", "knee_load").change, Change::kImproved);  // 40 -> 60.
  EXPECT_DOUBLE_EQ(*Find(r, "", "knee_load").relative, 0.5);
  EXPECT_EQ(Find(r, "", "usl_peak_tps").change, Change::kImproved);
  EXPECT_EQ(Find(r, "upload", "tps").change, Change::kImproved);
  EXPECT_EQ(r.regressions, 0);
  // Run: tps, p50, p99, error rate, SLO, knee, USL; upload: tps, p50, p99,
  // error rate.
  EXPECT_EQ(r.improvements, 11);
  EXPECT_EQ(r.Json()["regressed"], false);
  EXPECT_EQ(r.Text().substr(0, 44), "baseline base vs candidate cand: IMPROVED (0");
}

TEST(CompareTest, ChangesWithinThresholdsAreUnchanged) {
  // TPS -4% (< 5%), p99 +9% (< 10%), error rate +0.05 pp (< 0.1 pp), SLO
  // +2%.
  const json candidate =
      Report("cand", Figures(960, 1.0, 10.9, 21.0, 0.0025), 918, 40.0, 1200.0,
             Figures(600, 1.0, 10.0, 20.0, 0.002), Figures(400, 0.5, 2.0, 4.0, 0.0));
  const CompareResult r = Compare(Baseline(), candidate);
  EXPECT_FALSE(r.regressed);
  EXPECT_EQ(r.regressions, 0);
  EXPECT_EQ(r.improvements, 0);
  for (const MetricComparison& m : r.metrics) {
    EXPECT_EQ(m.change, Change::kUnchanged) << m.scope << "/" << m.metric;
  }
  EXPECT_DOUBLE_EQ(*Find(r, "", "tps").relative, -0.04);
  EXPECT_NEAR(*Find(r, "", "p99_ms").relative, 0.09, 1e-12);
  EXPECT_NEAR(*Find(r, "", "error_rate").delta, 0.0005, 1e-15);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_EQ(r.Text().substr(0, 45), "baseline base vs candidate cand: UNCHANGED (0");

  // Tighter thresholds turn the same figures into regressions.
  const CompareResult strict =
      Compare(Baseline(), candidate, {.tps_change = 0.01, .latency_change = 0.05});
  EXPECT_TRUE(strict.regressed);
  EXPECT_EQ(Find(strict, "", "tps").change, Change::kRegressed);
  EXPECT_EQ(Find(strict, "", "p99_ms").change, Change::kRegressed);
  EXPECT_EQ(Find(strict, "", "error_rate").change, Change::kUnchanged);
}

TEST(CompareTest, MissingTransactionsAndDocumentsAreReportedNotFatal) {
  json candidate = Baseline();
  candidate["transactions"].erase(1);  // No "list".
  candidate["transactions"].push_back({{"name", "delete"}, {"tps", 5.0}});
  candidate["slo"]["p99_ms"] = 20.0;
  const CompareResult r = Compare(Baseline(), candidate);
  EXPECT_FALSE(r.regressed);
  EXPECT_EQ(Find(r, "list", "tps").change, Change::kMissing);
  EXPECT_EQ(Find(r, "delete", "tps").change, Change::kMissing);
  EXPECT_EQ(Find(r, "upload", "tps").change, Change::kUnchanged);
  ASSERT_EQ(r.notes.size(), 3u);
  EXPECT_EQ(r.notes[0],
            "the runs were judged against different SLOs (p99 < 50 ms vs 20 ms): "
            "max_tps_under_slo compares unlike figures");
  EXPECT_EQ(r.notes[1], "transaction 'delete' is only in the candidate run");
  EXPECT_EQ(r.notes[2], "transaction 'list' is only in the baseline run");
  EXPECT_NE(r.Text().find("note: transaction 'list' is only in the baseline run\n"),
            std::string::npos);

  // Not even a report: everything is missing, nothing regressed.
  const CompareResult junk = Compare(json("text"), json::array());
  EXPECT_FALSE(junk.regressed);
  EXPECT_EQ(junk.baseline_run, "");
  for (const MetricComparison& m : junk.metrics) EXPECT_EQ(m.change, Change::kMissing);
  EXPECT_EQ(junk.Text().substr(0, 33), "baseline ? vs candidate ?: UNCHAN");
}

}  // namespace
}  // namespace tpslab::analyzer
