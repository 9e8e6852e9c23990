#include "common/app/logging.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace tpslab::app {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::filesystem::path TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path path = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") / name;
  std::filesystem::remove_all(path);
  return path;
}

std::vector<std::string> ReadLines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ParseLogLevelTest, NamesAndAliases) {
  EXPECT_EQ(*ParseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(*ParseLogLevel("DEBUG"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("Warning"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("err"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("critical"), spdlog::level::critical);
  EXPECT_EQ(*ParseLogLevel("off"), spdlog::level::off);
  EXPECT_EQ(LogLevelName(spdlog::level::warn), "warning");
}

TEST(ParseLogLevelTest, ErrorListsValidNames) {
  absl::StatusOr<spdlog::level::level_enum> level = ParseLogLevel("verbose");
  EXPECT_EQ(level.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(level.status().message(),
            "invalid log level 'verbose' (valid: trace, debug, info, warn, error, critical, off)");
  EXPECT_THAT(ParseLogLevel("").status().message(), HasSubstr("invalid log level ''"));
}

TEST(ParseLogFormatTest, TextAndJson) {
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(*ParseLogFormat("JSON"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("xml").status().message(),
            "invalid log format 'xml' (valid: text, json)");
  EXPECT_EQ(LogFormatName(LogFormat::kJson), "json");
}

TEST(JsonEscapeTest, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("plain text / slash"), "plain text / slash");
  EXPECT_EQ(JsonEscape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(JsonEscape("C:\\dir\\"), "C:\\\\dir\\\\");
  EXPECT_EQ(JsonEscape("\b\f\n\r\t"), "\\b\\f\\n\\r\\t");
  EXPECT_EQ(JsonEscape(std::string("a\0b", 3)), "a\\u0000b");
  EXPECT_EQ(JsonEscape("\x01\x1f\x7f"), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(JsonEscape(""), "");
}

TEST(JsonEscapeTest, ValidUtf8PassesThrough) {
  EXPECT_EQ(JsonEscape("caf\xc3\xa9"), "caf\xc3\xa9");                            // é, 2 bytes
  EXPECT_EQ(JsonEscape("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac");  // 日本
  EXPECT_EQ(JsonEscape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // U+1F600, 4 bytes
  EXPECT_EQ(JsonEscape("\xef\xbf\xbf"), "\xef\xbf\xbf");          // U+FFFF
  EXPECT_EQ(JsonEscape("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF
  EXPECT_EQ(JsonEscape("\xe2\x80\xa8"), "\xe2\x80\xa8");          // U+2028 is valid JSON
}

TEST(JsonEscapeTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(JsonEscape("a\xff"
                       "b"),
            "a\\ufffdb");                      // Never valid in UTF-8.
  EXPECT_EQ(JsonEscape("\x80"), "\\ufffd");    // Stray continuation byte.
  EXPECT_EQ(JsonEscape("x\xc3"), "x\\ufffd");  // Truncated at the end.
  EXPECT_EQ(JsonEscape("\xe6\x97"
                       "a"),
            "\\ufffda");                                // One U+FFFD per maximal subpart.
  EXPECT_EQ(JsonEscape("\xc0\x80"), "\\ufffd\\ufffd");  // Overlong NUL.
  EXPECT_EQ(JsonEscape("\xe0\x80\x80"), "\\ufffd\\ufffd\\ufffd");  // Overlong 3-byte form.
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // UTF-16 surrogate.
  EXPECT_EQ(JsonEscape("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // Above U+10FFFF.
  EXPECT_EQ(JsonEscape("\xf0\x9f\x98"
                       "\""),
            "\\ufffd\\\"");  // Truncated 4-byte, then a quote.
}

spdlog::details::log_msg Message(std::chrono::system_clock::time_point time,
                                 spdlog::source_loc source, spdlog::level::level_enum level,
                                 std::string_view text) {
  spdlog::details::log_msg msg(time, source, "ftpd", level,
                               spdlog::string_view_t(text.data(), text.size()));
  msg.thread_id = 4711;
  return msg;
}

std::string Format(const spdlog::details::log_msg& msg) {
  JsonFormatter formatter;
  spdlog::memory_buf_t buffer;
  formatter.format(msg, buffer);
  return std::string(buffer.data(), buffer.size());
}

std::chrono::system_clock::time_point May1st() {
  // 2024-05-01T12:34:56.123456Z
  return std::chrono::system_clock::time_point(std::chrono::seconds(1714566896) +
                                               std::chrono::microseconds(123456));
}

TEST(JsonFormatterTest, ExactLine) {
  EXPECT_EQ(Format(Message(May1st(), {}, spdlog::level::warn, "say \"hi\"\n\tbye \\ caf\xc3\xa9")),
            "{\"ts\":\"2024-05-01T12:34:56.123456Z\",\"level\":\"warning\",\"logger\":\"ftpd\","
            "\"thread\":4711,\"msg\":\"say \\\"hi\\\"\\n\\tbye \\\\ caf\xc3\xa9\"}\n");
}

TEST(JsonFormatterTest, SourceLocationAndPreEpochTime) {
  const auto before_epoch = std::chrono::system_clock::time_point(std::chrono::microseconds(-1));
  EXPECT_EQ(Format(Message(before_epoch, spdlog::source_loc("common/a.cc", 12, "f"),
                           spdlog::level::info, "x")),
            "{\"ts\":\"1969-12-31T23:59:59.999999Z\",\"level\":\"info\",\"logger\":\"ftpd\","
            "\"thread\":4711,\"msg\":\"x\",\"source\":\"common/a.cc:12\"}\n");
}

TEST(JsonFormatterTest, EveryLineIsValidJson) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const std::string line = Format(Message(May1st(), {}, spdlog::level::err, all_bytes));
  ASSERT_EQ(line.back(), '\n');
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["msg"].get<std::string>().substr(0, 4), std::string("\0\x01\x02\x03", 4));
}

TEST(InitLoggingTest, JsonLinesToFile) {
  const std::filesystem::path file = TempPath("json_logs") / "sub" / "app.log";
  LogOptions options;
  options.logger_name = "monitor";
  options.format = LogFormat::kJson;
  options.file = file.string();
  options.level = spdlog::level::info;
  ASSERT_TRUE(InitLogging(options).ok());

  spdlog::info("sampling every {}", "1s");
  spdlog::debug("dropped below the level");
  GetLogger("monitor.proc")->warn("cannot read \"{}\"", "/proc/1/stat");

  const std::vector<std::string> lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 2u);
  const nlohmann::json first = nlohmann::json::parse(lines[0]);
  EXPECT_THAT(first["ts"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["logger"], "monitor");
  EXPECT_EQ(first["msg"], "sampling every 1s");
  EXPECT_TRUE(first["thread"].is_number_unsigned());
  const nlohmann::json second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["logger"], "monitor.proc");
  EXPECT_EQ(second["msg"], "cannot read \"/proc/1/stat\"");
}

TEST(InitLoggingTest, TextLinesAndReinitRedirectsExistingLoggers) {
  const std::filesystem::path dir = TempPath("text_logs");
  std::filesystem::create_directories(dir);
  std::shared_ptr<spdlog::logger> component = GetLogger("component");

  LogOptions options;
  options.logger_name = "ftpd";
  options.file = (dir / "ftpd.log").string();
  options.level = spdlog::level::debug;
  ASSERT_TRUE(InitLogging(options).ok());
  spdlog::debug("listening on {}", ":2121");
  component->info("ready");

  const std::vector<std::string> lines = ReadLines(dir / "ftpd.log");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
                                     "[0-9]{6}Z debug ftpd \\[[0-9]+\\] listening on :2121"));
  EXPECT_THAT(lines[1], MatchesRegex(".*Z info component \\[[0-9]+\\] ready"));
}

TEST(InitLoggingTest, UnopenableFileIsAnError) {
  const std::filesystem::path dir = TempPath("not_a_dir");
  std::filesystem::create_directories(dir.parent_path());
  std::ofstream(dir.string()) << "a regular file";
  LogOptions options;
  options.file = (dir / "app.log").string();
  const absl::Status status = InitLogging(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot open log file '" + (dir / "app.log").string() + "'"));
}

TEST(InitLoggingTest, ConcurrentWritersProduceWholeLines) {
  const std::filesystem::path file = TempPath("concurrent") / "app.log";
  LogOptions options;
  options.format = LogFormat::kJson;
  options.file = file.string();
  ASSERT_TRUE(InitLogging(options).ok());

  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) spdlog::info("thread {} line {} \"quoted\"", t, i);
    });
  }
  for (std::thread& thread : threads) thread.join();

  const std::vector<std::string> lines = ReadLines(file);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  for (const std::string& line : lines) {
    const nlohmann::json parsed = nlohmann::json::parse(line);
    EXPECT_THAT(parsed["msg"].get<std::string>(), HasSubstr("\"quoted\""));
  }
}

}  // namespace
}  // namespace tpslab::app
