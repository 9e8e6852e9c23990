// The monitor's two small HTTP pieces, on Boost.Beast: a server answering
// GET /metrics (for Prometheus; keep-alive, 10 s per request, 404 elsewhere)
// and a bounded client GET for scraping an application's /metrics.
//
//   boost::asio::io_context ctx;
//   auto server = MetricsServer::Start(ctx, {"127.0.0.1", 0}, [] { return RenderNow(); });
//   std::cout << "prometheus on " << server.value()->address() << "\n";
//   ... ctx.run() on some thread; server->Stop() to close the listener.
//
//   absl::StatusOr<std::string> body =
//       HttpGet(*parse::ParseUrl("http://127.0.0.1:9121/metrics"), std::chrono::seconds(2));
#ifndef TPSLAB_MONITOR_HTTP_H_
#define TPSLAB_MONITOR_HTTP_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/parse/url.h"

namespace tpslab::monitor {

class MetricsServer {
 public:
  // Produces the body of GET /metrics; called on the context's thread.
  using Render = std::function<std::string()>;

  // Binds `endpoint` (port 0: any free port) and starts accepting on `ctx`.
  // Fails with the bind error, e.g. "cannot bind 127.0.0.1:80: Permission
  // denied".
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(boost::asio::io_context& ctx,
                                                              const parse::Endpoint& endpoint,
                                                              Render render);
  ~MetricsServer();

  // The bound address as HOST:PORT ("127.0.0.1:9100", "[::1]:9100").
  std::string address() const;

  // Requests served so far (any path).
  uint64_t requests() const;

  // Closes the listener (thread-safe); open connections finish their
  // current request.
  void Stop();

  // Shared with the accept loop and connections (defined in http.cc).
  struct State;

 private:
  explicit MetricsServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// GETs `url` (http only) and returns the body of a 200 response. Errors:
// Unimplemented for https, Unavailable for connect/read failures,
// DeadlineExceeded after `timeout`, FailedPrecondition for another status
// (message has the status line), ResourceExhausted for bodies over 8 MiB.
absl::StatusOr<std::string> HttpGet(const parse::Url& url, std::chrono::milliseconds timeout);

}  // namespace tpslab::monitor

#endif  // TPSLAB_MONITOR_HTTP_H_
