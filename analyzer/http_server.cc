#include "analyzer/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <future>
#include <mutex>
#include <utility>

#include "common/net/tcp.h"
#include "spdlog/spdlog.h"

namespace tpslab::analyzer {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct HttpServer::State {
  State(net::IoContextPool& p, Handler h, HttpServerOptions o)
      : pool(p), handler(std::move(h)), options(o) {}
  net::IoContextPool& pool;
  Handler handler;
  HttpServerOptions options;
  std::mutex mutex;
  std::optional<tcp::acceptor> acceptor;
};

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> Session(std::shared_ptr<HttpServer::State> state, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(state->options.max_request_bytes);
    parser.header_limit(
        static_cast<uint32_t>(std::min<uint64_t>(state->options.max_request_bytes, UINT32_MAX)));
    stream.expires_after(state->options.read_timeout);
    auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (ec) {
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        http::response<http::string_body> too_large{http::status::payload_too_large, 11};
        too_large.set(http::field::content_type, "text/plain; charset=utf-8");
        too_large.body() = "request too large\n";
        too_large.keep_alive(false);
        too_large.prepare_payload();
        co_await http::async_write(stream, too_large, kUseTuple);
      }
      break;  // Closed, timed out or malformed.
    }
    const http::request<http::string_body>& request = parser.get();
    HttpResponse answer;
    try {
      answer = state->handler({std::string(request.method_string()), std::string(request.target()),
                               request.body(), std::string(request[http::field::authorization])});
    } catch (const std::exception& e) {
      spdlog::error("HTTP {} {}: {}", std::string(request.method_string()),
                    std::string(request.target()), e.what());
      answer = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
    http::response<http::string_body> response{static_cast<http::status>(answer.status),
                                               request.version()};
    response.set(http::field::server, "tpslab-analyzer");
    response.set(http::field::content_type, answer.content_type);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = std::move(answer.body);
    response.prepare_payload();
    stream.expires_after(state->options.read_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, response, kUseTuple);
    if (write_ec || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<HttpServer::State> state,
                                 tcp::acceptor& acceptor) {
  for (;;) {
    net::SocketResult accepted =
        co_await net::Accept(acceptor, state->pool.Next().get_executor(), {});
    if (accepted.error == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (accepted.error) continue;
    const auto executor = accepted.socket.get_executor();
    asio::co_spawn(executor, Session(state, std::move(accepted.socket)), asio::detached);
  }
}

}  // namespace

HttpServer::HttpServer(net::IoContextPool& pool, Handler handler, HttpServerOptions options)
    : state_(std::make_shared<State>(pool, std::move(handler), options)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<tcp::endpoint> HttpServer::Listen(const std::string& host, uint16_t port) {
  net::ListenOptions listen;
  listen.address = host.empty() ? "0.0.0.0" : host;
  listen.port = port;
  absl::StatusOr<tcp::acceptor> acceptor =
      net::Listen(state_->pool.context(0).get_executor(), listen);
  if (!acceptor.ok()) return acceptor.status();
  std::lock_guard lock(state_->mutex);
  state_->acceptor.emplace(*std::move(acceptor));
  const tcp::endpoint endpoint = net::LocalEndpoint(*state_->acceptor);
  asio::co_spawn(state_->pool.context(0), AcceptLoop(state_, *state_->acceptor), asio::detached);
  return endpoint;
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (!state_->acceptor || !state_->acceptor->is_open()) return;
  }
  // Close on the acceptor's own context, where the accept loop runs; if the
  // pool is not running, close from here (nothing else touches it then).
  if (state_->pool.context(0).get_executor().running_in_this_thread()) {
    std::lock_guard lock(state_->mutex);
    beast::error_code ignored;
    state_->acceptor->close(ignored);
    return;
  }
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  const auto close = [state = state_, closed] {
    std::lock_guard lock(state->mutex);
    if (state->acceptor && state->acceptor->is_open()) {
      beast::error_code ignored;
      state->acceptor->close(ignored);
    }
  };
  asio::post(state_->pool.context(0), [close, closed] {
    close();
    closed->set_value();
  });
  if (state_->pool.stopped() ||
      done.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
    close();
  }
}

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

std::optional<std::string> QueryParam(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return std::nullopt;
  size_t pos = q + 1;
  while (pos <= target.size()) {
    size_t end = target.find('&', pos);
    if (end == std::string::npos) end = target.size();
    const std::string pair = target.substr(pos, end - pos);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace tpslab::analyzer
