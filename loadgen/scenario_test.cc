#include "loadgen/scenario.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tpslab::loadgen {
namespace {

using ::testing::HasSubstr;

// A valid scenario; the invalid cases below each change one line of it.
constexpr char kBase[] = R"(name: t
targets:
  - url: ftp://u:p@127.0.0.1:2121/
transactions:
  - name: upload
    steps:
      - connect
      - login
      - upload: {path: x, size: 1KiB}
      - quit
load:
  closed:
    - {users: 4, ramp: 1s, hold: 2s}
)";

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<v1::Scenario> s = ParseScenario(text, "scenario.yaml");
  EXPECT_FALSE(s.ok()) << "parsed:\n" << text;
  return s.ok() ? "" : std::string(s.status().message());
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(ScenarioTest, ParsesMinimalScenario) {
  absl::StatusOr<v1::Scenario> s = ParseScenario(kBase, "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name(), "t");
  EXPECT_EQ(s->source(), "scenario.yaml");
  ASSERT_EQ(s->targets_size(), 1);
  EXPECT_EQ(s->targets(0).name(), "default");
  ASSERT_EQ(s->transactions_size(), 1);
  const v1::Transaction& tx = s->transactions(0);
  EXPECT_EQ(tx.weight(), 1u);
  ASSERT_EQ(tx.steps_size(), 4);
  EXPECT_EQ(tx.steps(0).ftp().op(), v1::FtpStep::OP_CONNECT);
  EXPECT_EQ(tx.steps(0).name(), "connect");
  EXPECT_EQ(tx.steps(2).ftp().op(), v1::FtpStep::OP_UPLOAD);
  EXPECT_EQ(tx.steps(2).ftp().size_bytes(), 1024u);
  EXPECT_EQ(tx.steps(2).ftp().path(), "x");
  ASSERT_TRUE(s->has_closed());
  ASSERT_EQ(s->closed().stages_size(), 1);
  EXPECT_EQ(s->closed().stages(0).target(), 4);
  EXPECT_EQ(s->closed().stages(0).duration().seconds(), 1);
  EXPECT_EQ(s->closed().stages(0).hold().seconds(), 2);
}

TEST(ScenarioTest, JsonIsAccepted) {
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      R"({"targets": [{"name": "web", "url": "http://127.0.0.1:8080/"}],
          "transactions": [{"name": "get", "steps": [{"http": {"path": "/a", "expect_status": 204,
                            "keep_alive": false, "headers": {"X-A": "1"}}}]}],
          "load": {"open": {"max_concurrency": 8, "stages": [{"rate": 100, "hold": "5s"}]}},
          "thresholds": ["p99(get) < 5ms"]})",
      "s.json");
  ASSERT_TRUE(s.ok()) << s.status();
  const v1::HttpStep& http = s->transactions(0).steps(0).http();
  EXPECT_EQ(http.method(), "GET");
  EXPECT_EQ(http.path(), "/a");
  EXPECT_EQ(http.expect_status(), 204u);
  EXPECT_FALSE(http.keep_alive());
  EXPECT_EQ(http.headers().at("X-A"), "1");
  EXPECT_EQ(s->open().max_concurrency(), 8u);
  EXPECT_EQ(s->open().stages(0).target(), 100);
  EXPECT_EQ(s->thresholds(0).expression(), "p99(get) < 5ms");
}

TEST(ScenarioTest, RepeatedStepsGetDistinctNames) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(Replace(kBase, "      - quit\n", "      - noop\n      - noop\n      - quit\n"),
                    "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->transactions(0).steps(3).name(), "noop");
  EXPECT_EQ(s->transactions(0).steps(4).name(), "noop_2");
}

TEST(ScenarioTest, ReadyScenariosParse) {
  for (const char* file : {"loadgen/scenarios/ftp_upload_knee.yaml",
                           "loadgen/scenarios/ftp_mixed.yaml", "loadgen/scenarios/http_get.yaml"}) {
    absl::StatusOr<v1::Scenario> s = LoadScenarioFile(file);
    ASSERT_TRUE(s.ok()) << s.status();
  }
  absl::StatusOr<v1::Scenario> mixed = LoadScenarioFile("loadgen/scenarios/ftp_mixed.yaml");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->data().lines_size(), 3);
  absl::StatusOr<DataTable> table = ParseDataTable(mixed->data());
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->columns, ::testing::ElementsAre("user", "password", "dir"));
  EXPECT_EQ(table->rows[1][0], "bob");
  const v1::Step& think = mixed->transactions(0).steps(5);
  EXPECT_EQ(think.think().distribution(), v1::ThinkTime::DISTRIBUTION_EXPONENTIAL);
  EXPECT_EQ(think.think().mean().nanos(), 50'000'000);
  EXPECT_EQ(mixed->transactions(0).steps(4).name(), "fetch");
  EXPECT_EQ(mixed->transactions(0).steps(4).ftp().data_mode(), v1::DATA_MODE_PASV);
  EXPECT_EQ(mixed->transactions(1).steps(4).ftp().expect_code(), 213u);
  EXPECT_EQ(mixed->transactions(2).steps(2).rendezvous().users(), 4u);
}

TEST(ScenarioTest, BadSizeNamesFileLineColumnAndField) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "size: 1KiB", "size: 1KX")),
              HasSubstr("scenario.yaml:9:33: transactions[0].steps[2].upload.size: invalid size "
                        "'1KX': unknown unit"));
}

TEST(ScenarioTest, BadDuration) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "ramp: 1s", "ramp: 1x")),
              HasSubstr("scenario.yaml:13:24: load.closed[0].ramp: invalid duration '1x'"));
}

TEST(ScenarioTest, UnknownStep) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "- login", "- logon")),
              HasSubstr("scenario.yaml:8:9: transactions[0].steps[1]: unknown step 'logon'"));
}

TEST(ScenarioTest, UnknownField) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "size: 1KiB", "sise: 1KiB")),
              HasSubstr("scenario.yaml:9:27: transactions[0].steps[2].upload.sise: unknown field "
                        "'sise' (expected one of: path, to, size, file, expect_size, mode, "
                        "expect)"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "name: t\n", "nmae: t\n")),
              HasSubstr("scenario.yaml:1:1: nmae: unknown field 'nmae'"));
}

TEST(ScenarioTest, MissingFields) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "{path: x, size: 1KiB}", "{path: x}")),
              HasSubstr("scenario.yaml:9:17: transactions[0].steps[2].upload.size: missing (give "
                        "size or file)"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n", "  - name: x\n")),
              HasSubstr("scenario.yaml:3:5: targets[0].url: missing"));
  EXPECT_THAT(
      ErrorOf(Replace(kBase, "load:\n  closed:\n    - {users: 4, ramp: 1s, hold: 2s}\n", "")),
      HasSubstr("load: missing (closed or open load model)"));
}

TEST(ScenarioTest, BadUrl) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "127.0.0.1:2121", "127.0.0.1:99999")),
              HasSubstr("scenario.yaml:3:10: targets[0].url: invalid URL"));
}

TEST(ScenarioTest, UrlFragmentIsRejected) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "127.0.0.1:2121/", "127.0.0.1:2121/#top")),
              HasSubstr("scenario.yaml:3:10: targets[0].url: URL fragment '#top' has no meaning "
                        "to loadgen: remove it (TLS options go in the target's tls: block)"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "127.0.0.1:2121/", "127.0.0.1:2121/#")),
              HasSubstr("scenario.yaml:3:10: targets[0].url: URL fragment '#' has no meaning"));
  // The fragment that used to carry TLS options is no exception.
  EXPECT_THAT(ErrorOf(Replace(kBase, "ftp://u:p@127.0.0.1:2121/",
                              "ftps://u:p@127.0.0.1:2121/#tls-ca=ca.pem")),
              HasSubstr("scenario.yaml:3:10: targets[0].url: URL fragment '#tls-ca=ca.pem' has no "
                        "meaning to loadgen"));
  // An encoded '#' is part of the password, not a fragment.
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(Replace(kBase, "ftp://u:p@", "ftp://u:p%23q@"), "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets(0).url(), "ftp://u:p%23q@127.0.0.1:2121/");
}

TEST(ScenarioTest, TlsTargetsVerifyByDefault) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(Replace(kBase, "ftp://u:p", "ftps://u:p"), "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets(0).url(), "ftps://u:p@127.0.0.1:2121/");
  // No tls message: every field's default, verification on.
  EXPECT_FALSE(s->targets(0).has_tls());
  EXPECT_FALSE(s->targets(0).tls().insecure());
  s = ParseScenario(kBase, "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->targets(0).has_tls());
}

TEST(ScenarioTest, TlsOptionsTravelInTheTarget) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                            "  - url: ftps://u:p@127.0.0.1:2121/\n"
                            "    tls: {verify: true, ca: certs/ca.pem, server_name: ftp.test}\n"),
                    "dir/scenario.yaml", "dir");
  ASSERT_TRUE(s.ok()) << s.status();
  const v1::Target& target = s->targets(0);
  EXPECT_EQ(target.url(), "ftps://u:p@127.0.0.1:2121/");
  ASSERT_TRUE(target.has_tls());
  EXPECT_FALSE(target.tls().insecure());
  EXPECT_EQ(target.tls().ca_file(), "dir/certs/ca.pem");
  EXPECT_EQ(target.tls().server_name(), "ftp.test");
  EXPECT_TRUE(ValidateScenario(*s).ok());
  v1::Scenario received;
  ASSERT_TRUE(received.ParseFromString(s->SerializeAsString()));
  EXPECT_EQ(received.targets(0).tls().ca_file(), "dir/certs/ca.pem");
  EXPECT_EQ(received.targets(0).tls().server_name(), "ftp.test");

  s = ParseScenario(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                            "  - url: ftps://u:p@127.0.0.1:2121/\n    tls: {verify: false}\n"),
                    "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->targets(0).tls().insecure());
  EXPECT_EQ(s->targets(0).tls().ca_file(), "");
  EXPECT_EQ(s->targets(0).tls().server_name(), "");
  EXPECT_EQ(s->targets(0).url(), "ftps://u:p@127.0.0.1:2121/");
}

TEST(ScenarioTest, VerifyTlsIsAnAliasOfTlsVerify) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenario(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                            "  - url: ftps://u:p@127.0.0.1:2121/\n    verify_tls: false\n"),
                    "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->targets(0).tls().insecure());
  // tls.verify is read after verify_tls and wins.
  s = ParseScenario(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                            "  - url: ftps://u:p@127.0.0.1:2121/\n    verify_tls: false\n"
                            "    tls: {verify: true}\n"),
                    "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->targets(0).tls().insecure());
  // Without TLS it means nothing and is not recorded.
  s = ParseScenario(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                            "  - url: ftp://u:p@127.0.0.1:2121/\n    verify_tls: false\n"),
                    "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->targets(0).has_tls());
  EXPECT_THAT(ErrorOf(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                              "  - url: ftps://u:p@127.0.0.1:2121/\n    verify_tls: perhaps\n")),
              HasSubstr("scenario.yaml:4:17: targets[0].verify_tls: invalid boolean 'perhaps'"));
}

TEST(ScenarioTest, HttpsTargetRunsHttpSteps) {
  const std::string text = R"(targets: [{url: "https://127.0.0.1:8443/", tls: {ca: /ca.pem}}]
transactions: [{name: get, steps: [{http: /}]}]
load: {closed: [{users: 1, hold: 1s}]}
)";
  absl::StatusOr<v1::Scenario> s = ParseScenario(text, "scenario.yaml", "dir");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->targets(0).url(), "https://127.0.0.1:8443/");
  EXPECT_EQ(s->targets(0).tls().ca_file(), "/ca.pem");  // Absolute: not made relative to dir.
  EXPECT_FALSE(s->targets(0).tls().insecure());
}

TEST(ScenarioTest, JsonTlsBlock) {
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      R"({"targets": [{"url": "https://127.0.0.1:8443/",
                       "tls": {"verify": false, "ca": "ca.pem", "server_name": "web.test"}}],
          "transactions": [{"name": "get", "steps": [{"http": "/"}]}],
          "load": {"closed": [{"users": 1, "hold": "1s"}]}})",
      "s.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->targets(0).tls().insecure());
  EXPECT_EQ(s->targets(0).tls().ca_file(), "ca.pem");
  EXPECT_EQ(s->targets(0).tls().server_name(), "web.test");
}

TEST(ScenarioTest, BadTlsOptions) {
  const std::string tls_target = "  - url: ftps://u:p@127.0.0.1:2121/\n    tls: ";
  auto with_tls = [&](const std::string& tls) {
    return Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n", tls_target + tls + "\n");
  };
  EXPECT_THAT(ErrorOf(with_tls("{verify: maybe}")),
              HasSubstr("scenario.yaml:4:19: targets[0].tls.verify: invalid boolean 'maybe'"));
  EXPECT_THAT(ErrorOf(with_tls("{cert: x.pem}")),
              HasSubstr("scenario.yaml:4:11: targets[0].tls.cert: unknown field 'cert' (expected "
                        "one of: verify, ca, server_name)"));
  EXPECT_THAT(ErrorOf(with_tls("yes")),
              HasSubstr("scenario.yaml:4:10: targets[0].tls: expected a map"));
  EXPECT_THAT(ErrorOf(with_tls("{ca: ''}")),
              HasSubstr("scenario.yaml:4:15: targets[0].tls.ca: must not be empty"));
  EXPECT_THAT(ErrorOf(with_tls("{ca: [a, b]}")),
              HasSubstr("scenario.yaml:4:15: targets[0].tls.ca: expected a single value"));
  EXPECT_THAT(ErrorOf(with_tls("{server_name: ''}")),
              HasSubstr("scenario.yaml:4:24: targets[0].tls.server_name: must not be empty"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "  - url: ftp://u:p@127.0.0.1:2121/\n",
                              "  - url: ftp://u:p@127.0.0.1:2121/\n    tls: {verify: false}\n")),
              HasSubstr("scenario.yaml:4:10: targets[0].tls: TLS options need an ftps:// or "
                        "https:// URL, not ftp://"));
}

TEST(ScenarioTest, ValidateChecksTargetUrlAndTls) {
  absl::StatusOr<v1::Scenario> s = ParseScenario(kBase, "scenario.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  v1::Target& target = *s->mutable_targets(0);
  target.set_url("ftps://u:p@127.0.0.1:2121/#tls-key=k.pem");
  EXPECT_THAT(std::string(ValidateScenario(*s).message()),
              HasSubstr("target 'default': URL fragment '#tls-key=k.pem' has no meaning to "
                        "loadgen"));
  target.set_url("ftp://u:p@127.0.0.1:2121/");
  target.mutable_tls()->set_ca_file("ca.pem");
  EXPECT_THAT(std::string(ValidateScenario(*s).message()),
              HasSubstr("target 'default': TLS options need an ftps:// or https:// URL, not "
                        "ftp://"));
  target.set_url("ftps://u:p@127.0.0.1:2121/");
  EXPECT_TRUE(ValidateScenario(*s).ok());
}

TEST(ScenarioTest, ParseTargetUrl) {
  absl::StatusOr<parse::Url> url = ParseTargetUrl("https://h.test:8443/a?b=c");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->query, "b=c");
  EXPECT_EQ(ParseTargetUrl("https://h.test/a?b#c").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ParseTargetUrl("https://h.test/a?b#c").status().message()),
              HasSubstr("URL fragment '#c' has no meaning to loadgen"));
  EXPECT_THAT(std::string(ParseTargetUrl("gopher://h/#x").status().message()),
              HasSubstr("unknown scheme 'gopher'"));
}

TEST(ScenarioTest, ProtocolMismatch) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "      - quit\n", "      - http: /\n")),
              HasSubstr("scenario.yaml:10:9: transactions[0].steps[3]: an HTTP step cannot run "
                        "against target 'default'"));
}

TEST(ScenarioTest, UnknownStepTarget) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "      - quit\n", "      - {quit: , target: web}\n")),
              HasSubstr("transactions[0].steps[3].target: unknown target 'web' (targets: "
                        "default)"));
}

TEST(ScenarioTest, BadThreshold) {
  EXPECT_THAT(ErrorOf(std::string(kBase) + "thresholds:\n  - p99(upload) ~ 5ms\n"),
              HasSubstr("scenario.yaml:15:5: thresholds[0]: invalid threshold 'p99(upload) ~ "
                        "5ms': expected a comparison"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "thresholds:\n  - p99(uplaod) < 5ms\n"),
              HasSubstr("scenario.yaml:15:5: thresholds[0]: 'uplaod' is neither a transaction "
                        "nor a step"));
  absl::StatusOr<v1::Scenario> s = ParseScenario(
      std::string(kBase) + "thresholds:\n  - p99(upload/upload) < 5ms\n", "scenario.yaml");
  EXPECT_TRUE(s.ok()) << s.status();
}

TEST(ScenarioTest, BadThinkAndMode) {
  EXPECT_THAT(
      ErrorOf(Replace(kBase, "      - quit\n", "      - think: {distribution: gauss, mean: 1s}\n")),
      HasSubstr("transactions[0].steps[3].think.distribution: unknown distribution 'gauss'"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "      - quit\n",
                              "      - think: {distribution: uniform, min: 2s, max: 1s}\n")),
              HasSubstr("transactions[0].steps[3].think.min: is greater than max"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "size: 1KiB", "size: 1KiB, mode: active")),
              HasSubstr("transactions[0].steps[2].upload.mode: unknown data mode 'active'"));
}

TEST(ScenarioTest, BadLoadModel) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "users: 4", "users: many")),
              HasSubstr("scenario.yaml:13:15: load.closed[0].users: invalid number 'many'"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "{users: 4, ramp: 1s, hold: 2s}", "{users: 4}")),
              HasSubstr("load.closed[0]: stage lasts 0s"));
  EXPECT_THAT(ErrorOf(Replace(kBase, "  closed:\n    - {users: 4, ramp: 1s, hold: 2s}\n",
                              "  open: {stages: [{rate: 5, hold: 1s}], max_concurrency: 0}\n")),
              HasSubstr("load.open.max_concurrency: must be >= 1"));
}

TEST(ScenarioTest, DuplicateNames) {
  EXPECT_THAT(ErrorOf(Replace(kBase, "\nload:", R"(
  - name: upload
    steps: [noop]
load:)")),
              HasSubstr("transactions[1].name: duplicate transaction name 'upload'"));
}

TEST(ScenarioTest, YamlSyntaxErrorHasPosition) {
  EXPECT_THAT(ErrorOf("targets: [a\n"), HasSubstr("scenario.yaml:2:1: "));
}

TEST(ScenarioTest, BadCsvData) {
  EXPECT_THAT(ErrorOf(std::string(kBase) + "data: {lines: [\"user,password\", \"a\"]}\n"),
              HasSubstr("scenario.yaml:14:7: data: CSV line 2: 1 fields, the header has 2"));
  EXPECT_THAT(ErrorOf(std::string(kBase) + "data: missing.csv\n"),
              HasSubstr("data: cannot read data file 'missing.csv'"));
}

TEST(ScenarioTest, MissingFileIsNotFound) {
  absl::StatusOr<v1::Scenario> s = LoadScenarioFile("/nonexistent/s.yaml");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("cannot read scenario '/nonexistent/s.yaml'"));
}

}  // namespace
}  // namespace tpslab::loadgen
