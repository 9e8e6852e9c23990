#include "monitor/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "common/parse/url.h"

namespace tpslab::monitor {
namespace {

using ::testing::HasSubstr;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = MetricsServer::Start(io_, {"127.0.0.1", 0}, [] { return "up 1\n"; });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->Stop();
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  parse::Url Url(const std::string& path) {
    return *parse::ParseUrl("http://" + server_->address() + path);
  }
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<MetricsServer> server_;
  std::thread thread_;
};

TEST_F(HttpTest, ServesMetricsAndRefusesOtherPaths) {
  EXPECT_THAT(server_->address(), ::testing::StartsWith("127.0.0.1:"));
  absl::StatusOr<std::string> body = HttpGet(Url("/metrics"), std::chrono::seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "up 1\n");
  absl::StatusOr<std::string> missing = HttpGet(Url("/nope"), std::chrono::seconds(5));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("HTTP 404"));
  EXPECT_EQ(server_->requests(), 2u);
}

TEST(HttpGetTest, ErrorsAreSpecific) {
  // A port nothing listens on.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const int port = probe.local_endpoint().port();
  probe.close();
  absl::StatusOr<std::string> refused =
      HttpGet(*parse::ParseUrl("http://127.0.0.1:" + std::to_string(port) + "/metrics"),
              std::chrono::seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("refused"));

  // A listener that never answers.
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  absl::StatusOr<std::string> timed_out = HttpGet(
      *parse::ParseUrl("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/"),
      std::chrono::milliseconds(200));
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded);

  EXPECT_EQ(
      HttpGet(*parse::ParseUrl("https://127.0.0.1/"), std::chrono::seconds(1)).status().code(),
      absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace tpslab::monitor
