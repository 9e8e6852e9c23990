#include "monitor/http.h"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "absl/status/status.h"
#include "common/net/tcp.h"
#include "monitor/text_fields.h"

namespace tpslab::monitor {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kRequestTimeout{10};

}  // namespace

struct MetricsServer::State {
  explicit State(asio::io_context& ctx, tcp::acceptor a, Render r)
      : context(ctx), acceptor(std::move(a)), render(std::move(r)) {}
  asio::io_context& context;
  tcp::acceptor acceptor;
  Render render;
  std::atomic<uint64_t> requests{0};
};

namespace {

asio::awaitable<void> Serve(std::shared_ptr<MetricsServer::State> state, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    stream.expires_after(kRequestTimeout);
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_error) break;
    const auto& request = parser.get();
    state->requests.fetch_add(1, std::memory_order_relaxed);
    http::response<http::string_body> response;
    response.version(request.version());
    response.keep_alive(request.keep_alive());
    response.set(http::field::server, "tpslab-monitor");
    std::string_view target(request.target().data(), request.target().size());
    if (std::size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response.result(http::status::method_not_allowed);
      response.set(http::field::allow, "GET, HEAD");
      response.body() = "only GET\n";
    } else if (target != "/metrics") {
      response.result(http::status::not_found);
      response.body() = "not found; try /metrics\n";
    } else {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      if (request.method() == http::verb::get) response.body() = state->render();
    }
    response.prepare_payload();
    stream.expires_after(kRequestTimeout);
    auto [write_error, written] = co_await http::async_write(stream, response, kUseTuple);
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<MetricsServer::State> state) {
  for (;;) {
    auto [error, socket] = co_await state->acceptor.async_accept(kUseTuple);
    if (error == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
    if (error) continue;  // e.g. EMFILE: try again with the next connection
    asio::co_spawn(state->context, Serve(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

MetricsServer::MetricsServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(asio::io_context& ctx,
                                                                    const parse::Endpoint& endpoint,
                                                                    Render render) {
  net::ListenOptions options;
  options.address = endpoint.host.empty() ? "0.0.0.0" : endpoint.host;
  options.port = endpoint.port;
  options.backlog = 128;
  absl::StatusOr<tcp::acceptor> acceptor = net::Listen(ctx.get_executor(), options);
  if (!acceptor.ok()) return acceptor.status();
  auto state = std::make_shared<State>(ctx, *std::move(acceptor), std::move(render));
  asio::co_spawn(ctx, AcceptLoop(state), asio::detached);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(state)));
}

std::string MetricsServer::address() const {
  return net::FormatEndpoint(net::LocalEndpoint(state_->acceptor));
}

uint64_t MetricsServer::requests() const {
  return state_->requests.load(std::memory_order_relaxed);
}

void MetricsServer::Stop() {
  asio::post(state_->context, [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
}

absl::StatusOr<std::string> HttpGet(const parse::Url& url, std::chrono::milliseconds timeout) {
  if (url.scheme != parse::Scheme::kHttp) {
    return absl::UnimplementedError(
        Cat("cannot scrape ", url.Redacted(), ": only http:// is supported"));
  }
  asio::io_context ctx;
  std::optional<absl::StatusOr<std::string>> result;
  auto fetch = [&]() -> asio::awaitable<void> {
    const std::string where = url.Redacted();
    tcp::resolver resolver(ctx);
    beast::tcp_stream stream(ctx);
    stream.expires_after(timeout);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(url.host, std::to_string(url.port), kUseTuple);
    if (resolve_error) {
      result =
          absl::UnavailableError(Cat("cannot resolve ", url.host, ": ", resolve_error.message()));
      co_return;
    }
    auto [connect_error, connected] = co_await stream.async_connect(endpoints, kUseTuple);
    if (connect_error) {
      result = connect_error == beast::error::timeout
                   ? absl::DeadlineExceededError(Cat("GET ", where, ": timed out connecting"))
                   : absl::UnavailableError(Cat("GET ", where, ": ", connect_error.message()));
      co_return;
    }
    http::request<http::empty_body> request(
        http::verb::get, url.path + (url.query.empty() ? "" : "?" + url.query), 11);
    request.set(http::field::host, url.HostPort());
    request.set(http::field::user_agent, "tpslab-monitor");
    request.set(http::field::accept, "text/plain");
    auto [write_error, written] = co_await http::async_write(stream, request, kUseTuple);
    if (write_error) {
      result = absl::UnavailableError(Cat("GET ", where, ": ", write_error.message()));
      co_return;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (read_error == http::error::body_limit) {
      result = absl::ResourceExhaustedError(Cat("GET ", where, ": body over 8 MiB"));
    } else if (read_error == beast::error::timeout) {
      result = absl::DeadlineExceededError(Cat("GET ", where, ": timed out"));
    } else if (read_error) {
      result = absl::UnavailableError(Cat("GET ", where, ": ", read_error.message()));
    } else if (parser.get().result() != http::status::ok) {
      result =
          absl::FailedPreconditionError(Cat("GET ", where, ": HTTP ", parser.get().result_int(),
                                            " ", std::string(parser.get().reason())));
    } else {
      result = std::move(parser.get().body());
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  };
  asio::co_spawn(ctx, fetch(), asio::detached);
  ctx.run();
  if (!result) return absl::InternalError("HTTP GET did not complete");
  return *std::move(result);
}

}  // namespace tpslab::monitor
