#include "loadgen/testing/http_test_server.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace tpslab::loadgen::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A blocking client connection to `server`.
tcp::socket Connect(asio::io_context& context, const HttpTestServer& server) {
  tcp::socket socket(context);
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server.port()));
  return socket;
}

// Reads one response's worth of bytes (responses all have the same length).
std::string ReadResponse(tcp::socket& socket) {
  std::string response(HttpTestServer::kResponse.size(), '\0');
  asio::read(socket, asio::buffer(response));
  return response;
}

// Waits until `server` has received `n` requests (at most 20 s).
bool WaitForRequests(const HttpTestServer& server, uint64_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.requests() < n) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(HttpTestServerTest, AnswersEveryRequestOnKeepAliveConnections) {
  HttpTestServer server;
  asio::io_context context;
  tcp::socket first = Connect(context, server);
  for (int i = 0; i < 2; ++i) {
    asio::write(first, asio::buffer(kGet));
    EXPECT_EQ(ReadResponse(first), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  }
  tcp::socket second = Connect(context, server);
  asio::write(second, asio::buffer(kGet));
  EXPECT_EQ(ReadResponse(second), HttpTestServer::kResponse);
  EXPECT_EQ(server.requests(), 3u);
}

TEST(HttpTestServerTest, HoldsOnlyTheChosenResponseAndStopsInTheMiddleOfTheStall) {
  auto server = std::make_unique<HttpTestServer>(
      HttpTestServerOptions{.stall_request = 2, .stall = std::chrono::hours(1)});
  asio::io_context context;
  tcp::socket stalled = Connect(context, *server);
  asio::write(stalled, asio::buffer(kGet));
  EXPECT_EQ(ReadResponse(stalled), HttpTestServer::kResponse);
  asio::write(stalled, asio::buffer(kGet));  // Request 2: held for an hour.
  ASSERT_TRUE(WaitForRequests(*server, 2));

  tcp::socket other = Connect(context, *server);
  asio::write(other, asio::buffer(kGet));  // Request 3: answered right away.
  EXPECT_EQ(ReadResponse(other), HttpTestServer::kResponse);
  EXPECT_EQ(server->requests(), 3u);
  EXPECT_EQ(stalled.available(), 0u);

  // The server does not wait out the stall: it closes the held connection.
  server.reset();
  std::string rest(16, '\0');
  boost::system::error_code ec;
  const size_t n = asio::read(stalled, asio::buffer(rest), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_EQ(n, 0u);
}

TEST(HttpTestServerTest, AnswersTheHeldRequestAfterTheStall) {
  const auto stall = std::chrono::milliseconds(100);
  HttpTestServer server({.stall_request = 1, .stall = stall});
  asio::io_context context;
  tcp::socket socket = Connect(context, server);
  const auto sent = std::chrono::steady_clock::now();
  asio::write(socket, asio::buffer(kGet));
  EXPECT_EQ(ReadResponse(socket), HttpTestServer::kResponse);
  // A lower bound only, which the server's timer guarantees.
  EXPECT_GE(std::chrono::steady_clock::now() - sent, stall);
  asio::write(socket, asio::buffer(kGet));
  EXPECT_EQ(ReadResponse(socket), HttpTestServer::kResponse);
  EXPECT_EQ(server.requests(), 2u);
}

}  // namespace
}  // namespace tpslab::loadgen::testing
