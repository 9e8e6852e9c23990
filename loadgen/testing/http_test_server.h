// An HTTP/1.1 server for tests: it listens on 127.0.0.1 on a port the kernel
// picks, serves from its own thread, keeps connections alive, and answers
// every request with "200 OK" and the two-byte body "ok". It counts the
// requests it received, and it can hold back the response to one chosen
// request for a while, stalling that connection (the requests a client
// pipelines or queues behind it wait too; other connections are served).
//
// A request is read up to the blank line that ends its head; a body is not
// read, so send it GET requests only.
//
// Usage:
//   HttpTestServer server;  // Or: HttpTestServer server({.stall_request = 100,
//                           //                            .stall = std::chrono::seconds(1)});
//   RunClientAgainst("http://127.0.0.1:" + std::to_string(server.port()) + "/");
//   EXPECT_EQ(server.requests(), 42u);
#ifndef TPSLAB_LOADGEN_TESTING_HTTP_TEST_SERVER_H_
#define TPSLAB_LOADGEN_TESTING_HTTP_TEST_SERVER_H_

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

namespace tpslab::loadgen::testing {

struct HttpTestServerOptions {
  // The 1-based number, counted over all connections in the order they
  // arrive, of the request whose response is held back for `stall`.
  // Default 0: no request is held.
  uint64_t stall_request = 0;
  // How long the response to request `stall_request` is held. Default 0.
  std::chrono::milliseconds stall{0};
};

class HttpTestServer {
 public:
  // The exact bytes of every response.
  static constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

  // Starts listening and serving; throws boost::system::system_error when it
  // cannot listen on loopback.
  explicit HttpTestServer(HttpTestServerOptions options = {});
  // Stops serving and closes every connection, also in the middle of a stall.
  ~HttpTestServer();

  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  // The port it listens on (on 127.0.0.1).
  uint16_t port() const { return port_; }
  // How many requests it has received so far, answered or not (a request is
  // counted before its response is sent, and before a stall).
  uint64_t requests() const { return requests_.load(); }

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);

  const HttpTestServerOptions options_;
  boost::asio::io_context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const uint16_t port_;
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

}  // namespace tpslab::loadgen::testing

#endif  // TPSLAB_LOADGEN_TESTING_HTTP_TEST_SERVER_H_
