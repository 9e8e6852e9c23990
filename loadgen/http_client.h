// HttpClient: a minimal, allocation-light HTTP/1.1 client for load: one
// connection at a time, kept alive between requests when both sides agree,
// responses framed by Content-Length, chunked transfer coding or the end of
// the connection, and the status checked (any 2xx, or an exact expected
// status). Bodies are counted and dropped. Every I/O has a deadline.
// HTTPS when the endpoint has a TLS config: the TLS handshake (with SNI) is
// part of the request that opens the connection, and the connection is kept
// alive over TLS like a plain one; handshake and certificate errors are
// ERROR_CLASS_TLS.
//
// Usage (inside a coroutine on the client's executor):
//   HttpClient http(executor, {.host = "127.0.0.1", .port = 8080});
//   std::string request = HttpClient::BuildRequest("GET", "/", "127.0.0.1:8080", {}, "", true);
//   StepResult r = co_await http.Send(request, /*head=*/false, /*expect_status=*/200);
#ifndef TPSLAB_LOADGEN_HTTP_CLIENT_H_
#define TPSLAB_LOADGEN_HTTP_CLIENT_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/step_result.h"
#include "loadgen/tls_client.h"

namespace tpslab::loadgen {

// Where an HttpClient connects.
struct HttpEndpoint {
  // Host name or address (IPv6 without brackets). Default "127.0.0.1".
  std::string host = "127.0.0.1";
  // Default 80.
  uint16_t port = 80;
  // Deadline of every connect, handshake, read and write. Default 10 s.
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  // HTTPS with this TLS config. Default none: plain HTTP.
  std::optional<TlsClientConfig> tls;
};

// The parsed head of a response.
struct HttpResponseHead {
  int status = 0;
  // Content-Length, when given.
  std::optional<uint64_t> content_length;
  bool chunked = false;
  // "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
  bool close = false;
  // Bytes of the head, terminating blank line included.
  size_t head_bytes = 0;
};

// Parses a response head at the start of `data`. Returns nullopt when the
// blank line has not arrived yet, and an error message (in `error`) when the
// head is malformed.
std::optional<HttpResponseHead> ParseResponseHead(std::string_view data, std::string* error);

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor executor, HttpEndpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Builds a request: request line, Host, the given headers, Content-Length
  // when there is a body (or the method usually has one), and
  // "Connection: close" unless `keep_alive`.
  static std::string BuildRequest(std::string_view method, std::string_view path,
                                  std::string_view host_header,
                                  const std::map<std::string, std::string>& headers,
                                  std::string_view body, bool keep_alive);

  // Sends `request` (connecting first when needed; a kept-alive connection
  // the server closed meanwhile is reopened once) and reads the response.
  // `head` marks a HEAD request (no body follows). The status must be 2xx,
  // or `expect_status` when not 0.
  boost::asio::awaitable<StepResult> Send(std::string_view request, bool head, int expect_status);

  // True while a connection is open.
  bool connected() const { return connection_ != nullptr; }
  // Status of the last response (0 before any).
  int last_status() const { return last_status_; }
  void Close();

 private:
  struct Connection;
  boost::asio::awaitable<StepResult> Exchange(std::string_view request, bool head,
                                              int expect_status, bool* retryable);

  boost::asio::any_io_executor executor_;
  HttpEndpoint endpoint_;
  std::unique_ptr<Connection> connection_;
  int last_status_ = 0;
};

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_HTTP_CLIENT_H_
