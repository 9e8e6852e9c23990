// Load scenarios written in YAML (or JSON, which YAML reads too) and mapped
// onto tpslab.v1.Scenario, so that a scenario travels unchanged to agents.
// Errors name the file, line, column and field:
//
//   scenario.yaml:12:9: transactions[0].steps[2].upload.size: invalid size
//   '1KX': unknown unit 'X' ...
//
// The YAML shape (every field but `targets`, `transactions` and `load` is
// optional; durations and sizes are strings such as "250ms" and "1KiB"):
//
//   name: ftp-upload
//   interval: 1s                       # reporting interval
//   targets:
//     - name: ftp                      # default "default"
//       url: ftp://user:pass@127.0.0.1:2121/
//       timeout: 10s                   # deadline of every I/O
//     - name: secure                   # ftps:// is explicit TLS (AUTH TLS)
//       url: ftps://user:pass@ftp.example:21/
//       tls: {verify: true, ca: ca.pem, server_name: ftp.example}
//                                      # -> Target.tls; all optional; verify
//                                      # defaults to true, ca to the system
//                                      # trust store (relative to the
//                                      # scenario's directory), server_name
//                                      # to the host
//   data: users.csv                    # or {file: users.csv} or {lines: [...]}
//   transactions:
//     - name: upload
//       weight: 3                      # share of the mix (default 1)
//       pacing: 100ms                  # min time between iterations of a user
//       steps:
//         - connect                    # bare op name: no arguments
//         - login                      # CSV columns user/password, else URL's
//         - upload: {path: "in/${vu}-${iteration}.bin", size: 1KiB, mode: epsv}
//         - name: fetch                # step name shown in results
//           download: {path: pub/1k.bin, expect_size: 1KiB}
//         - cwd: /pub                  # a scalar is the path
//         - rename: {path: a, to: b}
//         - think: {distribution: uniform, min: 10ms, max: 50ms}   # or "100ms"
//         - rendezvous: {name: burst, users: 10, timeout: 5s}
//         - quit
//     - name: home
//       steps:
//         - http: {method: GET, path: /, expect_status: 200, keep_alive: true,
//                  headers: {Accept: "*/*"}, body: ""}
//   load:                              # exactly one of closed / open
//     closed:
//       - {users: 8, ramp: 5s, hold: 10s}     # ramp linearly, then hold
//     # open: {max_concurrency: 1000, stages: [{rate: 500, ramp: 0s, hold: 30s}]}
//   thresholds:
//     - p99(upload) < 50ms
//     - error_rate < 0.1%
//
// FTP steps take `path`, `to` (rename), `size` or `file` (upload, append),
// `expect_size` (download), `mode` (epsv, pasv, eprt, port) and `expect`
// (reply code). Any step may carry `name`, `target` and `expect`. Paths may
// use ${column} of the CSV row, ${vu} (user index), ${iteration}, ${uuid}.
//
// Usage:
//   absl::StatusOr<tpslab::v1::Scenario> s = LoadScenarioFile("scenario.yaml");
//   if (!s.ok()) { std::cerr << s.status().message(); return 2; }
#ifndef TPSLAB_LOADGEN_SCENARIO_H_
#define TPSLAB_LOADGEN_SCENARIO_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/parse/url.h"
#include "common/proto/scenario.pb.h"

namespace tpslab::loadgen {

// Parses YAML or JSON `text`; `source` (a file name) prefixes error messages
// and fills Scenario.source. A `data` file is read relative to `base_dir`
// (when not empty) and inlined into Scenario.data.lines.
absl::StatusOr<v1::Scenario> ParseScenario(std::string_view text, std::string_view source,
                                           std::string_view base_dir = "");

// Reads and parses a scenario file; the CSV data file is resolved relative
// to the scenario's directory.
absl::StatusOr<v1::Scenario> LoadScenarioFile(const std::string& path);

// Parses a target URL the way loadgen uses it: parse::ParseUrl, and no '#'
// fragment (nothing in FTP or in an HTTP request uses one; TLS options go in
// Target.tls). Fails with InvalidArgument saying what is wrong.
absl::StatusOr<parse::Url> ParseTargetUrl(std::string_view text);

// Checks what the YAML mapping cannot: every step's target exists and has a
// matching protocol (FTP steps on ftp:// or ftps:// targets, HTTP steps on
// http:// or https://), target URLs pass ParseTargetUrl, only ftps:// and
// https:// targets have `tls`, weights are not all zero, the load model has
// stages, and thresholds parse and name existing transactions or steps. Used
// for scenarios built in code (the one-line CLI form) and received by agents
// as well.
absl::Status ValidateScenario(const v1::Scenario& scenario);

// Per-user data parsed from Scenario.data: a header row of column names, then
// rows; fields are comma-separated, optionally in double quotes ("" escapes a
// quote).
struct DataTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};
absl::StatusOr<DataTable> ParseDataTable(const v1::DataFile& data);

// The name shown in results for a step without one: "upload", "http",
// "think", ...
std::string DefaultStepName(const v1::Step& step);

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_SCENARIO_H_
