// Test helpers for common/net: run a coroutine to completion with a time
// limit, make a connected loopback TCP pair, and an in-memory AsyncReadStream
// that serves prepared bytes in chunks of a chosen size.
//
// Usage:
//   boost::asio::io_context context;
//   auto [client, server] = ConnectedPair(context);
//   std::optional<IoResult> result = RunFor(context, ReadSome(server, buf, deadline));
//   ASSERT_TRUE(result.has_value()) << "did not finish";
#ifndef TPSLAB_COMMON_NET_TEST_UTIL_H_
#define TPSLAB_COMMON_NET_TEST_UTIL_H_

#include <algorithm>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace tpslab::net::testing {

// Runs `coroutine` on `context` until it completes (other work still pending
// on the context is left for the next run) or `limit` passes. Returns its
// result, or nullopt when it did not complete in time; rethrows its
// exception.
template <typename T>
std::optional<T> RunFor(boost::asio::io_context& context, boost::asio::awaitable<T> coroutine,
                        std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
  std::optional<T> result;
  std::exception_ptr exception;
  // co_spawn needs a default-constructible result; std::optional is one.
  auto wrapped = [](boost::asio::awaitable<T> c) -> boost::asio::awaitable<std::optional<T>> {
    co_return co_await std::move(c);
  };
  boost::asio::co_spawn(context, wrapped(std::move(coroutine)),
                        [&](std::exception_ptr e, std::optional<T> value) {
                          exception = e;
                          if (!e) result = std::move(value);
                          context.stop();
                        });
  context.restart();
  context.run_for(limit);
  context.restart();
  if (exception) std::rethrow_exception(exception);
  return result;
}

// A connected TCP pair over 127.0.0.1 (client first, then server).
inline std::pair<boost::asio::ip::tcp::socket, boost::asio::ip::tcp::socket> ConnectedPair(
    boost::asio::io_context& context) {
  using boost::asio::ip::tcp;
  tcp::acceptor acceptor(context, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  tcp::socket client(context);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(client), std::move(server)};
}

// An AsyncReadStream over a string: each read returns at most `chunk` bytes,
// then asio::error::eof at the end. Completions are posted, as a socket's are.
class ChunkedStream {
 public:
  using executor_type = boost::asio::any_io_executor;

  ChunkedStream(executor_type executor, std::string data, std::size_t chunk)
      : executor_(std::move(executor)), data_(std::move(data)), chunk_(chunk) {}

  executor_type get_executor() { return executor_; }

  template <typename MutableBufferSequence, typename CompletionToken>
  auto async_read_some(const MutableBufferSequence& buffers, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBufferSequence& buffers) {
          boost::system::error_code ec;
          std::size_t n = 0;
          ++reads_;
          if (position_ == data_.size()) {
            ec = boost::asio::error::eof;
          } else {
            const std::size_t available = std::min(chunk_, data_.size() - position_);
            n = boost::asio::buffer_copy(buffers,
                                         boost::asio::buffer(data_.data() + position_, available));
            position_ += n;
          }
          boost::asio::post(executor_, boost::asio::append(std::move(handler), ec, n));
        },
        token, buffers);
  }

  // Nothing is ever pending: completions are posted at once.
  void cancel() {}

  // Starts over at the first byte (benchmarks read the same data again).
  void Rewind() { position_ = 0; }

  // Reads started so far.
  int reads() const { return reads_; }
  // Bytes handed out so far.
  std::size_t position() const { return position_; }

 private:
  executor_type executor_;
  std::string data_;
  std::size_t chunk_;
  std::size_t position_ = 0;
  int reads_ = 0;
};

}  // namespace tpslab::net::testing

#endif  // TPSLAB_COMMON_NET_TEST_UTIL_H_
