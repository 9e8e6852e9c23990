// Fuzz target for every parser in common/parse. Each input is offered to all
// of them; accepted inputs must survive a format/parse round trip, rejected
// ones must yield an InvalidArgument error whose message names the kind of
// value and is safe to print (no raw control characters). A broken invariant
// aborts, which the fuzz driver reports with the input.
//
// Runs as //common/parse:parse_fuzz_test (corpus replay + bounded mutations);
// replay one input with: bazel-bin/common/parse/parse_fuzz_test FILE
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/parse/duration.h"
#include "common/parse/size.h"
#include "common/parse/url.h"

namespace tpslab::parse {
namespace {

[[noreturn]] void Fail(std::string_view what, std::string_view detail) {
  fprintf(stderr, "parse_fuzz: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
          static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// A rejection must be InvalidArgument, start with "invalid <kind> '" and
// contain no raw control characters.
void CheckError(const absl::Status& status, std::string_view kind) {
  const std::string message(status.message());
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Fail(kind, "error is not InvalidArgument: " + status.ToString());
  }
  if (message.rfind("invalid " + std::string(kind) + " '", 0) != 0) {
    Fail(kind, "error does not start with \"invalid " + std::string(kind) + " '\": " + message);
  }
  for (const char c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      Fail(kind, "error message contains a raw control character");
    }
  }
}

void CheckDuration(std::string_view text) {
  absl::StatusOr<std::chrono::nanoseconds> d = ParseDuration(text);
  if (!d.ok()) return CheckError(d.status(), "duration");
  const std::string formatted = FormatDuration(*d);
  absl::StatusOr<std::chrono::nanoseconds> back = ParseDuration(formatted);
  if (!back.ok()) Fail("duration", "FormatDuration output rejected: " + back.status().ToString());
  if (*back != *d) {
    Fail("duration", "round trip changed " + std::to_string(d->count()) + "ns via '" + formatted +
                         "' to " + std::to_string(back->count()) + "ns");
  }
}

void CheckSize(std::string_view text) {
  absl::StatusOr<uint64_t> n = ParseSize(text);
  if (!n.ok()) return CheckError(n.status(), "size");
  const std::string formatted = FormatSize(*n);
  absl::StatusOr<uint64_t> back = ParseSize(formatted);
  if (!back.ok()) Fail("size", "FormatSize output rejected: " + back.status().ToString());
  if (*back != *n) {
    Fail("size", "round trip changed " + std::to_string(*n) + " via '" + formatted + "' to " +
                     std::to_string(*back));
  }
}

void CheckEndpoint(std::string_view text) {
  absl::StatusOr<Endpoint> e = ParseEndpoint(text);
  if (!e.ok()) return CheckError(e.status(), "endpoint");
  const std::string formatted = FormatEndpoint(*e);
  absl::StatusOr<Endpoint> back = ParseEndpoint(formatted);
  if (!back.ok()) Fail("endpoint", "FormatEndpoint output rejected: " + back.status().ToString());
  if (*back != *e) Fail("endpoint", "round trip via '" + formatted + "' changed the endpoint");
}

void CheckUrl(std::string_view text) {
  absl::StatusOr<Url> url = ParseUrl(text);
  if (!url.ok()) return CheckError(url.status(), "URL");
  if (url->host.empty()) Fail("URL", "accepted an empty host");
  const std::string formatted = url->ToString();
  absl::StatusOr<Url> back = ParseUrl(formatted);
  if (!back.ok()) Fail("URL", "Url::ToString output rejected: " + back.status().ToString());
  if (*back != *url) Fail("URL", "round trip via '" + formatted + "' changed the URL");
}

}  // namespace
}  // namespace tpslab::parse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tpslab::parse::CheckDuration(text);
  tpslab::parse::CheckSize(text);
  tpslab::parse::CheckEndpoint(text);
  tpslab::parse::CheckUrl(text);
  return 0;
}
