#include "loadgen/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include "common/net/test_util.h"

namespace tpslab::loadgen {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(HttpClientTest, ParsesHead) {
  std::string error;
  std::optional<HttpResponseHead> h = ParseResponseHead(
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nbody", &error);
  ASSERT_TRUE(h.has_value()) << error;
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->content_length, 12u);
  EXPECT_FALSE(h->chunked);
  EXPECT_FALSE(h->close);
  EXPECT_EQ(h->head_bytes, 63u);

  h = ParseResponseHead("HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n", &error);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->status, 404);
  EXPECT_TRUE(h->chunked);

  h = ParseResponseHead("HTTP/1.0 200 OK\r\n\r\n", &error);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->close);

  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-", &error).has_value());
  EXPECT_TRUE(error.empty());
}

TEST(HttpClientTest, RejectsMalformedHead) {
  std::string error;
  EXPECT_FALSE(ParseResponseHead("SMTP 220 hello\r\n\r\n", &error).has_value());
  EXPECT_EQ(error, "malformed status line 'SMTP 220 hello'");
  error.clear();
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", &error));
  EXPECT_EQ(error, "malformed Content-Length 'x'");
}

TEST(HttpClientTest, BuildsRequest) {
  EXPECT_EQ(HttpClient::BuildRequest("GET", "/a", "h:80", {}, "", true),
            "GET /a HTTP/1.1\r\nHost: h:80\r\n\r\n");
  EXPECT_EQ(HttpClient::BuildRequest("POST", "/p", "h:80", {{"X-A", "1"}}, "hi", false),
            "POST /p HTTP/1.1\r\nHost: h:80\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: "
            "close\r\n\r\nhi");
}

// Serves canned responses, one per request, on one connection.
asio::awaitable<void> Serve(tcp::acceptor& acceptor, std::vector<std::string> responses) {
  tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
  asio::streambuf buffer;
  for (const std::string& response : responses) {
    const size_t n =
        co_await asio::async_read_until(socket, buffer, "\r\n\r\n", asio::use_awaitable);
    buffer.consume(n);
    co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
  }
}

asio::awaitable<std::vector<StepResult>> Client(uint16_t port, int requests) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  HttpEndpoint endpoint;
  endpoint.port = port;
  HttpClient client(executor, endpoint);
  const std::string request = HttpClient::BuildRequest("GET", "/", "x", {}, "", true);
  std::vector<StepResult> results;
  for (int i = 0; i < requests; ++i) {
    results.push_back(co_await client.Send(request, false, 0));
  }
  co_return results;
}

TEST(HttpClientTest, ReadsLengthChunkedAndCheckedStatusOnOneConnection) {
  asio::io_context context;
  tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  asio::co_spawn(context,
                 Serve(acceptor, {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n",
                                  "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
                                  "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof"}),
                 asio::detached);
  std::optional<std::vector<StepResult>> results =
      net::testing::RunFor(context, Client(acceptor.local_endpoint().port(), 4));
  ASSERT_TRUE(results.has_value());
  ASSERT_EQ(results->size(), 4u);
  EXPECT_TRUE((*results)[0].ok()) << (*results)[0].message;
  EXPECT_EQ((*results)[0].bytes_received, 43u);
  EXPECT_TRUE((*results)[1].ok()) << (*results)[1].message;
  EXPECT_EQ((*results)[2].error, v1::ERROR_CLASS_UNEXPECTED_REPLY);
  EXPECT_EQ((*results)[2].message, "expected status 2xx, got 503");
  EXPECT_TRUE((*results)[3].ok()) << (*results)[3].message;
}

TEST(HttpClientTest, RefusedConnectionIsClassified) {
  asio::io_context context;
  uint16_t port;
  {
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = acceptor.local_endpoint().port();
  }
  std::optional<std::vector<StepResult>> results = net::testing::RunFor(context, Client(port, 1));
  ASSERT_TRUE(results.has_value());
  EXPECT_EQ((*results)[0].error, v1::ERROR_CLASS_REFUSED);
}

}  // namespace
}  // namespace tpslab::loadgen
