#include "common/net/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/net/error.h"
#include "common/net/test_util.h"
#include "gtest/gtest.h"

namespace tpslab::net {
namespace {

using boost::asio::awaitable;
using boost::asio::ip::tcp;
using namespace std::chrono_literals;
using testing::RunFor;

int GetIntOption(tcp::socket& socket, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  EXPECT_EQ(::getsockopt(socket.native_handle(), level, name, &value, &length), 0)
      << "getsockopt(" << level << ", " << name << ")";
  return value;
}

// Connects to `host`:`port` and accepts the connection on `acceptor`.
struct Pair {
  SocketResult client;
  SocketResult server;
};

awaitable<Pair> ConnectAndAccept(tcp::acceptor& acceptor, std::string host, std::uint16_t port,
                                 SocketOptions client_options, SocketOptions server_options) {
  SocketResult client = co_await Connect(host, port, client_options, 5s);
  SocketResult server = co_await Accept(acceptor, acceptor.get_executor(), server_options);
  co_return Pair{std::move(client), std::move(server)};
}

TEST(TcpTest, ListensOnIpv4LoopbackWithPortZero) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  const tcp::endpoint bound = LocalEndpoint(*acceptor);
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(bound.address().to_string(), "127.0.0.1");
  EXPECT_EQ(FormatEndpoint(bound), "127.0.0.1:" + std::to_string(bound.port()));

  std::optional<Pair> pair =
      RunFor(context, ConnectAndAccept(*acceptor, "127.0.0.1", bound.port(), {}, {}));
  ASSERT_TRUE(pair.has_value());
  ASSERT_FALSE(pair->client.error) << pair->client.error.message();
  ASSERT_FALSE(pair->server.error) << pair->server.error.message();
  boost::asio::write(pair->client.socket, boost::asio::buffer("ping", 4));
  char data[4];
  boost::asio::read(pair->server.socket, boost::asio::buffer(data));
  EXPECT_EQ(std::string(data, 4), "ping");
}

TEST(TcpTest, ListensOnIpv6LoopbackWithPortZero) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "::1", .port = 0});
  if (!acceptor.ok()) GTEST_SKIP() << "IPv6 loopback unavailable: " << acceptor.status();
  const tcp::endpoint bound = LocalEndpoint(*acceptor);
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(FormatEndpoint(bound), "[::1]:" + std::to_string(bound.port()));

  // A bracketed literal is accepted as a host too.
  std::optional<Pair> pair =
      RunFor(context, ConnectAndAccept(*acceptor, "[::1]", bound.port(), {}, {}));
  ASSERT_TRUE(pair.has_value());
  ASSERT_FALSE(pair->client.error) << pair->client.error.message();
  ASSERT_FALSE(pair->server.error) << pair->server.error.message();
  EXPECT_TRUE(pair->server.socket.remote_endpoint().address().is_v6());
}

TEST(TcpTest, ReusePortLetsTwoAcceptorsShareAPort) {
  boost::asio::io_context context;
  ListenOptions options{.address = "127.0.0.1", .port = 0, .reuse_port = true};
  absl::StatusOr<tcp::acceptor> first = Listen(context.get_executor(), options);
  ASSERT_TRUE(first.ok()) << first.status();
  options.port = LocalEndpoint(*first).port();
  absl::StatusOr<tcp::acceptor> second = Listen(context.get_executor(), options);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(LocalEndpoint(*second), LocalEndpoint(*first));
}

TEST(TcpTest, BindingATakenPortSaysWhereAndWhy) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> first =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::uint16_t port = LocalEndpoint(*first).port();
  absl::StatusOr<tcp::acceptor> second =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = port});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "cannot bind 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  EXPECT_EQ(second.status().code(), absl::ErrnoToStatusCode(EADDRINUSE));
}

TEST(TcpTest, RejectsAListenAddressThatIsNotALiteral) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "not-an-address", .port = 0});
  ASSERT_FALSE(acceptor.ok());
  EXPECT_EQ(acceptor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acceptor.status().message(),
            "invalid listen address 'not-an-address': expected an IPv4 or IPv6 literal");
}

TEST(TcpTest, ConnectToAClosedPortIsRefused) {
  boost::asio::io_context context;
  // Bound but not listening: the port stays ours, and SYNs get a RST.
  tcp::socket reserved(context, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  const std::uint16_t port = reserved.local_endpoint().port();
  std::optional<SocketResult> result = RunFor(context, Connect("127.0.0.1", port, {}, 5s));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, boost::asio::error::connection_refused) << result->error.message();
  EXPECT_FALSE(result->socket.is_open());
}

TEST(TcpTest, ConnectToAFullBacklogTimesOut) {
  boost::asio::io_context context;
  // backlog 0 and nobody accepting: once the accept queue holds its one
  // connection, Linux drops further SYNs and those connects hang.
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0, .backlog = 0});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  const std::uint16_t port = LocalEndpoint(*acceptor).port();
  std::vector<tcp::socket> fillers;
  std::optional<SocketResult> result;
  for (int attempt = 0; attempt < 8; ++attempt) {
    result = RunFor(context, Connect("127.0.0.1", port, {}, 200ms));
    ASSERT_TRUE(result.has_value()) << "Connect ignored its timeout";
    if (result->error) break;
    fillers.push_back(std::move(result->socket));
  }
  ASSERT_TRUE(result->error) << "8 connects to a backlog-0 listener all succeeded";
  EXPECT_EQ(result->error, Error::timed_out) << result->error.message();
  EXPECT_FALSE(result->socket.is_open());
  EXPECT_GE(fillers.size(), 1u);
}

TEST(TcpTest, ZeroTimeoutFailsAtOnce) {
  boost::asio::io_context context;
  std::optional<SocketResult> result = RunFor(context, Connect("127.0.0.1", 1, {}, 0s));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
}

TEST(TcpTest, ResolvesHostNames) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  // "localhost" comes from /etc/hosts; if it lists ::1 first, that attempt is
  // refused and 127.0.0.1 is tried next.
  std::optional<Pair> pair = RunFor(
      context, ConnectAndAccept(*acceptor, "localhost", LocalEndpoint(*acceptor).port(), {}, {}));
  ASSERT_TRUE(pair.has_value());
  ASSERT_FALSE(pair->client.error) << pair->client.error.message();
  EXPECT_EQ(pair->client.socket.remote_endpoint().address().to_string(), "127.0.0.1");
}

TEST(TcpTest, AppliesSocketOptionsOnBothSides) {
  boost::asio::io_context context;
  const SocketOptions options{
      .no_delay = true,
      .receive_buffer_size = 24 * 1024,
      .send_buffer_size = 48 * 1024,
      .keep_alive = true,
      .keep_alive_idle = 30s,
      .keep_alive_interval = 5s,
      .keep_alive_count = 3,
  };
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0, .socket = options});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  std::optional<Pair> pair = RunFor(
      context,
      ConnectAndAccept(*acceptor, "127.0.0.1", LocalEndpoint(*acceptor).port(), options, options));
  ASSERT_TRUE(pair.has_value());
  ASSERT_FALSE(pair->client.error) << pair->client.error.message();
  ASSERT_FALSE(pair->server.error) << pair->server.error.message();

  for (tcp::socket* socket : {&pair->client.socket, &pair->server.socket}) {
    SCOPED_TRACE(socket == &pair->client.socket ? "client" : "server");
    EXPECT_EQ(GetIntOption(*socket, IPPROTO_TCP, TCP_NODELAY), 1);
    // Linux reports twice the requested size (bookkeeping overhead); the
    // kernel defaults (128 KiB receive, 16 KiB send) are outside both ranges.
    const int receive = GetIntOption(*socket, SOL_SOCKET, SO_RCVBUF);
    EXPECT_GE(receive, 24 * 1024);
    EXPECT_LE(receive, 2 * 24 * 1024);
    const int send = GetIntOption(*socket, SOL_SOCKET, SO_SNDBUF);
    EXPECT_GE(send, 48 * 1024);
    EXPECT_LE(send, 2 * 48 * 1024);
    EXPECT_EQ(GetIntOption(*socket, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(GetIntOption(*socket, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_EQ(GetIntOption(*socket, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    EXPECT_EQ(GetIntOption(*socket, IPPROTO_TCP, TCP_KEEPCNT), 3);
  }
}

TEST(TcpTest, DefaultOptionsLeaveKernelDefaultsExceptNoDelay) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  std::optional<Pair> pair =
      RunFor(context, ConnectAndAccept(*acceptor, "127.0.0.1", LocalEndpoint(*acceptor).port(), {},
                                       {.no_delay = false}));
  ASSERT_TRUE(pair.has_value());
  ASSERT_FALSE(pair->client.error) << pair->client.error.message();
  ASSERT_FALSE(pair->server.error) << pair->server.error.message();
  EXPECT_EQ(GetIntOption(pair->client.socket, IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(GetIntOption(pair->server.socket, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(GetIntOption(pair->client.socket, SOL_SOCKET, SO_KEEPALIVE), 0);
}

TEST(TcpTest, AcceptOnAClosedAcceptorIsAborted) {
  boost::asio::io_context context;
  absl::StatusOr<tcp::acceptor> acceptor =
      Listen(context.get_executor(), {.address = "127.0.0.1", .port = 0});
  ASSERT_TRUE(acceptor.ok()) << acceptor.status();
  // Closed while the accept is pending, as a server does when it stops
  // accepting.
  boost::asio::steady_timer timer(context, 20ms);
  timer.async_wait([&](const boost::system::error_code&) { acceptor->close(); });
  std::optional<SocketResult> result = RunFor(context, Accept(*acceptor, context.get_executor()));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, boost::asio::error::operation_aborted) << result->error.message();
}

TEST(TcpTest, FormatsEndpointsAndHostPorts) {
  using boost::asio::ip::make_address;
  EXPECT_EQ(FormatEndpoint(tcp::endpoint(make_address("10.1.2.3"), 21)), "10.1.2.3:21");
  EXPECT_EQ(FormatEndpoint(tcp::endpoint(make_address("::1"), 21)), "[::1]:21");
  // The zone is printed as the interface name when there is one.
  const std::string scoped = FormatEndpoint(tcp::endpoint(make_address("fe80::1%1"), 80));
  EXPECT_TRUE(scoped.starts_with("[fe80::1%") && scoped.ends_with("]:80")) << scoped;
  EXPECT_EQ(FormatHostPort("example.com", 21), "example.com:21");
  EXPECT_EQ(FormatHostPort("127.0.0.1", 8080), "127.0.0.1:8080");
  EXPECT_EQ(FormatHostPort("::1", 21), "[::1]:21");
  EXPECT_EQ(FormatHostPort("[::1]", 21), "[::1]:21");
}

}  // namespace
}  // namespace tpslab::net
