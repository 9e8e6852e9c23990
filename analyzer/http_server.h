// HttpServer: a small HTTP/1.1 server on Boost.Beast for the coordinator's
// /metrics and JSON API. Each connection is a coroutine on one context of an
// IoContextPool; requests are read with a deadline (Beast's tcp_stream
// expires_after) and bounded in size, keep-alive is honoured, and every
// request is answered by a plain function, so routing is testable without
// sockets.
//
// Example:
//   net::IoContextPool pool(2);
//   HttpServer server(pool, [&](const HttpRequest& r) { return api.Handle(r); });
//   absl::StatusOr<boost::asio::ip::tcp::endpoint> at = server.Listen("127.0.0.1", 0);
//   printf("http on %s\n", net::FormatEndpoint(*at).c_str());
//   pool.Run();  // until pool.Stop(); server.Stop() closes the acceptor first
#ifndef TPSLAB_ANALYZER_HTTP_SERVER_H_
#define TPSLAB_ANALYZER_HTTP_SERVER_H_

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/io_context_pool.h"

namespace tpslab::analyzer {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // Path and query, e.g. "/api/runs?limit=5".
  std::string body;
  std::string authorization = {};  // The Authorization header, "" if none.
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  // Time allowed to read one request (headers and body). Default 10 s.
  std::chrono::seconds read_timeout{10};
  // Largest request (headers and body) accepted. Default 64 KiB.
  uint64_t max_request_bytes = 64 * 1024;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // `handler` runs on the pool's threads, possibly concurrently.
  HttpServer(net::IoContextPool& pool, Handler handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host`:`port` (0: any free port) and starts accepting on context
  // 0. Returns the bound endpoint; errors name the endpoint.
  absl::StatusOr<boost::asio::ip::tcp::endpoint> Listen(const std::string& host, uint16_t port);

  // Closes the acceptor (connections in progress finish their request).
  // Thread-safe.
  void Stop();

  // Shared with the connection coroutines (defined in the .cc file).
  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Splits "/a/b?x=1" into the path and the value of query parameter `name`
// (empty when absent). No percent-decoding (the API's ids do not need it).
std::string PathOf(const std::string& target);
std::optional<std::string> QueryParam(const std::string& target, const std::string& name);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_HTTP_SERVER_H_
