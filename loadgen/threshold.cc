#include "loadgen/threshold.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/parse/duration.h"

namespace tpslab::loadgen {
namespace {

absl::Status Invalid(std::string_view input, absl::string_view why) {
  const absl::string_view text(input.data(), input.size());
  return absl::InvalidArgumentError(absl::StrCat("invalid threshold '", text, "': ", why));
}

}  // namespace

bool Threshold::Holds(double observed) const {
  switch (op) {
    case Op::kLess:
      return observed < limit;
    case Op::kLessEqual:
      return observed <= limit;
    case Op::kGreater:
      return observed > limit;
    case Op::kGreaterEqual:
      return observed >= limit;
  }
  return false;
}

absl::StatusOr<Threshold> ParseThreshold(std::string_view text) {
  Threshold t;
  t.expression =
      std::string(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  absl::string_view rest = t.expression;
  if (rest.empty()) return Invalid(text, "empty expression");

  // Metric name: letters, digits, '.', '_'.
  size_t i = 0;
  while (i < rest.size() &&
         (std::isalnum(static_cast<unsigned char>(rest[i])) || rest[i] == '_' || rest[i] == '.')) {
    ++i;
  }
  const std::string metric = absl::AsciiStrToLower(rest.substr(0, i));
  rest.remove_prefix(i);
  if (metric.empty()) return Invalid(text, "missing metric at the start");
  if (metric == "max") {
    t.metric = Threshold::Metric::kMax;
  } else if (metric == "mean" || metric == "avg") {
    t.metric = Threshold::Metric::kMean;
  } else if (metric == "tps") {
    t.metric = Threshold::Metric::kTps;
  } else if (metric == "count") {
    t.metric = Threshold::Metric::kCount;
  } else if (metric == "error_rate") {
    t.metric = Threshold::Metric::kErrorRate;
  } else if (metric == "errors") {
    t.metric = Threshold::Metric::kErrors;
  } else if (metric.size() > 1 && metric[0] == 'p' &&
             absl::SimpleAtod(metric.substr(1), &t.percentile) && t.percentile > 0 &&
             t.percentile <= 100) {
    t.metric = Threshold::Metric::kPercentile;
  } else {
    return Invalid(text, absl::StrCat("unknown metric '", metric,
                                      "' (expected pNN, max, mean, tps, count, error_rate or "
                                      "errors)"));
  }

  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!rest.empty() && rest[0] == '(') {
    const size_t close = rest.find(')');
    if (close == absl::string_view::npos) return Invalid(text, "missing ')' after the name");
    t.name = std::string(absl::StripAsciiWhitespace(rest.substr(1, close - 1)));
    if (t.name.empty()) return Invalid(text, "empty name between '(' and ')'");
    rest.remove_prefix(close + 1);
    rest = absl::StripLeadingAsciiWhitespace(rest);
  }

  if (absl::ConsumePrefix(&rest, "<=")) {
    t.op = Threshold::Op::kLessEqual;
  } else if (absl::ConsumePrefix(&rest, ">=")) {
    t.op = Threshold::Op::kGreaterEqual;
  } else if (absl::ConsumePrefix(&rest, "<")) {
    t.op = Threshold::Op::kLess;
  } else if (absl::ConsumePrefix(&rest, ">")) {
    t.op = Threshold::Op::kGreater;
  } else {
    return Invalid(text, absl::StrCat("expected a comparison (<, <=, >, >=) after '", metric,
                                      t.name.empty() ? "" : absl::StrCat("(", t.name, ")"), "'"));
  }
  rest = absl::StripAsciiWhitespace(rest);
  if (rest.empty()) return Invalid(text, "missing value after the comparison");

  if (t.IsLatency()) {
    absl::StatusOr<std::chrono::nanoseconds> d =
        parse::ParseDuration(std::string_view(rest.data(), rest.size()));
    if (!d.ok()) return Invalid(text, d.status().message());
    t.limit = static_cast<double>(d->count()) / 1e6;
  } else if (t.metric == Threshold::Metric::kErrorRate) {
    const bool percent = absl::EndsWith(rest, "%");
    absl::string_view number = percent ? rest.substr(0, rest.size() - 1) : rest;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(number), &t.limit) || t.limit < 0) {
      return Invalid(text, absl::StrCat("invalid rate '", rest, "' (e.g. '0.1%' or '0.001')"));
    }
    if (percent) t.limit /= 100;
  } else {
    if (!absl::SimpleAtod(rest, &t.limit) || t.limit < 0) {
      return Invalid(text, absl::StrCat("invalid number '", rest, "'"));
    }
  }
  return t;
}

}  // namespace tpslab::loadgen
