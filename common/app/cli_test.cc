#include "common/app/cli.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/parse/duration.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace tpslab::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::filesystem::path TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") / name;
  std::filesystem::remove_all(path);
  return path;
}

std::string WriteConfig(const std::string& name, const std::string& text) {
  const std::filesystem::path path = TempPath(name);
  std::ofstream(path) << text;
  return path.string();
}

// What a loadgen-like binary would configure.
struct LoadOptions {
  std::chrono::nanoseconds interval = seconds(1);
  uint64_t file_size = 1 << 20;
  parse::Endpoint coordinator;
  parse::Url target;
  int sessions = 10;
};

// A test binary with two commands, "run" (typed options) and "report".
class CliTest : public ::testing::Test {
 protected:
  CliTest() : app_("loadgen", "FTP load generator", "1.2.3") {
    app_.set_init_logging(false);
    CLI::App& run = app_.AddCommand("run", "Run a load test", [this] {
      ran_ = "run";
      return exit_status_;
    });
    AddDuration(run, "--interval", options_.interval, "Reporting interval");
    AddSize(run, "--file-size", options_.file_size, "Bytes per upload");
    AddEndpoint(run, "--coordinator", options_.coordinator, "Analyzer address");
    AddUrl(run, "--target", options_.target, "FTP server and file");
    run.add_option("--sessions", options_.sessions, "Concurrent sessions");
    app_.AddCommand("report", "Print a report", [this] {
      ran_ = "report";
      return 0;
    });
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return app_.Run(std::move(args), out_, err_);
  }

  App app_;
  LoadOptions options_;
  std::string ran_;
  int exit_status_ = 0;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliTest, ParsesTypedOptionsOfTheSelectedCommand) {
  ASSERT_EQ(Run({"run", "--interval", "250ms", "--file-size=1.5KiB", "--coordinator", "[::1]:7000",
                 "--target", "ftp://u:p@host:2121/f.bin", "--sessions", "3"}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(ran_, "run");
  EXPECT_EQ(options_.interval, milliseconds(250));
  EXPECT_EQ(options_.file_size, 1536u);
  EXPECT_EQ(options_.coordinator, (parse::Endpoint{"::1", 7000}));
  EXPECT_EQ(options_.target.host, "host");
  EXPECT_EQ(options_.target.password, "p");
  EXPECT_EQ(options_.target.path, "/f.bin");
  EXPECT_EQ(options_.sessions, 3);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CliTest, DefaultsStayWhenOptionsAreNotGiven) {
  ASSERT_EQ(Run({"run"}), kExitOk) << err_.str();
  EXPECT_EQ(options_.interval, seconds(1));
  EXPECT_EQ(options_.file_size, 1u << 20);
  EXPECT_EQ(options_.sessions, 10);
}

TEST_F(CliTest, DispatchesToTheGivenCommandAndReturnsItsStatus) {
  EXPECT_EQ(Run({"report"}), kExitOk);
  EXPECT_EQ(ran_, "report");
  exit_status_ = kExitFailure;
  EXPECT_EQ(Run({"run"}), kExitFailure);
  EXPECT_EQ(ran_, "run");
}

TEST_F(CliTest, MissingCommandIsAUsageError) {
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_EQ(err_.str(),
            "loadgen: error: missing command; expected one of: run, report\n"
            "Run 'loadgen --help' for usage.\n");
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, HelpExitsZeroAndListsOptions) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("FTP load generator"));
  EXPECT_THAT(out_.str(), HasSubstr("--config FILE"));
  EXPECT_THAT(out_.str(), HasSubstr("--log-level LEVEL=info"));
  EXPECT_THAT(out_.str(), HasSubstr("--log-format FORMAT=text"));
  EXPECT_THAT(out_.str(), HasSubstr("run"));
  EXPECT_THAT(out_.str(), HasSubstr("report"));
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(ran_, "");

  EXPECT_EQ(Run({"run", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("--interval DURATION=1s"));
  EXPECT_THAT(out_.str(), HasSubstr("--file-size SIZE=1MiB"));
  EXPECT_THAT(out_.str(), HasSubstr("--coordinator HOST:PORT"));
  EXPECT_THAT(out_.str(), HasSubstr("--target URL"));
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, VersionExitsZero) {
  EXPECT_EQ(Run({"--version"}), kExitOk);
  EXPECT_EQ(out_.str(), "loadgen 1.2.3\n");
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, UnknownOptionIsNamed) {
  EXPECT_EQ(Run({"run", "--bogus", "1"}), kExitUsage);
  EXPECT_THAT(err_.str(), StartsWith("loadgen: error: "));
  EXPECT_THAT(err_.str(), HasSubstr("--bogus"));
  EXPECT_THAT(err_.str(), HasSubstr("Run 'loadgen run --help' for usage.\n"));
  EXPECT_EQ(ran_, "");

  EXPECT_EQ(Run({"--frobnicate"}), kExitUsage);
  EXPECT_EQ(err_.str(),
            "loadgen: error: The following argument was not expected: --frobnicate\n"
            "Run 'loadgen --help' for usage.\n");
}

TEST_F(CliTest, BadDurationNamesOptionAndProblem) {
  EXPECT_EQ(Run({"run", "--interval", "25x"}), kExitUsage);
  EXPECT_EQ(err_.str(),
            "loadgen: error: --interval: invalid duration '25x': unknown unit 'x' at position 3 "
            "(valid units: ns, us, ms, s, m, h, d)\n"
            "Run 'loadgen run --help' for usage.\n");
  EXPECT_EQ(Run({"run", "--interval=30"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--interval: invalid duration '30': missing unit in '30'"));
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, BadSizeEndpointAndUrlNameTheOption) {
  EXPECT_EQ(Run({"run", "--file-size", "10Mb"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--file-size: invalid size '10Mb': unit 'Mb' ends in a "
                                    "lowercase 'b', which means bits"));
  EXPECT_EQ(Run({"run", "--coordinator", "localhost"}), kExitUsage);
  EXPECT_THAT(err_.str(),
              HasSubstr("--coordinator: invalid endpoint 'localhost': missing port (expected "
                        "HOST:PORT"));
  EXPECT_EQ(Run({"run", "--target", "gopher://h/"}), kExitUsage);
  EXPECT_THAT(err_.str(),
              HasSubstr("--target: invalid URL 'gopher://h/': unknown scheme 'gopher'"));
  EXPECT_EQ(Run({"run", "--interval"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--interval"));
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, ConfigFileFillsOptionsAndCommandLineWins) {
  const std::string config = WriteConfig("precedence.toml",
                                         "# loadgen settings\n"
                                         "log-level = \"debug\"\n"
                                         "[run]\n"
                                         "interval = \"2s\"\n"
                                         "file-size = \"64KiB\"\n"
                                         "coordinator = \"127.0.0.1:7000\"\n"
                                         "target = \"ftp://host/f\"\n"
                                         "sessions = 7\n");
  ASSERT_EQ(Run({"--config", config, "run", "--interval", "500ms", "--sessions=9"}), kExitOk)
      << err_.str();
  EXPECT_EQ(options_.interval, milliseconds(500));  // command line
  EXPECT_EQ(options_.sessions, 9);                  // command line
  EXPECT_EQ(options_.file_size, 64u * 1024);        // file
  EXPECT_EQ(options_.coordinator, (parse::Endpoint{"127.0.0.1", 7000}));
  EXPECT_EQ(options_.target.host, "host");
  EXPECT_EQ(app_.log_options().level, spdlog::level::debug);
}

TEST_F(CliTest, ConfigFlagMayFollowTheCommand) {
  const std::string config = WriteConfig("after.toml", "[run]\ninterval = \"3s\"\n");
  ASSERT_EQ(Run({"run", "--config", config}), kExitOk) << err_.str();
  EXPECT_EQ(options_.interval, seconds(3));
}

TEST_F(CliTest, ConfigUnknownKeyIsNamed) {
  const std::string config = WriteConfig("unknown.toml", "[run]\nintervall = \"3s\"\n");
  EXPECT_EQ(Run({"--config", config, "run"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("loadgen: error: --config '" + config +
                                    "': unknown option 'run.intervall'"));
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, ConfigBadValueNamesTheOption) {
  const std::string config = WriteConfig("bad_value.toml", "[run]\ninterval = \"soon\"\n");
  EXPECT_EQ(Run({"--config", config, "run"}), kExitUsage);
  EXPECT_THAT(err_.str(),
              HasSubstr("--interval: invalid duration 'soon': expected a number at position 1"));
}

TEST_F(CliTest, MissingConfigFileIsAUsageError) {
  EXPECT_EQ(Run({"--config", "/nonexistent/loadgen.toml", "run"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--config: /nonexistent/loadgen.toml was not readable"));
  EXPECT_EQ(ran_, "");
}

TEST_F(CliTest, BadLogLevelIsNamed) {
  EXPECT_EQ(Run({"--log-level", "loud", "run"}), kExitUsage);
  EXPECT_THAT(err_.str(),
              HasSubstr("--log-level: invalid log level 'loud' (valid: trace, debug, info, warn, "
                        "error, critical, off)"));
}

TEST(CliLoggingTest, LoggingFlagsReachInitLogging) {
  const std::filesystem::path log_file = TempPath("cli_logs") / "ftpd.log";
  App app("ftpd", "FTP server", "0.1");
  app.SetMain([] {
    spdlog::debug("debug line");
    spdlog::info("started");
    return kExitOk;
  });
  std::ostringstream out, err;
  // Root options work after the program name and after a command alike.
  ASSERT_EQ(app.Run({"--log-format=json", "--log-level", "debug", "--log-file", log_file.string()},
                    out, err),
            kExitOk)
      << err.str();
  std::ifstream in(log_file);
  std::string first, second;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_EQ(nlohmann::json::parse(first)["msg"], "debug line");
  EXPECT_EQ(nlohmann::json::parse(first)["logger"], "ftpd");
  EXPECT_EQ(nlohmann::json::parse(second)["level"], "info");
  EXPECT_EQ(app.log_options().format, LogFormat::kJson);
}

TEST(CliLoggingTest, UnopenableLogFileIsAUsageError) {
  const std::filesystem::path blocker = TempPath("blocker");
  std::ofstream(blocker.string()) << "file, not a directory";
  App app("ftpd", "FTP server", "0.1");
  app.SetMain([] { return kExitOk; });
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({"--log-file", (blocker / "x.log").string()}, out, err), kExitUsage);
  EXPECT_THAT(err.str(), StartsWith("ftpd: error: --log-file: cannot open log file"));
}

TEST(CliMainTest, BinaryWithoutCommandsRunsMain) {
  App app("analyzer", "Run analyzer", "0.1");
  app.set_init_logging(false);
  std::chrono::nanoseconds window = seconds(10);
  AddDuration(app.root(), "--window", window, "Aggregation window");
  bool ran = false;
  app.SetMain([&] {
    ran = true;
    return kExitOk;
  });
  std::ostringstream out, err;
  ASSERT_EQ(app.Run({"--window", "1m30s"}, out, err), kExitOk) << err.str();
  EXPECT_TRUE(ran);
  EXPECT_EQ(window, seconds(90));
  EXPECT_EQ(parse::FormatDuration(window), "1m30s");
}

TEST(CliMainTest, RequiredOptionAndStrayArgument) {
  App app("monitor", "Host monitor", "0.1");
  app.set_init_logging(false);
  parse::Endpoint listen;
  AddEndpoint(app.root(), "--listen", listen, "Metrics address")->required();
  app.SetMain([] { return kExitOk; });
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({}, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--listen is required"));
  EXPECT_EQ(app.Run({"--listen", ":9100", "extra"}, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("extra"));
}

TEST(CliMainTest, ExceptionFromCommandIsAFailure) {
  App app("analyzer", "Run analyzer", "0.1");
  app.set_init_logging(false);
  app.SetMain([]() -> int { throw std::runtime_error("database is locked"); });
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({}, out, err), kExitFailure);
  EXPECT_THAT(err.str(), Not(HasSubstr("usage")));
}

TEST(CliMainTest, NestedCommandGroupRequiresASubcommand) {
  App app("analyzer", "Run analyzer", "0.1");
  app.set_init_logging(false);
  std::string ran;
  CLI::App& db = app.AddCommand("db", "Database maintenance", nullptr);
  app.AddCommand(db, "vacuum", "Compact the database", [&] {
    ran = "vacuum";
    return kExitOk;
  });
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({"db", "vacuum"}, out, err), kExitOk) << err.str();
  EXPECT_EQ(ran, "vacuum");
}

TEST(CliMainTest, NestedCommandGroupWithoutSubcommand) {
  App app("analyzer", "Run analyzer", "0.1");
  app.set_init_logging(false);
  CLI::App& db = app.AddCommand("db", "Database maintenance", nullptr);
  app.AddCommand(db, "vacuum", "Compact the database", [] { return kExitOk; });
  std::ostringstream out, err;
  EXPECT_EQ(app.Run({"db"}, out, err), kExitUsage);
  EXPECT_EQ(err.str(),
            "analyzer: error: missing command; expected one of: vacuum\n"
            "Run 'analyzer db --help' for usage.\n");
}

}  // namespace
}  // namespace tpslab::app
