// HttpClient: a minimal, allocation-light HTTP/1.1 client for load: one
// connection at a time, kept alive between requests when both sides agree,
// responses framed by Content-Length, chunked transfer coding or the end of
// the connection (HttpResponseParser), and the status checked (any 2xx, or
// an exact expected status). Bodies are counted and dropped. Every I/O has a
// deadline.
// HTTPS when the endpoint has a TLS config: the TLS handshake (with SNI) is
// part of the request that opens the connection, and the connection is kept
// alive over TLS like a plain one; handshake and certificate errors are
// ERROR_CLASS_TLS.
//
// The keep-alive request path is one coroutine and, on a plain connection,
// one non-blocking send() plus the reads of the response: no timer is armed
// per request (the connection's Deadline only moves its expiry), and the
// request bytes are sent as given (build them once with BuildRequest()).
//
// Usage (inside a coroutine on the client's executor):
//   HttpClient http(executor, {.host = "127.0.0.1", .port = 8080});
//   std::string request = HttpClient::BuildRequest("GET", "/", "127.0.0.1:8080", {}, "", true);
//   StepResult r = co_await http.Send(request, /*head=*/false, /*expect_status=*/200);
//
//   HttpResponseParser parser;             // framing alone, e.g. in tests
//   parser.Reset(/*head_request=*/false);
//   size_t used = parser.Parse("HTTP/1.1 204 No Content\r\n\r\n");  // parser.done()
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
  // Transfer-Encoding ends with "chunked".
  bool chunked = false;
  // Transfer-Encoding present without "chunked" last: the body ends with the
  // connection.
  bool other_transfer_coding = false;
  // "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
  bool close = false;
  // Bytes of the head, terminating blank line included.
  size_t head_bytes = 0;
};

// Largest response head, chunk-size line or trailer line accepted (bytes).
inline constexpr size_t kMaxHttpHeadBytes = 64 * 1024;

// Parses a response head at the start of `data`. Returns nullopt when the
// blank line has not arrived yet, and an error message (in `error`) when the
// head is malformed. Header names and the Connection and Transfer-Encoding
// tokens are matched case-insensitively.
std::optional<HttpResponseHead> ParseResponseHead(std::string_view data, std::string* error);

// Frames one response fed in pieces as they arrive: the head (interim 1xx
// responses other than 101 are skipped), then a body delimited by
// Content-Length, the chunked coding (extensions and trailers skipped) or the
// end of the connection; no body after HEAD, 1xx, 204 and 304. Bodies are
// counted, not kept. Does not allocate unless it fails.
class HttpResponseParser {
 public:
  // Where the parser is; also names what a read was for in error messages.
  enum class State {
    kHead,          // Waiting for a complete response head.
    kBody,          // Content-Length body bytes.
    kChunkSize,     // A chunk-size line.
    kChunkData,     // Chunk data bytes.
    kChunkDataEnd,  // The CRLF after chunk data.
    kTrailer,       // Trailer lines up to the blank line.
    kUntilEof,      // Body bytes until the connection ends.
    kDone,          // The response is complete.
    kError,         // Malformed; see error().
  };

  HttpResponseParser() = default;

  // Starts a new response; `head_request` marks a response to HEAD.
  void Reset(bool head_request);

  // Consumes a prefix of `data` and returns its length. Stops at the end of
  // the response (done()) or at an error (failed()). When it returns less
  // than data.size() otherwise, the rest is an incomplete line or head: pass
  // it again, followed by more bytes.
  size_t Parse(std::string_view data);

  // The connection ended (EOF). Completes a body delimited by the end of the
  // connection and returns true; returns false (state unchanged) otherwise.
  bool Finish();

  State state() const { return state_; }
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  // Why Parse() failed: "malformed status line 'SMTP 220'" etc.
  const std::string& error() const { return error_; }
  // The final response's head (valid once the state has left kHead).
  const HttpResponseHead& head() const { return head_; }
  // True once done() when the connection may carry another request.
  bool keep_alive() const { return done() && !close_; }
  // Bytes consumed since Reset(): heads (interim ones too), framing, body.
  uint64_t consumed() const { return consumed_; }

 private:
  size_t ParseHead(std::string_view data);
  // A complete line (terminator excluded) at the start of `data`, with
  // `length` set to its size with the terminator; or nullopt (then failed()
  // when the line is already too long for a `what` line).
  std::optional<std::string_view> Line(std::string_view data, size_t* length, const char* what);
  void Fail(std::string message);

  State state_ = State::kDone;
  bool head_request_ = false;
  bool close_ = false;
  HttpResponseHead head_;
  uint64_t left_ = 0;  // kBody, kChunkData: bytes still expected.
  uint64_t consumed_ = 0;
  std::string error_;
};

class HttpClient {
 public:
  using Clock = std::chrono::steady_clock;

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
  // or `expect_status` when not 0. `now` is the current time as the caller
  // last read it: the deadlines of the request's write and first read count
  // from it (later reads read the clock).
  boost::asio::awaitable<StepResult> Send(std::string_view request, bool head, int expect_status,
                                          Clock::time_point now = Clock::now());

  // True while a connection is open.
  bool connected() const { return connection_ != nullptr; }
  // Status of the last response (0 before any).
  int last_status() const { return last_status_; }
  // Connections opened so far (a kept-alive connection counts once).
  uint64_t connections_opened() const { return connections_opened_; }
  // Closes the connection, if any.
  void Close();

 private:
  struct Connection;
  // Opens the connection (and the TLS session); on failure, returns the
  // error and leaves none open.
  boost::asio::awaitable<StepResult> Connect();

  boost::asio::any_io_executor executor_;
  HttpEndpoint endpoint_;
  std::unique_ptr<Connection> connection_;
  HttpResponseParser parser_;
  int last_status_ = 0;
  uint64_t connections_opened_ = 0;
};

}  // namespace tpslab::loadgen

#endif  // TPSLAB_LOADGEN_HTTP_CLIENT_H_
