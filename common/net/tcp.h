// TCP listener and connector helpers: sockets opened with the options tpslab
// wants (TCP_NODELAY, buffer sizes, keep-alive, SO_REUSEPORT), connects
// bounded by a timeout, and endpoints printed as "HOST:PORT" with IPv6
// addresses in brackets.
//
// Usage (server):
//   auto acceptor = Listen(ctx.get_executor(), {.address = "::", .port = 21});
//   if (!acceptor.ok()) return acceptor.status();  // "cannot bind [::]:21: ..."
//   for (;;) {
//     auto [ec, socket, peer] = co_await Accept(*acceptor, pool.Next().get_executor());
//     ...
//   }
//
// Usage (client, inside a coroutine):
//   auto [ec, socket, peer] = co_await Connect("127.0.0.1", 21, {}, std::chrono::seconds(5));
//   if (ec == Error::timed_out) ...
#ifndef TPSLAB_COMMON_NET_TCP_H_
#define TPSLAB_COMMON_NET_TCP_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpslab::net {

// Options applied to each connected or accepted socket.
struct SocketOptions {
  // TCP_NODELAY: send small writes (commands, replies) at once instead of
  // waiting to coalesce them. Default true. False leaves the kernel default
  // (Nagle on).
  bool no_delay = true;
  // SO_RCVBUF in bytes. Default 0: the kernel default, with auto-tuning.
  // Linux doubles the value for bookkeeping and caps it at net.core.rmem_max.
  int receive_buffer_size = 0;
  // SO_SNDBUF in bytes. Default 0: the kernel default, with auto-tuning.
  // Linux doubles the value and caps it at net.core.wmem_max.
  int send_buffer_size = 0;
  // SO_KEEPALIVE: probe idle connections so dead peers are noticed. Default
  // false.
  bool keep_alive = false;
  // TCP_KEEPIDLE: idle time before the first probe, when keep_alive is set.
  // Default 0 s: the kernel default (net.ipv4.tcp_keepalive_time, 7200 s).
  std::chrono::seconds keep_alive_idle{0};
  // TCP_KEEPINTVL: time between probes, when keep_alive is set. Default 0 s:
  // the kernel default (net.ipv4.tcp_keepalive_intvl, 75 s).
  std::chrono::seconds keep_alive_interval{0};
  // TCP_KEEPCNT: unanswered probes before the connection is dropped, when
  // keep_alive is set. Default 0: the kernel default (9).
  int keep_alive_count = 0;
};

// Where and how to listen.
struct ListenOptions {
  // IPv4 or IPv6 literal to bind ("[::1]" is accepted too). Default
  // "0.0.0.0": all IPv4 interfaces; "::" listens on IPv6 and, unless
  // v6_only, on IPv4 as well.
  std::string address = "0.0.0.0";
  // Port to bind. Default 0: the kernel picks a free port (see
  // LocalEndpoint()).
  std::uint16_t port = 0;
  // SO_REUSEADDR: allows restarting while old connections are in TIME_WAIT.
  // Default true.
  bool reuse_address = true;
  // SO_REUSEPORT: lets several sockets listen on the same port, the kernel
  // spreading connections over them (one acceptor per pool context). Every
  // socket sharing the port needs it. Default false.
  bool reuse_port = false;
  // listen() backlog: connections the kernel queues before they are
  // accepted. Default 4096 (capped by net.core.somaxconn).
  int backlog = 4096;
  // IPV6_V6ONLY for IPv6 addresses: true refuses IPv4-mapped connections.
  // Default false (dual stack on "::"). Ignored for IPv4 addresses.
  bool v6_only = false;
  // Options for accepted sockets; pass them to Accept(). Listen() already
  // sets the buffer sizes on the listening socket, because accepted sockets
  // inherit them and the TCP window scale is fixed during the handshake.
  SocketOptions socket = {};
};

// A socket with the error that may have left it unconnected.
struct SocketResult {
  // Empty on success.
  boost::system::error_code error;
  // Connected on success, closed otherwise.
  boost::asio::ip::tcp::socket socket;
  // The other end on success: the client Accept() took, the address
  // Connect() reached (no getpeername(2) needed).
  boost::asio::ip::tcp::endpoint peer;
};

// Applies `options` to an open socket. Returns the first error from
// setsockopt, or success.
boost::system::error_code ApplySocketOptions(boost::asio::ip::tcp::socket& socket,
                                             const SocketOptions& options);

// Opens, configures, binds and listens. Errors name the step and the
// endpoint, e.g. "cannot bind [::1]:21: Address already in use", with the
// absl code derived from errno (InvalidArgument for a malformed address).
absl::StatusOr<boost::asio::ip::tcp::acceptor> Listen(const boost::asio::any_io_executor& executor,
                                                      const ListenOptions& options);

// The endpoint `acceptor` is bound to (the real port after binding port 0);
// a default endpoint if the acceptor is not open.
boost::asio::ip::tcp::endpoint LocalEndpoint(const boost::asio::ip::tcp::acceptor& acceptor);

// Accepts the next connection onto a socket of `socket_executor` (e.g.
// pool.Next().get_executor()) and applies `options` to it. Errors: the
// acceptor's (operation_aborted once it is closed), or setsockopt's.
boost::asio::awaitable<SocketResult> Accept(boost::asio::ip::tcp::acceptor& acceptor,
                                            boost::asio::any_io_executor socket_executor,
                                            SocketOptions options = {});

// Connects to `host`:`port` within `timeout`, using the calling coroutine's
// executor for the socket. A numeric host (IPv4, IPv6, "[::1]") is used as
// is; a name is resolved first (within the same timeout) and its addresses
// are tried in order. `options` are applied before connecting, so buffer
// sizes shape the handshake. Errors: Error::timed_out when the timeout passed
// (a zero timeout fails at once), connection_refused, host_not_found, ...;
// for several addresses, the last one's error.
boost::asio::awaitable<SocketResult> Connect(std::string host, std::uint16_t port,
                                             SocketOptions options,
                                             std::chrono::steady_clock::duration timeout);

// "127.0.0.1:21", "[::1]:21".
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// "example.com:21", "127.0.0.1:21", "[::1]:21": brackets around hosts that
// contain a ':' (IPv6 literals) unless already bracketed.
std::string FormatHostPort(std::string_view host, std::uint16_t port);

}  // namespace tpslab::net

#endif  // TPSLAB_COMMON_NET_TCP_H_
