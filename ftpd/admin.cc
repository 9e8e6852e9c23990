#include "ftpd/admin.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "common/net/deadline.h"

namespace tpslab::ftpd {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<void> HandleAdmin(tcp::socket socket, const metrics::Registry& registry) {
  net::Deadline deadline(socket.get_executor(), socket);
  deadline.ExpiresAfter(std::chrono::seconds(5));
  std::array<char, 8192> request;
  std::size_t size = 0;
  while (size < request.size()) {
    const net::IoResult r = co_await net::ReadSome(
        socket, asio::buffer(request.data() + size, request.size() - size), deadline);
    size += r.bytes;
    if (std::string_view(request.data(), size).find("\r\n\r\n") != std::string_view::npos) break;
    if (r.error) co_return;
  }
  const std::string_view head(request.data(), size);
  std::string response;
  if (head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?")) {
    const std::string body = registry.Render();
    response = absl::StrFormat(
        "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
        std::string(metrics::Registry::kContentType), body.size(), body);
  } else {
    response =
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
        "Connection: close\r\n\r\nnot found\n";
  }
  co_await net::Write(socket, asio::buffer(response), deadline);
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  deadline.ExpiresNever();
}

}  // namespace

asio::awaitable<void> ServeAdmin(tcp::acceptor& acceptor, const metrics::Registry& registry) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(acceptor.get_executor(), HandleAdmin(std::move(socket), registry),
                   asio::detached);
  }
}

}  // namespace tpslab::ftpd
