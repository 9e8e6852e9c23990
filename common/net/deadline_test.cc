#include "common/net/deadline.h"

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/net/error.h"
#include "common/net/test_util.h"
#include "gtest/gtest.h"

namespace tpslab::net {
namespace {

using boost::asio::awaitable;
using boost::asio::use_awaitable;
using boost::asio::ip::tcp;
using namespace std::chrono_literals;
using testing::ConnectedPair;
using testing::RunFor;

// Waits `delay`, then writes one byte, `count` times.
awaitable<void> SendSlowly(tcp::socket& socket, int count, std::chrono::milliseconds delay) {
  boost::asio::steady_timer timer(socket.get_executor());
  for (int i = 0; i < count; ++i) {
    timer.expires_after(delay);
    co_await timer.async_wait(use_awaitable);
    co_await boost::asio::async_write(socket, boost::asio::buffer("x", 1), use_awaitable);
  }
}

// Reads `count` single bytes, re-arming the deadline to `timeout` before each
// read. Returns the first error, or success.
awaitable<boost::system::error_code> ReadBytes(tcp::socket& socket, Deadline& deadline, int count,
                                               std::chrono::milliseconds timeout) {
  char byte;
  for (int i = 0; i < count; ++i) {
    deadline.ExpiresAfter(timeout);
    const IoResult result = co_await ReadSome(socket, boost::asio::buffer(&byte, 1), deadline);
    if (result.error) co_return result.error;
  }
  co_return boost::system::error_code();
}

TEST(DeadlineTest, SilentPeerTimesOut) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(50ms);
  char buffer[16];
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(buffer), deadline));
  ASSERT_TRUE(result.has_value()) << "the read was not cancelled";
  EXPECT_EQ(result->error, Error::timed_out) << result->error.message();
  EXPECT_EQ(result->bytes, 0u);
  EXPECT_TRUE(deadline.expired());

  // Without re-arming, the next operation fails at once.
  result = RunFor(context, ReadSome(server, boost::asio::buffer(buffer), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
}

TEST(DeadlineTest, SteadySenderWithDeadlinePerReadNeverTimesOut) {
  // 25 bytes 20 ms apart take ~500 ms, longer than one 300 ms deadline: only
  // re-arming per read keeps the session alive.
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  boost::asio::co_spawn(context, SendSlowly(client, 25, 20ms), boost::asio::detached);
  std::optional<boost::system::error_code> error =
      RunFor(context, ReadBytes(server, deadline, 25, 300ms));
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(*error) << error->message();
  EXPECT_FALSE(deadline.expired());
}

TEST(DeadlineTest, ExtendingTheDeadlineBeforeItFiresWorks) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(50ms);
  deadline.ExpiresAfter(800ms);  // The timer still wakes at 50 ms, then sleeps on.
  boost::asio::co_spawn(context, SendSlowly(client, 1, 200ms), boost::asio::detached);
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->error) << result->error.message();
  EXPECT_EQ(result->bytes, 1u);

  // The extended deadline still fires when nothing more arrives.
  result = RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
}

TEST(DeadlineTest, ShorteningTheDeadlineRearmsTheTimer) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(1h);
  deadline.ExpiresAfter(30ms);
  char byte;
  // RunFor gives up after 5 s, far before the hour.
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline), 5s);
  ASSERT_TRUE(result.has_value()) << "the earlier expiry did not re-arm the timer";
  EXPECT_EQ(result->error, Error::timed_out);
}

TEST(DeadlineTest, ExpiresNeverDisarms) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(20ms);
  deadline.ExpiresNever();
  EXPECT_EQ(deadline.expiry(), Deadline::Clock::time_point::max());
  boost::asio::co_spawn(context, SendSlowly(client, 1, 150ms), boost::asio::detached);
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->error) << result->error.message();
  EXPECT_FALSE(deadline.expired());
}

TEST(DeadlineTest, ExpiresNeverLeavesNoWorkBehind) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(1h);
  deadline.ExpiresNever();
  context.run_for(5s);
  // run_for() ran out of work instead of running out of time.
  EXPECT_TRUE(context.stopped()) << "the disarmed timer still holds the io_context";

  // Re-arming after the cancel, before its handler ran, still arms.
  context.restart();
  deadline.ExpiresAfter(1h);
  deadline.ExpiresNever();
  deadline.ExpiresAfter(20ms);
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline), 5s);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
}

TEST(DeadlineTest, RearmingAfterExpiryClearsIt) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(20ms);
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->error, Error::timed_out);

  boost::asio::write(client, boost::asio::buffer("y", 1));
  deadline.ExpiresAfter(5s);
  EXPECT_FALSE(deadline.expired());
  result = RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->error) << result->error.message();
  EXPECT_EQ(byte, 'y');
}

TEST(DeadlineTest, WriteToAPeerThatNeverReadsTimesOut) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(client.get_executor(), client);
  deadline.ExpiresAfter(100ms);
  const std::string data(64 << 20, 'z');  // More than the socket buffers hold.
  std::optional<IoResult> result =
      RunFor(context, Write(client, boost::asio::buffer(data), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out) << result->error.message();
  EXPECT_LT(result->bytes, data.size());
}

TEST(DeadlineTest, WriteAfterTheDeadlinePassedWritesNothing) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(client.get_executor(), client);
  deadline.ExpiresAfter(10ms);
  context.run();  // Fires while no operation is pending.
  ASSERT_TRUE(deadline.expired());
  std::optional<IoResult> result =
      RunFor(context, Write(client, boost::asio::buffer("x", 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
  EXPECT_EQ(result->bytes, 0u);
}

// An AsyncWriteStream that takes 16 bytes per write_some, completing each
// after 1 ms; its cancel() has nothing to cancel. Models a write that is
// between two write_some calls when the deadline fires.
class TrickleSink {
 public:
  using executor_type = boost::asio::any_io_executor;
  explicit TrickleSink(executor_type executor) : timer_(executor) {}
  executor_type get_executor() { return timer_.get_executor(); }
  void cancel() {}
  std::size_t written() const { return written_; }

  template <typename ConstBufferSequence, typename CompletionToken>
  auto async_write_some(const ConstBufferSequence& buffers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& buffers) {
          const std::size_t n = std::min<std::size_t>(16, boost::asio::buffer_size(buffers));
          timer_.expires_after(1ms);
          timer_.async_wait(
              [this, n, handler = std::move(handler)](const boost::system::error_code&) mutable {
                written_ += n;
                std::move(handler)(boost::system::error_code(), n);
              });
        },
        token, buffers);
  }

 private:
  boost::asio::steady_timer timer_;
  std::size_t written_ = 0;
};

TEST(DeadlineTest, WriteStopsBetweenChunksOnceTheDeadlineFired) {
  boost::asio::io_context context;
  TrickleSink sink(context.get_executor());
  Deadline deadline(context.get_executor(), sink);
  deadline.ExpiresAfter(50ms);
  const std::string data(16 * 2000, 'w');  // 2000 writes of 1 ms: 2 s or more.
  std::optional<IoResult> result =
      RunFor(context, Write(sink, boost::asio::buffer(data), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out) << result->error.message();
  EXPECT_LT(result->bytes, data.size());
  EXPECT_EQ(result->bytes, sink.written());
}

TEST(DeadlineTest, SomeoneElsesCancelIsNotATimeout) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  Deadline deadline(server.get_executor(), server);
  deadline.ExpiresAfter(10s);
  boost::asio::steady_timer timer(context, 20ms);
  auto& socket = server;  // Lambdas cannot capture structured bindings in clang 14 (clang-tidy).
  timer.async_wait([&socket](const boost::system::error_code&) { socket.cancel(); });
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, boost::asio::error::operation_aborted) << result->error.message();
  EXPECT_FALSE(deadline.expired());
}

// A session that owns its socket and deadline, as a server's would.
struct Session {
  explicit Session(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  Deadline deadline{socket.get_executor(), socket};
};

TEST(DeadlineTest, DestroyingTheOwnerWithAPendingTimerIsSafe) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  auto session = std::make_unique<Session>(std::move(server));
  session->deadline.ExpiresAfter(20ms);
  session.reset();
  context.run_for(100ms);  // The aborted wait's handler finds no Deadline.
  EXPECT_TRUE(context.stopped()) << "a wait is still pending after the owner was destroyed";
}

TEST(DeadlineTest, DestroyingTheOwnerWithAnExpiredTimerIsSafe) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  auto session = std::make_unique<Session>(std::move(server));
  // Already due: the handler is ready to run but has not run yet.
  session->deadline.ExpiresAt(Deadline::Clock::now() - 1s);
  session.reset();
  context.run_for(100ms);
  EXPECT_TRUE(context.stopped());
}

TEST(DeadlineTest, DestroyingTheOwnerAfterItsTimerFiredIsSafe) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  auto session = std::make_unique<Session>(std::move(server));
  session->deadline.ExpiresAfter(10ms);
  context.run_for(50ms);  // Fires and cancels nothing.
  EXPECT_TRUE(session->deadline.expired());
  session.reset();
  context.restart();
  context.run_for(20ms);
}

// Exposes a socket only through lowest_layer(), as ssl::stream does.
struct LayeredStream {
  tcp::socket& socket;
  tcp::socket& lowest_layer() { return socket; }
};

TEST(DeadlineTest, CancelsTheLowestLayerOfAStream) {
  boost::asio::io_context context;
  auto [client, server] = ConnectedPair(context);
  LayeredStream stream{server};
  Deadline deadline(server.get_executor(), stream);
  deadline.ExpiresAfter(30ms);
  char byte;
  std::optional<IoResult> result =
      RunFor(context, ReadSome(server, boost::asio::buffer(&byte, 1), deadline));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error, Error::timed_out);
}

}  // namespace
}  // namespace tpslab::net
