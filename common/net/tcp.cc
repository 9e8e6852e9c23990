#include "common/net/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/net/deadline.h"
#include "common/net/error.h"

namespace tpslab::net {
namespace {

using boost::asio::ip::tcp;
using boost::system::error_code;

// An int-valued socket option Asio has no type for (SO_REUSEPORT,
// TCP_KEEPIDLE, ...), in the shape of Asio's SettableSocketOption.
template <int Level, int Name>
class IntOption {
 public:
  explicit IntOption(int value) : value_(value) {}
  template <typename Protocol>
  int level(const Protocol&) const {
    return Level;
  }
  template <typename Protocol>
  int name(const Protocol&) const {
    return Name;
  }
  template <typename Protocol>
  const int* data(const Protocol&) const {
    return &value_;
  }
  template <typename Protocol>
  std::size_t size(const Protocol&) const {
    return sizeof(value_);
  }

 private:
  int value_;
};

using ReusePort = IntOption<SOL_SOCKET, SO_REUSEPORT>;
using KeepAliveIdle = IntOption<IPPROTO_TCP, TCP_KEEPIDLE>;
using KeepAliveInterval = IntOption<IPPROTO_TCP, TCP_KEEPINTVL>;
using KeepAliveCount = IntOption<IPPROTO_TCP, TCP_KEEPCNT>;

// "[::1]" -> "::1"; anything else unchanged.
std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

absl::Status StatusFromError(const error_code& ec, const std::string& context) {
  if (ec.category() == boost::system::system_category()) {
    return absl::ErrnoToStatus(ec.value(), context);
  }
  return absl::UnknownError(absl::StrCat(context, ": ", ec.message()));
}

// Buffer sizes on any socket (listening or connected).
template <typename Socket>
error_code ApplyBufferSizes(Socket& socket, const SocketOptions& options) {
  error_code ec;
  if (options.receive_buffer_size > 0) {
    socket.set_option(tcp::socket::receive_buffer_size(options.receive_buffer_size), ec);
    if (ec) return ec;
  }
  if (options.send_buffer_size > 0) {
    socket.set_option(tcp::socket::send_buffer_size(options.send_buffer_size), ec);
  }
  return ec;
}

int Seconds(std::chrono::seconds s) {
  return static_cast<int>(
      std::min<std::chrono::seconds::rep>(s.count(), std::numeric_limits<int>::max()));
}

}  // namespace

error_code ApplySocketOptions(tcp::socket& socket, const SocketOptions& options) {
  error_code ec;
  if (options.no_delay) {
    if (socket.set_option(tcp::no_delay(true), ec); ec) return ec;
  }
  if (ec = ApplyBufferSizes(socket, options); ec) return ec;
  if (options.keep_alive) {
    if (socket.set_option(tcp::socket::keep_alive(true), ec); ec) return ec;
    if (options.keep_alive_idle.count() > 0) {
      if (socket.set_option(KeepAliveIdle(Seconds(options.keep_alive_idle)), ec); ec) return ec;
    }
    if (options.keep_alive_interval.count() > 0) {
      if (socket.set_option(KeepAliveInterval(Seconds(options.keep_alive_interval)), ec); ec) {
        return ec;
      }
    }
    if (options.keep_alive_count > 0) {
      if (socket.set_option(KeepAliveCount(options.keep_alive_count), ec); ec) return ec;
    }
  }
  return ec;
}

absl::StatusOr<tcp::acceptor> Listen(const boost::asio::any_io_executor& executor,
                                     const ListenOptions& options) {
  error_code ec;
  const boost::asio::ip::address address =
      boost::asio::ip::make_address(StripBrackets(options.address), ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("invalid listen address '", options.address,
                                                   "': expected an IPv4 or IPv6 literal"));
  }
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = FormatEndpoint(endpoint);

  tcp::acceptor acceptor(executor);
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return StatusFromError(ec, absl::StrCat("cannot open a socket for ", where));
  }
  if (options.reuse_address) {
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
      return StatusFromError(ec, absl::StrCat("cannot set SO_REUSEADDR for ", where));
    }
  }
  if (options.reuse_port) {
    if (acceptor.set_option(ReusePort(1), ec); ec) {
      return StatusFromError(ec, absl::StrCat("cannot set SO_REUSEPORT for ", where));
    }
  }
  if (address.is_v6()) {
    if (acceptor.set_option(boost::asio::ip::v6_only(options.v6_only), ec); ec) {
      return StatusFromError(ec, absl::StrCat("cannot set IPV6_V6ONLY for ", where));
    }
  }
  if (ec = ApplyBufferSizes(acceptor, options.socket); ec) {
    return StatusFromError(ec, absl::StrCat("cannot set buffer sizes for ", where));
  }
  if (acceptor.bind(endpoint, ec); ec) {
    return StatusFromError(ec, absl::StrCat("cannot bind ", where));
  }
  if (acceptor.listen(options.backlog, ec); ec) {
    return StatusFromError(ec, absl::StrCat("cannot listen on ", where));
  }
  return acceptor;
}

tcp::endpoint LocalEndpoint(const tcp::acceptor& acceptor) {
  error_code ec;
  tcp::endpoint endpoint = acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint() : endpoint;
}

boost::asio::awaitable<SocketResult> Accept(tcp::acceptor& acceptor,
                                            boost::asio::any_io_executor socket_executor,
                                            SocketOptions options) {
  tcp::endpoint peer;
  auto [ec, socket] = co_await acceptor.async_accept(
      socket_executor, peer, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (!ec) ec = ApplySocketOptions(socket, options);
  if (ec) {
    error_code ignored;
    socket.close(ignored);
  }
  co_return SocketResult{ec, std::move(socket), peer};
}

boost::asio::awaitable<SocketResult> Connect(std::string host, std::uint16_t port,
                                             SocketOptions options,
                                             std::chrono::steady_clock::duration timeout) {
  using Clock = Deadline::Clock;
  const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
  const Clock::time_point now = Clock::now();
  const Clock::time_point expiry =
      timeout >= Clock::time_point::max() - now ? Clock::time_point::max() : now + timeout;

  tcp::socket socket(executor);
  if (timeout <= Clock::duration::zero()) {
    co_return SocketResult{make_error_code(Error::timed_out), std::move(socket), {}};
  }

  // Numeric hosts need no resolver round trip.
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  const boost::asio::ip::address address = boost::asio::ip::make_address(StripBrackets(host), ec);
  if (!ec) {
    endpoints.emplace_back(address, port);
  } else {
    tcp::resolver resolver(executor);
    Deadline resolve_deadline(executor, resolver);
    resolve_deadline.ExpiresAt(expiry);
    auto [resolve_error, results] =
        co_await resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                        boost::asio::as_tuple(boost::asio::use_awaitable));
    if (resolve_error) {
      co_return SocketResult{resolve_deadline.MapError(resolve_error), std::move(socket), {}};
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  Deadline deadline(executor, socket);
  deadline.ExpiresAt(expiry);
  ec = boost::asio::error::host_not_found;  // If the name has no addresses.
  tcp::endpoint reached;
  for (const tcp::endpoint& endpoint : endpoints) {
    error_code ignored;
    socket.close(ignored);  // From the previous attempt.
    if (socket.open(endpoint.protocol(), ec); ec) continue;
    if (ec = ApplySocketOptions(socket, options); ec) continue;
    if (deadline.expired()) {
      ec = make_error_code(Error::timed_out);
      break;
    }
    auto [connect_error] =
        co_await socket.async_connect(endpoint, boost::asio::as_tuple(boost::asio::use_awaitable));
    ec = deadline.MapError(connect_error);
    if (!ec) reached = endpoint;
    if (!ec || ec == Error::timed_out) break;
  }
  deadline.ExpiresNever();
  if (ec) {
    error_code ignored;
    socket.close(ignored);
  }
  co_return SocketResult{ec, std::move(socket), reached};
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const boost::asio::ip::address address = endpoint.address();
  if (address.is_v6()) return absl::StrCat("[", address.to_string(), "]:", endpoint.port());
  return absl::StrCat(address.to_string(), ":", endpoint.port());
}

std::string FormatHostPort(std::string_view host, std::uint16_t port) {
  const bool bracket = host.find(':') != std::string_view::npos && !host.starts_with('[');
  std::string out;
  out.reserve(host.size() + 8);
  if (bracket) out += '[';
  out += host;
  if (bracket) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace tpslab::net
