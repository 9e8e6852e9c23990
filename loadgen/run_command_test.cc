// BuildScenario: how `loadgen run`'s --target, --insecure and one-line
// options become the scenario the engine runs.
#include "loadgen/run_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace tpslab::loadgen {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const RunOptions& options) {
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  EXPECT_FALSE(s.ok()) << s->DebugString();
  return s.ok() ? "" : std::string(s.status().message());
}

// Writes `text` to a scenario file in the test's temporary directory.
std::string WriteScenario(const std::string& name, const std::string& text) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Two targets: a verified FTPS one with its own CA and server name, and a
// plain HTTP one.
constexpr char kTwoTargets[] = R"(name: two
targets:
  - name: files
    url: ftps://u:p@127.0.0.1:2121/
    tls: {ca: ca.pem, server_name: ftp.test}
  - name: web
    url: http://127.0.0.1:8080/
transactions:
  - name: upload
    steps:
      - connect
      - login
      - upload: {path: x, size: 1KiB}
      - quit
  - name: page
    steps:
      - {target: web, http: {path: /}}
load:
  closed:
    - {users: 2, hold: 1s}
)";

TEST(BuildScenarioTest, OneLineFtpsTargetVerifiesUnlessInsecure) {
  RunOptions options;
  options.target = "ftps://u:p@127.0.0.1:2121/";
  options.transactions = {"upload:1KiB"};
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->targets(0).tls().insecure());

  options.insecure = true;
  s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->targets(0).has_tls());
  EXPECT_TRUE(s->targets(0).tls().insecure());
}

TEST(BuildScenarioTest, InsecureLeavesPlainTargetsWithoutTlsOptions) {
  RunOptions options;
  options.target = "http://127.0.0.1:8080/index.html?x=1";
  options.insecure = true;
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->targets(0).has_tls());
  ASSERT_EQ(s->transactions_size(), 1);
  EXPECT_EQ(s->transactions(0).steps(0).http().path(), "/index.html?x=1");
}

TEST(BuildScenarioTest, InsecureAppliesToEveryTlsTargetOfAScenario) {
  RunOptions options;
  options.scenario = WriteScenario("insecure.yaml", kTwoTargets);
  options.insecure = true;
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->targets(0).tls().insecure());
  EXPECT_THAT(s->targets(0).tls().ca_file(), HasSubstr("ca.pem")) << "the other options stay";
  EXPECT_EQ(s->targets(0).tls().server_name(), "ftp.test");
  EXPECT_FALSE(s->targets(1).has_tls()) << "http:// has no TLS to relax";
}

TEST(BuildScenarioTest, TargetReplacesTheFirstUrlAndKeepsItsTlsOptionsOnlyOverTls) {
  RunOptions options;
  options.scenario = WriteScenario("target.yaml", kTwoTargets);
  options.target = "ftps://v:q@127.0.0.2:990/";
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets(0).url(), "ftps://v:q@127.0.0.2:990/");
  EXPECT_EQ(s->targets(0).tls().server_name(), "ftp.test");
  EXPECT_FALSE(s->targets(0).tls().insecure());
  EXPECT_EQ(s->targets(1).url(), "http://127.0.0.1:8080/") << "only the first target changes";

  options.target = "ftp://v:q@127.0.0.2:21/";
  s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets(0).url(), "ftp://v:q@127.0.0.2:21/");
  EXPECT_FALSE(s->targets(0).has_tls()) << "a plain URL has no TLS options";
}

TEST(BuildScenarioTest, BadTargetsAndOneLineOptionsAreNamed) {
  RunOptions options;
  EXPECT_THAT(ErrorOf(options), HasSubstr("give a scenario file, or --target URL"));

  options.target = "ftps://u:p@127.0.0.1:2121/#tls-ca=ca.pem";
  options.transactions = {"upload:1KiB"};
  EXPECT_THAT(ErrorOf(options), HasSubstr("--target: URL fragment '#tls-ca=ca.pem'"));

  options.target = "ftp://u:p@127.0.0.1:2121/";
  options.transactions = {};
  EXPECT_THAT(ErrorOf(options), HasSubstr("ftp:// target needs --transaction"));

  options.transactions = {"upload:1KiB", "upload:1KiB"};
  EXPECT_THAT(ErrorOf(options), HasSubstr("'upload' given twice"));

  options.transactions = {"upload:1KiB"};
  options.users = 0;
  EXPECT_THAT(ErrorOf(options), HasSubstr("--users: must be at least 1"));

  options.users = 1;
  options.duration = std::chrono::seconds(0);
  EXPECT_THAT(ErrorOf(options), HasSubstr("--duration: must be greater than 0"));

  RunOptions http;
  http.target = "http://127.0.0.1:8080/";
  http.transactions = {"upload:1KiB"};
  EXPECT_THAT(ErrorOf(http), HasSubstr("--transaction is for FTP targets"));

  RunOptions scenario;
  scenario.scenario = WriteScenario("bad-target.yaml", kTwoTargets);
  scenario.target = "gopher://127.0.0.1/";
  EXPECT_THAT(ErrorOf(scenario), HasSubstr("--target: "));
}

TEST(BuildScenarioTest, OpenModelOneLineRun) {
  RunOptions options;
  options.target = "ftp://u:p@127.0.0.1:2121/";
  options.transactions = {"upload:1KiB"};
  options.rate = 250;
  options.users = 8;
  absl::StatusOr<v1::Scenario> s = BuildScenario(options);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->has_open());
  EXPECT_EQ(s->open().stages(0).target(), 250);
  EXPECT_EQ(s->open().max_concurrency(), 1000u) << "max(users, 1000) by default";
}

}  // namespace
}  // namespace tpslab::loadgen
